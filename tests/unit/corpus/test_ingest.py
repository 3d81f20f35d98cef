"""`curbside ingest` writes all of a user's sources into one corpus file, or nothing at all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.cli import main
from app.corpus.errors import CorpusError
from app.corpus.ingest import LOADERS, default_output, ingest
from app.corpus.jsonl import iter_jsonl, load_corpus, write_jsonl_gz
from app.corpus.sources import LoadContext
from app.schema import CorpusRecord

SOURCES = Path(__file__).resolve().parents[2] / "fixtures" / "sources"
OPENFDA = SOURCES / "openfda_naltrexone_label.json"
SPL = SOURCES / "spl_lithium_carbonate.xml"
PUBMED = SOURCES / "pubmed_efetch.xml"
GUIDELINE = SOURCES / "uspstf_alcohol_misuse_2013.md"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A corpus folder holding one shipped-style file."""
    root = tmp_path / "corpus"
    write_jsonl_gz(
        root / "research" / "pubmedqa.jsonl.gz",
        [
            CorpusRecord(
                id="pmid:10135926", source_type="research", text="Oral intubation in flight takes longer."
            )
        ],
    )
    return root


def _ids(path: Path) -> list[str]:
    return [r.id for r in iter_jsonl(path)]


@pytest.mark.parametrize(
    ("kind", "source", "n"),
    [("openfda", OPENFDA, 7), ("spl", SPL, 7), ("pubmed", PUBMED, 2), ("markdown", GUIDELINE, 5)],
)
def test_each_kind_is_ingested_into_the_corpus(corpus: Path, kind: str, source: Path, n: int) -> None:
    report = ingest([source], kind=kind, corpus_dir=corpus)
    assert report.out == corpus / "ingested" / f"{source.name.split('.')[0]}.jsonl.gz"
    assert report.records == n
    assert len(_ids(report.out)) == n
    assert len(load_corpus(corpus)) == n + 1  # the index builder reads it with the rest
    assert "curbside index build" in str(report)
    assert not list(corpus.rglob("*.tmp"))


def test_pubmed_report_lists_the_article_left_out(corpus: Path) -> None:
    report = ingest([PUBMED], kind="pubmed", corpus_dir=corpus)
    text = str(report)
    assert "ingested 2 records (research 2)" in text
    assert "PMID 37278239: no abstract" in text


def test_jsonl_ingest_checks_every_record(corpus: Path, tmp_path: Path) -> None:
    good = {
        "id": "guideline:local:1",
        "source_type": "guideline",
        "text": "Screen adults for alcohol misuse.",
    }
    path = tmp_path / "local.jsonl"
    path.write_text(
        json.dumps(good) + "\n\n" + json.dumps(dict(good, id="guideline:local:2")) + "\n", encoding="utf-8"
    )
    report = ingest([path], kind="jsonl", corpus_dir=corpus)
    assert _ids(report.out) == ["guideline:local:1", "guideline:local:2"]  # type: ignore[arg-type]


def test_jsonl_duplicate_after_a_skipped_bad_line_names_its_own_line(corpus: Path, tmp_path: Path) -> None:
    good = {
        "id": "guideline:local:1",
        "source_type": "guideline",
        "text": "Screen adults for alcohol misuse.",
    }
    lines = [
        json.dumps(good),
        "{not json",
        "",
        json.dumps(dict(good, id="guideline:local:2")),
        json.dumps(good),
    ]
    path = tmp_path / "local.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest([path], kind="jsonl", corpus_dir=corpus, skip_bad=True)
    assert [(e.line, e.message.split(" (")[0]) for e in report.errors] == [
        (2, "invalid JSON"),
        (5, "duplicate id 'guideline:local:1'"),
    ]
    assert "first seen at" in report.errors[1].message
    assert report.errors[1].message.endswith("local.jsonl:1)")


