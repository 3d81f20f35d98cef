"""Focus entities: drugs resolved to label keys from the real shipped label records, terms no passage holds
reported unknown, and no function word or everyday word ever taken for a drug in real questions."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.answer.focus import (
    DocFreq,
    FocusEntities,
    about_drugs,
    find_focus,
    mentions_drug,
    unknown_message,
)
from app.index.drugs import FUNCTION_WORDS, DrugLexicon, english_zipf, tokens
from app.index.lexical import LexicalDoc, TantivyStore, analyze
from app.prompts import load_prompt
from app.schema import Hit, Passage
from app.settings import ROOT
from eval.datasets import DATA, read_jsonl

FIXTURES = ROOT / "tests" / "fixtures" / "corpus"


def _records(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def lexicon() -> DrugLexicon:
    """The lexicon of every shipped label record (one row per record), as the index builder makes it."""
    labels = [r for p in sorted((ROOT / "corpus" / "labels").glob("*.jsonl.gz")) for r in _records(p)]
    common: Counter[str] = Counter()
    for p in sorted((ROOT / "corpus").glob("[gr]*/*.jsonl.gz")):
        for r in _records(p):
            common.update(set(tokens(str(r["text"]))))
    return DrugLexicon.build(
        ((i, r.get("drug"), r.get("brand")) for i, r in enumerate(labels)),
        common,
    )


@pytest.fixture(scope="module")
def doc_freq(tmp_path_factory: pytest.TempPathFactory) -> DocFreq:
    """Real BM25 store over the fixture corpus: its document frequencies say which words passages hold."""
    docs = [
        LexicalDoc(i, str(r["source_type"]), str(r["text"]))
        for i, r in enumerate(r for p in sorted(FIXTURES.glob("*.jsonl")) for r in _records(p))
    ]
    # An abstract about a drug that no shipped label is for (ALLEGRO phase 2b/3, Lancet 2023).
    docs.append(
        LexicalDoc(
            len(docs),
            "research",
            "Ritlecitinib 50 mg daily improved scalp hair regrowth in alopecia areata at week 24 "
            "versus placebo.",
        )
    )
    store = TantivyStore.build(tmp_path_factory.mktemp("lexical"), docs)
    return store.doc_freq


def _real_questions() -> list[str]:
    sets = ["retrieval/medicationqa.jsonl", "retrieval/pubmedqa.jsonl", "retrieval/bioasq.jsonl"]
    out = [str(r["question"]) for s in sets for r in read_jsonl(DATA / s)]
    out += [str(r["question"]) for r in read_jsonl(DATA / "abstention.jsonl")]
    return out


def test_two_brands_joined_by_and_are_two_drugs(lexicon: DrugLexicon, doc_freq: DocFreq) -> None:
    focus = find_focus("Can I take concerta and lexapro at the same time of day?", lexicon, doc_freq)
    assert focus.drugs == ["concerta", "lexapro"]
    assert focus.unknown == []


def test_combination_product_stays_one_drug(lexicon: DrugLexicon, doc_freq: DocFreq) -> None:
    assert find_focus("What is the dose of carbidopa and levodopa?", lexicon, doc_freq).drugs == [
        "carbidopa and levodopa"
    ]


def test_misspelt_drug_and_abbreviated_salt_resolve_to_the_label_key(
    lexicon: DrugLexicon, doc_freq: DocFreq
) -> None:
    focus = find_focus("what is the imprint on metopol tar 50 mg", lexicon, doc_freq)
    assert focus.drugs == ["metoprolol"]
    assert focus.corrected == {"metopol": "metoprolol"}
    assert focus.unknown == []
    assert find_focus("what is the color of the fluvaastatin pill", lexicon, doc_freq).drugs == [
        "fluvastatin"
    ]


def test_made_up_drug_is_unknown_and_named_in_the_abstain_message(
    lexicon: DrugLexicon, doc_freq: DocFreq
) -> None:
    focus = find_focus("What is the maximum daily dose of trelavoxin?", lexicon, doc_freq)
    assert focus.drugs == []
    assert focus.unknown == ["trelavoxin"]
    assert focus.unknown_subject
    assert focus.topic == ""
    messages = load_prompt(ROOT / "prompts", "abstain").entries()
    assert unknown_message(focus, messages) == (
        "No FDA label, guideline or abstract here mentions trelavoxin, so this section cannot answer."
    )
    assert unknown_message(FocusEntities(drugs=["metformin"]), messages) is None


def test_drug_named_in_passages_but_without_label_is_no_label_not_unknown(
    lexicon: DrugLexicon, doc_freq: DocFreq
) -> None:
    focus = find_focus("Is ritlecitinib safe in pregnancy?", lexicon, doc_freq)
    assert focus.no_label == ["ritlecitinib"]
    assert focus.unknown == []
    assert focus.drugs == []
    assert not focus.unknown_subject


def test_everyday_words_are_never_unknown(lexicon: DrugLexicon, doc_freq: DocFreq) -> None:
    focus = find_focus("Can my grandmother take aspirin with breakfast?", lexicon, doc_freq)
    assert focus.drugs == ["aspirin"]
    assert focus.unknown == []


def test_statins_resolve_to_their_members(lexicon: DrugLexicon, doc_freq: DocFreq) -> None:
    focus = find_focus("Do statins cause muscle pain?", lexicon, doc_freq)
    assert "atorvastatin" in focus.classes["statins"]
    assert all(k.endswith("statin") for k in focus.classes["statins"])
    assert "nystatin" not in focus.classes["statins"]
    ppis = find_focus("Do PPIs cause fractures?", lexicon, doc_freq).classes["ppis"]
    assert "omeprazole" in ppis
    assert "aripiprazole" not in ppis


def test_topic_is_the_condition_phrase(lexicon: DrugLexicon, doc_freq: DocFreq) -> None:
    focus = find_focus("What is the first-line treatment for type 2 diabetes in adults?", lexicon, doc_freq)
    assert focus.topic == "type 2 diabetes"


def test_no_function_or_everyday_word_is_a_drug_in_real_questions(
    lexicon: DrugLexicon, doc_freq: DocFreq
) -> None:
    questions = _real_questions()
    assert len(questions) > 500
    bad = []
    for q in questions:
        for d in find_focus(q, lexicon, doc_freq).drugs:
            words = d.split()
            if words[0] in FUNCTION_WORDS or words[-1] in FUNCTION_WORDS:
                bad.append((q, d))
            if len(words) == 1 and english_zipf(d) >= 4.5:
                bad.append((q, d))
    assert bad == []


def test_mentions_drug_knows_brand_generic_and_salt_forms(lexicon: DrugLexicon) -> None:
    assert mentions_drug("Atorvastatin may cause myopathy.", "lipitor", lexicon)
    assert mentions_drug("Lipitor 10 mg once daily.", "atorvastatin", lexicon)
    assert mentions_drug("Metoprolol succinate extended-release tablets", "metoprolol", lexicon)
    assert not mentions_drug("Sertraline may cause hyponatremia.", "escitalopram", lexicon)
    assert not mentions_drug("Sitagliptin may cause pancreatitis.", "metformin", lexicon)
    label = Passage(
        id="p", record_id="r", text="The recommended dose is 10 mg once daily.", source_type="fda_label",
        drug="ESCITALOPRAM OXALATE", brand="Lexapro",
    )  # fmt: skip
    assert mentions_drug(label, "escitalopram", lexicon)
    assert not mentions_drug(label, "sertraline", lexicon)


def test_unknown_drug_is_never_read_as_a_similar_known_one(lexicon: DrugLexicon, doc_freq: DocFreq) -> None:
    for question, name in [
        ("What are the side effects of zorbitamide?", "zorbitamide"),  # not zonisamide
        ("What is halvopride used for?", "halvopride"),  # not haloperidol
        ("What is ensartinib used for?", "ensartinib"),  # not entrectinib
    ]:
        focus = find_focus(question, lexicon, doc_freq)
        assert focus.drugs == [], question
        assert name in focus.unknown, question


def test_every_made_up_and_newly_approved_drug_of_the_abstention_set_is_unknown(
    lexicon: DrugLexicon, doc_freq: DocFreq
) -> None:
    rows = [r for r in read_jsonl(DATA / "abstention.jsonl") if r["kind"] in ("made_up_drug", "new_drug")]
    assert len(rows) >= 20
    for r in rows:
        focus = find_focus(str(r["question"]), lexicon, doc_freq)
        assert focus.drugs == [], r["question"]
        assert str(r["absent_terms"][0]) in focus.unknown + focus.no_label, r["question"]


def test_a_mistyped_or_run_together_question_word_is_not_an_unknown_subject(
    lexicon: DrugLexicon, doc_freq: DocFreq
) -> None:
    focus = find_focus("whate is the usual dose of metformin", lexicon, doc_freq)
    assert focus.corrected.get("whate") == "what"
    assert focus.unknown == []
    assert focus.drugs == ["metformin"]
    focus = find_focus("side effects of metforminwhat are they", lexicon, doc_freq)
    assert focus.corrected.get("metforminwhat") == "metformin"
    assert focus.drugs == ["metformin"]
    assert focus.unknown == []
    # A made-up name is still unknown, even one that starts like a question word.
    assert find_focus("What is the dose of canvoraxin?", lexicon, doc_freq).unknown == ["canvoraxin"]


def test_a_question_is_read_as_its_misspellings_were_meant(lexicon: DrugLexicon, doc_freq: DocFreq) -> None:
    f = find_focus("do i take over the counter calciun with alendronate?", lexicon, doc_freq)
    assert f.corrected.get("calciun") == "calcium"
    assert f.read_as("Do I take over the counter Calciun with alendronate?") == (
        "Do I take over the counter calcium with alendronate?"
    )
    assert FocusEntities().read_as("unchanged text") == "unchanged text"


def test_a_frame_word_with_two_letters_swapped_reads_as_meant(
    lexicon: DrugLexicon, doc_freq: DocFreq
) -> None:
    f = find_focus("how fast does teh medication take to work metformin", lexicon, doc_freq)
    assert f.corrected.get("teh") == "the"
    assert f.unknown == []
    assert find_focus("waht is the dose of metformin", lexicon, doc_freq).corrected.get("waht") == "what"
    # A word many passages hold is a word, not a typo ("from" is not "form" mistyped).
    assert "form" not in find_focus("what form does metformin come in", lexicon, doc_freq).corrected


def test_a_misspelt_unit_is_not_an_unknown_subject(lexicon: DrugLexicon, doc_freq: DocFreq) -> None:
    f = find_focus("what milagrams metformin come in", lexicon, doc_freq)
    assert f.unknown == []
    assert f.drugs == ["metformin"]


def test_search_text_reads_only_a_misspelt_drug_name_as_the_drug() -> None:
    # "motoprolol" is in no passage: searched as metoprolol. "paracetamol" is a name the passages use too,
    # so it is searched as written, as is any correction that is not a drug ("cgrps" is not "corps").
    seen = {"metoprolol", "paracetamol", "acetaminophen", "corp", "pill"}

    def doc_freq(term: str) -> int:
        return int(term in {t for w in seen for t in analyze(w)})

    focus = FocusEntities(
        drugs=["metoprolol", "acetaminophen"],
        corrected={"motoprolol": "metoprolol", "paracetamol": "acetaminophen", "cgrps": "corps"},
    )
    text = "Motoprolol pill with paracetamol and CGRPs?"
    assert focus.search_text(text, doc_freq) == "metoprolol pill with paracetamol and CGRPs?"
    assert FocusEntities().search_text(text, doc_freq) == text


def test_a_chunk_of_an_abstract_that_names_the_drugs_is_about_them() -> None:
    labels = [(0, "indacaterol maleate inhalation powder", None), (1, "tiotropium bromide", None)]
    lex = DrugLexicon.build(labels)
    methods = "Indacaterol (IND)/glycopyrronium (GLY) was compared with open-label tiotropium (TIO)."
    results = "IND/GLY improved FEV1 versus all comparators, including TIO (all P<0.05)."
    other = "Salmeterol improved FEV1 versus placebo."
    chunks = {
        "pmid:1#0": ("pmid:1", methods),
        "pmid:1#1": ("pmid:1", results),
        "pmid:2#0": ("pmid:2", other),
    }
    hits = [
        Hit(passage=Passage(id=pid, record_id=rid, text=text, source_type="research"), score=1.0)
        for pid, (rid, text) in chunks.items()
    ]

    def record_text(record_id: str) -> str:
        return " ".join(text for rid, text in chunks.values() if rid == record_id)

    drugs = ["indacaterol", "tiotropium"]
    assert [h.passage.id for h in about_drugs(hits, drugs, lex)] == ["pmid:1#0"]
    assert [h.passage.id for h in about_drugs(hits, drugs, lex, record_text)] == ["pmid:1#0", "pmid:1#1"]


def test_a_drugs_class_markers() -> None:
    from app.answer.focus import class_markers

    assert frozenset({"nsaid"}) in class_markers("ibuprofen")
    assert frozenset({"nsaid"}) in class_markers("naproxen")
    assert frozenset({"ace", "inhibitor"}) in class_markers("lisinopril")
    assert class_markers("tramadol") == []
