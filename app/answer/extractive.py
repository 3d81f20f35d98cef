"""ExtractiveComposer: the default, offline, deterministic answer — quoted sentences, each cited.

Per section: keep the passages above the section's relevance floor, score their sentences against the
question (its focus terms, what it asks — dose, side effects… — and the passage's own relevance), pick
a few with MMR so they do not repeat each other, and quote them lightly trimmed (section headings and
list bullets removed; numbers, units and negations untouched). A question qualifier such as "low-dose"
that no passage of a section mentions makes that section abstain, showing what the sources do cover as
context rather than stretching it into an answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.answer.draft import DraftSection, DraftStatement
from app.answer.focus import class_markers
from app.answer.grounding import ITEM_START, list_parts
from app.answer.question import (
    ANIMALS,
    PATIENT_SECTIONS,
    QuestionInfo,
    in_sections,
    mentions_near,
    strengths,
    words_as_written,
)
from app.answer.relevance import INTENT_CUES, phrase_coverage
from app.answer.select import INTENT_EVIDENCE, said_in_words
from app.index.lexical import analyze
from app.schema import SECTION_NOUNS, SECTION_SOURCE, Audience, Hit, SectionKey
from app.settings import AnswerSettings

# P(answers) above which a passage's sentences need not repeat the question's focus terms to be quoted.
CONFIDENT = 0.5
SHORT_ANSWER_WORDS = 40
# Weight of the passage's learned P(answers) in a sentence's score (the cosine's is 0.3 without a model).
RELEVANCE_WEIGHT = 1.5
# Weight of the share of the question's word pairs a sentence says as pairs ("recommended dosage" for
# "recommended dose"): among sentences of one passage with the same words, the one phrased as the question
# ("Recommended dosage is 50 mg …") comes before one that shares words only by stem ("CNS depressant" for
# "postpartum depression").
PHRASE_WEIGHT = 0.4
# Label wording the question says otherwise, for phrase matching only ("dosage" is a "dose").
_SAME_TERM = {"dosag": "dose"}
# Sections that show what their sources do cover when they cannot answer (the drug's approved use, the
# guideline's recommendation); research that does not answer is usually about something else: no context.
CONTEXT_SECTIONS: frozenset[SectionKey] = frozenset({"guidelines", "fda_label"})
_HEADING = re.compile(
    r"^(?:\d+(?:\.\d+)*\s+)?(?:[A-Z][A-Z&/,\- ]{3,}[A-Z])(?:\s*:)?\s+(?=[A-Z])"
)  # "8.1 PREGNANCY Risk…", "INDICATIONS AND USAGE Naltrexone…"
_NUMBERED = re.compile(r"^\d+(?:\.\d+)+\s+(?:[A-Z][a-z]+(?:\s+[A-Za-z]+){0,4}\s+)?(?=[A-Z])")
_MARKUP = re.compile(r"^(?:[#>*\-•–]+\s*)+|\*\*|__")
# A numbered list item's number ("2. Known hypersensitivity …").
_LIST_MARK = re.compile(r"^\(?\d{1,2}[.)]\s+(?=[A-Z])")
# A heading on a line of its own before the sentence ("Directions\ndo not take more than directed …").
_HEADING_LINE = re.compile(r"^[A-Z][^\W\d]*(?:[ \t]+[^\W\d]+){0,7}[ \t]*\n\s*(?=\S)")


# A structured abstract's section label ("OBJECTIVE:", "Results:") or a snippet's cut-off one ("JECTIVE:").
_ABSTRACT_LABEL = re.compile(
    r"^(?:[A-Z][A-Z ]{1,40}|(?:Background|Objectives?|Aims?|Purpose|Introduction|Methods?|Design|Setting|"
    r"Participants|Patients|Interventions?|Measurements|Results?|Findings|Conclusions?|Interpretation|"
    r"Context|Importance|Discussion|Summary)(?: and [A-Z]?[a-z]+)?)\s*:\s+(?=[A-Z0-9(])"
)
# "2 DOSAGE & ADMINISTRATION 2.1 …", "7.2 Effects of X on Other Drugs Table 4 …", "Table 4: …"
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\s+[A-Z][A-Z&/,\- ]{2,}|\d+\.\d+\s+[A-Z]|Table\s+\d+\s*[:.])")
# A heading with a parenthetical and nothing else ("ADVERSE REACTIONS (listed alphabetically, under each
# subsection)"): its ")" is no sentence's end.
_PAREN_HEADING = re.compile(r"^(?:[A-Z][A-Z&/,\-]+\s+)*[A-Z][A-Z&/,\-]+\s*\([^)]*\)\s*:?$")
_TERMINAL = re.compile(r"[.!)\]\"”'’%]\s*$")
_TABLE_REF = re.compile(r"^\S+\s+Table\s+\d")  # "Drugs Table 4 includes …": a heading run into a caption
# "Table 3 includes clinically significant drug interactions …": it points at a table the answer cannot show.
_TABLE_POINTER = re.compile(
    r"\bTables?\s+\d+\s+(?:includes?|lists?|shows?|summari[sz]es?|presents?|provides?|displays?|describes?)\b"
)
_CUT_END = re.compile(r"(?:\.[A-Z]{1,5}|\b[a-z]{1,2})$")  # "… .ME" (the next label cut), "… the pa" (cut)
# A list's separator inside a passage ("… relationship: || Psychiatric: …") and an excerpt's leading
# ellipsis ("... NORCO® 5/325"): the parts between them are the quotable units.
# A label Highlights cross-reference after a sentence or before one ("… for 14 days. ( 2.1 ) Dosage may …",
# "(2.2 , 7.1) Atorvastatin …") ends it too, as do the row labels of a label's drug-interaction table
# ("… Statins (Atorvastatin …) Clinical Impact REZDIFFRA increased … Intervention Rosuvastatin and …").
_SEPARATOR = re.compile(
    r"\s*\|\|\s*"
    r"|(?:(?<=[.;:])|^)\s*\(\s*\d+(?:\.\d+)*(?:\s*,\s*\d+(?:\.\d+)*)*\s*\)\s*"
    r"|(?:^|\s+)(?:Clinical Impact|Intervention|Examples)\s*:?\s+(?=[A-Z])"
)
# A sentence that announces a list ("The following are the most common adverse reactions … by indication.")
# says nothing without it: when the list's items follow as bullets, the announcement is not quoted alone.
_ANNOUNCES = re.compile(r"\bthe following\b", re.IGNORECASE)
_BULLET = ("-", "•", "*", "–")
_LEADING_ELLIPSIS = re.compile(r"^(?:\.\.\.|…)\s*")
# A study's aim ("To investigate whether…", "The aim of this study was…") restates the question; it is not
# a finding, so a sentence that reports one comes first.
_AIM = re.compile(
    r"^(?:To (?:investigate|evaluate|assess|determine|examine|compare|explore|describe|study|test|analy[sz]e|"
    r"identify|report)|(?:The|Our) (?:aims?|objectives?|purpose|goals?) (?:of|was|were|is)|"
    r"This (?:study|trial) (?:aim|sought|was designed|investigat|evaluat|assess)|"
    r"We (?:aimed|sought|investigated whether|hypothesi[sz]ed))",
    re.IGNORECASE,
)
AIM_PENALTY = 0.3
# The sentences every label must carry (21 CFR 201.57: how trial rates compare, how postmarketing reports
# are collected, whom to report to, which trials and patients the data come from — their number, exposure and
# ages): true of every drug, or about the trials rather than the drug, they answer a question about it only
# when nothing else in its section does.
_BOILERPLATE = re.compile(
    r"^(?:Because clinical trials are conducted under widely varying conditions|"
    r"Because these reactions are reported voluntarily|"
    r"To report SUSPECTED ADVERSE REACTIONS|"
    r"The following (?:adverse reactions|adverse events)? ?(?:are|is) (?:discussed|described) "
    r"in (?:more detail )?(?:in other sections|elsewhere)|"
    # a list's announcement quoted without its list: "The following adverse reactions have been identified
    # during post-approval use of atorvastatin calcium."
    r"The following (?:adverse reactions|adverse events|events|reactions) (?:have|has) been "
    r"(?:identified|reported)\b[^:]*\.$|"
    r"The data (?:described|presented) (?:below|above|in this section)\b|"
    r"The (?:mean|median) age (?:was|of the (?:patients|subjects|population) was)\b)"
    r"|(?:represents?|representing) [\d,.]+ (?:patient|subject)-years of (?:drug )?exposure\.?$"
    # a guideline summary's notes on its own grading scheme, the same in every summary of the series
    r"|^The definitions of (?:these|the) (?:grades|levels)\b"
    r"|^The U\.S\. Preventive Services Task Force \(USPSTF\) grades its recommendations\b",
    re.IGNORECASE,
)
BOILERPLATE_PENALTY = 0.5
# A sentence whose subject is a bare pronoun ("These could be signs of a serious condition.", "They may
# cause drowsiness.") points back at a sentence it is quoted without; it says something only when nothing
# else in the section does, like the mandatory sentences.
_ANAPHORA = re.compile(
    r"^(?:These|Those|They|This|Such)\s+(?:could|may|might|can|will|would|should|must|is|are|was|were|has|have|"
    r"had|include|includes|occur|occurred|occurs)\b"
)
# Without a relevance model a passage's cosine stands in for its P(answers), weighed at this share.
COSINE_SHARE = 0.2
# What a guideline or research sentence must say to answer a drug question of these intents (the passage
# already names the drug with ``select.INTENT_EVIDENCE``'s words, which are too loose for one sentence:
# "… if the patient is adequately controlled on and tolerating hydrochlorothiazide" does not say its side
# effects). Other intents are said in too many ways ("contains ethanol" for what is in a product).
SAID_OF: dict[str, frozenset[str]] = {
    "adverse": frozenset(analyze("adverse side toxicity toxic harms")),
}
# A guideline answers a drug question of these intents only with sentences that say what is asked: its
# recommendation on the drug ("The Work Group recommends sertraline … as monotherapy for PTSD") does not say
# how long the drug takes to work, its dose or what to do in an overdose. (Not research: a trial's findings
# say it in their own words, and the research sets measure it.)
GUIDELINE_SAID_OF: dict[str, frozenset[str]] = {
    **{
        intent: INTENT_EVIDENCE[intent]
        for intent in ("dose", "pregnancy", "interaction", "alcohol", "contraindication")
    },
    "onset": frozenset(analyze("onset weeks week days begin response respond improvement")),
    "overdose": frozenset(analyze("overdose overdosage toxicity poisoning antidote reversal")),
    "pharmacokinetics": frozenset(analyze("half-life clearance metabolized metabolism excreted elimination")),
    "stopping": frozenset(analyze("discontinue discontinuation taper tapering withdrawal stop")),
}
# Intents whose answer always says the intent's own words (storage: "store", "temperature"…): see
# ``ExtractiveComposer.compose_section``.
SAID_IN_WORDS = frozenset({"storage"})
# A quotable sentence's score: these weights times what ``ExtractiveComposer.candidates`` measures of it —
# its share of the question's terms, of the asked intent's cue words (two are enough) and of the focus
# terms; its passage's P(answers); whether the passage is the label section for what is asked (or, for a
# patient, the label's words to patients); its share of the question's word pairs said as pairs; the
# passage's retrieval rank and the sentence's place in it; a study's aim, a label's mandatory sentences, and
# (for a patient) long words.
SENTENCE_WEIGHTS: dict[str, float] = {
    "coverage": 0.35,
    "cue": 0.15,
    "focus": 0.25,
    "passage": RELEVANCE_WEIGHT,
    "asked_section": 0.25,
    "patient_section": 0.2,
    "phrase": PHRASE_WEIGHT,
    "rank": -0.02,
    "position": -0.01,
    "aim": -AIM_PENALTY,
    "boilerplate": -BOILERPLATE_PENALTY,
    "long_words": -0.3,
}


def is_aim(sentence: str) -> bool:
    """Whether a sentence states a study's aim rather than what it found."""
    return bool(_AIM.match(sentence))


