"""The evaluation runner: a suite's questions through each composer, every answer scored by one judge.

Systems compared:
- ``extractive`` — the default offline composer, through the guard (what users get without an LLM);
- ``generative_guarded`` — the LLM composer through the guard (what users get with an LLM; a section whose
  statements all fail the guard shows the extractive answer, as the engine does, and is counted);
- ``generative_unguarded`` — the LLM's raw parsed draft, before the guard, scored by the same judge: the
  guard's value is the difference between the last two;
- ``extractive_paired`` — when the generative composer answers only part of the questions
  (``generative_sample``), the extractive answers to those same questions, for a like-for-like comparison.

In CI the LLM is replayed from a cassette (``eval/cassettes/<suite>.json``), so the generative path is
deterministic and needs no model; ``--record`` runs a real backend and writes the cassette.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.answer.draft import DraftSection
from app.answer.engine import AnswerEngine, AnswerEvent, RetrievalEvent, SectionEvent
from app.index.drugs import DrugLexicon
from app.index.search_index import SearchIndex
from app.llm.base import LLMClient
from app.retrieval import Retriever
from app.schema import SECTION_KEYS, Answer, SectionKey
from app.settings import Settings
from eval.abstention import naming_sections, other_drug_sections
from eval.cassettes import Call, Cassette, RecordingClient, ReplayClient, TapClient
from eval.judges import CachedJudge, Judge, make_judge
from eval.metrics import (
    AnswerView,
    CitedStatement,
    SectionView,
    abstention,
    answering,
    by_section,
    coverage,
    coverage_summary,
    faithfulness,
    guard_totals,
    latency,
    score_answer,
    view_of_answer,
)
from eval.report import build_report, write_reports
from eval.results import SYSTEMS, Asked, RunResult, SystemResult
from eval.settings import EvalSettings
from eval.suites import Composer, LLMMode, Question, Suite, load_questions
from eval.thresholds import check_thresholds

Log = Callable[[str], None]


# -- asking -----------------------------------------------------------------------------------------------


def ask(engine: AnswerEngine, q: Question, tap: TapClient | None = None) -> Asked:
    if tap is not None:
        tap.take()
    t = time.perf_counter()
    retrieval: RetrievalEvent | None = None
    answer: Answer | None = None
    primary: dict[SectionKey, DraftSection | None] = {}
    for event in engine.events(q.question, remember=False):
        if isinstance(event, RetrievalEvent):
            retrieval = event
        elif isinstance(event, SectionEvent):
            primary[event.section.key] = event.primary
        elif isinstance(event, AnswerEvent):
            answer = event.answer
    wall = 1000 * (time.perf_counter() - t)
    assert retrieval is not None
    assert answer is not None
    retrieved = {h.passage.id: h.passage for hits in retrieval.evidence.values() for h in hits}
    return Asked(
        q,
        retrieved,
        dict(retrieval.evidence),
        list(retrieval.drugs),
        answer,
        round(wall, 2),
        tap.take() if tap else [],
        primary,
    )


def raw_view(asked: Asked, *, replayed: bool, system: str = "generative_unguarded") -> tuple[AnswerView, int]:
    """The LLM's parsed drafts before the guard, section by section (carried by the engine's section
    events); and how many sections had no draft because the backend failed (their evidence went to the
    extractive composer instead). A replayed answer's latency is the pipeline's wall time plus the LLM time
    recorded in the cassette."""
    sections: list[SectionView] = []
    no_draft = 0
    for key in SECTION_KEYS:
        if key not in asked.evidence:
            continue
        if not asked.evidence[key]:
            sections.append(SectionView(key=key, abstained=True))
            continue
        drafted = asked.primary.get(key)
        if drafted is None:
            no_draft += 1
            sections.append(SectionView(key=key, abstained=True))
            continue
        sections.append(
            SectionView(
                key=key,
                abstained=not drafted.statements,
                statements=[CitedStatement(key, d.text.strip(), tuple(d.keys)) for d in drafted.statements],
            )
        )
    llm_ms = sum(1000 * c.seconds for c in asked.calls) if replayed else 0.0
    view = AnswerView(
        qid=asked.question.qid,
        question=asked.question.question,
        system=system,
        sections=sections,
        retrieved=asked.retrieved,
        drugs=asked.drugs,
        latency_ms=None,
        guard=None,
    )
    view.latency_ms = round(asked.wall_ms + llm_ms, 2)
    return view, no_draft


def unknown_term_metrics(asked: Sequence[Asked], lexicon: DrugLexicon) -> dict[str, Any]:
    """Issue 12's honesty metrics (eval/abstention.py): sections answering a single-drug question with
    another drug's text (want 0), and abstaining sections of unknown-drug questions naming the missing term
    (want 1). None when the suite asks no such question."""
    pairs = [
        (
            a.answer,
            {"kind": a.question.row_kind, "absent_terms": a.question.absent_terms, "drug": a.question.drug},
        )
        for a in asked
    ]
    return {
        "other_drug_sections": other_drug_sections(pairs, lexicon).value,
        "naming_sections": naming_sections(pairs).value,
    }


def tap_calls(asked: Sequence[Asked]) -> list[Call]:
    return [c for a in asked for c in a.calls]


def fallback_sections(guarded: AnswerView, raw: AnswerView) -> int:
    """Sections answered extractively although the LLM was asked (none of their statements is the LLM's)."""
    n = 0
    for sec in guarded.sections:
        raw_sec = raw.section(sec.key)
        raw_texts = {s.text for s in raw_sec.statements} if raw_sec else set()
        if sec.statements and raw_sec is not None and not any(s.text in raw_texts for s in sec.statements):
            n += 1
    return n


# -- scoring ----------------------------------------------------------------------------------------------


def score_system(
    name: str, views: Sequence[AnswerView], questions: Mapping[str, Question], judge: Judge
) -> SystemResult:
    scores = [s for v in views for s in score_answer(v, judge)]
    unanswerable = [v for v in views if questions[v.qid].kind == "unanswerable"]
    answerable = [v for v in views if questions[v.qid].kind == "answerable"]
    kqa = [v for v in views if questions[v.qid].kind == "coverage"]
    cover = [coverage(v, questions[v.qid].must_have, questions[v.qid].nice_to_have, judge) for v in kqa]
    faith = faithfulness(scores)
    abst = abstention(unanswerable)
    ans = answering(answerable, {q.qid: q.expected_sections for q in questions.values()})
    cov = coverage_summary(cover)
    lat = latency(views)
    metrics: dict[str, Any] = {
        "questions": len(views),
        **{k: (v.value if hasattr(v, "value") else v) for k, v in faith.items()},
        **{k: v.value for k, v in abst.items()},
        **{k: v.value for k, v in ans.items()},
        "kqa_comprehensiveness": cov["comprehensiveness"].value,  # type: ignore[union-attr]
        "kqa_must_have_supported": cov["must_have_supported"].value,  # type: ignore[union-attr]
        "kqa_hallucination": cov["hallucination"],
        "kqa_hallucinated_statements": cov["hallucinated_statements"],
        "latency_p50_ms": lat["p50_ms"],
        "latency_p95_ms": lat["p95_ms"],
        "fallback_sections": sum(v.fallback_sections for v in views),
    }
    metrics["counts"] = {
        **{k: v.to_json() for k, v in faith.items() if hasattr(v, "to_json")},
        **{k: v.to_json() for k, v in abst.items()},
        **{k: v.to_json() for k, v in ans.items()},
        "kqa_questions": cov["questions"],
        "kqa_comprehensiveness": cov["comprehensiveness"].to_json(),  # type: ignore[union-attr]
        "kqa_must_have_supported": cov["must_have_supported"].to_json(),  # type: ignore[union-attr]
        "unanswerable_questions": len(unanswerable),
        "answerable_questions": len(answerable),
    }
    metrics["latency"] = lat
    metrics["guard"] = guard_totals(views)
    metrics["by_section"] = by_section(scores)
    return SystemResult(name, list(views), scores, cover, metrics)


# -- the run ----------------------------------------------------------------------------------------------


def make_llm(
    mode: LLMMode,
    settings: Settings,
    cassette_path: Path | None,
    *,
    record: bool,
    live: LLMClient | None = None,
) -> tuple[LLMClient | None, Cassette | None]:
    """The generative composer's client: a replay of the cassette, or a live backend (``record``: recorded).
    ``live`` is a ready client to use instead of building one from the settings."""
    from app.llm import make_client

    if mode == "none" and live is None:
        return None, None
    if mode == "replay" and live is None:
        if record:
            raise ValueError("--record needs a live backend: pass --llm local (or openai)")
        if cassette_path is None:
            raise ValueError("this suite names no cassette; set 'cassette' in the suite or use --llm local")
        cassette = Cassette.load(cassette_path)
        return ReplayClient(cassette), cassette
    client = live if live is not None else make_client(settings.llm.model_copy(update={"backend": mode}))
    assert client is not None
    if record:
        if cassette_path is None:
            raise ValueError("--record needs a cassette path in the suite")
        cassette = Cassette.load_or_new(cassette_path)
        return RecordingClient(client, cassette, resume=True), cassette
    return client, None


def run_suite(
    suite: Suite,
    settings: Settings,
    cfg: EvalSettings | None = None,
    *,
    composers: Sequence[Composer] | None = None,
    llm: LLMMode | None = None,
    judge_name: str | None = None,
    judge_llm: LLMClient | None = None,
    out_dir: Path | None = None,
    record: bool = False,
    llm_client: LLMClient | None = None,
    index: SearchIndex | None = None,
    log: Log = print,
) -> RunResult:
    """Run ``suite``: answer, score, calibrate the judge, measure retrieval, check thresholds, write reports.

    ``llm_client`` replaces the live backend the settings name (tests pass a scripted one); ``index`` a
    loaded index (tests share one)."""

    cfg = cfg or EvalSettings()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    composers = list(composers or suite.composers)
    mode: LLMMode = llm or suite.llm
    judge_name = judge_name or suite.judge

    t = time.perf_counter()
    index = index or SearchIndex.load(settings)
    retriever = Retriever(index, settings.retrieval)
    questions, question_info = load_questions(suite)
    by_qid = {q.qid: q for q in questions}
    if len(by_qid) != len(questions):
        raise ValueError("question ids repeat across the suite's sets; give each question a unique qid")
    base_judge = make_judge(judge_name, cfg, settings, llm=judge_llm, find_drugs=index.lexicon.detect)
    judge = CachedJudge(base_judge)
    extractive_judge = judge
    if suite.extractive_judge is not None and suite.extractive_judge != judge_name:
        extractive_judge = CachedJudge(
            make_judge(suite.extractive_judge, cfg, settings, llm=judge_llm, find_drugs=index.lexicon.detect)
        )
    timings["load_s"] = round(time.perf_counter() - t, 2)
    log(
        f"suite {suite.name}: {len(questions)} questions, composers {composers}, llm {mode}, "
        f"judge {judge_name}"
        + (f" (extractive: {suite.extractive_judge})" if extractive_judge is not judge else "")
    )

    views: dict[str, list[AnswerView]] = {}
    extra: dict[str, Any] = {}
    asked_by_system: dict[str, list[Asked]] = {}
    if "extractive" in composers:
        t = time.perf_counter()
        engine = AnswerEngine(settings, retriever, llm=None, conversations=None)
        asked = [ask(engine, q) for q in questions]
        asked_by_system["extractive"] = asked
        views["extractive"] = [
            view_of_answer(
                a.answer, qid=a.question.qid, system="extractive", retrieved=a.retrieved, latency_ms=a.wall_ms
            )
            for a in asked
        ]
        timings["extractive_s"] = round(time.perf_counter() - t, 2)
        log(f"extractive: {len(asked)} answers in {timings['extractive_s']}s")

    cassette: Cassette | None = None
    if "generative" in composers:
        t = time.perf_counter()
        client, cassette = make_llm(mode, settings, suite.cassette_path, record=record, live=llm_client)
        if client is None:
            raise ValueError("the generative composer needs an LLM: --llm replay|local|openai")
        tap = TapClient(client)
        engine = AnswerEngine(settings, retriever, llm=tap, conversations=None)
        guarded, raw = [], []
        no_draft = 0
        asked = []
        gen_questions = [q for q in questions if q.generative]
        completed = False
        if cassette is not None and record:
            llm_settings = settings.llm.model_copy(update={"backend": mode})
            cassette.meta.update(
                {
                    "suite": suite.name,
                    "settings_llm": llm_settings.model_dump(mode="json", exclude={"api_key"}),
                }
            )
        try:
            for i, q in enumerate(gen_questions, 1):
                a = ask(engine, q, tap)
                asked.append(a)
                rv, nd = raw_view(a, replayed=cassette is not None and not record)
                no_draft += nd
                gv = view_of_answer(
                    a.answer,
                    qid=q.qid,
                    system="generative_guarded",
                    retrieved=a.retrieved,
                    latency_ms=rv.latency_ms,
                )
                gv.fallback_sections = fallback_sections(gv, rv)
                guarded.append(gv)
                raw.append(rv)
                if cassette is not None and record:
                    cassette.save()  # a long recording interrupted keeps what it has
                if mode != "replay" and i % 5 == 0:
                    log(f"generative: {i}/{len(gen_questions)} questions, {len(tap_calls(asked))} LLM calls")
            completed = True
        finally:
            if cassette is not None and record:
                cassette.save(prune=completed)  # a complete recording keeps only what this suite asks
                log(f"cassette written: {cassette.path} ({len(cassette.entries)} responses)")
            tap.close()
        views["generative_guarded"] = guarded
        views["generative_unguarded"] = raw
        asked_by_system["generative_guarded"] = asked
        timings["generative_s"] = round(time.perf_counter() - t, 2)
        extra["generative"] = {
            "llm_mode": mode,
            "llm": client.name,
            "model": getattr(client, "model", None),
            "llm_calls": sum(len(a.calls) for a in asked),
            "sections_without_draft": no_draft,
            "answers_marked_fallback": sum(1 for a in asked if a.answer.backend.fallback),
            "cassette": str(cassette.path) if cassette else None,
            "cassette_sha256": cassette.sha256 if cassette else None,
            "latency_note": "pipeline wall time plus the LLM time recorded in the cassette"
            if mode == "replay"
            else "wall time",
        }
        log(f"generative ({mode}): {len(asked)} answers in {timings['generative_s']}s")

    if "extractive" in views and "generative_guarded" in views and any(not q.generative for q in questions):
        # The generative composer answered part of the questions: extractive on those same ones, for a fair
        # side-by-side (the full extractive column stays).
        views["extractive_paired"] = [v for v in views["extractive"] if by_qid[v.qid].generative]
    t = time.perf_counter()
    systems = {
        name: score_system(
            name, views[name], by_qid, extractive_judge if name.startswith("extractive") else judge
        )
        for name in SYSTEMS
        if name in views
    }
    for name, answered in asked_by_system.items():
        if name in systems:
            systems[name].metrics.update(unknown_term_metrics(answered, index.lexicon))
    timings["scoring_s"] = round(time.perf_counter() - t, 2)

    calibration: dict[str, Any] | None = None
    if suite.calibration.enabled:
        from eval.judges.calibration import calibrate

        t = time.perf_counter()
        slow = None if judge_name == "lexical" else cfg.slow_judge_calibration_sample
        sample = suite.calibration.sample
        limit = (sample or None) if sample is not None else slow  # 0: every pair
        calibration = calibrate(
            base_judge,
            sets=suite.calibration.sets,
            limit=limit,
            seed=suite.seed,
            holdout_only=suite.calibration.holdout_only,
        )
        if extractive_judge is not judge:
            # The extractive answers are scored by another judge: its calibration is shown beside them.
            extra["extractive_calibration"] = calibrate(
                extractive_judge.inner,
                sets=suite.calibration.sets,
                limit=None if extractive_judge.name == "lexical" else limit,
                seed=suite.seed,
                holdout_only=suite.calibration.holdout_only,
            )
        timings["calibration_s"] = round(time.perf_counter() - t, 2)
        log(f"judge calibration in {timings['calibration_s']}s")

    retrieval: dict[str, Any] | None = None
    if suite.retrieval.enabled and suite.retrieval.sets:
        from eval.retrieval import evaluate

        t = time.perf_counter()
        retrieval = evaluate(retriever, limit=suite.retrieval.sample or None, sets=suite.retrieval.sets)
        timings["retrieval_s"] = round(time.perf_counter() - t, 2)
        log(f"retrieval metrics in {timings['retrieval_s']}s")

    relevance: dict[str, Any] | None = None
    if suite.relevance is not None and suite.relevance.enabled and suite.relevance.sets:
        from eval.relevance import evaluate as evaluate_relevance

        t = time.perf_counter()
        relevance = evaluate_relevance(
            AnswerEngine(settings, retriever, llm=None, conversations=None),
            sets=suite.relevance.sets,
            split=suite.relevance.split,
            limit=suite.relevance.sample or None,
            seed=suite.seed,
        )
        timings["relevance_s"] = round(time.perf_counter() - t, 2)
        log(f"relevance in {timings['relevance_s']}s")

    timings["total_s"] = round(time.perf_counter() - started, 2)
    report = build_report(
        suite=suite,
        settings=settings,
        cfg=cfg,
        judge=judge,
        systems=systems,
        calibration=calibration,
        retrieval=retrieval,
        relevance=relevance,
        question_info=question_info,
        questions=questions,
        asked=asked_by_system,
        extra=extra,
        index=index,
        timings=timings,
    )
    checks = check_thresholds(suite, report)
    report["thresholds"] = {
        "file": str(suite.thresholds_path) if suite.thresholds_path else None,
        "checks": [c.to_json() for c in checks],
        "passed": all(c.ok for c in checks),
    }
    result = RunResult(report, systems, checks)
    if out_dir is not None:
        write_reports(result, out_dir)
        result.out_dir = out_dir
    return result
