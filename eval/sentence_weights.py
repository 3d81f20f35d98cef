"""Are the composer's sentence weights as good as learned ones? Measured, not assumed.

    curbside eval sentences [--split train] [--limit N] [--json out.json]

Every quotable sentence the extractive composer considers for a MedicationQA question's label section or a
BioASQ question's research section (the engine's own selected evidence, ``ExtractiveComposer.candidates``)
is a row: its measured features (``SENTENCE_WEIGHTS``' names), whether it cites one of the question's gold
records, and the human answer's terms. Scorers rank each question's sentences: the hand-set
``SENTENCE_WEIGHTS``; a logistic regression of "cites gold" and a ridge regression of the share of the human
answer a sentence says, over the same features — on the train split scored out of fold (5 folds grouped by
question), on the validation split fitted on the train split, so no question is scored by a model that saw
it; and the trivial rankers (the composer's passage order; random). Per set: the share of questions whose top
sentence cites gold, the mean share of gold among the top three (what the section quotes, before MMR),
whether any of the top three cites gold, and the share of the human answer's terms the top three say.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.answer.engine import AnswerEngine, RetrievalEvent
from app.answer.extractive import SENTENCE_WEIGHTS, ExtractiveComposer
from app.answer.focus import find_focus
from app.answer.question import analyse_question
from app.corpus.chunker import record_id_of
from eval.relevance import in_index, load_items, terms

SETS = ("medicationqa", "bioasq")
TOP = 3
C_GRID = (0.1, 1.0, 10.0)


@dataclass(frozen=True)
class Row:
    qid: str
    set: str
    order: int  # the candidate's place in the composer's list (passage order, then sentence order)
    features: dict[str, float]
    gold: bool
    terms: frozenset[str]  # the sentence's content terms
    human: frozenset[str]  # the human answer's content terms (the same for every row of a question)


def collect(
    engine: AnswerEngine,
    *,
    split: str = "train",
    limit: int | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Row]:
    """The candidate sentences of every question of ``SETS`` in ``split``, from the engine's evidence."""
    composer = ExtractiveComposer(engine.settings.answer, {})
    known = in_index(engine.index.passages)
    rows: list[Row] = []
    for name in SETS:
        items, _missing = load_items(name, split=split, limit=limit, known=known)
        for item in items:
            event = next(
                e
                for e in engine.events(item.question, sections=[item.section], use_llm=False, remember=False)
                if isinstance(e, RetrievalEvent)
            )
            focus = find_focus(event.standalone_question, engine.lexicon, engine.index.lexical.doc_freq)
            q = analyse_question(focus.read_as(event.standalone_question), engine.lexicon, drugs=event.drugs)
            human = frozenset(terms(item.human_answer))
            for order, c in enumerate(composer.candidates(item.section, q, event.evidence[item.section])):
                gold = record_id_of(c.key) in item.gold
                rows.append(Row(item.qid, name, order, c.features, gold, frozenset(c.terms), human))
        if log:
            log(f"sentences: {name} ({split}): {len(items)} questions")
    return rows


def rank_metrics(rows: Sequence[Row], scores: Sequence[float]) -> dict[str, float | int]:
    """Per question (those with at least one candidate), its candidates ranked by ``scores``: top-1 cites
    gold, share of gold in the top ``TOP``, any gold in the top ``TOP``, and the share of the human answer's
    content terms the top ``TOP`` say together (what tells sentences of one passage apart: they all cite the
    same record) — means over questions."""
    by: dict[str, list[tuple[float, int, Row]]] = defaultdict(list)
    for row, score in zip(rows, scores, strict=True):
        by[row.qid].append((score, -row.order, row))
    top1 = share = anyg = recall = 0.0
    with_human = 0
    for cands in by.values():
        cands.sort(key=lambda t: (t[0], t[1]), reverse=True)
        top = [r for _s, _o, r in cands[:TOP]]
        top1 += top[0].gold
        share += sum(r.gold for r in top) / len(top)
        anyg += any(r.gold for r in top)
        if top[0].human:
            with_human += 1
            said = frozenset[str]().union(*(r.terms for r in top))
            recall += len(said & top[0].human) / len(top[0].human)
    n = len(by)
    return {
        "questions": n,
        "top1_gold": top1 / n if n else 0.0,
        f"precision@{TOP}": share / n if n else 0.0,
        f"any_gold@{TOP}": anyg / n if n else 0.0,
        f"content_recall@{TOP}": recall / with_human if with_human else 0.0,
    }


def hand_scores(rows: Sequence[Row]) -> list[float]:
    return [sum(SENTENCE_WEIGHTS[k] * v for k, v in r.features.items()) for r in rows]


