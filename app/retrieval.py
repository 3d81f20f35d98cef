"""Hybrid retrieval per answer section: dense (FAISS) + BM25 (tantivy), fused with reciprocal rank fusion.

Each source type (guideline, fda_label, research) is searched on its own, so every answer section gets
its own candidates even when one source type dominates the scores. For labels, a drug named in the
question restricts the search to that drug's label passages; a question about a drug-like word with no
label here gets no label passages at all (the label section will abstain rather than cite another drug).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from app.index.search_index import SearchIndex
from app.schema import SOURCE_TYPES, Hit, SourceType
from app.settings import RetrievalSettings

Method = Literal["hybrid", "dense", "lexical"]


@dataclass(frozen=True)
class Filters:
    source_types: tuple[SourceType, ...] | None = None
    year_min: int | None = None
    year_max: int | None = None
    organization: str | None = None
    drugs: tuple[str, ...] | None = None  # explicit drug filter (normalised keys), applies to labels

    @property
    def narrows(self) -> bool:
        return any(x is not None for x in (self.year_min, self.year_max, self.organization))


@dataclass
class Retrieval:
    """What retrieval found for one question, per source type."""

    question: str
    sections: dict[SourceType, list[Hit]]
    drugs: list[str] = field(default_factory=list)
    unknown_drugs: list[str] = field(default_factory=list)


def rrf(
    rankings: Sequence[Sequence[int]], k: int = 60, weights: Sequence[float] | None = None
) -> dict[int, float]:
    """Reciprocal rank fusion: Σ w / (k + rank), rank from 1. Ties keep first-seen order."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + w / (k + rank)
    return fused


