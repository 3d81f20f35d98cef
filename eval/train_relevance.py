"""Train the evidence-relevance model (app/answer/relevance.py) on human-chosen evidence.

    curbside train relevance            # = python -m eval.train_relevance

Data: the retrieval sets' questions (MedicationQA → the FDA-label section, BioASQ / PubMedQA / Evidence
Inference → the research section), each asked of the shipped index exactly as the engine asks it; every hit
in the section's top 10 is a row, labelled 1 when its record is one of the question's gold records. The
unanswerable questions of eval/data/abstention.jsonl add rows labelled 0 in every section. Train and
validation are split by question (``eval.datasets.split_of_question``); the model is fitted on train only
(regularisation chosen by 5-fold cross-validation grouped by question), every figure printed is on
validation, beside the trivial rankers (today's fused order; cosine order) and the base rate.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.answer.focus import find_focus
from app.answer.question import analyse_question
from app.answer.relevance import FEATURES, MODEL_DIR, SectionContext, features, focus_idf
from app.retrieval import Filters, Retriever
from app.schema import SECTION_KEYS, SECTION_SOURCE, SectionKey
from app.settings import Settings
from eval.datasets import DATA, read_jsonl, split_of_question

SETS: dict[str, tuple[str, SectionKey]] = {
    "medicationqa": ("retrieval/medicationqa.jsonl", "fda_label"),
    "bioasq": ("retrieval/bioasq.jsonl", "research"),
    "pubmedqa": ("retrieval/pubmedqa.jsonl", "research"),
    "evidence_inference": ("retrieval/evidence_inference.jsonl", "research"),
}
TOP_K = 10


@dataclass
class Group:
    """One (question, section): its hits' feature rows and labels."""

    qid: str
    dataset: str
    key: SectionKey
    split: str
    rows: list[list[float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    answerable: bool = True


def collect(retriever: Retriever, limit: int | None, log: Any = print) -> list[Group]:
    groups: list[Group] = []
    for name, (rel, key) in SETS.items():
        path = DATA / rel
        if not path.exists():
            continue
        records = read_jsonl(path)
        if limit:
            records = records[:limit]
        t = time.perf_counter()
        for r in records:
            groups.append(_group(retriever, r["qid"], name, key, r["question"], set(r["gold_ids"]), r))
        log(f"{name}: {len(records)} questions in {time.perf_counter() - t:.0f}s")
    for r in read_jsonl(DATA / "abstention.jsonl"):
        for key in SECTION_KEYS:
            g = _group(retriever, r["qid"], "abstention", key, r["question"], set(), r)
            g.answerable = False
            groups.append(g)
    return groups


def _group(  # noqa: PLR0917
    retriever: Retriever, qid: str, dataset: str, key: SectionKey, question: str, gold: set[str], r: Any
) -> Group:
    retrieval = retriever.retrieve(question, k=TOP_K, filters=Filters(source_types=(SECTION_SOURCE[key],)))
    hits = retrieval.sections.get(SECTION_SOURCE[key], [])
    index = retriever.index
    focus = find_focus(question, index.lexicon, index.lexical.doc_freq)
    q = analyse_question(focus.read_as(question), drugs=retrieval.drugs)
    lexical = retriever.index.lexical
    ctx = SectionContext.of(hits, focus_idf(q.focus, lexical.doc_freq, len(lexical)))
    g = Group(qid, dataset, key, split_of_question(qid, r))
    for i, h in enumerate(hits):
        g.rows.append(features(key, q, h, i, ctx))
        g.labels.append(int(h.passage.record_id in gold))
    return g


def _matrix(groups: Sequence[Group]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """X, y, sample weights (each dataset weighs the same in all), group index per row."""
    per_set: dict[str, int] = defaultdict(int)
    for g in groups:
        per_set[g.dataset] += len(g.rows)
    xs, ys, ws, gs = [], [], [], []
    for gi, g in enumerate(groups):
        w = 1.0 / per_set[g.dataset] if per_set[g.dataset] else 0.0
        for row, label in zip(g.rows, g.labels, strict=True):
            xs.append(row)
            ys.append(label)
            ws.append(w)
            gs.append(gi)
    x = np.asarray(xs, dtype=np.float64)
    w_arr = np.asarray(ws)
    return x, np.asarray(ys), w_arr * len(w_arr) / w_arr.sum(), np.asarray(gs)


def fit(groups: Sequence[Group], seed: int = 13) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    x, y, w, g = _matrix(groups)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    mean[0], scale[0] = 0.0, 1.0
    scale[scale == 0] = 1.0
    xs = (x - mean) / scale
    best_c, best_ll = 1.0, float("inf")
    for c in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0):
        losses = []
        for tr, te in GroupKFold(n_splits=5).split(xs, y, g):
            m = LogisticRegression(C=c, fit_intercept=False, max_iter=2000)
            m.fit(xs[tr], y[tr], sample_weight=w[tr])
            p = np.clip(m.predict_proba(xs[te])[:, 1], 1e-6, 1 - 1e-6)
            losses.append(-np.average(y[te] * np.log(p) + (1 - y[te]) * np.log(1 - p), weights=w[te]))
        ll = float(np.mean(losses))
        if ll < best_ll:
            best_c, best_ll = c, ll
    m = LogisticRegression(C=best_c, fit_intercept=False, max_iter=4000)
    m.fit(xs, y, sample_weight=w)
    return {
        "features": list(FEATURES),
        "weights": [round(float(v), 6) for v in m.coef_[0]],
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "C": best_c,
        "cv_log_loss": round(best_ll, 4),
        "seed": seed,
    }


def _probs(model: dict[str, Any], rows: list[list[float]]) -> np.ndarray:
    if not rows:
        return np.zeros(0)
    x = (np.asarray(rows) - np.asarray(model["mean"])) / np.asarray(model["scale"])
    x[:, 0] = 1.0
    return np.asarray(1.0 / (1.0 + np.exp(-(x @ np.asarray(model["weights"])))))


def evaluate(model: dict[str, Any], groups: Sequence[Group]) -> dict[str, Any]:
    """Per dataset (validation): top-1 is gold, for the model and the trivial orders; gold in the top 10."""
    out: dict[str, Any] = {}
    by_set: dict[str, list[Group]] = defaultdict(list)
    for g in groups:
        by_set[g.dataset].append(g)
    cos_i = FEATURES.index("cosine")
    for name, gs in sorted(by_set.items()):
        if name == "abstention":
            continue
        n = len(gs)
        ceiling = sum(1 for g in gs if any(g.labels)) / n
        fused = sum(1 for g in gs if g.labels and g.labels[0]) / n
        cosine = sum(1 for g in gs if g.labels and g.labels[int(np.argmax([r[cos_i] for r in g.rows]))]) / n
        learned = sum(1 for g in gs if g.labels and g.labels[int(np.argmax(_probs(model, g.rows)))]) / n
        out[name] = {
            "questions": n,
            "gold_in_top10": round(ceiling, 3),
            "top1_gold_fused_order": round(fused, 3),
            "top1_gold_cosine_order": round(cosine, 3),
            "top1_gold_learned": round(learned, 3),
        }
    return out


def save(model: dict[str, Any], metrics: dict[str, Any], directory: Path = MODEL_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body = {**model, "version": "", "validation": metrics}
    raw = json.dumps(body, indent=1, sort_keys=True).encode()
    body["version"] = hashlib.sha256(raw).hexdigest()[:12]
    raw = json.dumps(body, indent=1, sort_keys=True).encode()
    (directory / "model.json").write_bytes(raw)
    manifest = {"file": "model.json", "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return directory / "model.json"


CARD = """# Model card — evidence relevance (app/models/relevance)

**What it does.** For one answer section, gives each retrieved passage P(it answers the question). The
select stage (app/answer/select.py) answers a section only when its best passage reaches the section's
threshold (`answer.answer_threshold_<section>`), keeps the passages near the best, and hands them to
both composers. Features: app/answer/relevance.py `FEATURES` ({n_features}): retrieval scores relative
to the section's best (cosine, BM25, fused, rank), focus-term / idf-weighted / drug coverage of the
passage and its best sentence, intent matched by the passage's label section or cue words, qualifier,
passage length and shape (fragment, upper-case share, questions), and how much of the question's wording
the passage repeats as phrases (adjacent term pairs). Nothing keys on a passage's source, file or id.

**Model.** Logistic regression (scikit-learn, L2, C={C} chosen by grouped 5-fold CV log-loss
{cv_log_loss}), features standardised; weights in model.json ({bytes} bytes, sha256 in manifest.json,
checked on load). Inference is a dot product per hit (numpy), no extra dependency at run time.

**Data.** Questions of eval/data/retrieval (MedicationQA → FDA-label section; BioASQ, PubMedQA, Evidence
Inference → research section) asked of the shipped index as the engine asks them; every hit of the
section's top {top_k} is a row, labelled 1 when its record is a gold record of the question. The
unanswerable questions of eval/data/abstention.jsonl add rows labelled 0 in all three sections. A set
most of whose gold records are not in the index is left out ({left_out}). Each set weighs the same.
**Split** by question: `eval.datasets.split_of_question` (sha256 of the question id, 30% validation;
Evidence Inference keeps its article split). Train rows: {train_rows}; validation rows: {valid_rows}.
Nothing is tuned on validation.

**Validation** (top-1 passage is a human-chosen one; ceiling = a gold passage among the top {top_k}; the
trivial rankers are today's fused order and cosine order):

| set | questions | ceiling | fused order | cosine order | learned |
|---|---:|---:|---:|---:|---:|
{rows}

End-to-end figures (cites-gold rate, statement precision, answer and abstention rates with the
always-abstain and top-1-first-sentence baselines, the abstention precision–recall curve of this score)
are in `curbside eval relevance` (eval/relevance.py) and the README's relevance table.

**Recipe.** `curbside train relevance` (= `python -m eval.train_relevance`): features {t_features}s, fit
{t_fit}s on 2 shared CPU cores. Seed {seed}. Limits: the gold of MedicationQA is one DailyMed excerpt
per question while near-duplicate excerpts of other products exist (the "wrong" top-1 is often a copy of
the gold text); the guideline section has no human-chosen evidence and uses the same model with the
research/label indicators off."""


def write_card(model: dict[str, Any], metrics: dict[str, Any], info: dict[str, Any], directory: Path) -> None:
    rows = "\n".join(
        f"| {name} | {m['questions']} | {m['gold_in_top10']} | {m['top1_gold_fused_order']} | "
        f"{m['top1_gold_cosine_order']} | {m['top1_gold_learned']} |"
        for name, m in metrics.items()
    )
    text = CARD.format(
        n_features=len(FEATURES),
        C=model["C"],
        cv_log_loss=model["cv_log_loss"],
        bytes=(directory / "model.json").stat().st_size,
        top_k=TOP_K,
        rows=rows,
        seed=model["seed"],
        **info,
    )
    (directory / "MODEL_CARD.md").write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="curbside train relevance", description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="questions per set (for a quick run)")
    ap.add_argument("--cache", type=Path, default=None, help="feature rows cache (json) to reuse or write")
    ap.add_argument("--out", type=Path, default=MODEL_DIR, help="where model.json and manifest.json go")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.cache is not None and args.cache.exists():
        groups = [Group(**g) for g in json.loads(args.cache.read_text())]
    else:
        from app.index.search_index import SearchIndex

        settings = Settings()
        retriever = Retriever(SearchIndex.load(settings), settings.retrieval)
        groups = collect(retriever, args.limit)
        if args.cache is not None:
            args.cache.write_text(json.dumps([g.__dict__ for g in groups]))
    t_data = time.perf_counter() - t0
    # A set most of whose gold records are not in this index (Evidence Inference before its trials are
    # added) teaches nothing but "never": leave it out.
    answered: dict[str, list[bool]] = defaultdict(list)
    for g in groups:
        answered[g.dataset].append(any(g.labels))
    has_gold = {d for d, flags in answered.items() if sum(flags) >= 0.5 * len(flags)} | {"abstention"}
    left_out = sorted({g.dataset for g in groups} - has_gold)
    if left_out:
        print(f"left out (most gold records not in the index): {', '.join(left_out)}")
    groups = [g for g in groups if g.dataset in has_gold]
    train = [g for g in groups if g.split == "train"]
    valid = [g for g in groups if g.split == "validation"]
    t1 = time.perf_counter()
    model = fit(train)
    t_fit = time.perf_counter() - t1
    metrics = evaluate(model, valid)
    print(f"rows: train {sum(len(g.rows) for g in train)}, validation {sum(len(g.rows) for g in valid)}")
    print(f"regularisation C={model['C']} (grouped 5-fold CV log-loss {model['cv_log_loss']})")
    print("validation (top-1 passage is a human-chosen one; ceiling = a gold passage in the top 10):")
    print("| set | questions | ceiling | fused order | cosine order | learned |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, m in metrics.items():
        print(
            f"| {name} | {m['questions']} | {m['gold_in_top10']} | {m['top1_gold_fused_order']} | "
            f"{m['top1_gold_cosine_order']} | {m['top1_gold_learned']} |"
        )
    model["training_seconds"] = {"features": round(t_data, 1), "fit": round(t_fit, 1)}
    path = save(model, metrics, args.out)
    info = {
        "left_out": ", ".join(left_out) or "none",
        "train_rows": sum(len(g.rows) for g in train),
        "valid_rows": sum(len(g.rows) for g in valid),
        "t_features": round(t_data),
        "t_fit": round(t_fit),
    }
    write_card(model, metrics, info, args.out)
    print(f"features {t_data:.0f}s, fit {t_fit:.0f}s; written {path} and MODEL_CARD.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