_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "without",
        "vs",
    ]
)
_UPPER_WORD = re.compile(r"^[A-Z][A-Z&/\-]{2,}[,:;.]?$")


def trim(sentence: str) -> str:
    """Drop a leading section heading, abstract label, Markdown and bullets; the rest is left verbatim."""
    s = sentence.strip()
    s = _MARKUP.sub("", s).strip()
    s = _LIST_MARK.sub("", s)
    s = s.replace("**", "")
    m = _HEADING_LINE.match(s)
    if m and len(s) - m.end() > 40:
        s = s[m.end() :]
    m = _HEADING.match(s)
    if m and len(s) - m.end() > 40:
        s = s[m.end() :]
    m = _NUMBERED.match(s)  # "9.1 Controlled Substance Gabapentin …" → "Gabapentin …"
    if m and len(s) - m.end() > 40:
        s = s[m.end() :]
    m = _ABSTRACT_LABEL.match(s)
    if m and len(s) - m.end() > 40:
        s = s[m.end() :]
    return s.strip()


def _drop_own_heading(text: str, section: str | None) -> str:
    """Drop the passage's own section heading written in title case before its first sentence ("Warnings
    Liver warning: This product contains acetaminophen." in the Warnings section); the rest stays verbatim."""
    if not section:
        return text
    head = section.split(">", 1)[0].strip()
    m = re.match(rf"{re.escape(head)}\s+", text, re.IGNORECASE) if head else None
    rest = text[m.end() :] if m else ""
    return rest if len(rest) > 40 and rest[:1].isupper() else text


