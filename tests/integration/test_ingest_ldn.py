"""Acceptance test of the ingest path: after a user ingests low-dose naltrexone abstracts (PubMed XML), the
flagship question cites them in its research section, and only the new passages are embedded."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.answer.engine import AnswerEngine
from app.conversation import ConversationStore
from app.corpus.ingest import ingest
from app.index.builder import build_index
from app.index.embedder import Embedder
from app.index.search_index import SearchIndex
from app.retrieval import Retriever
from app.settings import Settings
from tests.conftest import FIXTURE_CORPUS, FIXTURES, make_settings

FLAGSHIP = "What are the benefits of low-dose naltrexone?"


def _engine(settings: Settings, embedder: Embedder) -> AnswerEngine:
    index = SearchIndex.load(settings, embedder=embedder)
    store = ConversationStore(settings.paths.data_dir / "c.sqlite3")
    return AnswerEngine(settings, Retriever(index, settings.retrieval), None, store)


def test_ingested_ldn_abstracts_answer_the_flagship_question(
    tmp_path: Path, fixture_cache: Path, embedder: Embedder
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    shutil.copytree(fixture_cache, tmp_path / "embeddings")
    settings = make_settings(tmp_path, corpus_dir=corpus)
    build_index(settings, embedder=embedder, progress=False, log=lambda _m: None)

    before = _engine(settings, embedder).ask(FLAGSHIP)
    assert before.section("research").abstained

    report = ingest([FIXTURES / "sources" / "ldn_pubmed.xml"], kind="pubmed", out=None, corpus_dir=corpus)
    assert "3" in str(report)
    _, stats = build_index(settings, embedder=embedder, progress=False, log=lambda _m: None)
    assert stats is not None
    assert 0 < stats.encoded <= 6  # only the new abstracts' passages were embedded

    after = _engine(settings, embedder).ask(FLAGSHIP)
    research = after.section("research")
    assert not research.abstained
    refs = {r.number: r for r in after.references}
    cited = {refs[n].pmid for st in research.statements for n in st.citations}
    assert cited & {"23359310", "19453963", "17222320"}
    for st in research.statements:
        assert "naltrexone" in st.text.lower()
