"""Stage 3, select: the evidence each answer section may draw on, from that section's retrieved hits.

Both composers get the same selected evidence. With the learned relevance model (default,
``answer.selection = "learned"``): every hit gets P(it answers the question) from ``relevance.py``; the
section answers only when its best hit reaches the section's calibrated threshold
(``answer.answer_threshold_<section>``, the operating point chosen on the train split for ≥ 0.95 abstention
on unanswerable sections — see the model card; when none does, a chunk of the asked drug's own label section
for what is asked that holds the question's other focus terms does, ``own_answer``); it keeps the hits
within ``answer.keep_ratio`` of the best, most probable first, and in the label section the rest of a chosen
label section when retrieved (chunks are cuts of one section; ``SIBLING_SHARE``) and the chunks either side
of the best, retrieved or not (``NEIGHBOUR_CHUNKS``). A guideline or research passage that never speaks of
what a drug question asks for (side effects, dose, interactions, pregnancy, contraindications, what the
product looks like, what is in it, how it is stored) cannot answer it (``INTENT_EVIDENCE``), nor can a study
in animals unless the question asks of them (``ANIMALS``), nor can a label
whose passages are about
another dosage form than the one asked (``form_fits``: the oral solution's dosing for "prednisolone eye
drops"). A label of a combination product (hydrocodone and acetaminophen) does not answer a question about
one of its ingredients when a label of the asked drug alone was retrieved (``other_ingredients``). A qualifier
("low-dose") is judged later, by the composer, so a section can still show what its sources do cover as
context. ``"floor"`` is the earlier rule: hits whose cosine reaches
``answer.floor_<section>``, in fused order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from app.answer.question import (
    ANIMALS,
    PATIENT_SECTIONS,
    QuestionInfo,
    asks_of_product,
    forms_of,
    in_sections,
    words_as_written,
)
from app.answer.relevance import INTENT_CUES, RelevanceModel, focus_idf
from app.index.drugs import EVERYDAY_ZIPF, FORM_WORDS, DrugLexicon, english_zipf, name_parts
from app.index.lexical import LexicalStore, analyze
from app.schema import Audience, Hit, Passage, SectionKey
from app.settings import AnswerSettings


def floor(settings: AnswerSettings, key: SectionKey) -> float:
    return float(getattr(settings, f"floor_{key}"))


def threshold(settings: AnswerSettings, key: SectionKey) -> float:
    return float(getattr(settings, f"answer_threshold_{key}"))


# Guideline passages are weighed as research passages are: no human-chosen guideline evidence exists to train
# on, and the model's guideline rows are only the unanswerable questions' (all negative), so scored as their
# own section every guideline passage got P ≈ 0.01 and the section never answered ("Who should be screened for
# lung cancer?" retrieved the USPSTF recommendation and abstained). Whether a passage answers a question is
# learned from BioASQ, PubMedQA and Evidence Inference; the guideline section's stricter threshold
# (``answer.answer_threshold_guidelines``) is the least P above every train-split unanswerable question's.
SCORED_AS: dict[SectionKey, SectionKey] = {"guidelines": "research"}
# Absent focus terms abstain the answer when they carry at least this share of the question's focus (idf).
ABSENT_SHARE = 0.5
MISSPELT_MIN_LEN = 6
# Added to P(answers) of a patient-facing label passage (Medication Guide…) when the audience is a patient.
PATIENT_PREFERENCE = 0.3
# A retrieved chunk of the same label section as a chosen one is kept too when its P(answers) is at least
# this share of the best (see ``Selector.select``).
SIBLING_SHARE = 0.4
# Chunks either side of the best label chunk, fetched from the store when retrieval missed them: a section's
# answer is often one chunk over ("The most common adverse reactions … were nausea, …" before the chunk that
# lists "the following … by indication that were not mentioned previously").
NEIGHBOUR_CHUNKS = 1
# When no retrieved label chunk is in a section for what is asked, the chunks of those sections are fetched
# from this many of the drug's retrieved labels, at most this many chunks (see ``Selector._asked_sections``).
LABELS_FETCHED = 2
FETCHED_CHUNKS = 10
# Intents a label answers only in their own sections (``INTENTS``): when the drug's labels in the index have
# none of them, the label section abstains instead of quoting another section (``Selector.scored``).
SECTION_ONLY_INTENTS = frozenset({"adverse", "pharmacokinetics"})
_NAME_STEMS = frozenset(t for w in FORM_WORDS for t in analyze(w))
# How a label says what to do after a missed dose.
MISSED_DOSE = frozenset(analyze("miss missed forget forgot forgotten skip skipped"))
# Whether a tablet may be crushed, chewed, split or a capsule opened is said in these words ("Swallow whole;
# do not crush or chew"). Not "break" ("mucosal breaks") nor "divided" ("given in two divided doses"): a
# label that speaks of breaking or dividing a tablet also says whether to crush or chew it.
_WHOLE_ASKED = re.compile(r"\b(crush|chew|split|cut|halve|break|open)(es|ed|ing|s)?\b", re.IGNORECASE)
WHOLE_SAID = frozenset(analyze("crush crushed chew chewed split halve swallow whole opened sprinkle"))


def asks_whole(q: QuestionInfo) -> bool:
    """Does the question ask whether the product may be crushed, chewed, split or opened?"""
    return "administration" in q.intents and bool(_WHOLE_ASKED.search(q.text))


def said_in_words(q: QuestionInfo) -> list[frozenset[str]]:
    """The words an answer to the question must say, one set per thing asked in words of its own (a missed
    dose, crushing a tablet), missed dose first; empty for any other question."""
    return [
        words
        for asked, words in (("missed_dose" in q.intents, MISSED_DOSE), (asks_whole(q), WHOLE_SAID))
        if asked
    ]


# What a guideline or research passage must mention to answer a question about a drug that asks for one of
# these: a side-effect question is not answered by an abstract that only names the drug ("common metabolites
# … of sertraline"). Label passages are the drug's own sections, matched to the intent by section instead.
INTENT_EVIDENCE: dict[str, frozenset[str]] = {
    intent: frozenset(analyze(words))
    for intent, words in {
        "adverse": "adverse side tolerability tolerated safety toxicity toxic harms",
        "dose": "dose doses dosage dosing dosed mg titration",
        "interaction": "interaction interactions interact concomitant coadministration coadministered",
        "alcohol": "alcohol alcoholic ethanol drinking beverages",
        "overdose": "overdose overdosage overdoses toxicity poisoning antidote reversal intoxication",
        "missed_dose": "miss missed missing forgot forgotten skipped adherence",
        "pregnancy": "pregnancy pregnant fetal fetus lactation breastfeeding milk",
        # Who should not take a drug is said as such: "Warfarin is a commonly used anticoagulant" does not
        # answer what its contraindications are. (Not the warning intent: its cue "risk" also reads a
        # population, "for people at risk for Alzheimer's disease", whose trial need not say "risk".)
        "contraindication": "contraindication contraindications contraindicated avoid avoided",
        # What a product looks like, what is in it and how it is kept are said by its label; an abstract or
        # guideline that names the drug answers them only if it speaks of them ("what does memantine look
        # like" is not answered by "A single dosage of memantine had no significant effect on …").
        "appearance": "color colour colored coloured white yellow pink orange green blue red brown purple "
        "round oval oblong shape shaped imprint imprinted debossed engraved scored",
        "ingredients": "ingredient ingredients inactive excipient excipients gluten lactose gelatin shellac "
        "dye dyes",
        "storage": "store stored storage refrigerate refrigerated refrigeration temperature stability shelf",
        "monitoring": "monitor monitored monitoring level levels concentration concentrations inr",
        "pharmacokinetics": "half life elimination clearance pharmacokinetics pharmacokinetic metabolism "
        "metabolized excretion excreted bioavailability absorption plasma",
        # "What drug class is sertraline?" is not answered by a metabolomics study that names it; "sertraline,
        # a selective serotonin reuptake inhibitor, …" may.
        "class": "class inhibitor inhibitors agonist antagonist blocker analog analogue agent antibiotic "
        "antidepressant benzodiazepine opioid statin",
    }.items()
}


@dataclass(frozen=True)
class Selector:
    """Chooses a section's evidence: the learned model's choice, or the cosine floor without a model."""

    settings: AnswerSettings
    model: RelevanceModel | None = None
    lexical: LexicalStore | None = None  # document frequencies and spelling neighbours of terms
    passages: Callable[[str], Passage | None] | None = None  # the store, for a chosen chunk's neighbours
    lexicon: DrugLexicon | None = None  # the products' names, to tell a combination from the asked drug
    label: Callable[[str], list[Passage]] | None = None  # a label's passages by record-id prefix (the store)

    def absent(self, q: QuestionInfo, misspelt: Iterable[str] = ()) -> list[str]:
        """What the question is about that no passage in the index mentions, as written ("trelavoxin",
        "Capgras"): focus terms with no passage and no near spelling in the index, when they carry at
        least half of the question's focus (by idf). No section can answer about them. ``misspelt``: words
        the focus reading took for typos of others ("whate", "symple", "afibwhat"), which are not absent."""
        if self.lexical is None:
            return []
        typos = {t for w in misspelt for t in analyze(w)}
        focus = [t for t in q.focus if not t.isdigit() and t not in typos]
        missing = {
            t
            for t in focus
            if len(t) >= 4
            and self.lexical.doc_freq(t) == 0
            and not self._misspelt(t)
            # an everyday word the sources never use is not what the question is about ("I forgot to take my
            # warfarin yesterday")
            and not any(english_zipf(w.lower()) >= EVERYDAY_ZIPF for w in words_as_written(q.text, {t}))
        }
        if not missing:
            return []
        idf = self.idf(q)
        share = sum(idf.get(t, 0.0) for t in missing) / (sum(idf.get(t, 0.0) for t in focus) or 1.0)
        if share < ABSENT_SHARE:
            return []
        return words_as_written(q.text, missing)

    def _misspelt(self, stem: str) -> bool:
        """A near neighbour in the index ("fluvaastatin" → fluvastatin): a typo, not an absent thing."""
        assert self.lexical is not None
        if len(stem) < MISSPELT_MIN_LEN:
            return False  # short words have too many neighbours to tell a typo from another word
        near = self.lexical.near_terms(stem, 1 if len(stem) < 8 else 2)
        return any(df >= 3 for _term, df in near)

    def idf(self, q: QuestionInfo) -> dict[str, float]:
        if self.lexical is None:
            return {}
        return focus_idf(q.focus, self.lexical.doc_freq, len(self.lexical))

    def scored(
        self,
        key: SectionKey,
        q: QuestionInfo,
        hits: Sequence[Hit],
        idf: Mapping[str, float],
        audience: Audience = "clinician",
    ) -> list[tuple[float, Hit]]:
        """The hits a section may answer from, each with the P(answers) the threshold is compared with,
        in retrieval order (needs a model)."""
        assert self.model is not None
        if key == "fda_label" and q.drugs and (words := said_in_words(q)):
            # What to do after a missed dose, or whether a tablet may be crushed, is said in those words ("If
            # you miss a dose of COUMADIN, call your healthcare provider."; "do not crush or chew the whole or
            # half tablet"), in the drug's own dosing or patient sections: retrieved or read from the store,
            # such a chunk answers; the dosing around it does not.
            return self._said_in_words(q, hits, words[0])
        if key == "fda_label" and q.intent_sections and self.settings.label_intent_sections:
            # The label section answers what was asked: when the drug's label sections that answer the
            # question's intent (dose → Dosage and Administration…) were retrieved, the answer comes from
            # them, as the drug filter keeps it to the drug's own label.
            asked = [h for h in hits if in_sections(h.passage.section, q.intent_sections)]
            if not asked and q.drugs:
                asked = self._asked_sections(q, hits)
            if not asked and said_only_in_own_sections(q):
                # Side effects are said in the label's own sections for them; its dosing or pharmacology
                # does not tell them ("side effects of tramadol", whose only label passages here are its
                # dosing, description and how it is supplied, quoted the dose).
                return [(0.0, h) for h in hits]
            hits = asked or hits
        # The qualifier is the composer's to judge (it shows context when no passage says it).
        unqualified = replace(q, qualifiers=[], qualifier_text=[])
        probs = self.model.score(SCORED_AS.get(key, key), unqualified, hits, idf)
        least = threshold(self.settings, key)
        allowed = [True] * len(hits)
        if key == "fda_label" and q.forms:
            # A label passage about another dosage form of the drug (its oral solution, for a question
            # about eye drops) cannot answer; one that names no form may.
            allowed = form_fits(hits, q.forms)
        if key == "fda_label" and q.drugs and self.lexicon is not None:
            # A question about acetaminophen is answered by acetaminophen's label, not by the Medication
            # Guide of hydrocodone and acetaminophen (its opioid warnings are another drug's text), when a
            # label of the asked drug alone was retrieved; with none, a combination's label may answer.
            names = asked_names(q.drugs, self.lexicon)
            alone = [not other_ingredients(h.passage, names, self.lexicon) for h in hits]
            if any(alone):
                allowed = [a and ok for a, ok in zip(allowed, alone, strict=True)]
        if (
            key == "fda_label"
            and q.drugs
            and q.intent_sections
            and not asks_of_product(q)
            and max((p for p, ok in zip(probs, allowed, strict=True) if ok), default=0.0) < least
        ):
            # The asked drug's own label section for what is asked answers a question that asks nothing
            # more ("What are the side effects of atorvastatin?" and its Adverse Reactions): when no hit
            # that may answer reaches the section's threshold, it does, whatever the model's P, which weighs
            # the chunk's wording (a table's rows). Not what a product looks like, holds or how it is kept:
            # that differs by product, and the model's P says which products' passages answer. (A
            # combination's chunk above the threshold does not stand in the way: "side effects of
            # lisinopril" retrieved lisinopril and hydrochlorothiazide's Adverse Reactions first.)
            probs = [
                max(p, least) if ok and own_answer(h, q) else p
                for p, ok, h in zip(probs, allowed, hits, strict=True)
            ]
        probs = [p if ok else 0.0 for p, ok in zip(probs, allowed, strict=True)]
        needed = {t for intent in q.intents for t in INTENT_EVIDENCE.get(intent, ())}
        if key != "fda_label" and needed and q.drugs:
            # A question about one drug's harms or dose needs them said of it; a comparison of two arms
            # ("… how does X compare with Y?") is answered by the trial's results, which name the arms
            # by group ("IVCP", "the study group"), so there the passage need only speak of the topic.
            drugs = [] if "comparison" in q.intents else [set(analyze(d)) for d in q.drugs]
            probs = [p if speaks_of(h, drugs, needed) else 0.0 for p, h in zip(probs, hits, strict=True)]
            if not ANIMALS & set(q.terms):
                # A dose, harm or interaction found in dogs or rats is not one for patients ("What is the
                # maximum dose of gabapentin?" is not answered by a trial in dogs undergoing mastectomy).
                probs = [0.0 if p and in_animals(h) else p for p, h in zip(probs, hits, strict=True)]
        if audience == "patient":
            # A patient is better served by the label's own words to patients (Medication Guide, Patient
            # Information) when they answer too: among passages of similar relevance, they come first.
            probs = [
                min(1.0, p + PATIENT_PREFERENCE) if in_sections(h.passage.section, PATIENT_SECTIONS) else p
                for p, h in zip(probs, hits, strict=True)
            ]
        return list(zip(probs, hits, strict=True))

    def select(
        self,
        key: SectionKey,
        q: QuestionInfo,
        hits: Sequence[Hit],
        idf: Mapping[str, float],
        audience: Audience = "clinician",
    ) -> list[Hit]:
        if self.model is None or not hits:
            return select_by_floor(key, hits, self.settings)
        scored = self.scored(key, q, hits, idf, audience)
        ranked = sorted(((p, i, h) for i, (p, h) in enumerate(scored)), key=lambda t: (-t[0], t[1]))
        top = ranked[0][0]
        if top < threshold(self.settings, key):
            # Nothing here answers; above the cosine floor, the hits may still serve as context when the
            # question's qualifier is what is missing.
            return select_by_floor(key, [h for _p, h in scored], self.settings) if q.qualifiers else []
        # What a drug looks like, or the strengths it comes in, differs by product and manufacturer: for those
        # questions every product's passage that answers is kept, so the answer shows the variants, not one at
        # random; otherwise only the passages near the best.
        every_product = key == "fda_label" and "appearance" in q.intents
        keep = threshold(self.settings, key)
        if not every_product:
            keep = max(keep, self.settings.keep_ratio * top)
        chosen = [h.model_copy(update={"relevance": p}) for p, _i, h in ranked if p >= keep]
        if key == "fda_label":
            # Chunks are cuts of one label section: the rest of a chosen section, when retrieved, may hold
            # the answering sentence ("The usual starting dose …" one chunk after "There is no fixed
            # dosage regimen …"); its sentences compete in the composer with the chosen chunk's, as parts of
            # the section the model chose (its relevance).
            sections = {(h.passage.record_id, h.passage.section): h.relevance for h in chosen}
            chosen += [
                h.model_copy(update={"relevance": sections[(h.passage.record_id, h.passage.section)]})
                for p, _i, h in ranked
                if keep > p >= SIBLING_SHARE * top and (h.passage.record_id, h.passage.section) in sections
            ]
        chosen = chosen[: self.settings.passages_per_section]
        if key == "fda_label":
            chosen += self._neighbours(chosen[0], hits, {h.passage.id for h in chosen})
        return chosen

    def sections_instead(self, q: QuestionInfo, hits: Sequence[Hit]) -> list[str]:
        """The label sections found for the asked drug when none is one the question's intent needs and the
        intent is said nowhere else (``SECTION_ONLY_INTENTS``): what the abstaining label section says it
        found instead ("Dosage and Administration, How Supplied"); empty otherwise."""
        if not said_only_in_own_sections(q):
            return []
        own = [h for h in hits if h.drug_match]
        if not own or any(in_sections(h.passage.section, q.intent_sections) for h in own):
            return []
        if self._asked_sections(q, own):
            return []
        return list(dict.fromkeys(h.passage.section for h in own if h.passage.section))

    def _said_in_words(
        self, q: QuestionInfo, hits: Sequence[Hit], words: frozenset[str]
    ) -> list[tuple[float, Hit]]:
        """The chunks of the asked drug's labels that say ``words`` (retrieved, or else read from the store
        for the retrieved labels' sections of the intent), each at the section's threshold at least; when none
        does, every hit at 0."""
        least = threshold(self.settings, "fda_label")
        says = [h for h in hits if h.drug_match and words & set(analyze(h.passage.text))]
        if not says:
            seen = {h.passage.id for h in hits}
            says = self._intent_chunks(
                q, hits, lambda p: p.id not in seen and bool(words & set(analyze(p.text)))
            )
        if not says:
            return [(0.0, h) for h in hits]
        assert self.model is not None
        probs = self.model.score("fda_label", q, says, {})
        return [(max(p, least), h) for p, h in zip(probs, says, strict=True)]

    def _asked_sections(self, q: QuestionInfo, hits: Sequence[Hit]) -> list[Hit]:
        """The chunks of the asked drug's labels' sections for what is asked, from the store, when retrieval
        returned none: "What are the side effects of warfarin?" retrieved its Medication Guide, overdosage
        and patient counselling chunks but not its Adverse Reactions, and the label section abstained (or
        quoted the dose for "bupropion hcl 300mg is good for what?"). The labels are those of the retrieved
        hits of the drug (``LABELS_FETCHED`` at most, in retrieval order). Like ``own_answer``, a chunk must
        hold the question's other focus terms, the words that say what is asked and a product name's salt or
        form words aside ("bupropion hcl"): "i take lorazepam, my eyes are blurry, if i stop taking it …" is
        not answered by the dosing of Dosage and Administration. The chunks have no retrieval scores, so the
        model weighs them by what they say."""
        drug_words = {w for d in q.drugs for w in analyze(d)}
        # the words that say what is asked ("half-life", "eliminated") are the section's, not the focus
        asking = {t for intent in q.intents for t in INTENT_CUES.get(intent, ())}
        rest = set(q.focus) - drug_words - _NAME_STEMS - asking
        return self._intent_chunks(q, hits, lambda p: rest <= set(analyze(f"{p.title or ''} {p.text}")))

    def _intent_chunks(
        self, q: QuestionInfo, hits: Sequence[Hit], holds: Callable[[Passage], bool]
    ) -> list[Hit]:
        """Read from the store: the chunks in the sections of the question's intent, of the labels of the
        retrieved hits of the drug (``LABELS_FETCHED`` at most, in retrieval order), that ``holds`` accepts;
        ``FETCHED_CHUNKS`` at most. None without a store."""
        if self.label is None:
            return []
        labels = dict.fromkeys(
            prefix for h in hits if h.drug_match and (prefix := label_prefix(h.passage)) is not None
        )
        found = [
            Hit(passage=p, score=0.0, drug_match=True)
            for prefix in list(labels)[:LABELS_FETCHED]
            for p in self.label(prefix)
            if in_sections(p.section, q.intent_sections) and holds(p)
        ]
        return found[:FETCHED_CHUNKS]

    def _neighbours(self, best: Hit, hits: Sequence[Hit], chosen: set[str]) -> list[Hit]:
        """The chunks of the best hit's label section next to it, as parts of the section the model chose (its
        relevance), whether retrieval returned them (a low P(answers) of its own: "Liver warning: … Severe
        liver damage may occur if" before the chunk that lists the symptoms) or not (fetched from the store);
        their sentences compete in the composer."""
        record, _, index = best.passage.id.rpartition("#")
        if not record or not index.isdigit():
            return []
        retrieved = {h.passage.id: h.passage for h in hits}
        out = []
        for i in range(int(index) - NEIGHBOUR_CHUNKS, int(index) + NEIGHBOUR_CHUNKS + 1):
            pid = f"{record}#{i}"
            if i < 0 or pid in chosen:
                continue
            passage = retrieved.get(pid) or (self.passages(pid) if self.passages is not None else None)
            if passage is not None and passage.record_id == best.passage.record_id:
                out.append(
                    Hit(passage=passage, score=0.0, drug_match=best.drug_match, relevance=best.relevance)
                )
        return out


def said_only_in_own_sections(q: QuestionInfo) -> bool:
    """Does the question ask about a drug only what its label says in that intent's own sections
    (``SECTION_ONLY_INTENTS``: side effects, pharmacokinetics)?"""
    return bool(q.drugs and q.intents and set(q.intents) <= SECTION_ONLY_INTENTS)


def label_prefix(passage: Passage) -> str | None:
    """The record-id prefix of a label section's passage, which all its label's sections share
    ("label:<set id>:adverse-reactions#2" → "label:<set id>:"); None for a passage that is not one section of
    a whole label (an excerpt, "dailymed-excerpt:436")."""
    record = passage.record_id
    head, _, _section = record.rpartition(":")
    return f"{head}:" if ":" in head and passage.source_type == "fda_label" else None


def select_by_floor(key: SectionKey, hits: Sequence[Hit], settings: AnswerSettings) -> list[Hit]:
    """Evidence for a section: hits above the section's relevance floor, best fused rank first."""
    low = floor(settings, key)
    kept = [h for h in hits if (h.cosine or 0.0) >= low]
    return kept[: settings.passages_per_section]


def in_animals(hit: Hit) -> bool:
    """Does a research or guideline passage report a study in animals?"""
    return bool(ANIMALS & set(analyze(f"{hit.passage.title or ''} {hit.passage.text}")))


def speaks_of(hit: Hit, drugs: Sequence[set[str]], topic: set[str]) -> bool:
    """Does a guideline or research passage speak of the asked topic (side effects, dose…) of one of the asked
    ``drugs`` (each the stems of its name)? Its title, or one of its sentences, must name both: a trial of
    another drug ("… safety and efficacy of placeboxetine …") that names the asked one as its comparator and
    reports "adverse events" elsewhere ("Placeboxetine … as effective as sertraline"; "There were no serious
    adverse events.") does not. With no ``drugs``, the topic anywhere in the passage is enough."""
    p = hit.passage
    if not drugs:
        return bool(topic & set(analyze(f"{p.title or ''} {p.text}")))
    for text in [p.title or "", *(p.sentence_texts() or [p.text])]:
        said = set(analyze(text))
        if topic & said and any(words <= said for words in drugs):
            return True
    return False


def own_answer(hit: Hit, q: QuestionInfo) -> bool:
    """Is the hit a chunk of the asked drug's own label section for what is asked (retrieved under the
    drug's filter, in a section of the question's intent) that holds every other focus term of the
    question?"""
    if not hit.drug_match or not in_sections(hit.passage.section, q.intent_sections):
        return False
    drug_words = {w for d in q.drugs for w in analyze(d)}
    rest = set(q.focus) - drug_words
    return rest <= set(analyze(f"{hit.passage.title or ''} {hit.passage.text}"))


def asked_names(asked: Sequence[str], lexicon: DrugLexicon) -> set[str]:
    """Every name of the ``asked`` drugs (lexicon keys) and of their parts: "acetaminophen and codeine" →
    also acetaminophen, codeine and their brand / generic names."""
    parts = {k for d in asked for part in name_parts(d) for k in lexicon.detect(part)} | set(asked)
    return {n for d in parts for n in lexicon.synonyms(d)} | parts


def other_ingredients(passage: Passage, names: set[str], lexicon: DrugLexicon) -> list[str]:
    """The drugs a label passage's product holds besides the asked ones (``names``: ``asked_names``):
    "hydrocodone" for a question about acetaminophen on hydrocodone and acetaminophen's label; none for
    "Acetaminophen" or "Tylenol". A product name the lexicon reads no drug in ("Pain Relief") holds no
    other."""
    brand = passage.brand or ""
    if len(name_parts(brand)) == 1 and any(k in names for k in lexicon.detect(brand)):
        return []  # the asked product by its brand name ("Percocet", "Tylenol")
    said = [k for part in name_parts(passage.drug or "") for k in lexicon.detect(part)]
    # "Carbidopa and Levodopa, extended release": a part that only says the form is no ingredient
    return [k for k in dict.fromkeys(said) if k not in names and not set(k.split()) <= FORM_WORDS]


def product_forms(hits: Sequence[Hit]) -> dict[str, set[str]]:
    """The dosage forms each label (by set id) says it is for, over all its retrieved passages: one chunk may
    name none ("OVERDOSAGE The effects of …") while another says "Oral Solution"."""
    said: dict[str, set[str]] = {}
    for h in hits:
        said.setdefault(_label(h), set()).update(forms_of(f"{h.passage.title or ''} {h.passage.text}"))
    return said


def form_fits(hits: Sequence[Hit], asked: set[str]) -> list[bool]:
    """Per hit: may its label answer a question about the ``asked`` dosage forms? Yes when the label names
    none of its forms in what was retrieved, or names an asked one."""
    if not asked:
        return [True] * len(hits)
    said = product_forms(hits)
    return [not said[_label(h)] or bool(said[_label(h)] & asked) for h in hits]


def _label(hit: Hit) -> str:
    """The label a hit belongs to: its set id (an excerpt and the full label's chunks share it)."""
    return hit.passage.set_id or hit.passage.record_id
