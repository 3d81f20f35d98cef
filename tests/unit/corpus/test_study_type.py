"""Study type from publication types, JATS article-type and title/abstract cues, on real articles."""

from __future__ import annotations

from app.corpus.chunker import ChunkParams
from app.corpus.passages import passages_from_records
from app.corpus.study_type import (
    BASIC_SCIENCE,
    CASE_CONTROL,
    CASE_REPORT,
    COHORT,
    NARRATIVE_REVIEW,
    RANDOMISED_TRIAL,
    SYSTEMATIC_REVIEW,
    UNKNOWN,
    classify,
    stated_types,
    study_type_of,
)
from app.schema import CorpusRecord


def test_publication_types_win_over_text() -> None:
    types = ["Journal Article", "Meta-Analysis"]
    assert classify("Anything", "", publication_types=types) == SYSTEMATIC_REVIEW
    assert classify("x", "", publication_types=["Randomized Controlled Trial"]) == RANDOMISED_TRIAL
    assert classify("x", "", publication_types=["Case Reports"]) == CASE_REPORT
    assert classify("x", "were randomized", publication_types=["Review"]) == NARRATIVE_REVIEW


def test_jats_article_type() -> None:
    assert classify("Lupus in pregnancy", "", article_type="case-report") == CASE_REPORT
    assert classify("Belimumab", "", article_type="review-article") == NARRATIVE_REVIEW
    title = "Statins for primary prevention: a systematic review and meta-analysis"
    assert classify(title, "", article_type="review-article") == SYSTEMATIC_REVIEW
    # research-article says nothing: the cues decide
    assert classify("Effect of fennel", "were randomly assigned", article_type="research-article") == (
        RANDOMISED_TRIAL
    )


def test_trials_from_title_and_methods_not_from_background() -> None:
    # evidence-inference records (titles and abstract sentences as published)
    assert (
        classify(
            "Efficacy of the A-V Impulse System versus cryotherapy in the reduction of postoperative oedema "
            "of the hand: a prospective randomised trial",
            "",
        )
        == RANDOMISED_TRIAL
    )
    fennel = "Effect of fennel on pain intensity in dysmenorrhoea: A placebo-controlled trial"
    assert classify(fennel, "") == RANDOMISED_TRIAL
    assert (
        classify(
            "A Comparison of Betamethasone Valerate 0.1% Cream Twice Daily Plus Oral Simvastatin",
            "Patients with vitiligo who had body surface involvement up to 20% were divided randomly into "
            "two groups.",
        )
        == RANDOMISED_TRIAL
    )
    background = (
        "Randomised controlled trials are widely accepted as the gold standard method to evaluate medical "
        "interventions, but they are still open to bias."
    )
    assert classify("Patient preference and outcome", background) == UNKNOWN


def test_other_designs() -> None:
    assert classify("Smoking and bladder cancer: a population-based case-control study", "") == CASE_CONTROL
    cohort = "STUDY DESIGN: Retrospective cohort of 1,204 patients followed for 10 years."
    assert classify(None, cohort) == COHORT
    assert classify("Periampullary carcinomas: a case report", "") == CASE_REPORT
    assert classify(None, "We report a 34-year-old woman with active SLE.") == CASE_REPORT
    assert classify("Belimumab: an update on its use in lupus", "") == NARRATIVE_REVIEW
    assert classify(None, "In this review we summarise the evidence on naltrexone.") == NARRATIVE_REVIEW
    assert (
        classify(
            None,
            "The ability of plasmid DNA encoding hemagglutinin (HA) from influenza virus to protect against "
            "virus infection was examined in BALB/c mice.",
        )
        == BASIC_SCIENCE
    )
    assert classify(None, "Golay complementary waveforms for radar detection of Doppler targets.") == UNKNOWN


def test_loaders_state_types_in_provenance() -> None:
    prov = "pubmed.xml:12 [publication types: Journal Article; Randomized Controlled Trial]"
    assert stated_types(prov) == (["Journal Article", "Randomized Controlled Trial"], None)
    assert stated_types("PMC1.nxml [article-type: case-report]") == ([], "case-report")
    rec = CorpusRecord(id="pmid:1", source_type="research", text="Some text.", provenance=prov)
    assert study_type_of(rec) == RANDOMISED_TRIAL


def test_passages_carry_study_type_research_only() -> None:
    research = CorpusRecord(
        id="pmid:2", source_type="research", title="A randomized trial of X", text="Patients improved."
    )
    label = CorpusRecord(id="label:a:b", source_type="fda_label", text="Take one tablet daily.")
    got = {p.record_id: p.study_type for p in passages_from_records([research, label], ChunkParams())}
    assert got == {"pmid:2": RANDOMISED_TRIAL, "label:a:b": None}


def test_reference_carries_the_study_type_into_label_json_and_markdown() -> None:
    from app.corpus.chunker import chunk_record
    from app.schema import Quote, Reference
    from tests.answers import answer_quoting

    rec = CorpusRecord(
        id="pmid:15667660",
        source_type="research",
        title="Suppression of MMP-9 by doxycycline in brain arteriovenous malformations",
        organization="BMC Neurology",
        year=2005,
        pmid="15667660",
        text="Results: Doxycycline at 10 and 100 μg/ml significantly decreased MMP-9 levels in AVM tissues.",
    )
    (p,) = passages_from_records([rec], ChunkParams())
    assert p.study_type == UNKNOWN  # no design cue in this sentence: never a guess
    p = p.model_copy(update={"study_type": RANDOMISED_TRIAL})
    quote = p.sentence_texts()[0]
    assert not quote.startswith("Results:")
    ref = Reference.from_passage(1, p, Quote(text=quote, start=p.sentences[0].start, end=p.sentences[0].end))
    assert ref.study_type == RANDOMISED_TRIAL
    assert ref.label == (
        "Suppression of MMP-9 by doxycycline in brain arteriovenous malformations (BMC Neurology, 2005)"
    )
    answer = answer_quoting(ref, "research")
    assert '"study_type":"randomised trial"' in answer.model_dump_json()
    assert f"1. {ref.label} [randomised trial] <https://pubmed.ncbi.nlm.nih.gov/15667660/>" in (
        answer.to_markdown()
    )
    assert chunk_record(rec)[0].study_type is None  # derived at build time, not by the chunker