class Retriever:
    def __init__(self, index: SearchIndex, settings: RetrievalSettings) -> None:
        self.index = index
        self.settings = settings

    # -- the pieces -------------------------------------------------------------------------------------
    def encode(self, text: str) -> np.ndarray:
        return self.index.embedder.encode_query(text)

    def _dense(
        self, qvec: np.ndarray, st: SourceType, k: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        section = self.index.sections[st]
        if allowed is not None:
            if len(allowed) == 0:
                return []
            scores = self.index.row_vectors(allowed) @ qvec
            top = np.argsort(-scores, kind="stable")[:k]
            return [(int(allowed[i]), float(scores[i])) for i in top]
        scores, local = section.dense.search(qvec, k)
        return [(int(section.rows[i]), float(s)) for s, i in zip(scores, local, strict=True)]

    def _lexical(
        self, question: str, st: SourceType, k: int, drugs: Sequence[str] | None, filters: Filters
    ) -> list[tuple[int, float]]:
        found = self.index.lexical.search(
            question, k, source_type=st, drugs=drugs, year_min=filters.year_min, year_max=filters.year_max
        )
        return [(row, score) for score, row in found]

    def _keep(self, rows: list[tuple[int, float]], filters: Filters) -> list[tuple[int, float]]:
        if filters.year_min is None and filters.year_max is None:
            return rows
        years = self.index.years
        lo = filters.year_min if filters.year_min is not None else -(2**31)
        hi = filters.year_max if filters.year_max is not None else 2**31
        return [(r, s) for r, s in rows if lo <= years[r] <= hi]

    def fuse(
        self,
        st: SourceType,
        qvec: np.ndarray | None,
        dense: list[tuple[int, float]],
        lexical: list[tuple[int, float]],
    ) -> dict[int, float]:
        """Combine the two rankings of one section into one score per row."""
        if not lexical:
            return {r: s for r, s in dense}
        if not dense or qvec is None:
            top = lexical[0][1] or 1.0
            return {r: s / top for r, s in lexical}
        if self.settings.fusion == "rrf":
            return rrf(
                [[r for r, _ in dense], [r for r, _ in lexical]],
                k=self.settings.rrf_k,
                weights=[self.settings.dense_weight, self.settings.lexical_weight],
            )
        # Score fusion: the exact cosine of every candidate (stored vectors) plus the BM25 score normalised by
        # the section's best, weighted per source type.
        cos = dict(dense)
        missing = [r for r, _ in lexical if r not in cos]
        if missing:
            extra = self.index.row_vectors(np.array(missing, dtype=np.int64)) @ qvec
            cos.update(zip(missing, (float(x) for x in extra), strict=True))
        weight = self.settings.score_lexical_weights.get(st, 0.3)
        top = lexical[0][1] or 1.0
        bm25 = {r: s / top for r, s in lexical}
        return {r: c + weight * bm25.get(r, 0.0) for r, c in cos.items()}

    # -- one section ------------------------------------------------------------------------------------
    def search_section(
        self,
        question: str,
        st: SourceType,
        *,
        k: int | None = None,
        method: Method = "hybrid",
        filters: Filters | None = None,
        qvec: np.ndarray | None = None,
        drugs: Sequence[str] | None = None,
    ) -> list[Hit]:
        """Top ``k`` hits of one source type. ``drugs`` (keys) restricts label passages to those drugs."""
        filters = filters or Filters()
        k = k or self.settings.top_k_per_section
        fetch = max(self.settings.candidates, k) * (4 if filters.narrows else 1)
        allowed: np.ndarray | None = None
        if drugs is not None and st == "fda_label":
            allowed = np.array(sorted(self.index.lexicon.rows(drugs)), dtype=np.int64)
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        if method in ("hybrid", "dense"):
            if qvec is None:
                qvec = self.encode(question)
            dense = self._keep(self._dense(qvec, st, fetch, allowed), filters)
        if method in ("hybrid", "lexical"):
            lex_drugs = list(drugs) if drugs is not None and st == "fda_label" else None
            lexical = self._lexical(question, st, fetch, lex_drugs, filters)
        fused = self.fuse(st, qvec, dense, lexical)
        order = sorted(fused, key=lambda r: -fused[r])
        dense_at = {r: (i + 1, s) for i, (r, s) in enumerate(dense)}
        lex_at = {r: (i + 1, s) for i, (r, s) in enumerate(lexical)}
        hits: list[Hit] = []
        want = k if filters.organization is None else len(order)
        rows = order[:want]
        # The exact cosine of every hit (stored vectors), whichever side found it: selection scores with it.
        cosines: list[float | None] = [None] * len(rows)
        if qvec is not None and rows:
            cosines = [float(c) for c in self.index.row_vectors(np.array(rows, dtype=np.int64)) @ qvec]
        for row, passage, cosine in zip(rows, self.index.passages.get_rows(rows), cosines, strict=True):
            if (
                filters.organization
                and filters.organization.lower() not in (passage.organization or "").lower()
            ):
                continue
            d = dense_at.get(row)
            lx = lex_at.get(row)
            hits.append(
                Hit(
                    passage=passage,
                    row=row,
                    score=fused[row],
                    dense_score=d[1] if d else None,
                    cosine=cosine,
                    dense_rank=d[0] if d else None,
                    lexical_score=lx[1] if lx else None,
                    lexical_rank=lx[0] if lx else None,
                    drug_match=allowed is not None,
                )
            )
            if len(hits) >= k:
                break
        return hits

    # -- a question -------------------------------------------------------------------------------------
    def retrieve(
        self,
        question: str,
        *,
        k: int | None = None,
        method: Method = "hybrid",
        filters: Filters | None = None,
    ) -> Retrieval:
        """Per-section hits for ``question``, with the drugs it names."""
        filters = filters or Filters()
        lexicon = self.index.lexicon
        drugs = list(filters.drugs) if filters.drugs else lexicon.detect(question)
        unknown = [] if drugs else lexicon.unknown_drugs(question)
        qvec = self.encode(question) if method != "lexical" else None
        sections: dict[SourceType, list[Hit]] = {}
        for st in filters.source_types or SOURCE_TYPES:
            label_drugs: Sequence[str] | None = None
            if st == "fda_label" and self.settings.drug_boost:
                if drugs:
                    label_drugs = drugs
                elif unknown:
                    label_drugs = []  # a drug we have no label for: no other drug's label
            sections[st] = self.search_section(
                question, st, k=k, method=method, filters=filters, qvec=qvec, drugs=label_drugs
            )
        return Retrieval(question, sections, drugs, unknown)