def matrix(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    names = list(SENTENCE_WEIGHTS)
    x = np.asarray([[r.features.get(n, 0.0) for n in names] for r in rows], dtype=np.float64)
    y = np.asarray([int(r.gold) for r in rows])
    groups = np.asarray([r.qid for r in rows])
    return x, y, groups


def content_share(row: Row) -> float:
    """The share of the human answer's content terms the sentence says (0 without a human answer)."""
    return len(row.terms & row.human) / len(row.human) if row.human else 0.0


def fitted(fit_rows: Sequence[Row], rows: Sequence[Row], c: float, target: str = "gold") -> list[float]:
    """The scores of ``rows`` by a model fitted on ``fit_rows`` (other questions): a logistic regression of
    "cites gold" (``target`` "gold") or a ridge regression (alpha 1/``c``) of ``content_share``. With one
    class only there is no ranking to learn: every score is 0 (the composer's order)."""
    from sklearn.linear_model import LogisticRegression, Ridge

    x_fit, y_fit, _ = matrix(fit_rows)
    x, _y, _g = matrix(rows)
    if target == "content":
        share = np.asarray([content_share(r) for r in fit_rows])
        return [float(v) for v in Ridge(alpha=1.0 / c).fit(x_fit, share).predict(x)]
    if len(set(y_fit)) < 2:
        return [0.0] * len(rows)
    model = LogisticRegression(C=c, max_iter=2000).fit(x_fit, y_fit)
    return [float(v) for v in model.decision_function(x)]


def out_of_fold(rows: Sequence[Row], c: float, folds: int = 5, target: str = "gold") -> list[float]:
    """Each row's ``fitted`` score from a model fitted on the other folds (grouped by question)."""
    from sklearn.model_selection import GroupKFold

    x, y, groups = matrix(rows)
    scores = [0.0] * len(rows)
    for train, test in GroupKFold(min(folds, len(set(groups)))).split(x, y, groups):
        got = fitted([rows[i] for i in train], [rows[i] for i in test], c, target)
        for i, score in zip(test, got, strict=True):
            scores[i] = score
    return scores


def learned_weights(rows: Sequence[Row], c: float) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    x, y, _ = matrix(rows)
    model = LogisticRegression(C=c, max_iter=2000).fit(x, y)
    return {n: round(float(w), 3) for n, w in zip(SENTENCE_WEIGHTS, model.coef_[0], strict=True)}


def evaluate(rows: Sequence[Row], fit_rows: Sequence[Row] | None = None, seed: int = 13) -> dict[str, Any]:
    """Every scorer's ranking metrics per set. The learned ones are fitted on ``fit_rows`` (the train split)
    when given, else scored out of fold on ``rows`` themselves."""
    rng = random.Random(seed)

    def learned(c: float, target: str) -> list[float]:
        return out_of_fold(rows, c, target=target) if fit_rows is None else fitted(fit_rows, rows, c, target)

    scorers: dict[str, list[float]] = {
        "hand weights (shipped)": hand_scores(rows),
        **{f"learned (cites gold), C={c}": learned(c, "gold") for c in C_GRID},
        **{f"learned (content share), alpha={1 / c:g}": learned(c, "content") for c in C_GRID},
        "passage order (trivial)": [-float(r.order) for r in rows],
        "random (trivial)": [rng.random() for _ in rows],
    }
    report: dict[str, Any] = {"sets": {}}
    for name in sorted({r.set for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.set == name]
        subset = [rows[i] for i in idx]
        report["sets"][name] = {
            scorer: rank_metrics(subset, [scores[i] for i in idx]) for scorer, scores in scorers.items()
        }
    weigh = rows if fit_rows is None else fit_rows
    report["learned_weights"] = learned_weights(weigh, 1.0) if len({r.gold for r in weigh}) == 2 else {}
    report["learned_on"] = "out of fold (5 folds by question)" if fit_rows is None else "the train split"
    report["hand_weights"] = dict(SENTENCE_WEIGHTS)
    return report


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"| set | scorer | questions | top-1 cites gold | precision@{TOP} | any gold@{TOP} | "
        f"content recall@{TOP} |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, scorers in report["sets"].items():
        for scorer, m in scorers.items():
            lines.append(
                f"| {name} | {scorer} | {m['questions']} | {m['top1_gold']:.3f} | "
                f"{m[f'precision@{TOP}']:.3f} | {m[f'any_gold@{TOP}']:.3f} | "
                f"{m[f'content_recall@{TOP}']:.3f} |"
            )
    return "\n".join(lines)


def run(engine: AnswerEngine, *, split: str, limit: int | None, out: Path | None) -> str:
    """On the train split the learned scorers are scored out of fold; on validation they are fitted on the
    train split (``limit`` questions per set of each) and scored on validation questions they never saw."""
    rows = collect(engine, split=split, limit=limit, log=print)
    fit_rows = None if split == "train" else collect(engine, split="train", limit=limit, log=print)
    report = evaluate(rows, fit_rows)
    report["split"] = split
    report["rows"] = len(rows)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    return markdown(report)
