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
from app.answer.relevance import FEATURES, MODEL_DIR, RelevanceModel, SectionContext, features, focus_idf
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
    q = analyse_question(focus.read_as(question), index.lexicon, drugs=retrieval.drugs)
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


# Gradient-boosted trees tried beside the logistic model (learning rate, leaves, least rows per leaf, rounds).
TREE_GRID = ((0.1, 15, 100, 150), (0.05, 15, 50, 300), (0.05, 31, 100, 300))
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def _log_loss(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.average(y * np.log(p) + (1 - y) * np.log(1 - p), weights=w))


def fit(groups: Sequence[Group], seed: int = 13, kind: str = "logistic") -> dict[str, Any]:
    """A logistic regression (L2, C from ``C_GRID``) and gradient-boosted trees (``TREE_GRID``), each with
    its 5-fold cross-validated log-loss (folds grouped by question); ``kind`` says which is refitted on all of
    ``groups`` and shipped ("auto": the lower log-loss)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    x, y, w, g = _matrix(groups)
    folds = list(GroupKFold(n_splits=5).split(x, y, g))
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    mean[0], scale[0] = 0.0, 1.0
    scale[scale == 0] = 1.0
    xs = (x - mean) / scale

    def cv(make: Any, data: np.ndarray) -> float:
        return float(
            np.mean(
                [
                    _log_loss(
                        make().fit(data[tr], y[tr], sample_weight=w[tr]).predict_proba(data[te])[:, 1],
                        y[te],
                        w[te],
                    )
                    for tr, te in folds
                ]
            )
        )

    def logistic(c: float, iters: int = 2000) -> Any:
        return LogisticRegression(C=c, fit_intercept=False, max_iter=iters)

    def boosted(cfg: tuple[float, int, int, int]) -> Any:
        rate, leaves, least, rounds = cfg
        return HistGradientBoostingClassifier(
            learning_rate=rate,
            max_leaf_nodes=leaves,
            min_samples_leaf=least,
            max_iter=rounds,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=seed,
        )

    c_loss = {c: cv(lambda c=c: logistic(c), xs) for c in C_GRID}
    best_c = min(c_loss, key=lambda c: c_loss[c])
    tree_loss = {cfg: cv(lambda cfg=cfg: boosted(cfg), x) for cfg in TREE_GRID}
    best_cfg = min(tree_loss, key=lambda cfg: tree_loss[cfg])
    lm = logistic(best_c, 4000).fit(xs, y, sample_weight=w)
    model: dict[str, Any] = {
        "features": list(FEATURES),
        "weights": [round(float(v), 6) for v in lm.coef_[0]],
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "C": best_c,
        "cv_log_loss": round(c_loss[best_c], 4),
        "candidates": {
            "logistic": {"C": best_c, "cv_log_loss": round(c_loss[best_c], 4)},
            "trees": {"config": list(best_cfg), "cv_log_loss": round(tree_loss[best_cfg], 4)},
        },
        "kind": "logistic",
        "seed": seed,
    }
    if kind == "trees" or (kind == "auto" and tree_loss[best_cfg] < c_loss[best_c]):
        tm = boosted(best_cfg).fit(x, y, sample_weight=w)
        model.update(export_trees(tm))
        model["kind"] = "trees"
        model["cv_log_loss"] = round(tree_loss[best_cfg], 4)
    return model


def export_trees(m: Any) -> dict[str, Any]:
    """A fitted scikit-learn HistGradientBoostingClassifier (binary) as plain arrays for
    ``app.answer.relevance.Trees`` (no pickle; the run time needs numpy only)."""
    trees = []
    depth = 0
    for (predictor,) in m._predictors:  # one tree per round for a binary task
        nodes = predictor.nodes
        trees.append(
            {
                "feature": [int(v) for v in nodes["feature_idx"]],
                "threshold": [float(v) for v in nodes["num_threshold"]],
                "left": [int(v) for v in nodes["left"]],
                "right": [int(v) for v in nodes["right"]],
                "value": [round(float(v), 8) for v in nodes["value"]],
                "leaf": [bool(v) for v in nodes["is_leaf"]],
            }
        )
        depth = max(depth, int(nodes["depth"].max()))
    return {"trees": trees, "baseline": float(np.ravel(m._baseline_prediction)[0]), "depth": depth}


def evaluate(model: dict[str, Any], groups: Sequence[Group]) -> dict[str, Any]:
    """Per dataset (validation): top-1 is gold, for the model and the trivial orders; gold in the top 10."""
    out: dict[str, Any] = {}
    by_set: dict[str, list[Group]] = defaultdict(list)
    for g in groups:
        by_set[g.dataset].append(g)
    cos_i = FEATURES.index("cosine")
    scorer = RelevanceModel.of(model)  # built once: the trees' node arrays are padded on construction
    for name, gs in sorted(by_set.items()):
        if name == "abstention":
            continue
        n = len(gs)
        ceiling = sum(1 for g in gs if any(g.labels)) / n
        fused = sum(1 for g in gs if g.labels and g.labels[0]) / n
        cosine = sum(1 for g in gs if g.labels and g.labels[int(np.argmax([r[cos_i] for r in g.rows]))]) / n
        learned = (
            sum(1 for g in gs if g.labels and g.labels[int(np.argmax(scorer.probabilities(g.rows)))]) / n
        )
        out[name] = {
            "questions": n,
            "gold_in_top10": round(ceiling, 3),
            "top1_gold_fused_order": round(fused, 3),
            "top1_gold_cosine_order": round(cosine, 3),
            "top1_gold_learned": round(learned, 3),
        }
    return out


def _dumps(body: dict[str, Any]) -> bytes:
    """model.json's text: indented, but each tree (hundreds of nodes) on one line of its own."""
    trees = body.get("trees")
    text = json.dumps({k: v for k, v in body.items() if k != "trees"}, indent=1, sort_keys=True)
    if trees:
        lines = ",\n  ".join(json.dumps(t, sort_keys=True, separators=(",", ":")) for t in trees)
        text = text[: text.rindex("}")].rstrip() + f',\n "trees": [\n  {lines}\n ]\n}}'
    return text.encode()


