"""The runner end to end on a tiny suite over the fixture index: extractive, generative recorded from a
scripted LLM and then replayed, scored, checked against thresholds, written as reports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.index.embedder import Embedder
from app.index.search_index import SearchIndex
from app.llm.base import Completion, Message
from app.settings import Settings
from eval.cassettes import CassetteMiss
from eval.results import RunResult
from eval.runner import run_suite
from eval.suites import Suite

QUESTIONS = [
    {
        "qid": "a1",
        "question": "What is the recommended dose of warfarin?",
        "expected_sections": ["fda_label"],
    },
    {"qid": "a2", "question": "What are the side effects of sertraline?", "expected_sections": ["fda_label"]},
]
UNANSWERABLE = [
    {"qid": "u1", "question": "How do I bake sourdough bread?"},
    {"qid": "u2", "question": "What is the recommended dose of xanomeline?"},
]
KQA = [
    {
        "qid": "k1",
        "question": "Can I take naltrexone if I use opioids?",
        "must_have": ["Naltrexone will block the analgesic effects of opioid medications"],
        "nice_to_have": ["Naltrexone will not block the analgesic effects of opioid medications"],
    },
]
THRESHOLDS = """
[tiny.extractive]
citation_recall = { min = 1.0 }
dangling_citations = { max = 0 }
abstention_rate = { min = 1.0 }
answer_rate = { min = 1.0 }
[tiny.generative_guarded]
citation_recall = { min = 1.0 }
dangling_citations = { max = 0 }
[tiny.generative_unguarded]
dangling_citations = { min = 1 }
numeric_fidelity = { max = 0.99 }
[tiny.calibration]
"kqa_nli.balanced_accuracy" = { min = 0.3 }
"""


class ScriptedComposerLLM:
    """Writes, for any section, its first evidence sentence cited [1], an invented dose cited [1], and a
    statement citing a passage that was never shown ([9])."""

    name = "scripted"
    model = "script-1"

    def __init__(self) -> None:
        self.calls = 0

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        self.calls += 1
        evidence = re.findall(r"<<<\n(.*?)\n>>>", messages[-1].content, re.S)
        first = re.split(r"(?<=[.!?])\s+", " ".join(evidence[0].split()))[0]
        text = (
            f"- {first} [1]\n- The usual adult dose is 999 mg every day [1]\n- Invented statement here [9]\n"
        )
        return Completion(text, self.model, 100, 30, "stop", 0.25)

    def stream(self, messages: Sequence[Message], **kw: object) -> Iterator[str]:
        yield ""

    def health(self) -> bool:
        return True

    def close(self) -> None:
        pass


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def index(fixture_index: Settings, embedder: Embedder) -> SearchIndex:
    return SearchIndex.load(fixture_index, embedder=embedder)


@pytest.fixture
def suite(tmp_path: Path) -> Suite:
    _write_jsonl(tmp_path / "answerable.jsonl", QUESTIONS)  # type: ignore[arg-type]
    _write_jsonl(tmp_path / "unanswerable.jsonl", UNANSWERABLE)  # type: ignore[arg-type]
    _write_jsonl(tmp_path / "kqa.jsonl", KQA)  # type: ignore[arg-type]
    (tmp_path / "thresholds.toml").write_text(THRESHOLDS)
    (tmp_path / "tiny.toml").write_text(
        'name = "tiny"\nllm = "replay"\ncassette = "cassettes/tiny.json"\nthresholds = "thresholds.toml"\n'
        '[[questions]]\nset = "known"\npath = "answerable.jsonl"\nkind = "answerable"\n'
        "generative_sample = 1\n"
        '[[questions]]\nset = "unknown"\npath = "unanswerable.jsonl"\nkind = "unanswerable"\n'
        '[[questions]]\nset = "kq"\npath = "kqa.jsonl"\nkind = "coverage"\n'
        '[retrieval]\nsample = 3\nsets = ["medicationqa"]\n[calibration]\nsample = 30\n'
    )
    return Suite.load(tmp_path / "tiny.toml")


@pytest.fixture
def recorded(suite: Suite, fixture_index: Settings, index: SearchIndex, tmp_path: Path) -> RunResult:
    llm = ScriptedComposerLLM()
    result = run_suite(
        suite,
        fixture_index,
        llm="local",
        record=True,
        llm_client=llm,
        index=index,
        out_dir=tmp_path / "rec",
        log=lambda _m: None,
    )
    assert llm.calls > 0
    return result


def _without_latency(metrics: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in metrics.items() if "latency" not in k}


def test_replayed_generative_run_scores_exactly_like_the_recorded_one(
    recorded: RunResult, suite: Suite, fixture_index: Settings, index: SearchIndex, tmp_path: Path
) -> None:
    assert suite.cassette_path is not None
    assert suite.cassette_path.exists()
    replayed = run_suite(suite, fixture_index, index=index, out_dir=tmp_path / "out", log=lambda _m: None)
    for name in ("extractive", "generative_guarded", "generative_unguarded"):
        assert _without_latency(replayed.systems[name].metrics) == _without_latency(
            recorded.systems[name].metrics
        )
    assert replayed.report["generative"]["llm_mode"] == "replay"
    assert replayed.report["generative"]["llm"] == "scripted"


def test_guard_removes_what_the_raw_draft_gets_wrong(recorded: RunResult) -> None:
    raw = recorded.systems["generative_unguarded"].metrics
    guarded = recorded.systems["generative_guarded"].metrics
    extractive = recorded.systems["extractive"].metrics
    assert raw["dangling_citations"] > 0
    assert guarded["dangling_citations"] == 0
    assert raw["citation_recall"] < guarded["citation_recall"] == 1.0
    assert raw["numeric_fidelity"] < 1.0
    assert extractive["citation_recall"] == 1.0
    assert extractive["dangling_citations"] == 0
    assert extractive["abstention_rate"] == 1.0  # sourdough and xanomeline: every section abstains
    assert extractive["answer_rate"] == 1.0
    assert guarded["guard"]["dangling_citations_removed"] > 0
    assert len(recorded.systems["extractive"].views) == 5
    assert [v.qid for v in recorded.systems["generative_guarded"].views] == ["a1", "u1", "u2", "k1"]
    assert recorded.report["guard_value"]["dangling_citations"]["before"] > 0
    assert not recorded.failures, [str(c) for c in recorded.failures]


def test_reports_hold_numbers_config_hashes_calibration_chart_and_drill_down(
    recorded: RunResult, tmp_path: Path
) -> None:
    out = tmp_path / "rec"
    report = json.loads((out / "report.json").read_text())
    assert {
        "suite",
        "versions",
        "index",
        "settings",
        "datasets",
        "prompt_versions",
        "judge",
        "calibration",
        "systems",
        "retrieval",
        "thresholds",
        "timings",
        "questions",
    } <= set(report)
    assert len(report["datasets"]["questions"]["known"]["sha256"]) == 64
    assert report["datasets"]["cassette_sha256"]
    assert report["prompt_versions"]["generative_guarded"]["answer_section"] >= 1
    assert report["calibration"]["headline"]["kqa_nli"]["n"] > 0
    assert report["thresholds"]["passed"] is True
    md = (out / "report.md").read_text()
    columns = [
        "extractive",
        "extractive, generative's questions",
        "generative + guard",
        "generative, no guard",
    ]
    assert "| metric | " + " | ".join(columns) + " |" in md
    assert "judge calibration (held-out split)" in md
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    failures = json.loads((out / "failures.json").read_text())
    dangling = [
        f
        for f in failures
        if f["system"] == "generative_unguarded" and f["statement"] == "Invented statement here"
    ]
    assert dangling
    assert dangling[0]["citations"][0]["dangling"]
    invented = [f for f in failures if f["statement"] and "999 mg" in f["statement"]]
    assert invented
    assert invented[0]["judge"]["reason"]
    assert invented[0]["citations"][0]["text"]
    assert "999 mg" in (out / "failures.md").read_text()


def test_a_missed_threshold_is_reported_as_a_failure(
    recorded: RunResult, suite: Suite, fixture_index: Settings, index: SearchIndex, tmp_path: Path
) -> None:
    assert suite.thresholds_path is not None
    suite.thresholds_path.write_text(
        "[tiny.extractive]\ncitation_recall = { min = 1.01 }\n[tiny.nowhere]\nx = { min = 1 }\n"
    )
    result = run_suite(suite, fixture_index, index=index, composers=["extractive"], log=lambda _m: None)
    assert [(c.scope, c.metric) for c in result.failures] == [("extractive", "citation_recall")]
    assert any(c.skipped for c in result.checks)


def test_replay_of_a_question_never_recorded_fails_loudly(
    recorded: RunResult, suite: Suite, fixture_index: Settings, index: SearchIndex, tmp_path: Path
) -> None:
    _write_jsonl(
        tmp_path / "answerable.jsonl", [{"qid": "a9", "question": "Is warfarin safe during pregnancy?"}]
    )
    with pytest.raises(CassetteMiss, match="record"):
        run_suite(suite, fixture_index, index=index, composers=["generative"], log=lambda _m: None)