def test_a_bad_file_among_good_ones_writes_nothing(corpus: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "pubmed"
    inputs.mkdir()
    shutil.copy(PUBMED, inputs / "a.xml")
    (inputs / "b.xml").write_text(PUBMED.read_text(encoding="utf-8")[:2500], encoding="utf-8")
    with pytest.raises(CorpusError, match=r"b\.xml:\d+: XML does not parse"):
        ingest([inputs], kind="pubmed", corpus_dir=corpus)
    assert not (corpus / "ingested").exists()


def test_a_malformed_record_writes_nothing(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "local.jsonl"
    good = {
        "id": "guideline:local:1",
        "source_type": "guideline",
        "text": "Screen adults for alcohol misuse.",
    }
    path.write_text(
        json.dumps(good) + "\n" + json.dumps({"id": "guideline:local:2", "source_type": "guideline"}) + "\n"
    )
    with pytest.raises(CorpusError, match=r"local\.jsonl:2: invalid record: text: Field required"):
        ingest([path], kind="jsonl", corpus_dir=corpus)
    assert not (corpus / "ingested").exists()


def test_skip_bad_writes_the_good_records_and_reports_the_bad(corpus: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "pubmed"
    inputs.mkdir()
    shutil.copy(PUBMED, inputs / "a.xml")
    (inputs / "b.xml").write_text("<PubmedArticleSet><PubmedArticle>", encoding="utf-8")
    without_pmid = PUBMED.read_text(encoding="utf-8").replace('<PMID Version="1">37160881</PMID>', "")
    (inputs / "c.xml").write_text(without_pmid.replace("36765305", "36765306"), encoding="utf-8")
    report = ingest([inputs], kind="pubmed", corpus_dir=corpus, skip_bad=True)
    assert _ids(report.out) == ["pmid:36765305", "pmid:37160881", "pmid:36765306"]  # type: ignore[arg-type]
    assert [(Path(e.path).name, e.line) for e in report.errors] == [("b.xml", 1), ("c.xml", 62)]
    text = str(report)
    assert "bad records or files skipped with --skip-bad (2)" in text
    assert "c.xml:62: article without a valid <PMID>" in text


def test_duplicate_id_in_the_inputs_names_both_places(corpus: Path, tmp_path: Path) -> None:
    shutil.copy(PUBMED, tmp_path / "first.xml")
    shutil.copy(PUBMED, tmp_path / "second.xml")
    with pytest.raises(
        CorpusError, match=r"second\.xml:4: duplicate id 'pmid:36765305' \(first seen at .*first\.xml:4\)"
    ):
        ingest([tmp_path / "first.xml", tmp_path / "second.xml"], kind="pubmed", corpus_dir=corpus)
    assert not (corpus / "ingested").exists()
    report = ingest(
        [tmp_path / "first.xml", tmp_path / "second.xml"], kind="pubmed", corpus_dir=corpus, skip_bad=True
    )
    assert report.records == 2
    assert len(report.errors) == 2


def test_id_already_in_the_corpus_is_refused_naming_both_files(corpus: Path, tmp_path: Path) -> None:
    text = PUBMED.read_text(encoding="utf-8").replace("36765305", "10135926")
    path = tmp_path / "again.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        CorpusError,
        match=r"again\.xml:4: id 'pmid:10135926' is already in the corpus \(.*pubmedqa\.jsonl\.gz:1\)",
    ):
        ingest([path], kind="pubmed", corpus_dir=corpus)
    assert not (corpus / "ingested").exists()


def test_ingesting_the_same_source_again_replaces_its_file(corpus: Path) -> None:
    first = ingest([GUIDELINE], kind="markdown", corpus_dir=corpus)
    second = ingest([GUIDELINE], kind="markdown", corpus_dir=corpus)
    assert first.out == second.out
    assert len(load_corpus(corpus)) == 6
    assert "replaced the previous" in str(second)
    assert "replaced" not in str(first)


def test_directory_expands_to_its_files_of_that_kind(corpus: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "guidelines"
    (inputs / "nested").mkdir(parents=True)
    shutil.copy(GUIDELINE, inputs / "nested" / "uspstf.md")
    (inputs / "notes.txt").write_text("Evidence is lacking to determine the optimal screening interval.\n")
    (inputs / "image.png").write_bytes(b"\x89PNG")
    report = ingest([inputs], kind="markdown", corpus_dir=corpus)
    assert report.out == corpus / "ingested" / "guidelines.jsonl.gz"
    assert [p.name for p in report.inputs] == ["uspstf.md", "notes.txt"]
    assert report.records == 6


def test_empty_directory_and_missing_path_are_errors(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"no spl files \(\*\.xml"):
        ingest([tmp_path], kind="spl", corpus_dir=corpus)
    with pytest.raises(CorpusError, match="no such file or directory"):
        ingest([tmp_path / "missing.xml"], kind="spl", corpus_dir=corpus)


def test_output_must_be_gzip_json_lines(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"must end in \.jsonl\.gz"):
        ingest([GUIDELINE], kind="markdown", corpus_dir=corpus, out=tmp_path / "x.jsonl")


def test_output_outside_the_corpus_is_written_with_a_note(corpus: Path, tmp_path: Path) -> None:
    report = ingest(
        [GUIDELINE], kind="markdown", corpus_dir=corpus, out=tmp_path / "elsewhere" / "g.jsonl.gz"
    )
    assert (tmp_path / "elsewhere" / "g.jsonl.gz").exists()
    assert "outside the corpus folder" in str(report)


def test_source_type_override(corpus: Path) -> None:
    report = ingest([GUIDELINE], kind="markdown", corpus_dir=corpus, source_type="research")
    recs = list(iter_jsonl(report.out))  # type: ignore[arg-type]
    assert {r.source_type for r in recs} == {"research"}
    assert all(r.id.startswith("doc:uspstf-alcohol-misuse-2013") for r in recs)


def test_nothing_to_ingest_is_an_error(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "editorial.xml"
    text = PUBMED.read_text(encoding="utf-8")
    path.write_text(
        text[: text.index("<PubmedArticle>")] + text[text.rindex("<PubmedArticle>") :], encoding="utf-8"
    )
    with pytest.raises(CorpusError, match="nothing to ingest: PMID 37278239: no abstract"):
        ingest([path], kind="pubmed", corpus_dir=corpus)


def test_default_output_is_named_after_the_first_input(tmp_path: Path) -> None:
    assert default_output([Path("drug-label-0001-of-0012.json.zip")], tmp_path) == (
        tmp_path / "ingested" / "drug-label-0001-of-0012.jsonl.gz"
    )
    assert default_output([Path("pubmed25n0001.xml.gz")], tmp_path).name == "pubmed25n0001.jsonl.gz"


def test_every_loader_is_registered() -> None:
    assert set(LOADERS) == {"jsonl", "openfda", "spl", "pubmed", "pmc", "markdown"}
    ctx = LoadContext()
    assert [x.record.id for x in LOADERS["pubmed"](PUBMED, ctx)] == ["pmid:36765305", "pmid:37160881"]


# ----------------------------------------------------------------------------------------------- CLI


def test_cli_ingest_exits_2_with_the_message_and_writes_nothing(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CURBSIDE_PATHS__CORPUS_DIR", str(corpus))
    bad = tmp_path / "broken.xml"
    bad.write_text(SPL.read_text(encoding="utf-8").replace("</document>", ""), encoding="utf-8")
    assert main(["ingest", str(bad), "--type", "spl"]) == 2
    err = capsys.readouterr().err
    assert "broken.xml:" in err
    assert "XML does not parse" in err
    assert "nothing was written" in err
    assert not (corpus / "ingested").exists()


def test_cli_ingest_prints_the_report(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CURBSIDE_PATHS__CORPUS_DIR", str(corpus))
    assert main(["ingest", str(SPL), "--type", "spl"]) == 0
    out = capsys.readouterr().out
    assert "ingested 7 records (fda_label 7)" in out
    assert "curbside index build" in out
    assert (corpus / "ingested" / "spl_lithium_carbonate.jsonl.gz").exists()
