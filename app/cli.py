"""The `curbside` command: serve | ask | search | index | ingest | config; eval | bench | soak plug in."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from app.settings import ROOT, Settings, settings_table


def _err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    if args.table:
        print("| variable | default | what it does |\n|---|---|---|")
        for var, default, desc in settings_table():
            print(f"| `{var}` | `{default}` | {desc} |")
    else:
        print(settings.model_dump_json(indent=2))
    return 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from app.index.builder import build_index, current_dir, staleness
    from app.index.manifest import IndexMismatch, read_manifest

    if args.profile:
        settings.index.profile = args.profile
    if args.action == "status":
        reason = staleness(settings)
        try:
            manifest = read_manifest(current_dir(settings))
            print(json.dumps({k: v for k, v in manifest.model_dump().items() if k != "files"}, indent=2))
        except IndexMismatch:
            pass
        print("current" if reason is None else f"stale: {reason}")
        return 0 if reason is None else 1
    try:
        build_index(settings, force=args.force, progress=not args.quiet)
        if args.store == "milvus":
            from app.index.milvus import publish

            if args.uri:
                settings.index.milvus_uri = args.uri
            publish(settings, progress=not args.quiet)
    except (IndexMismatch, ValueError) as exc:
        return _err(str(exc))
    return 0


def _load_retriever(settings: Settings):  # type: ignore[no-untyped-def]
    from app.index.search_index import SearchIndex
    from app.retrieval import Retriever

    return Retriever(SearchIndex.load(settings), settings.retrieval)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from app.index.manifest import IndexMismatch
    from app.retrieval import Filters

    try:
        retriever = _load_retriever(settings)
    except IndexMismatch as exc:
        return _err(str(exc))
    filters = Filters(
        source_types=tuple(args.section) if args.section else None,
        year_min=args.year_min,
        year_max=args.year_max,
        organization=args.organization,
        drugs=tuple(args.drug) if args.drug else None,
    )
    result = retriever.retrieve(args.question, k=args.k, method=args.method, filters=filters)
    if args.json:
        out = {
            "question": args.question,
            "drugs": result.drugs,
            "unknown_drugs": result.unknown_drugs,
            "sections": {
                st: [h.model_dump(mode="json") for h in hits] for st, hits in result.sections.items()
            },
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"question: {args.question}")
    if result.drugs or result.unknown_drugs:
        print(
            f"drugs named: {', '.join(result.drugs) or '-'}; "
            f"without a label here: {', '.join(result.unknown_drugs) or '-'}"
        )
    for st, hits in result.sections.items():
        print(f"\n== {st} ({len(hits)} passages)")
        for i, h in enumerate(hits, 1):
            p = h.passage
            dense = f"{h.dense_score:.3f}" if h.dense_score is not None else "-"
            lex = f"{h.lexical_score:.2f}" if h.lexical_score is not None else "-"
            print(f"{i:2d}. [{h.score:.4f} | cos {dense} | bm25 {lex}] {p.id}")
            print(f"    {p.citation_label()}")
            snippet = " ".join(p.text.split())
            print(f"    {snippet[:220]}{'…' if len(snippet) > 220 else ''}")
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from app.corpus.errors import CorpusError
    from app.corpus.ingest import ingest

    try:
        report = ingest(
            [Path(p) for p in args.paths],
            kind=args.type,
            out=Path(args.out) if args.out else None,
            corpus_dir=settings.paths.corpus_dir,
            skip_bad=args.skip_bad,
            source_type=args.source_type,
            sections=args.sections,
        )
    except CorpusError as exc:
        return _err(
            f"{exc}\nnothing was written (use --skip-bad to ingest the good records and report the rest)"
        )
    print(report)
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from app.answer.engine import AnswerEngine, QuestionError
    from app.conversation import ConversationNotFound
    from app.index.manifest import IndexMismatch

    if args.llm:
        settings.llm.backend = args.llm
    try:
        engine = AnswerEngine.from_settings(settings)
    except IndexMismatch as exc:
        return _err(str(exc))
    try:
        answer = engine.ask(args.question, conversation_id=args.conversation, audience=args.audience)
    except (QuestionError, ConversationNotFound) as exc:
        return _err(str(exc))
    finally:
        if engine.llm is not None:
            engine.llm.close()
    if args.json:
        print(answer.model_dump_json(indent=2))
    else:
        print(answer.to_markdown())
        print(
            f"conversation: {answer.conversation_id} (turn {answer.turn}) — "
            f"follow up with --conversation {answer.conversation_id}"
        )
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from app.api.server import serve

    if args.host:
        settings.api.host = args.host
    if args.port:
        settings.api.port = args.port
    return int(serve(settings))


COMMANDS_GROUP = "curbside.commands"
"""Entry-point group of the commands other packages plug in (the eval harness: ``eval``, ``bench``, ``soak``).

