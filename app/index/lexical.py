"""Lexical store: BM25 over passages with tantivy (Rust, Lucene-like, persistent on disk).

The analyzer lower-cases, drops English stop words plus question words, and applies the Snowball English
stemmer. Tokens are split on non-alphanumerics, so numbers, doses and drug names stay tokens of their own
("50 mg" → 50, mg; "naltrexone" → naltrexon).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tantivy
from rapidfuzz.distance import Levenshtein

ANALYZER = "curbside_en"
QUESTION_WORDS = [
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "does", "do", "did", "can",
    "could", "should", "would", "is", "are", "was", "were", "tell", "me", "please", "about", "any",
]  # fmt: skip


def analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.custom_stopword(QUESTION_WORDS))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


_ANALYZER = analyzer()


def analyze(text: str) -> list[str]:
    """The index's own tokens for ``text`` (lower-cased, stop words dropped, stemmed)."""
    return list(_ANALYZER.analyze(text))


@dataclass(frozen=True)
class LexicalDoc:
    row: int
    source_type: str
    text: str
    drugs: Sequence[str] = ()
    year: int | None = None
    organization: str | None = None


class LexicalStore(Protocol):
    def search(
        self,
        query: str,
        k: int,
        *,
        source_type: str | None = None,
        drugs: Sequence[str] | None = None,
        year_min: int | None = None,
        year_max: int | None = None,
    ) -> list[tuple[float, int]]: ...

    def __len__(self) -> int: ...

    def doc_freq(self, stem: str) -> int: ...

    def near_terms(self, stem: str, max_distance: int) -> list[tuple[str, int]]: ...


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("row", stored=True, indexed=True, fast=True)
    sb.add_text_field("source_type", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("drug", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("year", indexed=True, fast=True)
    sb.add_text_field("body", tokenizer_name=ANALYZER, index_option="freq")
    return sb.build()


class TantivyStore:
    def __init__(self, index: tantivy.Index) -> None:
        self.index = index
        self.schema = index.schema
        self.searcher = index.searcher()

    @classmethod
    def build(cls, path: Path, docs: Iterable[LexicalDoc], *, heap_bytes: int = 256_000_000) -> TantivyStore:
        path.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(_schema(), path=str(path), reuse=False)
        index.register_tokenizer(ANALYZER, analyzer())
        writer = index.writer(heap_size=heap_bytes, num_threads=1)
        for d in docs:
            doc = tantivy.Document()
            doc.add_unsigned("row", d.row)
            doc.add_text("source_type", d.source_type)
            for drug in d.drugs:
                doc.add_text("drug", drug)
            if d.year is not None:
                doc.add_integer("year", d.year)
            doc.add_text("body", d.text)
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> TantivyStore:
        index = tantivy.Index.open(str(path))
        index.register_tokenizer(ANALYZER, analyzer())
        return cls(index)

    def __len__(self) -> int:
        return int(self.searcher.num_docs)

    def doc_freq(self, stem: str) -> int:
        """How many passages contain ``stem`` (an ``analyze`` token)."""
        return int(self.searcher.doc_freq("body", stem))

    def near_terms(self, stem: str, max_distance: int) -> list[tuple[str, int]]:
        """Indexed terms sharing ``stem``'s first three letters within ``max_distance`` edits (a misspelling's
        neighbours), with their document frequencies."""
        if len(stem) < 3:
            return []
        return [
            (term, int(df))
            for term, df in self.searcher.terms_with_prefix("body", stem[:3])
            if term != stem and Levenshtein.distance(term, stem, score_cutoff=max_distance) <= max_distance
        ]

    def search(
        self,
        query: str,
        k: int,
        *,
        source_type: str | None = None,
        drugs: Sequence[str] | None = None,
        year_min: int | None = None,
        year_max: int | None = None,
    ) -> list[tuple[float, int]]:
        """(BM25 score, row) pairs, best first."""
        terms = list(dict.fromkeys(analyze(query)))
        if not terms or k <= 0:
            return []
        should = [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "body", t)) for t in terms]
        clauses = [(tantivy.Occur.Must, tantivy.Query.boolean_query(should))]
        if source_type is not None:
            clauses.append(
                (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "source_type", source_type))
            )
        if drugs is not None:
            if not drugs:
                return []
            clauses.append(
                (tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "drug", list(drugs)))
            )
        if year_min is not None or year_max is not None:
            clauses.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(
                        self.schema,
                        "year",
                        tantivy.FieldType.Integer,
                        year_min if year_min is not None else -(2**31),
                        year_max if year_max is not None else 2**31,
                    ),
                )
            )
        result = self.searcher.search(tantivy.Query.boolean_query(clauses), limit=k)
        out: list[tuple[float, int]] = []
        for score, addr in result.hits:
            doc = self.searcher.doc(addr)
            out.append((float(score), int(doc["row"][0])))
        return out