def pieces(sentence: str) -> list[str]:
    """The quotable parts of a sentence: split at list separators ("||"), leading ellipses dropped, a run-on
    list too long to quote cut into its lists (``grounding.list_parts``); each part is a verbatim substring
    of the sentence."""
    out: list[str] = []
    for raw in _SEPARATOR.split(sentence):
        part = _LEADING_ELLIPSIS.sub("", raw.strip()).strip()
        if part:
            out += list_parts(part)
    return out


def _continues(sentences: Sequence[str], idx: int, passage_text: str) -> bool:
    """Whether the sentence at ``idx`` (with no closing punctuation) goes on past it: the next part starts in
    lower case ("for 8 to 12 weeks …": the splitter cut inside it), or it is the last part of a chunk that
    itself ends mid-sentence."""
    if idx + 1 < len(sentences):
        return sentences[idx + 1].lstrip()[:1].islower()
    return not _TERMINAL.search(passage_text)


def _is_item(piece: str, source_type: str) -> bool:
    """A list item: bulleted, or one of a label's OTC list run into one line (``grounding.ITEM_START``). It
    may start in lower case, and it ends where the next item starts (no full stop: it is not cut)."""
    bulleted = piece.lstrip().startswith(_BULLET)
    return bulleted or (source_type == "fda_label" and bool(ITEM_START.match(piece)))