def save(model: dict[str, Any], metrics: dict[str, Any], directory: Path = MODEL_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body = {**model, "version": "", "validation": metrics}
    raw = _dumps(body)
    body["version"] = hashlib.sha256(raw).hexdigest()[:12]
    raw = _dumps(body)
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

**Model.** {model_text} Weights in model.json ({bytes} bytes, sha256 in manifest.json, checked on load).
Inference is numpy only (a dot product, or all trees walked at once), no extra dependency at run time.

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

**Choice** (measured 2026-12-07, validation split). The trees rank better — top-1 gold BioASQ 0.875 vs 0.854,
Evidence Inference 0.970 vs 0.948, MedicationQA 0.778 vs 0.741, PubMedQA 0.964 both; log-loss 0.209 vs
0.227 — and end to end (`curbside eval relevance --set all`, threshold 0.17 from their own train curve) they
raise research cites-gold (BioASQ 0.887 → 0.901, Evidence Inference 0.918 → 0.935) with answering 0.953 and
abstention 0.966. They are not shipped: end to end the label section gets worse (MedicationQA cites gold
0.722 → 0.704, statement precision 0.635 → 0.602), and the guideline section, which has no human-chosen
evidence to train on, is where the trees extrapolate worst — they give 0.88 to an SSRI-in-breastfeeding table
row for "What are the common side effects of sertraline?", and 0.06 to the label chunk holding "The usual
starting dose of metformin … is 500 mg twice a day" (the logistic model: 0.31, kept as the chosen section's
sibling). `--kind trees` reproduces them.

**Recipe.** `curbside train relevance` (= `python -m eval.train_relevance`): features {t_features}s, fit
{t_fit}s on 2 shared CPU cores. Seed {seed}. Limits: the gold of MedicationQA is one DailyMed excerpt
per question while near-duplicate excerpts of other products exist (the "wrong" top-1 is often a copy of
the gold text); the guideline section has no human-chosen evidence: its passages are scored as research
passages (`select.SCORED_AS`; scored with both section indicators off, as the training's only guideline
rows — the unanswerable questions', all negative — had them, every guideline passage got P ≈ 0.01 and the
section never answered), against a stricter threshold (0.91: above every train-split unanswerable
question's P)."""


def model_text(model: dict[str, Any]) -> str:
    """What was fitted and why it ships: both candidates' grouped 5-fold cross-validated log-loss."""
    lr, trees = model["candidates"]["logistic"], model["candidates"]["trees"]
    rate, leaves, least, rounds = trees["config"]
    shipped = "gradient-boosted trees" if model["kind"] == "trees" else "logistic regression"
    return (
        f"Two candidates fitted on the train split, compared by 5-fold cross-validated log-loss (folds "
        f"grouped by question): logistic regression (scikit-learn, L2, features standardised; best "
        f"C={lr['C']}, log-loss {lr['cv_log_loss']}) and gradient-boosted trees (scikit-learn "
        f"HistGradientBoostingClassifier, raw features; best {rounds} rounds at learning rate {rate}, "
        f"≤ {leaves} leaves, ≥ {least} rows a leaf; log-loss {trees['cv_log_loss']}). Shipped: **{shipped}** "
        f"(`--kind`; see Choice below)."
    )


def write_card(model: dict[str, Any], metrics: dict[str, Any], info: dict[str, Any], directory: Path) -> None:
    rows = "\n".join(
        f"| {name} | {m['questions']} | {m['gold_in_top10']} | {m['top1_gold_fused_order']} | "
        f"{m['top1_gold_cosine_order']} | {m['top1_gold_learned']} |"
        for name, m in metrics.items()
    )
    text = CARD.format(
        n_features=len(FEATURES),
        model_text=model_text(model),
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
    ap.add_argument(
        "--kind",
        choices=("logistic", "trees", "auto"),
        default="logistic",
        help="model to ship (auto: the lower cross-validated log-loss); default logistic, see the model card",
    )
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
    model = fit(train, kind=args.kind)
    t_fit = time.perf_counter() - t1
    metrics = evaluate(model, valid)
    print(f"rows: train {sum(len(g.rows) for g in train)}, validation {sum(len(g.rows) for g in valid)}")
    print(model_text(model))
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
