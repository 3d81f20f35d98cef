"""`curbside eval judge` and `curbside eval run` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import Settings
from eval.cli import main
from tests.unit.eval.test_runner import QUESTIONS, UNANSWERABLE, _write_jsonl


def test_eval_judge_prints_and_writes_the_calibration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["judge", "--judge", "lexical", "--set", "kqa_nli", "--limit", "25", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "balanced acc." in out
    assert "Cohen's κ" in out
    assert "K-QA NLI, held-out — rows gold, columns judge" in out
    report = json.loads((tmp_path / "calibration.json").read_text())
    assert report["sets"]["kqa_nli"]["pairs"] == 25


def test_eval_judge_nli_without_a_model_says_what_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CURBSIDE_EVAL__NLI__MODEL_DIR", str(tmp_path / "absent"))
    assert main(["judge", "--judge", "nli", "--limit", "1"]) == 2
    assert "CURBSIDE_EVAL__NLI__MODEL_DIR" in capsys.readouterr().err


def test_eval_run_on_a_tiny_suite_writes_reports_and_exits_1_on_a_missed_threshold(
    tmp_path: Path,
    fixture_index: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("corpus_dir", "index_dir", "embedding_cache_dir", "data_dir"):
        monkeypatch.setenv(f"CURBSIDE_PATHS__{name.upper()}", str(getattr(fixture_index.paths, name)))
    _write_jsonl(tmp_path / "a.jsonl", QUESTIONS)  # type: ignore[arg-type]
    _write_jsonl(tmp_path / "u.jsonl", UNANSWERABLE)  # type: ignore[arg-type]
    (tmp_path / "t.toml").write_text(
        "[cli.extractive]\nabstention_rate = { min = 1.0 }\nstatements = { max = 0 }\n"
    )
    (tmp_path / "cli.toml").write_text(
        'name = "cli"\nthresholds = "t.toml"\n'
        '[[questions]]\nset = "a"\npath = "a.jsonl"\nkind = "answerable"\n'
        '[[questions]]\nset = "u"\npath = "u.jsonl"\nkind = "unanswerable"\n'
        '[retrieval]\nenabled = false\n[calibration]\nsample = 10\nsets = ["kqa_nli"]\n'
    )
    out = tmp_path / "out"
    code = main(["run", "--suite", str(tmp_path / "cli.toml"), "--composer", "extractive", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1  # statements ≤ 0 cannot hold: the answerable questions are answered
    assert "extractive.statements" in captured.err
    assert "| citation recall (ALCE) |" in captured.out
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "chart.png", "failures.md"}


def test_eval_comparison_prints_the_three_rates_and_writes_rows(
    tmp_path: Path,
    fixture_index: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("corpus_dir", "index_dir", "embedding_cache_dir", "data_dir"):
        monkeypatch.setenv(f"CURBSIDE_PATHS__{name.upper()}", str(getattr(fixture_index.paths, name)))
    out = tmp_path / "comparison.json"
    assert main(["comparison", "--split", "validation", "--limit", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "validation split: 3 questions" in printed
    assert "| research section cites the trial |" in printed
    assert "| retrieval ceiling: trial in the top 10 research records |" in printed
    report = json.loads(out.read_text())
    assert report["summary"]["questions"] == 3
    assert [r["qid"].startswith("evinf:") for r in report["rows"]] == [True, True, True]
