"""The select stage with the shipped relevance model: a research passage must speak of what is asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from app.answer.question import QuestionInfo, analyse_question
from app.answer.relevance import RelevanceModel
from app.answer.select import Selector, asked_names, label_prefix, other_ingredients
from app.corpus.chunker import split_sentences
from app.index.drugs import DrugLexicon
from app.index.lexical import LexicalDoc, TantivyStore
from app.schema import Hit, Passage, SectionKey, Span
from app.settings import AnswerSettings


def _hit(pid: str, text: str, rank: int) -> Hit:
    spans = [Span(start=s.start, end=s.end) for s in split_sentences(text)]
    passage = Passage(
        id=pid, record_id=pid.split("#", maxsplit=1)[0], text=text, source_type="research", sentences=spans
    )
    return Hit(
        passage=passage, score=1.0 / (1 + rank), cosine=0.6 - 0.05 * rank, dense_score=0.6 - 0.05 * rank
    )


METABOLITES = _hit(
    "pmid:1#0",
    "Dihydroxyphenylacetic acid, tocopherols and serotonin were common metabolites in responders to "
    "sertraline. Metabolomics may inform the biochemical basis for the early efficacy of sertraline.",
    0,
)
TOLERABILITY = _hit(
    "pmid:2#0",
    "Sertraline was well tolerated. The most common adverse events with sertraline were nausea, "
    "diarrhoea and insomnia, reported by 26%, 18% and 16% of patients.",
    1,
)


def test_a_side_effect_question_is_not_answered_by_an_abstract_that_never_speaks_of_harms() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    q = analyse_question("What are the common side effects of sertraline?", drugs=["sertraline"])
    scored = dict(
        (h.passage.id, p) for p, h in selector.scored("research", q, [METABOLITES, TOLERABILITY], {})
    )
    assert scored["pmid:1#0"] == 0.0
    assert scored["pmid:2#0"] > 0.0
    chosen = selector.select("research", q, [METABOLITES, TOLERABILITY], {})
    assert [h.passage.id for h in chosen] in ([], ["pmid:2#0"])


def test_a_dose_found_in_animals_does_not_answer_a_patients_dose_question() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    dogs = _hit(
        "pmid:3#0",
        "Twenty dogs undergoing mastectomy were randomized to receive perioperative oral placebo or "
        "gabapentin (10 mg/kg). Dogs in the gabapentin group received fewer morphine doses.",
        0,
    )
    people = _hit(
        "pmid:4#0",
        "Gabapentin doses up to 3600 mg/day were studied in adults with postherpetic neuralgia.",
        1,
    )
    q = analyse_question("What is the maximum dose of gabapentin?", drugs=["gabapentin"])
    scored = dict((h.passage.id, p) for p, h in selector.scored("research", q, [dogs, people], {}))
    assert scored["pmid:3#0"] == 0.0
    assert scored["pmid:4#0"] > 0.0
    vet = analyse_question("What is the dose of gabapentin for dogs?", drugs=["gabapentin"])
    assert dict((h.passage.id, p) for p, h in selector.scored("research", vet, [dogs], {}))["pmid:3#0"] > 0.0


def test_who_should_not_take_a_drug_is_not_answered_by_an_abstract_that_only_describes_it() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    q = analyse_question("What are the contraindications of warfarin?", drugs=["warfarin"])
    about = _hit("pmid:5#0", "Warfarin is a commonly used anticoagulant. Its dose varies by patient.", 0)
    says = _hit(
        "pmid:6#0",
        "Warfarin is contraindicated in pregnancy except in women with mechanical heart valves. Bleeding "
        "remained the main risk.",
        1,
    )
    scored = {h.passage.id: p for p, h in selector.scored("research", q, [about, says], {})}
    assert scored["pmid:5#0"] == 0.0
    assert scored["pmid:6#0"] > 0.0


COMPARATOR = _hit(
    "pmid:3#1",
    "Safety was determined through assessments of vital signs and adverse events. There were no serious "
    "adverse events. Placeboxetine was as effective as sertraline in patients with depression.",
    2,
)


def test_a_trial_that_names_the_drug_only_as_its_comparator_does_not_answer_for_its_harms() -> None:
    # "adverse events" and "sertraline" are both in the passage, never in one sentence: the harms reported
    # are the trial's, not said of sertraline.
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    q = analyse_question("What are the common side effects of sertraline?", drugs=["sertraline"])
    scored = dict(
        (h.passage.id, p) for p, h in selector.scored("research", q, [COMPARATOR, TOLERABILITY], {})
    )
    assert scored["pmid:3#1"] == 0.0
    assert scored["pmid:2#0"] > 0.0


def test_a_title_that_names_the_drug_and_the_topic_speaks_of_them() -> None:
    titled = COMPARATOR.model_copy(
        update={"passage": COMPARATOR.passage.model_copy(update={"title": "Adverse events of sertraline"})}
    )
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    q = analyse_question("What are the common side effects of sertraline?", drugs=["sertraline"])
    [(p, _h)] = selector.scored("research", q, [titled], {})
    assert p > 0.0


def test_a_question_without_such_an_intent_keeps_the_models_score() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    q = analyse_question("What metabolites predict response to sertraline?", drugs=["sertraline"])
    scored = [p for p, _h in selector.scored("research", q, [METABOLITES], {})]
    assert scored[0] > 0.0


MEMANTINE_TRIAL = _hit(
    "pmid:4#0",
    "A single dosage of memantine had no significant effect on this training-induced plasticity, whereas "
    "memantine administered daily for a week enhanced it.",
    0,
)
MEMANTINE_TABLETS = _hit(
    "pmid:5#0",
    "Memantine tablets were white, oval and film-coated in both arms, identical to the placebo tablets.",
    1,
)


def test_what_a_product_looks_like_is_not_answered_by_an_abstract_that_only_names_the_drug() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    q = analyse_question("what does memantine look like", drugs=["memantine"])
    assert q.intents == ["appearance"]
    scored = dict(
        (h.passage.id, p) for p, h in selector.scored("research", q, [MEMANTINE_TRIAL, MEMANTINE_TABLETS], {})
    )
    assert scored["pmid:4#0"] == 0.0
    assert scored["pmid:5#0"] > 0.0  # a sentence that says the drug's colour and shape may answer
    assert selector.select("research", q, [MEMANTINE_TRIAL], {}) == []
    for question in ("what are the ingredients in memantine", "how is memantine stored"):
        q = analyse_question(question, drugs=["memantine"])
        assert [p for p, _h in selector.scored("research", q, [MEMANTINE_TRIAL], {})] == [0.0], question


def _label(
    pid: str,
    text: str,
    rank: int,
    *,
    drug: str = "metformin",
    brand: str | None = None,
    section: str = "Dosage and Administration",
) -> Hit:
    spans = [Span(start=s.start, end=s.end) for s in split_sentences(text)]
    passage = Passage(
        id=pid,
        record_id=pid.split("#", maxsplit=1)[0],
        text=text,
        source_type="fda_label",
        section=section,
        drug=drug,
        brand=brand,
        sentences=spans,
    )
    return Hit(
        passage=passage,
        score=1.0 / (1 + rank),
        cosine=0.6 - 0.05 * rank,
        dense_score=0.6 - 0.05 * rank,
        drug_match=True,
    )


class _FixedScores(RelevanceModel):
    """The shipped model's weights with the P(answers) the real label chunks of the metformin dose question
    got (0.646 for the section's first chunk, 0.309 for the one holding "The usual starting dose …"), so the
    rule under test sees that situation whatever the fixture texts score."""

    def __init__(self, probs: dict[str, float]) -> None:
        shipped = RelevanceModel.load()
        super().__init__(**{f: getattr(shipped, f) for f in shipped.__dataclass_fields__})
        object.__setattr__(self, "_probs", probs)

    def score(
        self, key: SectionKey, q: QuestionInfo, hits: Sequence[Hit], idf: Mapping[str, float]
    ) -> list[float]:
        probs: dict[str, float] = object.__getattribute__(self, "_probs")
        return [probs[h.passage.id] for h in hits]


def test_the_rest_of_a_chosen_label_section_is_kept_with_the_sections_relevance() -> None:
    model = _FixedScores({"label:m:dosage#0": 0.646, "label:m:dosage#1": 0.309, "label:m:overdosage#0": 0.3})
    selector = Selector(AnswerSettings(), model)
    q = analyse_question(
        "What is the usual starting dose of metformin for type 2 diabetes?", drugs=["metformin"]
    )
    first = _label("label:m:dosage#0", "There is no fixed dosage regimen for metformin.", 0)
    rest = _label("label:m:dosage#1", "The usual starting dose of metformin is 500 mg twice a day.", 1)
    other = _label("label:m:overdosage#0", "Overdose of metformin has occurred.", 2)
    chosen = selector.select("fda_label", q, [first, rest, other], {})
    assert [(h.passage.id, h.relevance) for h in chosen] == [
        ("label:m:dosage#0", 0.646),
        ("label:m:dosage#1", 0.646),  # competes in the composer as part of the chosen section
    ]
    # Below SIBLING_SHARE of the best, the rest of the section is not kept, unless it is the next chunk.
    far = _label("label:m:dosage#2", "The usual starting dose of metformin is 500 mg twice a day.", 1)
    low = Selector(AnswerSettings(), _FixedScores({"label:m:dosage#0": 0.646, "label:m:dosage#2": 0.2}))
    assert [h.passage.id for h in low.select("fda_label", q, [first, far], {})] == ["label:m:dosage#0"]


def test_the_asked_drugs_own_section_for_what_is_asked_answers_when_nothing_reaches_the_threshold() -> None:
    # The real P(answers) of atorvastatin's best Adverse Reactions chunk (a table) was 0.329, under the
    # threshold: the section abstained on "What are the side effects of atorvastatin?".
    ids = {"label:at:adverse-reactions#2": 0.329, "label:at:overdosage#0": 0.1}
    selector = Selector(AnswerSettings(), _FixedScores(ids))
    q = analyse_question("What are the side effects of atorvastatin?", drugs=["atorvastatin"])
    table = _label(
        "label:at:adverse-reactions#2",
        "Table 1: Adverse Reactions in Atorvastatin-Treated Patients",
        0,
        drug="atorvastatin",
        section="Adverse Reactions",
    )
    other = _label(
        "label:at:overdosage#0", "There is no specific treatment for overdosage.", 1, drug="atorvastatin"
    )
    chosen = selector.select("fda_label", q, [table, other], {})
    assert [h.passage.id for h in chosen] == ["label:at:adverse-reactions#2"]
    assert chosen[0].relevance == AnswerSettings().answer_threshold_fda_label
    # Asking more than the section says ("… hair loss") is not answered by it; nor is another section.
    more = analyse_question("Does atorvastatin cause hair loss side effects?", drugs=["atorvastatin"])
    assert selector.select("fda_label", more, [table, other], {}) == []


def test_an_appearance_question_keeps_every_product_that_answers() -> None:
    model = _FixedScores({"label:a#0": 0.92, "label:b#0": 0.63, "label:c#0": 0.2})
    selector = Selector(AnswerSettings(), model)
    q = analyse_question("what does metformin look like", drugs=["metformin"])
    hits = [
        _label("label:a#0", "Color - WHITE, Shape - ROUND, Size - 6mm, Imprint Code - M;103", 0),
        _label("label:b#0", "Color - GRAY, Shape - CAPSULE, Size - 12mm, Imprint Code - m10", 1),
        _label("label:c#0", "Store at room temperature.", 2),
    ]
    # Not only those within keep_ratio of the best (0.8 x 0.92): every one above the section's threshold.
    assert [h.passage.id for h in selector.select("fda_label", q, hits, {})] == ["label:a#0", "label:b#0"]
    dose = analyse_question("What is the usual starting dose of metformin?", drugs=["metformin"])
    assert [h.passage.id for h in selector.select("fda_label", dose, hits, {})] == ["label:a#0"]


def test_a_label_passage_about_another_dosage_form_cannot_answer() -> None:
    oral = _label("label:o:dosage#0", "The initial dosage of Prednisolone Oral Solution is 5 mL daily.", 0)
    drops = _label("label:e:dosage#0", "Two drops topically in the eye(s) four times daily.", 1)
    plain = _label("label:p:dosage#0", "The usual dosage is 5 mg daily, adjusted to response.", 2)
    selector = Selector(AnswerSettings(), _FixedScores({h.passage.id: 0.7 for h in (oral, drops, plain)}))
    q = analyse_question("what is a daily amount of prednisolone eye drops to take", drugs=["prednisolone"])
    assert q.forms == {"ophthalmic"}
    scored = {h.passage.id: p for p, h in selector.scored("fda_label", q, [oral, drops, plain], {})}
    assert scored == {"label:o:dosage#0": 0.0, "label:e:dosage#0": 0.7, "label:p:dosage#0": 0.7}
    # A question that names no form keeps every product.
    anyform = analyse_question("what is the daily dose of prednisolone", drugs=["prednisolone"])
    assert all(p == 0.7 for p, _h in selector.scored("fda_label", anyform, [oral, drops, plain], {}))


def test_the_chunks_beside_the_chosen_label_chunk_join_it_retrieved_or_not() -> None:
    q = analyse_question("What are the common side effects of sertraline?", drugs=["sertraline"])
    lead = "The following are the most common adverse reactions by indication not mentioned previously."
    before = "The most common adverse reactions of sertraline were nausea, diarrhea, tremor and dyspepsia."
    store = {
        "label:s:adverse#0": _label(
            "label:s:adverse#0", "Adverse reactions are described below.", 5, section="Adverse Reactions"
        ).passage,
        "label:s:adverse#1": _label("label:s:adverse#1", before, 5, section="Adverse Reactions").passage,
        "label:s:adverse#2": _label("label:s:adverse#2", lead, 0, section="Adverse Reactions").passage,
        "label:s:adverse#3": _label(
            "label:s:adverse#3", "Table 3 lists the reactions.", 1, section="Adverse Reactions"
        ).passage,
        "label:t:adverse#1": _label(
            "label:t:adverse#1", "Another label's reactions.", 5, section="Adverse Reactions"
        ).passage,
    }
    chosen_hit = _label("label:s:adverse#2", lead, 0, section="Adverse Reactions")
    table = _label("label:s:adverse#3", "Table 3 lists the reactions.", 1, section="Adverse Reactions")
    model = _FixedScores({"label:s:adverse#2": 0.77, "label:s:adverse#3": 0.2})
    selector = Selector(AnswerSettings(), model, passages=store.get)
    chosen = selector.select("fda_label", q, [chosen_hit, table], {})
    # #1 (never retrieved, fetched from the store) and #3 (retrieved, its own P 0.2 below SIBLING_SHARE of
    # the best) join with the chosen chunk's relevance, as parts of its section; chunks two away and other
    # labels do not.
    assert [(h.passage.id, h.relevance) for h in chosen] == [
        ("label:s:adverse#2", 0.77),
        ("label:s:adverse#1", 0.77),
        ("label:s:adverse#3", 0.77),
    ]
    # Without a store only the retrieved neighbour joins.
    bare = Selector(AnswerSettings(), model)
    assert [h.passage.id for h in bare.select("fda_label", q, [chosen_hit, table], {})] == [
        "label:s:adverse#2",
        "label:s:adverse#3",
    ]


COMBINATION = _label(
    "label:combo:adverse-reactions#0",
    "The most common adverse reactions of acetaminophen tablets with hydrocodone are nausea, vomiting, "
    "constipation, somnolence and respiratory depression.",
    0,
    drug="HYDROCODONE BITARTRATE AND ACETAMINOPHEN",
    brand="Hydrocodone Bitartrate and Acetaminophen",
    section="Adverse Reactions",
)
ALONE = _label(
    "label:alone:adverse-reactions#0",
    "Adverse reactions of acetaminophen tablets include rash and, rarely, serious skin reactions; liver "
    "damage may occur with more than the maximum daily amount.",
    1,
    drug="Acetaminophen",
    brand="Tylenol",
    section="Adverse Reactions",
)


def _lexicon() -> DrugLexicon:
    return DrugLexicon.build(
        [
            (0, "HYDROCODONE BITARTRATE AND ACETAMINOPHEN", "Hydrocodone Bitartrate and Acetaminophen"),
            (1, "Acetaminophen", "Tylenol"),
            (2, "Hydrocodone Bitartrate", None),
            (3, "Carbidopa and Levodopa, extended release", None),
            (4, "Extended Release", None),
        ]
    )


def test_a_combination_product_holds_other_ingredients_than_the_drug_asked() -> None:
    lexicon = _lexicon()

    def others(hit: Hit, asked: list[str]) -> list[str]:
        return other_ingredients(hit.passage, asked_names(asked, lexicon), lexicon)

    assert others(COMBINATION, ["acetaminophen"]) == ["hydrocodone"]
    assert others(COMBINATION, ["hydrocodone", "acetaminophen"]) == []
    assert others(ALONE, ["acetaminophen"]) == []
    assert others(ALONE, ["tylenol"]) == []
    # a part of the name that says the form ("extended release") is no ingredient
    levodopa = _label("label:ld#0", "Tablets.", 0, drug="Carbidopa and Levodopa, extended release")
    assert others(levodopa, ["carbidopa", "levodopa"]) == []


def test_a_label_of_the_asked_drug_alone_answers_before_a_combination_that_holds_it() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load(), lexicon=_lexicon())
    q = analyse_question("What are the side effects of acetaminophen?", drugs=["acetaminophen"])
    scored = {h.passage.id: p for p, h in selector.scored("fda_label", q, [COMBINATION, ALONE], {})}
    assert scored[COMBINATION.passage.id] == 0.0
    assert scored[ALONE.passage.id] > 0.0
    # with no label of the drug alone retrieved, the combination's label may still answer
    only = {h.passage.id: p for p, h in selector.scored("fda_label", q, [COMBINATION], {})}
    assert only[COMBINATION.passage.id] > 0.0


def test_a_combination_above_the_threshold_does_not_keep_the_drugs_own_section_from_answering() -> None:
    # "What are the side effects of lisinopril?": lisinopril and hydrochlorothiazide's Adverse Reactions
    # scored above the threshold, so lisinopril's own (0.225) was not lifted, then the combination was
    # dropped and the section abstained. The same, with this file's lexicon: acetaminophen alone and the
    # hydrocodone combination.
    own = _label(
        "label:ap:adverse-reactions#4",
        "Other reactions include rash and angioedema.",
        1,
        drug="Acetaminophen",
        brand="Tylenol",
        section="Adverse Reactions",
    )
    model = _FixedScores({COMBINATION.passage.id: 0.5, own.passage.id: 0.225})
    selector = Selector(AnswerSettings(), model, lexicon=_lexicon())
    q = analyse_question("What are the side effects of acetaminophen?", drugs=["acetaminophen"])
    scored = {h.passage.id: p for p, h in selector.scored("fda_label", q, [COMBINATION, own], {})}
    assert scored == {
        COMBINATION.passage.id: 0.0,
        own.passage.id: AnswerSettings().answer_threshold_fda_label,
    }


def _label_store(*hits: Hit) -> Callable[[str], list[Passage]]:
    passages = [h.passage for h in hits]

    def by_prefix(prefix: str) -> list[Passage]:
        return [p for p in passages if p.record_id.startswith(prefix)]

    return by_prefix


def test_the_asked_section_of_a_retrieved_label_is_fetched_when_retrieval_returned_none() -> None:
    # "bupropion hcl 300mg is good for what?" retrieved bupropion's Dosage and Administration only, and the
    # label section quoted the dose.
    dosing = _label(
        "label:b:dosage-and-administration#0",
        "Usual target dose: 348 mg once daily (equivalent to 300 mg bupropion HCl).",
        0,
        drug="bupropion",
    )
    use = _label(
        "label:b:indications-and-usage#0",
        "Bupropion extended-release tablets are indicated for the treatment of major depressive disorder.",
        9,
        drug="bupropion",
        section="Indications and Usage",
    )
    other = _label(
        "label:b:adverse-reactions#0",
        "Dry mouth and insomnia.",
        9,
        drug="bupropion",
        section="Adverse Reactions",
    )
    q = analyse_question("bupropion hcl 300mg is good for what?", drugs=["bupropion"])
    selector = Selector(AnswerSettings(), RelevanceModel.load(), label=_label_store(dosing, use, other))
    chosen = selector.select("fda_label", q, [dosing], {})
    assert [h.passage.id for h in chosen][:1] == [use.passage.id]
    assert dosing.passage.id not in {h.passage.id for h in chosen}
    # Without the store, the retrieved hits are all there is.
    bare = Selector(AnswerSettings(), RelevanceModel.load())
    assert [h.passage.id for _p, h in bare.scored("fda_label", q, [dosing], {})] == [dosing.passage.id]
    # A fetched chunk must hold the question's other focus terms: a list of reactions that never says
    # "eyes" or "blurry" does not answer why someone's eyes are blurry.
    eyes = analyse_question("my eyes are blurry on bupropion, is it a side effect", drugs=["bupropion"])
    assert eyes.intents == ["adverse"]
    assert [h.passage.id for _p, h in selector.scored("fda_label", eyes, [dosing], {})] == [dosing.passage.id]
    said = analyse_question("is insomnia a side effect of bupropion", drugs=["bupropion"])
    assert [h.passage.id for _p, h in selector.scored("fda_label", said, [dosing], {})] == [other.passage.id]


def test_a_label_prefix_is_the_part_of_a_section_record_its_label_shares() -> None:
    assert label_prefix(_label("label:abc:adverse-reactions#2", "x", 0).passage) == "label:abc:"
    # an excerpt is not one section of a whole label
    assert label_prefix(_label("dailymed-excerpt:436#0", "x", 0).passage) is None


def test_a_side_effect_question_is_not_answered_by_another_section_of_the_label() -> None:
    # "side effects of tramadol": its only label passages in the index are its dosing, description and how it
    # is supplied, and the section quoted the dose.
    dosing = _label(
        "dailymed-excerpt:436#0",
        "For patients with moderate to moderately severe chronic pain, tramadol is started at 25 mg/day.",
        0,
        drug="tramadol",
    )
    supplied = _label(
        "dailymed-excerpt:148#0",
        "Tramadol tablets, 50 mg are white.",
        1,
        drug="tramadol",
        section="How Supplied",
    )
    selector = Selector(
        AnswerSettings(), _FixedScores({"dailymed-excerpt:436#0": 0.41, "dailymed-excerpt:148#0": 0.3})
    )
    q = analyse_question("What are the side effects of tramadol?", drugs=["tramadol"])
    assert [p for p, _h in selector.scored("fda_label", q, [dosing, supplied], {})] == [0.0, 0.0]
    assert selector.select("fda_label", q, [dosing, supplied], {}) == []
    assert selector.sections_instead(q, [dosing, supplied]) == ["Dosage and Administration", "How Supplied"]
    # Other questions may still be answered from another section than their own (a MedicationQA "how long
    # does vicodin stay in breast milk" is answered by the pharmacokinetics).
    dose = analyse_question("Is tramadol safe in pregnancy?", drugs=["tramadol"])
    assert [p for p, _h in selector.scored("fda_label", dose, [dosing, supplied], {})] == [0.41, 0.3]
    assert selector.sections_instead(dose, [dosing, supplied]) == []
    # With an adverse-reactions chunk among them, the rule does not apply.
    adverse = _label(
        "label:t:adverse-reactions#0",
        "Dizziness and nausea.",
        2,
        drug="tramadol",
        section="Adverse Reactions",
    )
    assert selector.sections_instead(q, [dosing, adverse]) == []


def test_a_half_life_is_not_answered_by_the_adverse_reactions_of_the_label() -> None:
    adverse = _label(
        "dailymed-excerpt:9#0",
        "Adverse reactions have been very common in patients treated with amiodarone.",
        0,
        drug="amiodarone",
        section="Adverse Reactions",
    )
    selector = Selector(AnswerSettings(), _FixedScores({"dailymed-excerpt:9#0": 0.6}))
    q = analyse_question("What is the half-life of amiodarone?", drugs=["amiodarone"])
    assert [p for p, _h in selector.scored("fda_label", q, [adverse], {})] == [0.0]
    assert selector.sections_instead(q, [adverse]) == ["Adverse Reactions"]


def test_what_class_a_drug_is_is_not_answered_by_an_abstract_that_only_names_it() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    q = analyse_question("What drug class is sertraline?", drugs=["sertraline"])
    metabolites = _hit(
        "pmid:1#0", "Metabolomics may inform the biochemical basis for the early efficacy of sertraline.", 0
    )
    ssri = _hit("pmid:2#0", "Sertraline, a selective serotonin reuptake inhibitor, was given for 8 weeks.", 1)
    scored = [p for p, _h in selector.scored("research", q, [metabolites, ssri], {})]
    assert scored[0] == 0.0
    assert scored[1] > 0.0


def _guideline(pid: str, text: str, rank: int) -> Hit:
    hit = _hit(pid, text, rank)
    return hit.model_copy(update={"passage": hit.passage.model_copy(update={"source_type": "guideline"})})


def test_guideline_passages_are_weighed_as_research_is() -> None:
    # Scored as their own section (whose training rows are all negatives) every guideline passage got
    # P ≈ 0.01: "Who should be screened for lung cancer?" retrieved the USPSTF recommendation and abstained.
    model = RelevanceModel.load()
    selector = Selector(AnswerSettings(), model)
    q = analyse_question("Who should be screened for lung cancer?")
    text = (
        "The USPSTF recommends annual screening for lung cancer with low-dose computed tomography in adults "
        "aged 55 to 80 years who have a 30 pack-year smoking history."
    )
    hits = [_guideline("ngc:1:major-recommendations#0", text, 0)]
    scored = [p for p, _h in selector.scored("guidelines", q, hits, {})]
    assert scored == model.score("research", q, hits, {})
    assert scored != model.score("guidelines", q, hits, {})
    # the section keeps its own, stricter threshold: the model was not trained on guideline evidence
    assert AnswerSettings().answer_threshold_guidelines > AnswerSettings().answer_threshold_research


def test_an_overdose_question_needs_research_that_speaks_of_overdose() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    design = _hit(
        "pmid:5#0",
        "Warfarin is a commonly used anticoagulant. Whether a given dose of the different formulations of "
        "warfarin will result in the same effect on the INR is uncertain.",
        0,
    )
    reversal = _hit(
        "pmid:6#0",
        "In patients with warfarin overdose and an INR above 9, oral vitamin K reversed anticoagulation "
        "within 24 hours in 85% of patients.",
        1,
    )
    q = analyse_question("What is the antidote for warfarin overdose?", drugs=["warfarin"])
    scored = dict((h.passage.id, p) for p, h in selector.scored("research", q, [design, reversal], {}))
    assert scored["pmid:5#0"] == 0.0
    assert scored["pmid:6#0"] > 0.0


def test_a_missed_dose_is_answered_by_the_chunk_that_says_what_to_do_read_from_the_store_if_need_be() -> None:
    # "I forgot to take my warfarin yesterday, what should I do?" retrieved the drug's patient counselling
    # chunks, none of which says it; its Medication Guide does.
    counselling = _label(
        "label:w:patient-counseling-information#0",
        "Advise the patient to read the FDA-approved patient labeling.",
        0,
        drug="warfarin",
        section="Patient Counseling Information",
    )
    guide = _label(
        "label:w:medication-guide#5",
        "If you miss a dose of warfarin sodium tablets, call your healthcare provider.",
        9,
        drug="warfarin",
        section="Medication Guide",
    )
    q = analyse_question("I forgot to take my warfarin yesterday, what should I do?", drugs=["warfarin"])
    assert q.intents == ["missed_dose"]
    selector = Selector(AnswerSettings(), RelevanceModel.load(), label=_label_store(counselling, guide))
    chosen = selector.select("fda_label", q, [counselling], {})
    assert [h.passage.id for h in chosen] == [guide.passage.id]
    # nothing says it: the section does not answer with the dosing around it
    bare = Selector(AnswerSettings(), RelevanceModel.load(), label=_label_store(counselling))
    assert bare.select("fda_label", q, [counselling], {}) == []


def test_an_everyday_word_no_passage_uses_is_not_what_a_question_is_about(tmp_path: Path) -> None:
    text = "Warfarin sodium tablets: if you miss a dose, call your provider."
    store = TantivyStore.build(tmp_path / "lexical", [LexicalDoc(row=0, source_type="fda_label", text=text)])
    selector = Selector(AnswerSettings(), RelevanceModel.load(), lexical=store)
    q = analyse_question("I forgot to take my warfarin yesterday, what should I do?", drugs=["warfarin"])
    assert selector.absent(q) == []
    unknown = analyse_question("What is trelavoxin used for?")
    assert selector.absent(unknown) == ["trelavoxin"]


def test_whether_a_tablet_may_be_crushed_is_answered_by_the_chunk_that_says_so() -> None:
    dosing = _label(
        "label:m:dosage-and-administration#0",
        "Hypertension: Recommended starting dosage is 100 mg daily, in single or divided doses.",
        0,
        drug="metoprolol",
    )
    says = _label(
        "label:m:dosage-and-administration#2",
        "Metoprolol succinate extended-release tablets are scored and can be divided; however, do not crush "
        "or chew the whole or half tablet.",
        9,
        drug="metoprolol",
    )
    q = analyse_question("Can I crush metoprolol tablets?", drugs=["metoprolol"])
    selector = Selector(AnswerSettings(), RelevanceModel.load(), label=_label_store(dosing, says))
    assert [h.passage.id for h in selector.select("fda_label", q, [dosing], {})] == [says.passage.id]
    # "divided doses" does not say it
    bare = Selector(AnswerSettings(), RelevanceModel.load(), label=_label_store(dosing))
    assert bare.select("fda_label", q, [dosing], {}) == []
