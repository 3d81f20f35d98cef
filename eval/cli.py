"""`curbside eval ...` and `curbside bench`: the evaluation harness's command line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from app.settings import Settings

REPORTS = Path(__file__).resolve().parent / "reports"


def _retriever(settings: Settings):  # type: ignore[no-untyped-def]
    from app.index.loaded import SearchIndex
    from app.retrieval import Retriever

    return Retriever(SearchIndex.load(settings), settings.retrieval)


def cmd_retrieval(args: argparse.Namespace, settings: Settings) -> int:
    from eval.retrieval import evaluate, markdown_table

    report = evaluate(_retriever(settings), limit=args.limit, sets=args.set)
    out = Path(args.out) if args.out else REPORTS / "retrieval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown_table(report))
    print(f"\nwritten: {out}")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from eval.bench import run_bench

    return run_bench(settings, quick=args.quick, only=args.only)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="curbside eval")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("retrieval", help="recall@10, nDCG@10, MRR for BM25, dense and hybrid")
    r.add_argument("--limit", type=int, help="questions per set (seeded sample); default all")
    r.add_argument("--set", action="append", choices=["pubmedqa", "bioasq", "medicationqa"])
    r.add_argument("--out", help="report path (default eval/reports/retrieval.json)")
    b = sub.add_parser("bench", help="speed benchmarks")
    b.add_argument("--quick", action="store_true", help="fewer repetitions")
    b.add_argument("--only", action="append", help="run only these parts")
    args = p.parse_args(argv)
    settings = Settings()
    handlers = {"retrieval": cmd_retrieval, "bench": cmd_bench}
    return handlers[args.command](args, settings)
