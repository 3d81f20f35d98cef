"""Reports of a run: ``report.json`` (every number, the configuration, dataset hashes, the judge and its
calibration, versions, prompt versions), ``report.md`` (tables), ``chart.png`` (per-metric bars for the
three systems) and ``failures.md`` / ``failures.json`` (each failed statement with its citations, the cited
passages and the judge's reason)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.index.search_index import SearchIndex
from app.settings import ROOT, Settings
from eval.judges.base import Judge
from eval.judges.lexical import best_match
from eval.results import SYSTEM_TITLES, Asked, RunResult, SystemResult
from eval.settings import EvalSettings
from eval.suites import Question, Suite

PACKAGES = (
    "curbside",
    "torch",
    "transformers",
    "sentence-transformers",
    "numpy",
    "faiss-cpu",
    "tantivy",
    "pydantic",
    "xllamacpp",
    "matplotlib",
)

# (metric key, row title, format): the main table, in order.
ROWS: tuple[tuple[str, str, str], ...] = (
    ("statements", "statements scored", "int"),
    ("citation_recall", "citation recall (ALCE)", "rate"),
    ("citation_precision", "citation precision (ALCE, supported statements)", "rate"),
    ("citation_precision_alce", "citation precision, strict (all citations)", "rate"),
    ("dangling_citations", "dangling citations", "int"),
    ("uncited_statements", "uncited statements", "int"),
    ("contradicted_statements", "statements the cited passages contradict", "int"),
    ("numeric_fidelity", "numeric fidelity", "rate"),
    ("section_correctness", "section correctness", "rate"),
    ("abstention_rate", "abstention, unanswerable (share of sections)", "rate"),
    ("full_abstention_rate", "abstention, unanswerable (every section)", "rate"),
    ("other_drug_sections", "sections answering an unknown/asked drug with another drug's text", "rate"),
    ("naming_sections", "sections of unknown-drug questions naming the missing term", "rate"),
    ("answer_rate", "answering, answerable (expected section)", "rate"),
    ("any_section_answer_rate", "answering, answerable (any section)", "rate"),
    ("kqa_comprehensiveness", "K-QA comprehensiveness", "rate"),
    ("kqa_hallucination", "K-QA hallucination (contradicted gold / question)", "float"),
    ("latency_p50_ms", "latency p50 (ms)", "ms"),
    ("latency_p95_ms", "latency p95 (ms)", "ms"),
    ("fallback_sections", "sections shown extractively after the LLM's failed the guard", "int"),
)
CHART_METRICS = (
    ("citation_recall", "citation\nrecall"),
    ("citation_precision", "citation\nprecision"),
    ("numeric_fidelity", "numeric\nfidelity"),
    ("section_correctness", "section\ncorrectness"),
    ("abstention_rate", "abstention\n(unanswerable)"),
    ("answer_rate", "answering\n(answerable)"),
    ("kqa_comprehensiveness", "K-QA\ncomprehensiveness"),
)


def versions() -> dict[str, Any]:
    out: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    try:
        out["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        out["git_dirty"] = bool(dirty.strip())
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


def _sha(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None and path.exists() else None


def _prompt_versions(asked: Mapping[str, Sequence[Asked]], judge: Judge) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for system, items in asked.items():
        merged: dict[str, int] = {}
        for a in items:
            merged.update(a.answer.prompt_versions)
        out[system] = dict(sorted(merged.items()))
    desc = judge.describe()
    if "prompt" in desc:
        name, _, v = str(desc["prompt"]).partition(" v")
        out["judge"] = {name: int(v)} if v.isdigit() else {}
    return out


def guard_value(systems: Mapping[str, SystemResult]) -> dict[str, Any] | None:
    """Before (raw draft) → after (guarded) for the generative composer."""
    if "generative_guarded" not in systems or "generative_unguarded" not in systems:
        return None
    before = systems["generative_unguarded"].metrics
    after = systems["generative_guarded"].metrics
    keys = (
        "statements",
        "citation_recall",
        "citation_precision",
        "dangling_citations",
        "uncited_statements",
        "contradicted_statements",
        "numeric_fidelity",
        "section_correctness",
        "abstention_rate",
        "answer_rate",
        "kqa_comprehensiveness",
        "kqa_hallucination",
    )
    return {k: {"before": before.get(k), "after": after.get(k)} for k in keys}


def question_rows(systems: Mapping[str, SystemResult], questions: Sequence[Question]) -> list[dict[str, Any]]:
    """Per question and system: which sections answered, statements, recall, failures."""
    out = []
    for q in questions:
        row: dict[str, Any] = {
            "qid": q.qid,
            "set": q.set,
            "kind": q.kind,
            "question": q.question,
            "systems": {},
        }
        for name, res in systems.items():
            if name == "extractive_paired":
                continue
            view = next((v for v in res.views if v.qid == q.qid), None)
            if view is None:
                continue
            mine = [s for s in res.scores if s.qid == q.qid]
            cov = next((c for c in res.coverage if c.qid == q.qid), None)
            row["systems"][name] = {
                "answered": [s.key for s in view.sections if not s.abstained],
                "statements": len(mine),
                "supported": sum(s.recall for s in mine),
                "failed": sum(1 for s in mine if s.failed),
                "latency_ms": view.latency_ms,
                **(
                    {
                        "kqa_comprehensiveness": round(cov.comprehensiveness, 4),
                        "kqa_contradicted": len(cov.contradicted),
                    }
                    if cov
                    else {}
                ),
            }
        out.append(row)
    return out


def failures(systems: Mapping[str, SystemResult], questions: Mapping[str, Question]) -> list[dict[str, Any]]:
    """Every failed statement (and every gold statement an answer contradicts), with what a person needs."""
    out: list[dict[str, Any]] = []
    for name, res in systems.items():
        if name == "extractive_paired":
            continue  # the same answers as "extractive"
        views = {v.qid: v for v in res.views}
        for s in res.scores:
            if not s.failed:
                continue
            view = views[s.qid]
            cites = []
            for c in s.citations:
                p = view.retrieved.get(c.key)
                cites.append(
                    {
                        "key": c.key,
                        "dangling": c.dangling,
                        "label": p.citation_label() if p else None,
                        "source_type": p.source_type if p else None,
                        "drug": p.drug if p else None,
                        "irrelevant": c.irrelevant,
                        "section_ok": c.section_ok,
                        "alone": {"label": c.alone.label, "reason": c.alone.reason} if c.alone else None,
                        "text": p.text if p else None,
                    }
                )
            out.append(
                {
                    "system": name,
                    "qid": s.qid,
                    "question": questions[s.qid].question,
                    "section": s.section,
                    "statement": s.text,
                    "context": s.context,
                    "problems": s.problems,
                    "judge": {"label": s.joint.label, "score": s.joint.score, "reason": s.joint.reason}
                    if s.joint
                    else None,
                    "numbers_missing": s.numbers_missing,
                    "citations": cites,
                }
            )
        for cov in res.coverage:
            if cov.contradicted:
                out.append(
                    {
                        "system": name,
                        "qid": cov.qid,
                        "question": questions[cov.qid].question,
                        "section": None,
                        "statement": None,
                        "problems": [f"answer contradicts {len(cov.contradicted)} K-QA gold statement(s)"],
                        "contradicted_gold": cov.contradicted,
                        "citations": [],
                    }
                )
    return out


def build_report(
    *,
    suite: Suite,
    settings: Settings,
    cfg: EvalSettings,
    judge: Judge,
    systems: Mapping[str, SystemResult],
    calibration: dict[str, Any] | None,
    retrieval: dict[str, Any] | None,
    relevance: dict[str, Any] | None = None,
    question_info: dict[str, dict[str, Any]],
    questions: Sequence[Question],
    asked: Mapping[str, Sequence[Asked]],
    extra: dict[str, Any],
    index: SearchIndex,
    timings: dict[str, float],
) -> dict[str, Any]:

    m = index.manifest
    by_qid = {q.qid: q for q in questions}
    return {
        "suite": {
            **suite.model_dump(mode="json"),
            "file": str(suite.file) if suite.file else None,
            "sha256": _sha(suite.file),
        },
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        "index": {
            "directory": str(index.directory),
            "profile": m.profile,
            "passages": m.passages,
            "model": m.model,
            "corpus_sha256": m.corpus_sha256,
        },
        "settings": settings.model_dump(mode="json", exclude={"llm": {"api_key"}}),
        "eval_settings": cfg.model_dump(mode="json"),
        "datasets": {
            "questions": question_info,
            "calibration": {
                k: {"file": v["file"], "sha256": v["sha256"]}
                for k, v in (calibration or {}).get("sets", {}).items()
            },
            "retrieval": (retrieval or {}).get("datasets", {}),
            "relevance": (relevance or {}).get("datasets", {}),
            "thresholds_sha256": _sha(suite.thresholds_path),
            "cassette_sha256": _sha(suite.cassette_path),
        },
        "prompt_versions": _prompt_versions(asked, judge),
        "judge": {**judge.describe(), "calls": getattr(judge, "calls", None)},
        "calibration": calibration,
        "extractive_calibration": extra.get("extractive_calibration"),
        "systems": {
            name: {"title": SYSTEM_TITLES[name], "metrics": res.metrics} for name, res in systems.items()
        },
        "guard_value": guard_value(systems),
        "generative": extra.get("generative"),
        "retrieval": retrieval,
        "relevance": relevance,
        "timings": timings,
        "questions": question_rows(systems, questions),
        "failures": failures(systems, by_qid),
    }


# -- writing ----------------------------------------------------------------------------------------------


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "rate":
        return f"{value:.3f}"
    if kind == "float":
        return f"{value:.2f}"
    if kind == "ms":
        return f"{value:.0f}"
    return str(value)


def _counts(metrics: dict[str, Any], key: str) -> str:
    c = metrics.get("counts", {}).get(key)
    if not isinstance(c, dict) or "den" not in c:
        return ""
    num = c["num"]
    num_s = f"{num:.1f}" if isinstance(num, float) and not num.is_integer() else str(int(num))
    return f" ({num_s}/{c['den']})"


def calibration_line(calibration: dict[str, Any] | None) -> str:
    if not calibration:
        return "judge not calibrated in this run"
    bits = []
    for name, h in calibration["headline"].items():
        title = calibration["sets"][name]["title"]
        if h["balanced_accuracy"] is None:
            bits.append(f"{title}: no pairs")
            continue
        bits.append(
            f"{title}: bal. acc. {h['balanced_accuracy']:.2f} (constant judge "
            f"{h.get('majority_balanced_accuracy') or 0:.2f}), κ {h['kappa']:.2f}, support recall "
            f"{h.get('support_recall') or 0:.2f} (n={h['n']})"
        )
    return "judge calibration (held-out split) — " + "; ".join(bits)


def markdown(report: dict[str, Any]) -> str:
    from eval.judges.calibration import markdown as calibration_md
    from eval.retrieval import markdown_table

    systems = report["systems"]
    names = list(systems)
    s = report["suite"]
    lines = [
        f"# Evaluation report — suite `{s['name']}`",
        "",
        f"{s.get('description', '')}".strip(),
        "",
        f"- created {report['created_at']}; commit {report['versions'].get('git_commit') or '?'}"
        + (" (uncommitted changes)" if report["versions"].get("git_dirty") else ""),
        f"- index: {report['index']['passages']} passages, profile {report['index']['profile']}, "
        f"corpus sha256 {report['index']['corpus_sha256'][:12]}…",
        f"- judge: `{report['judge']['name']}` — {calibration_line(report.get('calibration'))}",
    ]
    if report.get("extractive_calibration"):
        lines.append(
            f"- extractive answers' judge: `{report['suite'].get('extractive_judge')}` — "
            + calibration_line(report["extractive_calibration"])
        )
    if report.get("generative"):
        g = report["generative"]
        lines.append(
            f"- generative: LLM `{g['llm']}` ({g.get('model') or '?'}), mode {g['llm_mode']}, "
            f"{g['llm_calls']} calls"
            + (f", cassette sha256 {str(g['cassette_sha256'])[:12]}…" if g.get("cassette_sha256") else "")
        )
    lines += [f"- prompt versions: {json.dumps(report['prompt_versions'])}", ""]
    lines += [
        "## Answers",
        "",
        "| metric | " + " | ".join(systems[n]["title"] for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for key, title, kind in ROWS:
        cells = [
            _fmt(systems[n]["metrics"].get(key), kind) + _counts(systems[n]["metrics"], key) for n in names
        ]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Faithfulness scores are the judge's (`{report['judge']['name']}`): "
        "read them with its calibration below.",
    ]
    if report["judge"]["name"] == "lexical":
        lines.append(
            "The lexical judge shares the guard's grounding check, so guarded answers pass it almost by "
            "construction; it measures lexical grounding (numbers, negations, drug names, wording), "
            "not entailment."
        )
    guard_rows = [
        (n, systems[n]["metrics"].get("guard")) for n in names if systems[n]["metrics"].get("guard")
    ]
    if guard_rows:
        keys = list(guard_rows[0][1])
        lines += [
            "",
            "## The guard",
            "",
            "Removal counts, summed over the questions:",
            "",
            "| system | " + " | ".join(k.replace("_", " ") for k in keys) + " |",
            "|---|" + "---:|" * len(keys),
        ]
        for n, g in guard_rows:
            lines.append(f"| {systems[n]['title']} | " + " | ".join(str(g[k]) for k in keys) + " |")
    if report.get("guard_value"):
        lines += [
            "",
            "Generative composer before → after the guard:",
            "",
            "| metric | no guard | with guard |",
            "|---|---:|---:|",
        ]
        for k, v in report["guard_value"].items():
            lines.append(
                f"| {k.replace('_', ' ')} | {_fmt(v['before'], 'float')} | {_fmt(v['after'], 'float')} |"
            )
    if report.get("calibration"):
        lines += ["", "## Judge calibration against human labels", "", calibration_md(report["calibration"])]
    if report.get("extractive_calibration"):
        lines += [
            "",
            "## Calibration of the extractive answers' judge against human labels",
            "",
            calibration_md(report["extractive_calibration"]),
        ]
    if report.get("retrieval"):
        lines += ["", "## Retrieval", "", markdown_table(report["retrieval"])]
    if report.get("relevance"):
        from eval.relevance import markdown_table as relevance_table

        lines += [
            "",
            "## Relevance against human-chosen evidence (extractive answers; `relevance.png`)",
            "",
            relevance_table(report["relevance"]),
        ]
    th = report.get("thresholds") or {}
    if th.get("checks"):
        lines += [
            "",
            f"## Thresholds ({'passed' if th['passed'] else 'FAILED'})",
            "",
            "| scope | metric | needs | value | result |",
            "|---|---|---|---:|---|",
        ]
        for c in th["checks"]:
            need = ("≥ " if c["op"] == "min" else "≤ ") + str(c["threshold"])
            state = "skipped" if c["skipped"] else ("ok" if c["ok"] else "**FAILED**")
            lines.append(f"| {c['scope']} | {c['metric']} | {need} | {c['value']} | {state} |")
    lines += [
        "",
        "## Time",
        "",
        ", ".join(f"{k} {v}" for k, v in report["timings"].items()),
        "",
        "Failed statements, with their passages and the judge's reasons: "
        f"`failures.md` ({len(report['failures'])}).",
        "Chart: `chart.png`.",
    ]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def failures_markdown(report: dict[str, Any], limit_chars: int = 700) -> str:

    lines = [
        f"# Failed statements — suite `{report['suite']['name']}`",
        "",
        f"Judge `{report['judge']['name']}`. Each entry: the statement, why it failed, the judge's reason, "
        "and every passage it cites.",
        "",
    ]
    if not report["failures"]:
        lines.append("None.")
    by_q: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in report["failures"]:
        by_q.setdefault((f["qid"], f["question"]), []).append(f)
    for (qid, question), items in by_q.items():
        lines += [f"## {qid}: {question}", ""]
        for f in items:
            title = SYSTEM_TITLES.get(f["system"], f["system"])
            if f.get("statement") is None:
                lines.append(f"- **{title}** — " + "; ".join(f["problems"]))
                for g in f.get("contradicted_gold", []):
                    lines.append(f"  - contradicted: “{g}”")
                lines.append("")
                continue
            ctx = " (context)" if f.get("context") else ""
            lines.append(f"### {title} · {f['section']}{ctx}")
            lines.append("")
            lines.append(f"> {f['statement']}")
            lines.append("")
            lines.append("- problems: " + "; ".join(f["problems"]))
            if f.get("judge"):
                lines.append(f"- judge: **{f['judge']['label']}** — {f['judge']['reason']}")
            for c in f["citations"]:
                if c["dangling"]:
                    lines.append(f"- cites `{c['key']}`: **dangling** (not retrieved for this question)")
                    continue
                flags = []
                if c.get("irrelevant"):
                    flags.append("irrelevant")
                if c.get("section_ok") is False:
                    flags.append("wrong section")
                if c.get("alone"):
                    flags.append(f"alone: {c['alone']['label']}")
                lines.append(
                    f"- cites `{c['key']}` — {c['label']}" + (f" [{', '.join(flags)}]" if flags else "")
                )
                text = " ".join((c.get("text") or "").split())
                closest, cov = best_match(f["statement"], [text])
                if closest:
                    lines.append(f"  - closest sentence ({cov:.0%} of the statement's words): “{closest}”")
                lines.append(f"  > {text[:limit_chars]}{'…' if len(text) > limit_chars else ''}")
            lines.append("")
    return "\n".join(lines) + "\n"


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = report["systems"]
    # Side by side on the same questions: the paired extractive answers when the generative composer
    # answered only some of them.
    names = [n for n in systems if not (n == "extractive" and "extractive_paired" in systems)]
    colors = {"extractive": "#4C72B0", "extractive_paired": "#4C72B0", "generative_guarded": "#55A868",
              "generative_unguarded": "#C44E52"}  # fmt: skip
    fig, ax = plt.subplots(figsize=(11, 4.8), dpi=110)
    width = 0.8 / max(1, len(names))
    xs = range(len(CHART_METRICS))
    for i, n in enumerate(names):
        vals = [systems[n]["metrics"].get(k) for k, _ in CHART_METRICS]
        pos = [x + (i - (len(names) - 1) / 2) * width for x in xs]
        bars = ax.bar(
            pos,
            [v if v is not None else 0 for v in vals],
            width,
            label=systems[n]["title"],
            color=colors.get(n),
        )
        counts = systems[n]["metrics"].get("counts", {})
        for b, v, (key, _) in zip(bars, vals, CHART_METRICS, strict=True):
            den = counts.get(key, {}).get("den") if isinstance(counts.get(key), dict) else None
            ax.text(
                b.get_x() + b.get_width() / 2,
                b.get_height() + 0.01,
                ("–" if v is None else f"{v:.2f}") + (f"\nn={den}" if den is not None else ""),
                ha="center",
                va="bottom",
                fontsize=6,
            )
    ax.set_xticks(list(xs), [t for _, t in CHART_METRICS], fontsize=8)
    ax.set_ylim(0, 1.18)
    ax.set_ylabel("share")
    ax.set_title(f"suite {report['suite']['name']} — judge {report['judge']['name']}", fontsize=10)
    ax.legend(fontsize=8, loc="upper right", ncol=len(names))
    fig.text(0.01, 0.01, calibration_line(report.get("calibration")), fontsize=6.5, ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path)
    plt.close(fig)


def write_reports(result: RunResult, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = result.report
    slim = {k: v for k, v in report.items() if k != "failures"}
    slim["failures"] = {"count": len(report["failures"]), "file": "failures.json"}
    (out_dir / "report.json").write_text(
        json.dumps(slim, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out_dir / "report.md").write_text(markdown(report), encoding="utf-8")
    (out_dir / "failures.md").write_text(failures_markdown(report), encoding="utf-8")
    (out_dir / "failures.json").write_text(
        json.dumps(report["failures"], indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    chart(report, out_dir / "chart.png")
    if report.get("relevance"):
        from eval.relevance import curve_of, plot_curve

        got = curve_of(report["relevance"])
        if got:
            plot_curve(*got, out_dir / "relevance.png", "section abstention by retrieval confidence")
