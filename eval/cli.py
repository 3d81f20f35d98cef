"""`curbside eval ...` and `curbside bench`: the evaluation harness's command line.

curbside eval run --suite ci|full [--composer extractive|generative] [--llm replay|local|openai|none]
                  [--judge lexical|nli|llm] [--out DIR] [--record]
curbside eval judge --judge lexical|nli|llm [--set healthver|kqa_nli|expertqa|covidfact] [--limit N]
                    [--holdout-only] [--llm ...]
curbside eval retrieval [--limit N] [--set ...]
curbside eval relevance [--set medicationqa|bioasq|pubmedqa|evidence_inference|all] [--split validation|train]
                        [--limit N] [--json out.json]
curbside eval focus [--split validation|train|all] [--labels-only]
curbside eval emergency [--split all|train|validation]
curbside eval comparison [--split validation|train] [--limit N]
curbside eval sentences [--split train|validation] [--limit N] [--json out.json]
curbside bench [--quick] [--only PART]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from app.settings import Settings
from eval.datasets import RETRIEVAL_SETS

REPORTS = Path(__file__).resolve().parent / "reports"


def _retriever(settings: Settings):  # type: ignore[no-untyped-def]
    from app.index.search_index import SearchIndex
    from app.retrieval import Retriever

    return Retriever(SearchIndex.load(settings), settings.retrieval)


def _err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def cmd_retrieval(args: argparse.Namespace, settings: Settings) -> int:
    from eval.retrieval import evaluate, markdown_table

    report = evaluate(_retriever(settings), limit=args.limit, sets=args.set)
    out = Path(args.out) if args.out else REPORTS / "retrieval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown_table(report))
    print(f"\nwritten: {out}")
    return 0


def cmd_relevance(args: argparse.Namespace, settings: Settings) -> int:
    from app.answer.engine import AnswerEngine
    from app.index.manifest import IndexMismatch
    from eval.relevance import RELEVANCE_SETS, curve_of, evaluate, markdown_table, plot_curve

    chosen = args.set or ["all"]
    sets = list(RELEVANCE_SETS) if "all" in chosen else list(dict.fromkeys(chosen))
    try:
        engine = AnswerEngine.from_settings(settings, with_llm=False)
    except IndexMismatch as exc:
        return _err(str(exc))
    report = evaluate(
        engine, sets=sets, split=args.split, limit=args.limit, log=lambda m: print(m, file=sys.stderr)
    )
    out = Path(args.json) if args.json else REPORTS / f"relevance-{args.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(markdown_table(report))
    written = [str(out)]
    got = curve_of(report)
    if got:
        png = out.with_suffix(".png")
        plot_curve(*got, png, f"section abstention by P(answers) ({args.split} split)")
        written.append(str(png))
    print(f"\nwritten: {', '.join(written)}")
    return 0


def cmd_focus(args: argparse.Namespace, settings: Settings) -> int:
    from app.index.search_index import SearchIndex
    from eval.focus import evaluate

    index = SearchIndex.load(settings)
    print(evaluate(index, args.split, only_labels=args.labels_only))
    return 0


def cmd_emergency(args: argparse.Namespace, settings: Settings) -> int:
    from eval.emergency import evaluate

    report, ok = evaluate(args.split)
    print(report)
    return 0 if ok else 1


def cmd_comparison(args: argparse.Namespace, settings: Settings) -> int:
    from app.answer.engine import AnswerEngine
    from app.index.manifest import IndexMismatch
    from eval.comparison import ComparisonReport, evaluate, load_records, markdown

    try:
        retriever = _retriever(settings)
    except IndexMismatch as exc:
        return _err(str(exc))
    engine = AnswerEngine(settings, retriever, llm=None, conversations=None)
    records = load_records(args.split, args.limit)
    out = Path(args.out) if args.out else REPORTS / "comparison.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    def save(report: ComparisonReport) -> None:
        out.write_text(json.dumps({"summary": report.summary(), "rows": report.rows}, indent=2) + "\n")

    report = evaluate(
        engine.ask,
        retriever,
        records,
        split=args.split,
        log=lambda m: print(m, file=sys.stderr),
        checkpoint=save,
    )
    save(report)
    summary = report.summary()
    print(markdown(summary))
    print(f"\n{summary['seconds']}s (extractive composer); written: {out}")
    return 0


def cmd_sentences(args: argparse.Namespace, settings: Settings) -> int:
    from app.answer.engine import AnswerEngine
    from eval.sentence_weights import run

    engine = AnswerEngine.from_settings(settings, with_llm=False)
    out = Path(args.json) if args.json else REPORTS / f"sentences-{args.split}.json"
    print(run(engine, split=args.split, limit=args.limit, out=out))
    print(f"report: {out}")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from eval.bench import run_bench

    return run_bench(settings, quick=args.quick, only=args.only)


def _llm_client(name: str | None, settings: Settings):  # type: ignore[no-untyped-def]
    from app.llm import make_client

    if name in (None, "none", "replay"):
        return None
    return make_client(settings.llm.model_copy(update={"backend": name}))


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from app.index.manifest import IndexMismatch
    from app.llm.base import LLMError
    from eval.cassettes import CassetteMiss
    from eval.judges import JudgeError
    from eval.runner import run_suite
    from eval.settings import EvalSettings
    from eval.suites import LLMMode, Suite

    cfg = EvalSettings()
    try:
        suite = Suite.load(args.suite)
    except (FileNotFoundError, ValueError) as exc:
        return _err(str(exc))
    judge_name = args.judge or (cfg.judge if "CURBSIDE_EVAL__JUDGE" in _env() else suite.judge)
    llm_mode: LLMMode | None = args.llm or ("local" if args.record else None)
    out = Path(args.out) if args.out else cfg.reports_dir / suite.name
    judge_llm = None
    try:
        if judge_name == "llm":
            judge_llm = _llm_client(args.judge_llm or settings.llm.backend, settings)
        result = run_suite(
            suite,
            settings,
            cfg,
            composers=[args.composer] if args.composer else None,
            llm=llm_mode,
            judge_name=judge_name,
            judge_llm=judge_llm,
            out_dir=out,
            record=args.record,
        )
    except (IndexMismatch, CassetteMiss, JudgeError, LLMError, ValueError) as exc:
        return _err(str(exc))
    finally:
        if judge_llm is not None:
            judge_llm.close()
    from eval.report import markdown

    print()
    print(markdown(result.report))
    print(f"written: {out}/report.md, report.json, chart.png, failures.md")
    if result.failures:
        print("\nthresholds missed:", file=sys.stderr)
        for check in result.failures:
            print(f"  {check}", file=sys.stderr)
        return 1
    return 0


def cmd_judge(args: argparse.Namespace, settings: Settings) -> int:
    from eval.judges import JudgeError, make_judge
    from eval.judges.calibration import calibrate, markdown
    from eval.settings import EvalSettings

    cfg = EvalSettings()
    name = args.judge or cfg.judge
    find_drugs = None
    drugs_json = settings.paths.index_dir / "current" / "drugs.json"
    if cfg.lexical.use_drug_lexicon and drugs_json.exists():
        from app.index.drugs import DrugLexicon

        find_drugs = DrugLexicon.from_json(json.loads(drugs_json.read_text())).detect
    llm = None
    try:
        if name == "llm":
            llm = _llm_client(args.llm or settings.llm.backend, settings)
        judge = make_judge(name, cfg, settings, llm=llm, find_drugs=find_drugs)
        report = calibrate(
            judge,
            sets=args.set,
            limit=args.limit,
            holdout_only=args.holdout_only,
            log=lambda m: print(m, file=sys.stderr),
        )
    except JudgeError as exc:
        return _err(str(exc))
    finally:
        if llm is not None:
            llm.close()
    out = Path(args.out) if args.out else cfg.reports_dir / f"judge-{name}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    text = markdown(report)
    (out / "calibration.md").write_text(text + "\n")
    print(text)
    print(f"\n{report['seconds']}s; written: {out}/calibration.md, calibration.json")
    return 0


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="curbside eval")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="answer a suite's questions, score them, check thresholds, write reports"
    )
    run.add_argument("--suite", default="ci", help="suite name (eval/suites/NAME.toml) or path; default ci")
    run.add_argument("--composer", choices=["extractive", "generative"], help="only this composer")
    run.add_argument(
        "--llm",
        choices=["replay", "local", "openai", "none"],
        help="generative LLM: replay the suite's cassette or run live",
    )
    run.add_argument("--judge", choices=["lexical", "nli", "llm"], help="judge (default: the suite's)")
    run.add_argument(
        "--judge-llm",
        choices=["local", "openai"],
        help="LLM of the llm judge (default CURBSIDE_LLM__BACKEND)",
    )
    run.add_argument("--out", help="report folder (default eval/reports/<suite>/)")
    run.add_argument(
        "--record", action="store_true", help="run the LLM live and (re)write the suite's cassette"
    )
    j = sub.add_parser(
        "judge", help="measure a judge against human labels (HealthVer, K-QA NLI, ExpertQA, COVID-Fact)"
    )
    j.add_argument(
        "--judge", choices=["lexical", "nli", "llm"], help="default CURBSIDE_EVAL__JUDGE or lexical"
    )
    j.add_argument(
        "--set",
        action="append",
        choices=["healthver", "kqa_nli", "expertqa", "covidfact"],
        help="only these sets",
    )
    j.add_argument(
        "--holdout-only", action="store_true", help="score the held-out split only (the figures reported)"
    )
    j.add_argument("--limit", type=int, help="pairs per set (seeded sample); default all")
    j.add_argument(
        "--llm", choices=["local", "openai"], help="LLM of the llm judge (default CURBSIDE_LLM__BACKEND)"
    )
    j.add_argument("--out", help="folder (default eval/reports/judge-<name>/)")
    r = sub.add_parser("retrieval", help="recall@10, nDCG@10, MRR for BM25, dense and hybrid")
    r.add_argument("--limit", type=int, help="questions per set (seeded sample); default all")
    r.add_argument("--set", action="append", choices=list(RETRIEVAL_SETS))
    r.add_argument("--out", help="report path (default eval/reports/retrieval.json)")
    rel = sub.add_parser(
        "relevance",
        help="do answer sections answer? against human-chosen evidence, with baselines and ceiling",
    )
    rel.add_argument(
        "--set",
        action="append",
        choices=["medicationqa", "bioasq", "pubmedqa", "evidence_inference", "all"],
        help="only these sets (default all)",
    )
    rel.add_argument(
        "--split", choices=["validation", "train"], default="validation", help="default validation"
    )
    rel.add_argument("--limit", type=int, help="questions per set (seeded sample); default all")
    rel.add_argument(
        "--json", help="report path (default eval/reports/relevance-<split>.json; PNG beside it)"
    )
    f = sub.add_parser("focus", help="drug detection in MedicationQA questions against their focus field")
    f.add_argument("--split", choices=["validation", "train", "all"], default="validation")
    f.add_argument(
        "--labels-only", action="store_true", help="drop keys only one-passage records (excerpts) carry"
    )
    e = sub.add_parser("emergency", help="emergency detection: confusion matrix, recall, precision")
    e.add_argument("--split", choices=["validation", "train", "all"], default="all")
    c = sub.add_parser(
        "comparison",
        help="Evidence Inference comparison questions: cites the trial, quotes its result, retrieval ceiling",
    )
    c.add_argument("--split", default="validation", choices=["train", "validation"])
    c.add_argument("--limit", type=int, help="questions (seeded sample); default all of the split")
    c.add_argument("--out", help="report path (default eval/reports/comparison.json)")
    s = sub.add_parser(
        "sentences",
        help="the composer's sentence weights against learned ones over the same features, and trivial order",
    )
    s.add_argument("--split", default="train", choices=["train", "validation"], help="default train")
    s.add_argument("--limit", type=int, help="questions per set (seeded sample); default all")
    s.add_argument("--json", help="report path (default eval/reports/sentences-<split>.json)")
    b = sub.add_parser("bench", help="speed benchmarks")
    b.add_argument("--quick", action="store_true", help="fewer repetitions")
    b.add_argument("--only", action="append", help="run only these parts")
    args = p.parse_args(argv)
    settings = Settings()
    handlers = {
        "retrieval": cmd_retrieval,
        "relevance": cmd_relevance,
        "bench": cmd_bench,
        "run": cmd_run,
        "judge": cmd_judge,
        "focus": cmd_focus,
        "emergency": cmd_emergency,
        "comparison": cmd_comparison,
        "sentences": cmd_sentences,
    }
    return handlers[args.command](args, settings)


def bench_main(argv: Sequence[str] | None = None) -> int:
    """``curbside bench ...``: the same as ``curbside eval bench ...``."""
    return main(["bench", *(sys.argv[1:] if argv is None else argv)])