def _question_or_markup(text: str) -> bool:
    """A question, a table row, code or a Markdown link: never quoted as a statement."""
    return text.endswith("?") or "|" in text or "`" in text or "](" in text


def is_clean(text: str, *, listed: bool = False) -> bool:
    """Whether a quotable sentence reads as a statement: not a question, heading, table row, markup, label
    numbering or a fragment cut mid-word (a snippet that starts or ends inside a sentence). ``listed``: the
    text is a list item in its passage (``_is_item``), which may start in lower case ("do not exceed 6 tablets
    in 24 hours")."""
    words = text.split()
    if not words or _question_or_markup(text) or "#" in text[:3]:
        return False
    if _NUMBERING.match(text) or _TABLE_REF.match(text) or _CUT_END.search(text):
        return False
    if _TABLE_POINTER.search(text) or _PAREN_HEADING.match(text):
        return False
    short = len(words) <= 8 or (len(words) <= 12 and not re.search(r"[,:;]", text))
    if not _TERMINAL.search(text) and short and not any(ch.isdigit() for ch in text):
        # a heading or a title ("Appropriate diagnosis and treatment of work-related carpal tunnel syndrome";
        # "Medication Classes for Type 2 Diabetes" has a digit but is title case); a list's item says more
        # ("PMDD: somnolence, dry mouth, dizziness, fatigue, and abdominal pain;")
        return False
    content = [w for w in words if w.lower() not in _SMALL_WORDS and w[:1].isalpha()]
    titled = sum(w[:1].isupper() for w in content)
    if not _TERMINAL.search(text) and len(words) <= 12 and content and titled >= 0.8 * len(content):
        return False  # a title-case heading
    first = text[0]
    if (first.islower() and not listed) or not (first.isalnum() or first in "(“\"'‘["):
        return False
    upper = sum(1 for w in words if _UPPER_WORD.match(w))
    return upper / len(words) <= 0.4


