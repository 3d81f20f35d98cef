from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from app.corpus.errors import CorpusError
from app.corpus.jsonl import corpus_checksum, iter_jsonl, load_corpus, write_jsonl_gz
from app.schema import CorpusRecord

GOOD = {"id": "pmid:1", "source_type": "research", "text": "Aspirin reduced events."}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    p = _write(tmp_path / "a.jsonl", [json.dumps(GOOD), "{not json"])
    with pytest.raises(CorpusError, match=r"a\.jsonl:2: invalid JSON"):
        list(iter_jsonl(p))


def test_record_missing_text_names_field(tmp_path: Path) -> None:
    bad = dict(GOOD, id="pmid:2")
    del bad["text"]
    p = _write(tmp_path / "a.jsonl", [json.dumps(GOOD), json.dumps(bad)])
    with pytest.raises(CorpusError, match=r"a\.jsonl:2: invalid record: text: Field required"):
        list(iter_jsonl(p))


def test_unknown_source_type_and_bad_date_are_rejected(tmp_path: Path) -> None:
    p = _write(tmp_path / "a.jsonl", [json.dumps(dict(GOOD, source_type="blog"))])
    with pytest.raises(CorpusError, match="source_type"):
        list(iter_jsonl(p))
    p = _write(tmp_path / "b.jsonl", [json.dumps(dict(GOOD, date="May 2020"))])
    with pytest.raises(CorpusError, match="YYYY-MM-DD"):
        list(iter_jsonl(p))


def test_skip_bad_collects_errors_and_keeps_good(tmp_path: Path) -> None:
    p = _write(tmp_path / "a.jsonl", ["[1]", json.dumps(GOOD), "", "{"])
    errors: list[CorpusError] = []
    got = list(iter_jsonl(p, skip_bad=True, errors=errors))
    assert [r.id for r in got] == ["pmid:1"]
    assert [e.line for e in errors] == [1, 4]


def test_duplicate_ids_across_files_are_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl", [json.dumps(GOOD)])
    _write(tmp_path / "b.jsonl", [json.dumps(GOOD)])
    with pytest.raises(CorpusError, match="duplicate id 'pmid:1'"):
        load_corpus(tmp_path)


def test_gzip_roundtrip_and_checksum_changes_with_content(tmp_path: Path) -> None:
    rec = CorpusRecord.model_validate(GOOD)
    assert write_jsonl_gz(tmp_path / "c.jsonl.gz", [rec]) == 1
    assert load_corpus(tmp_path) == [rec]
    before = corpus_checksum(tmp_path)
    with gzip.open(tmp_path / "c.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(dict(GOOD, text="changed")) + "\n")
    assert corpus_checksum(tmp_path) != before


def test_shipped_corpus_loads_with_unique_ids() -> None:
    records = load_corpus(Path(__file__).parents[3] / "tests" / "fixtures" / "corpus")
    assert len({r.id for r in records}) == len(records) > 50