Each entry point names a ``main(argv) -> int``. ``app`` never imports ``eval``: it finds them by name.
"""


def plugin_commands() -> dict[str, EntryPoint]:
    """The plugged-in commands: the installed package's entry points, then those of a source checkout's
    ``pyproject.toml`` that the installed metadata lacks (a worktree run with ``PYTHONPATH`` before
    ``pip install -e`` has caught up)."""
    found = {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}
    pyproject = ROOT / "pyproject.toml"
    if pyproject.is_file():
        declared = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        for name, value in declared.get("entry-points", {}).get(COMMANDS_GROUP, {}).items():
            found.setdefault(name, EntryPoint(name=name, value=value, group=COMMANDS_GROUP))
    return found


def _run_plugin(entry: EntryPoint, argv: Sequence[str]) -> int:
    return int(entry.load()(list(argv)))


PLUGIN_HELP = {
    "eval": "evaluation harness (see eval/)",
    "bench": "speed benchmarks (medians and ratios)",
    "soak": "load and leak check of a local server",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curbside", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("config", help="print the effective settings")
    c.add_argument("--table", action="store_true", help="the README's configuration table (Markdown)")

    i = sub.add_parser("index", help="build or check the index")
    i.add_argument("action", choices=["build", "status"])
    i.add_argument("--force", action="store_true", help="rebuild even when current")
    i.add_argument("--profile", choices=["clinical", "full"])
    i.add_argument("--quiet", action="store_true")
    i.add_argument("--store", choices=["faiss", "milvus"], default="faiss", help="also publish to Milvus")
    i.add_argument("--uri", help="Milvus URI: a Milvus Lite file or http://host:19530")

    s = sub.add_parser("search", help="retrieval only: ranked passages per section")
    s.add_argument("question")
    s.add_argument("--section", action="append", choices=["guideline", "fda_label", "research"])
    s.add_argument("--k", type=int, default=5)
    s.add_argument("--method", choices=["hybrid", "dense", "lexical"], default="hybrid")
    s.add_argument("--year-min", type=int)
    s.add_argument("--year-max", type=int)
    s.add_argument("--organization")
    s.add_argument("--drug", action="append", help="restrict label passages to this drug key")
    s.add_argument("--json", action="store_true")

    v = sub.add_parser("serve", help="serve the HTTP API and the chat page")
    v.add_argument("--host")
    v.add_argument("--port", type=int)

    a = sub.add_parser("ask", help="answer a question: three cited sections")
    a.add_argument("question")
    a.add_argument("--audience", choices=["clinician", "patient"], default="clinician")
    a.add_argument("--conversation", help="continue this conversation (follow-up)")
    a.add_argument("--llm", choices=["none", "openai", "local"], help="override CURBSIDE_LLM__BACKEND")
    a.add_argument("--json", action="store_true")

    g = sub.add_parser("ingest", help="normalise sources into the corpus schema")
    g.add_argument("paths", nargs="+")
    g.add_argument("--type", required=True, choices=["jsonl", "openfda", "spl", "pubmed", "pmc", "markdown"])
    g.add_argument(
        "--sections",
        default="abstract",
        choices=["abstract", "results", "all"],
        help="pmc: the abstract only (default), plus the results sections, or plus every body section",
    )
    g.add_argument(
        "--source-type", choices=["guideline", "fda_label", "research"], help="override (markdown)"
    )
    g.add_argument("--out", help="output .jsonl.gz (default: corpus/ingested/<name>.jsonl.gz)")
    g.add_argument("--skip-bad", action="store_true", help="ingest the good records, report the bad ones")

    for name in sorted(plugin_commands()):
        plug = sub.add_parser(name, help=PLUGIN_HELP.get(name, f"see `curbside {name} --help`"))
        plug.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # A plugged-in command (`eval`, `bench`, `soak`) hands everything after it to its own parser.
    plugins = plugin_commands()
    if argv and argv[0] in plugins:
        return _run_plugin(plugins[argv[0]], argv[1:])
    args = build_parser().parse_args(argv)
    settings = Settings()
    handlers = {
        "config": cmd_config,
        "index": cmd_index,
        "search": cmd_search,
        "ingest": cmd_ingest,
        "ask": cmd_ask,
        "serve": cmd_serve,
    }
    return handlers[args.command](args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