@dataclass
class Candidate:
    key: str
    text: str
    terms: set[str]
    score: float
    features: dict[str, float] = field(default_factory=dict)  # what ``score`` weighs (SENTENCE_WEIGHTS)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


NEAR_DUPLICATE = 0.8  # share of words two sentences hold in common (Jaccard) from which they say the same


def mmr(candidates: list[Candidate], k: int, lam: float) -> list[Candidate]:
    chosen: list[Candidate] = []
    pool = sorted(candidates, key=lambda c: -c.score)
    while pool and len(chosen) < k:
        best = max(
            pool,
            key=lambda c: (
                lam * c.score - (1 - lam) * max((_jaccard(c.terms, s.terms) for s in chosen), default=0.0)
            ),
        )
        chosen.append(best)
        # The same sentence in another label's words ("Store at 20°- 25°C …" and "Store at 20°-25°C …") says
        # nothing more: not quoted twice.
        pool = [c for c in pool if c is not best and _jaccard(c.terms, best.terms) < NEAR_DUPLICATE]
    return chosen


def _short_answer(hit: Hit) -> str | None:
    """A passage the learned selection chose (it has a P(answers), so it passed the section's calibrated
    threshold) of at most a few dozen words, quoted whole when none of its sentences is a statement of its
    own; never a question, markup or a table."""
    text = _LEADING_ELLIPSIS.sub("", hit.passage.text.strip()).strip()
    if hit.relevance is None or not 1 <= len(text.split()) <= SHORT_ANSWER_WORDS:
        return None
    if _question_or_markup(text) or not text[:1].isalnum() or _TABLE_POINTER.search(text):
        return None
    # A snippet cut out of its sentence keeps the comma it was cut at ("thiazovivin, a novel ROCK
    # inhibitor,"): quoted without it, as the phrase it is (still a verbatim span), like "co-chaperone
    # FKBP52".
    return text.rstrip(",; ")


def _says(hit: Hit, run: list[str], anchors: set[str]) -> bool:
    """True when the passage's text, or its title taken alone, says ``run`` next to one of ``anchors``."""
    p = hit.passage
    return mentions_near(analyze(p.text), run, anchors) or (
        p.title is not None and mentions_near(analyze(p.title), run, anchors)
    )


