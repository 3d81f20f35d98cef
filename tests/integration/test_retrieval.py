"""Known questions retrieve their known passages from a real index over the fixture corpus."""

from __future__ import annotations

import pytest

from app.index.embedder import Embedder
from app.index.search_index import SearchIndex
from app.retrieval import Filters, Retriever
from app.settings import Settings


@pytest.fixture(scope="module")
def retriever(fixture_index: Settings, embedder: Embedder) -> Retriever:
    return Retriever(SearchIndex.load(fixture_index, embedder=embedder), fixture_index.retrieval)


def _records(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.passage.record_id for h in hits]


def test_every_section_gets_its_own_candidates(retriever: Retriever) -> None:
    result = retriever.retrieve("What are the benefits of low-dose naltrexone?", k=5)
    assert set(result.sections) == {"guideline", "fda_label", "research"}
    for st, hits in result.sections.items():
        assert hits, st
        assert all(h.passage.source_type == st for h in hits)
    assert result.drugs == ["naltrexone"]
    assert result.sections["guideline"][0].passage.record_id.startswith("openmed:apa_aud_2018")


def test_label_passages_of_the_named_drug_only(retriever: Retriever) -> None:
    result = retriever.retrieve("What is the recommended dose of warfarin?", k=8)
    labels = result.sections["fda_label"]
    assert labels
    assert all("warfarin" in (h.passage.drug or "").lower() for h in labels)
    assert labels[0].passage.section == "Dosage and Administration"


def test_drug_without_a_label_gets_no_other_drugs_label(retriever: Retriever) -> None:
    result = retriever.retrieve("Is ozanimod safe during pregnancy?", k=5)
    assert result.unknown_drugs == ["ozanimod"]
    assert result.sections["fda_label"] == []


def test_hybrid_finds_passage_by_rare_term_and_by_meaning(retriever: Retriever) -> None:
    lexical = retriever.search_section(
        "lactic acidosis metformin boxed warning", "fda_label", method="lexical", k=3
    )
    assert "boxed-warning" in lexical[0].passage.record_id
    dense = retriever.search_section(
        "can a pregnant woman take this blood thinner", "fda_label", method="dense", k=5
    )
    assert any("warfarin" in (h.passage.drug or "").lower() for h in dense)


def test_filters_by_year_organization_and_drug(retriever: Retriever) -> None:
    result = retriever.retrieve(
        "screening recommendation", k=10, filters=Filters(organization="Preventive Services")
    )
    assert result.sections["guideline"]
    assert all("Preventive Services" in (h.passage.organization or "") for h in result.sections["guideline"])
    result = retriever.retrieve("adverse reactions", k=10, filters=Filters(drugs=("sertraline",)))
    assert all("sertraline" in (h.passage.drug or "").lower() for h in result.sections["fda_label"])
    recent = retriever.retrieve(
        "naltrexone", k=10, filters=Filters(year_min=2010, source_types=("research",))
    )
    assert set(recent.sections) == {"research"}
    assert all((h.passage.year or 0) >= 2010 for h in recent.sections["research"])


def test_hits_carry_scores_and_citable_metadata(retriever: Retriever) -> None:
    hits = retriever.retrieve("naltrexone contraindications", k=3).sections["fda_label"]
    top = hits[0]
    assert top.dense_score is not None or top.lexical_score is not None
    assert top.passage.url
    assert top.passage.set_id
    assert top.passage.title
    assert top.passage.sentences
    assert top.passage.sentences[0].start == 0
