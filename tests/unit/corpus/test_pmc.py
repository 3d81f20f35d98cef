"""PMC / JATS XML loader: ids, metadata, licence, structured abstracts, body sections, bundles, errors."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from app.corpus.chunker import ChunkParams
from app.corpus.errors import CorpusError
from app.corpus.ingest import ingest
from app.corpus.jsonl import iter_jsonl
from app.corpus.passages import passages_from_records
from app.corpus.pmc import load_pmc
from app.corpus.sources import LoadContext

PMC = Path(__file__).resolve().parents[2] / "fixtures" / "sources" / "pmc"
BUNDLE = PMC.parent / "pmc_bundle" / "oa_bundle.tar.gz"


def _records(path: Path, sections: str = "abstract") -> list:  # type: ignore[type-arg]
    return [x.record for x in load_pmc(path, LoadContext(sections=sections))]


def test_structured_abstract_with_ids_journal_year_and_licence() -> None:
    (rec,) = _records(PMC / "PMC547916.nxml")
    assert rec.id == "pmid:15667660"
    assert (rec.pmid, rec.doi, rec.year) == ("15667660", "10.1186/1471-2377-5-1", 2005)
    assert rec.title == "Suppression of MMP-9 by doxycycline in brain arteriovenous malformations"
    assert rec.organization == "BMC Neurology"
    assert rec.url == "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC547916/"
    assert rec.license == "http://creativecommons.org/licenses/by/2.0"
    assert rec.text.startswith("Background: The primary aim of this study is to demonstrate the feasibility")
    assert "\n\nResults: Ex-vivo treatment of AVM tissues: Doxycycline at 10 and 100 μg/ml" in rec.text
    assert rec.provenance == "PMC547916.nxml [article-type: research-article]"


def test_record_matches_the_shipped_trial_record() -> None:
    shipped = {
        r.id: r
        for r in iter_jsonl(
            Path(__file__).resolve().parents[3] / "corpus" / "research" / "evidence_inference_rcts.jsonl.gz"
        )
        if r.id in ("pmid:15667660", "pmc:2253535", "pmid:19554082")
    }
    for name in ("PMC547916.nxml", "PMC2253535.nxml", "PMC2694359.nxml"):
        (rec,) = _records(PMC / name)
        want = shipped[rec.id]
        assert (rec.title, rec.organization, rec.year, rec.doi, rec.text) == (
            want.title,
            want.organization,
            want.year,
            want.doi,
            want.text,
        )


def test_article_without_pmid_is_a_pmc_id_and_plain_abstract_is_paragraphs() -> None:
    (rec,) = _records(PMC / "PMC2253535.nxml")
    assert rec.id == "pmc:2253535"
    assert rec.pmid is None
    (plain,) = _records(PMC / "PMC2694359.nxml")
    assert plain.id == "pmid:19554082"
    assert not plain.text.startswith("Background:")


def test_sections_results_and_all() -> None:
    results = _records(PMC / "PMC547916.nxml", "results")
    assert [r.id for r in results] == ["pmid:15667660", "pmid:15667660:results"]
    body = results[1]
    assert body.section == "Results"
    assert body.title == results[0].title
    assert body.text.startswith("Ex-vivo treatment of AVM tissues: Doxycycline")
    assert "0.04" not in body.text  # tables are left out of section text
    everything = _records(PMC / "PMC547916.nxml", "all")
    assert [r.section for r in everything] == [None, "Background", "Methods", "Results", "Conclusions"]


def test_study_type_from_article_type_and_text() -> None:
    (protocol,) = _records(PMC / "PMC2253535.nxml")
    (p, *_) = passages_from_records([protocol], ChunkParams())
    assert p.study_type == "randomised trial"  # "Randomized controlled trial with a 12-month follow-up"


def test_bundle_members_are_read_without_extracting() -> None:
    got = list(load_pmc(BUNDLE))
    assert [x.record.id for x in got] == ["pmc:2253535", "pmid:19554082"]
    assert got[0].path.endswith("oa_bundle.tar.gz!oa_package/PMC2253535.nxml")
    assert got[0].record.provenance.startswith("oa_bundle.tar.gz!oa_package/PMC2253535.nxml")


def test_ingest_folder_writes_all_three(tmp_path: Path) -> None:
    report = ingest([PMC], kind="pmc", corpus_dir=tmp_path / "corpus", sections="results")
    assert report.records == 4  # 3 abstracts + the one body section titled Results
    assert report.out is not None
    assert report.out.name == "pmc.jsonl.gz"


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "PMC1.nxml"
    bad.write_text('<?xml version="1.0"?>\n<article>\n<front>\n<article-meta>\n</front>\n</article>\n')
    with pytest.raises(CorpusError, match=r"PMC1\.nxml:5: XML does not parse \(mismatched tag"):
        list(load_pmc(bad))


def test_wrong_root_and_missing_elements_name_the_element(tmp_path: Path) -> None:
    pubmed = tmp_path / "x.xml"
    pubmed.write_text("<PubmedArticleSet/>")
    with pytest.raises(CorpusError, match="root element is <PubmedArticleSet>, expected <article>"):
        list(load_pmc(pubmed))
    no_ids = tmp_path / "noid.nxml"
    no_ids.write_text(
        "<article>\n<front>\n<article-meta>\n<title-group><article-title>T</article-title></title-group>\n"
        "</article-meta>\n</front>\n</article>\n"
    )
    with pytest.raises(CorpusError, match=r"noid\.nxml:3: <article-meta> has no <article-id>"):
        list(load_pmc(no_ids))
    no_meta = tmp_path / "nometa.nxml"
    no_meta.write_text("<article>\n<front/>\n</article>")
    with pytest.raises(CorpusError, match=r"nometa\.nxml:1: <article> has no <front><article-meta>"):
        list(load_pmc(no_meta))


def test_entity_declarations_are_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.nxml"
    evil.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE article [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        "<article>&xxe;</article>\n"
    )
    with pytest.raises(CorpusError, match="entity declarations are not allowed"):
        list(load_pmc(evil))


def test_bundle_with_a_broken_member_is_all_or_nothing(tmp_path: Path) -> None:
    good = (PMC / "PMC547916.nxml").read_bytes()
    bundle = _tar(tmp_path / "oa.tar.gz", {"a/PMC547916.nxml": good, "a/PMC9.nxml": b"<article><front>"})
    corpus = tmp_path / "corpus"
    with pytest.raises(CorpusError, match=r"oa\.tar\.gz!a/PMC9\.nxml:1: XML does not parse"):
        ingest([bundle], kind="pmc", corpus_dir=corpus)
    assert not (corpus / "ingested").exists()
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tar file")
    with pytest.raises(CorpusError, match="unreadable tar bundle"):
        list(load_pmc(broken))


def test_article_without_abstract_is_skipped_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "PMC2.nxml"
    path.write_text(
        '<article article-type="editorial"><front><article-meta>'
        '<article-id pub-id-type="pmc">PMC2</article-id>'
        "<title-group><article-title>An editorial</article-title></title-group>"
        "</article-meta></front></article>"
    )
    ctx = LoadContext()
    assert list(load_pmc(path, ctx)) == []
    assert "pmc:2: no abstract, left out" in str(ctx.skipped[0])
