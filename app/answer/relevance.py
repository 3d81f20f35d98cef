"""Learned evidence relevance: does this retrieved passage answer this question?

A logistic model over features of (question, hit) that every retriever output has — the scores that put the
hit there (cosine, BM25, fused score, ranks, all relative to the section's best), what the question asks of
it (focus-term and drug coverage of the passage and of its best sentence, the question's intent matched by
the passage's label section or cue words, a qualifier said of the asked-about thing) and what the passage is
(length, fragment and heading flags). Nothing keys on where a passage came from (no source file, id prefix
or organisation): a feature must mean the same for any corpus.

Trained by ``eval/train_relevance.py`` on the train split of the retrieval sets (human-chosen evidence),
weights in ``app/models/relevance/model.json`` (sha256-checked against ``manifest.json``); the model card is
``app/models/relevance/MODEL_CARD.md``. The probability it gives is calibrated (logistic, fitted on held-out
folds of the train split) and is what section abstention thresholds (``select.py``) compare against.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.answer.question import QuestionInfo, in_sections, mentions_near
from app.index.lexical import analyze
from app.schema import Hit, SectionKey

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "relevance"

# Cue words of each intent, stemmed by the index analyzer: a passage that answers "dose" says "mg", "daily"...
INTENT_CUES: dict[str, frozenset[str]] = {
    intent: frozenset(analyze(words))
    for intent, words in {
        "indication": "indicated benefit benefits effective efficacy improve improved reduce reduced "
        "recommend recommends offered approved treatment",
        "dose": "dose dosage mg daily administered once twice initial maximum titrate",
        "adverse": "adverse reactions side effects nausea headache incidence common reported",
        "contraindication": "contraindicated contraindications hypersensitivity not use",
        "pregnancy": "pregnancy pregnant fetal lactation breastfeeding risk",
        "interaction": "interaction interactions concomitant coadministration increase decrease levels",
        "alcohol": "alcohol alcoholic drink drinking beverages ethanol",
        "missed_dose": "miss missed dose remember next skip forget",
        "warning": "warning warnings risk serious monitor caution",
        "mechanism": "mechanism action inhibits receptor binds acts",
        "overdose": "overdosage overdose toxicity symptoms treatment",
        "onset": "onset peak hours minutes absorption absorbed plasma concentrations within begins",
        "comparison": "significantly significant difference differences compared versus reduced increased "
        "higher lower ratio risk odds confidence interval p",
        "administration": "take taken swallow whole food meal water inject injection administer apply",
        "appearance": "color white yellow round oval tablet capsule imprint debossed scored shape size mg",
        "ingredients": "ingredient ingredients inactive contains lactose gluten starch cellulose",
        "storage": "store storage temperature refrigerate room protect light moisture",
        "identity": "indicated used treatment class agent contains tablets capsules",
        "stopping": "discontinue discontinuation taper gradually withdrawal stop reduce",
        "monitoring": "monitor monitored monitoring measure measured test tests level levels periodically",
        "pharmacokinetics": "half life elimination clearance metabolized metabolism excreted excretion hours "
        "plasma concentrations absorption absorbed bioavailability",
        "class": "class inhibitor agonist antagonist blocker analog agent derivative antibiotic "
        "antidepressant benzodiazepine opioid",
    }.items()
}

_UPPER_RUN = re.compile(r"\b[A-Z][A-Z&/,\-]{3,}\b")

FEATURES: tuple[str, ...] = (
    "bias",
    "cosine",
    "cosine_gap",  # best cosine of the section minus this one
    "fused_rel",  # fused score / section's best fused score
    "inv_rank",  # 1 / (1 + rank)
    "bm25_rel",  # BM25 / section's best BM25 (0 when the lexical side did not find it)
    "lexical_found",
    "focus_cov",  # share of the question's focus terms in the passage (title + text)
    "terms_cov",  # share of all the question's content terms in the passage
    "focus_cov_best_sentence",
    "focus_idf_cov",  # the same, each focus term weighted by its rarity in the index (idf)
    "rarest_focus_in_passage",  # the question's rarest focus term is in the passage
    "drug_in_passage",  # every word of the asked-about drug(s) is in the passage
    "drug_in_text",  # ...in its text (not only in its title)
    "no_drug_asked",
    "intent_section",  # the passage's section is one the question's intent is answered by
    "intent_cues",  # density of the intent's cue words
    "no_intent",
    "qualifier_ok",  # every qualifier ("low-dose") is said near the asked-about thing (1 when none)
    "log_words",
    "starts_midword",  # the text begins with a lower-case letter (a fragment)
    "upper_share",  # share of words in upper-case runs (headings, label numbering)
    "question_marks",  # sentences that are questions
    "section_label",  # this is the FDA-label section
    "section_research",
    "section_label_x_cosine",
    "section_label_x_intent_section",
    "section_research_x_focus",
    "phrase_cov",  # share of the question's adjacent term pairs ("usual start", "start dose") said adjacently
)


def _coverage(wanted: set[str], have: set[str]) -> float:
    return len(wanted & have) / len(wanted) if wanted else 1.0


@dataclass(frozen=True)
class SectionContext:
    """Per-section normalisers (the best scores among the section's hits) and the question's focus terms
    weighted by their rarity in the index."""

    best_cosine: float
    best_fused: float
    best_bm25: float
    focus_idf: Mapping[str, float]

    @classmethod
    def of(cls, hits: Sequence[Hit], focus_idf: Mapping[str, float]) -> SectionContext:
        return cls(
            best_cosine=max((h.cosine or 0.0 for h in hits), default=0.0),
            best_fused=max((h.score for h in hits), default=0.0),
            best_bm25=max((h.lexical_score or 0.0 for h in hits), default=0.0),
            focus_idf=focus_idf,
        )


def focus_idf(focus: Sequence[str], doc_freq: Callable[[str], int], n_docs: int) -> dict[str, float]:
    """idf of each focus term: log((N + 1) / (df + 1))."""
    return {t: math.log((n_docs + 1) / (doc_freq(t) + 1)) for t in focus}


def features(key: SectionKey, q: QuestionInfo, hit: Hit, rank: int, ctx: SectionContext) -> list[float]:
    """The feature vector of one hit (in ``FEATURES`` order)."""
    p = hit.passage
    text_terms = analyze(p.text)
    text_set = set(text_terms)
    all_terms = text_set | set(analyze(p.title or ""))
    focus = set(q.focus)
    terms = set(q.terms)
    drug_words = {w for d in q.drugs for w in analyze(d)}
    is_label = key == "fda_label"
    # A label passage retrieved under the asked drug's filter is that drug's own, whatever name it uses
    # ("ZURZUVAE" for zuranolone): the drug's words count as said in it, as they are by its label.
    own = drug_words if is_label and hit.drug_match else set()
    all_terms |= own
    best_sentence = 0.0
    questions = 0
    sentences = p.sentence_texts() or [p.text]
    for s in sentences:
        best_sentence = max(best_sentence, _coverage(focus, set(analyze(s)) | own))
        questions += s.rstrip().endswith("?")
    cues = {t for intent in q.intents for t in INTENT_CUES.get(intent, ())}
    cue_density = sum(1 for t in text_terms if t in cues) / math.sqrt(len(text_terms) + 1) if cues else 0.0
    anchors = focus | drug_words
    qualifier_ok = all(mentions_near(text_terms, run, anchors) for run in q.qualifiers)
    words = p.text.split()
    upper = sum(len(m.group(0).split()) for m in _UPPER_RUN.finditer(p.text))
    cosine = hit.cosine or 0.0
    is_research = key == "research"
    intent_section = in_sections(p.section, q.intent_sections)
    focus_cov = _coverage(focus, all_terms)
    return [
        1.0,
        cosine,
        ctx.best_cosine - cosine,
        hit.score / ctx.best_fused if ctx.best_fused > 0 else 0.0,
        1.0 / (1 + rank),
        (hit.lexical_score or 0.0) / ctx.best_bm25 if ctx.best_bm25 > 0 else 0.0,
        float(hit.lexical_score is not None),
        focus_cov,
        _coverage(terms, all_terms),
        best_sentence,
        _idf_coverage(ctx.focus_idf, all_terms),
        float(bool(ctx.focus_idf) and max(ctx.focus_idf, key=lambda t: ctx.focus_idf[t]) in all_terms),
        float(bool(drug_words) and drug_words <= all_terms),
        float(bool(drug_words) and drug_words <= text_set),
        float(not drug_words),
        float(intent_section),
        min(cue_density, 3.0),
        float(not q.intents),
        float(qualifier_ok),
        math.log1p(len(words)),
        float(p.text[:1].islower()),
        upper / (len(words) or 1),
        questions / len(sentences),
        float(is_label),
        float(is_research),
        float(is_label) * cosine,
        float(is_label and intent_section),
        float(is_research) * focus_cov,
        phrase_coverage(q.text, text_terms),
    ]


def _pairs(stems: Sequence[str]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in itertools.pairwise(stems) if not (a.isdigit() or b.isdigit())}


def phrase_coverage(question: str, text_terms: Sequence[str]) -> float:
    """How much of the question's wording the passage repeats as phrases: the share of the question's
    adjacent content-term pairs that occur adjacently in the passage."""
    wanted = _pairs(analyze(question))
    return len(wanted & _pairs(text_terms)) / len(wanted) if wanted else 0.0


def _idf_coverage(weights: Mapping[str, float], have: set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in have) / total if total > 0 else 1.0


class RelevanceError(RuntimeError):
    """The relevance model's files are missing or do not match their manifest."""


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted trees, all evaluated at once: node arrays of shape (trees, nodes), padded.

    A row goes left at a node when its feature is ≤ the node's threshold (scikit-learn's rule); a leaf's value
    is its share of the log-odds. P(answers) = σ(baseline + Σ leaf values)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    leaf: np.ndarray
    baseline: float
    depth: int

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Trees:
        trees = data["trees"]
        width = max(len(t["feature"]) for t in trees)

        def pad(field: str, dtype: type, fill: float) -> np.ndarray:
            out: np.ndarray = np.full((len(trees), width), fill, dtype=dtype)
            for i, t in enumerate(trees):
                out[i, : len(t[field])] = t[field]
            return out

        return cls(
            feature=pad("feature", np.int64, 0),
            threshold=pad("threshold", np.float64, 0.0),
            left=pad("left", np.int64, 0),
            right=pad("right", np.int64, 0),
            value=pad("value", np.float64, 0.0),
            leaf=pad("leaf", np.bool_, True),
            baseline=float(data["baseline"]),
            depth=int(data["depth"]),
        )

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        n_trees, width = self.feature.shape
        # Flat positions (tree * width + node) index 1-d copies of the node arrays: one gather per step.
        base = (np.arange(n_trees) * width)[None, :]
        feature, threshold = self.feature.ravel(), self.threshold.ravel()
        left, right, leaf = self.left.ravel(), self.right.ravel(), self.leaf.ravel()
        at = np.broadcast_to(base, (x.shape[0], n_trees)).copy()
        offsets = (np.arange(x.shape[0]) * x.shape[1])[:, None]
        flat_x = x.ravel()
        for _ in range(self.depth):
            go_left = flat_x[offsets + feature[at]] <= threshold[at]
            step = base + np.where(go_left, left[at], right[at])
            at = np.where(leaf[at], at, step)
        return np.asarray(self.baseline + self.value.ravel()[at].sum(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class RelevanceModel:
    """P(passage answers the question) from its features: a logistic model σ(w · standardised features), or
    gradient-boosted trees over the raw features (model.json says which: `curbside train relevance --kind`;
    the model card says why the shipped one is shipped)."""

    weights: np.ndarray
    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    version: str
    trees: Trees | None = None

    @classmethod
    def load(cls, directory: Path = MODEL_DIR) -> RelevanceModel:
        path = directory / "model.json"
        manifest_path = directory / "manifest.json"
        try:
            raw = path.read_bytes()
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RelevanceError(f"relevance model not found in {directory}: {exc}") from exc
        digest = hashlib.sha256(raw).hexdigest()
        if manifest.get("sha256") != digest:
            raise RelevanceError(f"{path} does not match its manifest (sha256 {digest[:12]}…)")
        data = json.loads(raw)
        if tuple(data["features"]) != FEATURES:
            raise RelevanceError(
                f"{path} was trained on other features; retrain with `curbside train relevance`"
            )
        return cls.of(data, default_version=digest[:12])

    @classmethod
    def of(cls, data: Mapping[str, Any], default_version: str = "") -> RelevanceModel:
        """A model from model.json's content (also what training evaluates before it writes)."""
        n = len(data["features"])
        return cls(
            weights=np.asarray(data.get("weights", [0.0] * n), dtype=np.float64),
            names=tuple(data["features"]),
            mean=np.asarray(data.get("mean", [0.0] * n), dtype=np.float64),
            scale=np.asarray(data.get("scale", [1.0] * n), dtype=np.float64),
            version=str(data.get("version") or default_version),
            trees=Trees.of(data) if data.get("kind") == "trees" else None,
        )

    def probabilities(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        raw = np.asarray(rows, dtype=np.float64)
        if self.trees is not None:
            z = self.trees.log_odds(raw)
        else:
            x = (raw - self.mean) / self.scale
            x[:, 0] = 1.0  # the bias column is not standardised
            z = x @ self.weights
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def score(
        self, key: SectionKey, q: QuestionInfo, hits: Sequence[Hit], idf: Mapping[str, float]
    ) -> list[float]:
        """P(answers) for each hit of one section, in order (``idf``: the question's focus terms' idf)."""
        ctx = SectionContext.of(hits, idf)
        rows = [features(key, q, h, i, ctx) for i, h in enumerate(hits)]
        return [float(p) for p in self.probabilities(rows)]