class ExtractiveComposer:
    name = "extractive"

    def __init__(self, settings: AnswerSettings, messages: Mapping[str, str]) -> None:
        self.settings = settings
        self.messages = messages

    def versions(self, audience: Audience) -> dict[str, int]:
        return {}

    def compose_section(
        self,
        key: SectionKey,
        q: QuestionInfo,
        hits: Sequence[Hit],
        *,
        audience: Audience = "clinician",
        no_label_for: Sequence[str] = (),
    ) -> DraftSection:
        if key == "fda_label" and no_label_for and not hits:
            message = self.messages["fda_label_no_label"].format(drug=", ".join(no_label_for))
            return DraftSection(key=key, abstained=True, message=message)
        if not hits:
            return DraftSection(key=key, abstained=True, message=self.messages.get(key))
        # A qualifier ("low-dose") must be said of what the question is about ("naltrexone"), in the same
        # passage: otherwise the passage is about something else and cannot answer. The passage's title
        # counts, on its own: a label's product name ("Mucinex Fast-Max") says it of every section.
        anchors = set(q.focus) | {w for d in q.drugs for w in analyze(d)}
        qualified = [h for h in hits if all(_says(h, run, anchors) for run in q.qualifiers)]
        if q.qualifiers and not qualified:
            qualifier = " or ".join(f"“{m}”" for m in q.qualifier_text)
            message = self.messages["qualifier_missing"].format(
                source=SECTION_NOUNS[key], qualifier=qualifier
            )
            context: list[DraftStatement] = []
            if key not in CONTEXT_SECTIONS:
                message = self.messages["qualifier_missing_no_context"].format(
                    source=SECTION_NOUNS[key], qualifier=qualifier
                )
            else:
                chosen = mmr(self.candidates(key, q, hits, audience), 2, self.settings.mmr_lambda)
                context = [DraftStatement(text=c.text, keys=[c.key], context=True) for c in chosen]
            return DraftSection(key=key, statements=context, abstained=True, message=message)
        candidates = self.candidates(key, q, qualified, audience)
        if q.intents and set(q.intents) <= SAID_IN_WORDS:
            # How a product is stored is said in those words ("Store at 20° to 25°C"): when some sentence
            # says it, the section's other sentences ("Each capsule contains: 500 mg amoxicillin", "Use
            # safety closures when dispensing") are not the answer.
            candidates = [c for c in candidates if c.features["cue"] > 0] or candidates
        for asked_words in said_in_words(q):
            # What to do after a missed dose, or whether a tablet may be crushed, is said in those words
            # ("Swallow whole; do not crush or chew"); the dosing around it ("… with meals") does not say it.
            candidates = [c for c in candidates if c.terms & asked_words]
            if not candidates:
                return DraftSection(key=key, abstained=True, message=self.messages.get(key))
        said = {t for intent in q.intents for t in SAID_OF.get(intent, ())}
        said_of_drug = key == "guidelines" and bool(q.drugs) and bool(set(q.intents) & set(GUIDELINE_SAID_OF))
        if said_of_drug:
            said |= {t for intent in q.intents for t in GUIDELINE_SAID_OF.get(intent, ())}
        # (in research only for a drug question: a research question about harms is answered by a trial's
        # findings in its own words, "88 parents (81%) reported …")
        if (
            said
            and "comparison" not in q.intents
            and (key == "guidelines" or (key == "research" and q.drugs))
        ):
            # The passage was chosen because one of its sentences names the drug with its side effects; the
            # others need not say them ("Methotrexate monotherapy is conditionally recommended over …"
            # from a guideline whose next sentence does): only the sentences that say it answer, and when none
            # can be quoted the section does not answer.
            candidates = [c for c in candidates if c.terms & said]
            if not candidates:
                return DraftSection(key=key, abstained=True, message=self.messages.get(key))
            # and of them, those naming the drug ("The reported adverse effects of acupuncture …" in the
            # guideline that says tramadol's is about something else); an abstract may name it otherwise (MTX)
            drug_words = {w for d in q.drugs for w in analyze(d)}
            naming = [c for c in candidates if drug_words <= c.terms]
            if said_of_drug and not naming:
                # a guideline's "UFH is preferred when rapid reversal may be needed": not warfarin's antidote
                return DraftSection(key=key, abstained=True, message=self.messages.get(key))
            candidates = naming or candidates
        if {"interaction", "alcohol"} & set(q.intents):
            # "Does omeprazole interact with clopidogrel?": the omeprazole label's sentences about
            # methotrexate or warfarin do not answer it; one naming clopidogrel may. When no passage names
            # the other asked drug, the section says so and shows what its passages do cover, as context.
            own = {h.passage.id: set(analyze(h.passage.drug or h.passage.title or "")) for h in qualified}
            asked_drugs = {w for d in q.drugs for w in analyze(d)}
            partners = {c.key: asked_drugs - own.get(c.key, set()) for c in candidates}
            # the other drug named by its class ("NSAIDs" on lisinopril's label, for ibuprofen)
            own_words = set().union(*own.values())
            classes = [m for d in q.drugs if not set(analyze(d)) <= own_words for m in class_markers(d)]

            def names_class(terms: set[str]) -> bool:
                return any(m <= terms for m in classes)

            naming = [
                c
                for c in candidates
                if not partners[c.key] or partners[c.key] & c.terms or names_class(c.terms)
            ]
            missing = partners[candidates[0].key] if candidates and not naming else set()
            if missing and not any(
                missing & (terms := set(analyze(h.passage.text))) or names_class(terms) for h in qualified
            ):
                words = words_as_written(q.text, missing)
                partner = " or ".join(f"“{w}”" for w in words) or "the other drug"
                context = []
                if key in CONTEXT_SECTIONS:
                    chosen = mmr(candidates, 2, self.settings.mmr_lambda)
                    context = [DraftStatement(text=c.text, keys=[c.key], context=True) for c in chosen]
                template = "qualifier_missing" if context else "qualifier_missing_no_context"
                message = self.messages[template].format(source=SECTION_NOUNS[key], qualifier=partner)
                return DraftSection(key=key, statements=context, abstained=True, message=message)
            candidates = naming or candidates
            # What else the question names to take with the drug, when it is no drug of the lexicon ("Does
            # resmetirom interact with statins?", "… grapefruit juice …"): a sentence naming it comes before
            # the label's other interaction sentences ("Resmetirom is a weak CYP2C8 inhibitor.").
            partner_terms = set(q.focus) - asked_drugs
            if "alcohol" in q.intents:
                partner_terms = set(INTENT_EVIDENCE["alcohol"])  # not "while" of "… while taking sertraline"
            if partner_terms and len(q.drugs) == 1:
                candidates = [c for c in candidates if partner_terms & c.terms] or candidates
        asked = strengths(q.text)
        if asked and "appearance" in q.intents:
            # "What does spironolactone 25 mg pill look like": the 50 mg tablet's description is another
            # product's, not the answer; a sentence naming the asked strength (or none) is.
            candidates = [
                c for c in candidates if not (named := strengths(c.text)) or named & asked
            ] or candidates
        chosen = mmr(candidates, self.settings.statements_per_section, self.settings.mmr_lambda)
        best = qualified[0]
        whole = _short_answer(best)
        if chosen and whole is not None and all(c.key != best.passage.id for c in candidates):
            # The passage the model ranked first is itself the answer, too short to hold a sentence
            # ("Color YELLOW … Shape OVAL … Imprint Code S160"): it is quoted first, whole, before the
            # sentences of the passages ranked after it.
            statements = [DraftStatement(text=whole, keys=[best.passage.id])]
            statements += [DraftStatement(text=c.text, keys=[c.key]) for c in chosen]
            return DraftSection(key=key, statements=statements[: self.settings.statements_per_section])
        if not chosen:
            if whole is not None:
                # The passage the model chose is itself the answer, too short to hold a sentence
                # ("Color - WHITE, Shape - ROUND, …"): quoted whole, verbatim — with the other selected
                # products' own short answers ("PINK"), each citing its passage, when they differ.
                statements = [DraftStatement(text=whole, keys=[qualified[0].passage.id])]
                for h in qualified[1:]:
                    more = _short_answer(h)
                    if more is not None and all(more != s.text for s in statements):
                        statements.append(DraftStatement(text=more, keys=[h.passage.id]))
                    if len(statements) >= self.settings.statements_per_section:
                        break
                return DraftSection(key=key, statements=statements)
            if qualified[0].relevance is not None:
                # The learned selection's calibrated decision is that the best passage answers, though no
                # sentence repeats the question's words ("allergic to sufa" for the sulfonylurea label):
                # its best sentences are quoted rather than the section abstaining against that decision.
                loose = self.candidates(key, q, qualified[:1], audience, need_focus=False)
                chosen = mmr(loose, self.settings.statements_per_section, self.settings.mmr_lambda)
            if not chosen:
                return DraftSection(key=key, abstained=True, message=self.messages.get(key))
        return DraftSection(key=key, statements=[DraftStatement(text=c.text, keys=[c.key]) for c in chosen])

    def candidates(
        self,
        key: SectionKey,
        q: QuestionInfo,
        hits: Sequence[Hit],
        audience: Audience = "clinician",
        *,
        need_focus: bool = True,
    ) -> list[Candidate]:
        """The sentences of ``hits`` the section may quote, each with its score and the features it weighs
        (the pool MMR picks from; ``eval.sentence_weights`` measures the weights on it)."""
        focus = set(q.focus)
        qualifier_stems = {t for run in q.qualifiers for t in run}
        terms_all = set(q.terms) - qualifier_stems
        cues = {t for intent in q.intents for t in INTENT_CUES.get(intent, ())}
        drug_words = {w for d in q.drugs for w in analyze(d)}
        # What was seen in rats or rabbits ("When pregnant rats and rabbits were given sertraline …") is said
        # of patients only when nothing else is: weighed like the label's mandatory sentences, in a label
        # section or for a drug question that needs evidence said of patients (``select.INTENT_EVIDENCE``),
        # unless the question asks about animals. A research question ("Is Adar3 involved in learning and
        # memory?") is often answered by the study in mice.
        needs_patients = key == "fda_label" or bool(
            q.drugs and any(intent in INTENT_EVIDENCE for intent in q.intents)
        )
        weigh_animals_down = needs_patients and not ANIMALS & set(q.terms)
        out: list[Candidate] = []
        seen: set[str] = set()
        for rank, hit in enumerate(hits):
            p = hit.passage
            passage_terms = set(analyze(f"{p.title or ''} {p.text}"))
            # A label passage retrieved under the asked drug's filter is that drug's own, whatever name
            # it uses ("ZURZUVAE" for zuranolone).
            about_drug = bool(drug_words) and (
                drug_words <= passage_terms or (SECTION_SOURCE[key] == "fda_label" and hit.drug_match)
            )
            asked_section = SECTION_SOURCE[key] == "fda_label" and in_sections(p.section, q.intent_sections)
            patient_section = (
                SECTION_SOURCE[key] == "fda_label"
                and audience == "patient"
                and in_sections(p.section, PATIENT_SECTIONS)
            )
            # The learned relevance of the passage, when selection gave one, else its cosine (weighed less).
            passage_score = COSINE_SHARE * (hit.cosine or 0.0) if hit.relevance is None else hit.relevance
            sentences = [piece for sentence in p.sentence_texts() for piece in pieces(sentence)]
            for idx, sentence in enumerate(sentences):
                text = trim(sentence)
                listed = _is_item(sentence, p.source_type)
                if (
                    not text.endswith(":")
                    and _ANNOUNCES.search(text)
                    and idx + 1 < len(sentences)
                    and sentences[idx + 1].lstrip().startswith(_BULLET)
                ):
                    continue
                if text.endswith(":") and idx + 1 < len(sentences):
                    # A lead-in ("…offered to patients who:") is only whole with what follows it.
                    text = f"{text} {trim(sentences[idx + 1])}"
                    seen.add(trim(sentences[idx + 1]))  # said with its lead-in, not again alone
                elif (
                    not _TERMINAL.search(text)
                    and not listed
                    and not (idx + 1 < len(sentences) and _is_item(sentences[idx + 1], p.source_type))
                    and _continues(sentences, idx, p.text)
                ):
                    # Cut inside a sentence ("These 3066 patients exposed to sertraline hydrochloride" |
                    # "for 8 to12 weeks represent …"): quoted with its rest, or not at all at a chunk's end.
                    if idx + 1 >= len(sentences) or text in seen:
                        if p.source_type == "fda_label":
                            continue
                    else:
                        text = f"{text} {trim(sentences[idx + 1])}"
                        seen.add(trim(sentences[idx + 1]))
                text = _drop_own_heading(text, p.section)
                words = text.split()
                if len(words) < 6 or len(words) > 80 or text in seen or not is_clean(text, listed=listed):
                    continue
                stems = analyze(text)
                terms = set(stems)
                if not terms:
                    continue
                focus_hits = focus & terms
                # A sentence of a label passage about the asked drug may say "it" or "tablets".
                if drug_words and drug_words & focus and (drug_words <= terms or about_drug):
                    focus_hits |= drug_words & focus
                focus_cov = len(focus_hits) / len(focus) if focus else 1.0
                # A passage the relevance model is confident answers may say it in other words.
                confident = hit.relevance is not None and hit.relevance >= CONFIDENT
                # The asked drug's own label section for what is asked (its Dosage and Administration for a
                # dose question) need not repeat the rest of the question ("for postpartum depression").
                own_answer = about_drug and asked_section
                if (
                    need_focus
                    and focus_cov < self.settings.min_focus_coverage
                    and not (confident or own_answer)
                ):
                    continue
                features = {
                    "coverage": len(terms_all & terms) / len(terms_all) if terms_all else 0.0,
                    "cue": min(1.0, len(cues & terms) / 2) if cues else 0.0,
                    "focus": focus_cov,
                    "passage": passage_score,
                    "asked_section": float(asked_section),
                    "patient_section": float(patient_section),
                    "phrase": phrase_coverage(q.text, [_SAME_TERM.get(t, t) for t in stems]),
                    "rank": float(rank),
                    "position": float(min(idx, 10)),
                    "aim": float(is_aim(text)),
                    "boilerplate": float(
                        bool(_BOILERPLATE.search(text) or _ANAPHORA.match(text))
                        or (weigh_animals_down and bool(ANIMALS & terms))
                    ),
                    "long_words": (
                        sum(1 for w in words if len(w) > 12) / len(words) if audience == "patient" else 0.0
                    ),
                }
                score = sum(SENTENCE_WEIGHTS[name] * value for name, value in features.items())
                seen.add(text)
                out.append(Candidate(p.id, text, terms, score, features))
        return out
