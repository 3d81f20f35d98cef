"""Suites are files (``eval/suites/<name>.toml``): which questions, how many (seeded samples), which judge,
composers and LLM mode, which cassette and which thresholds. Relative paths in a suite file are relative
to the folder the file is in.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.index.cache import file_sha256
from app.schema import SectionKey
from eval.datasets import DATA, read_jsonl, sample
from eval.settings import EVAL_DIR, JudgeName

SUITES_DIR = EVAL_DIR / "suites"

Kind = Literal["answerable", "unanswerable", "coverage"]
Composer = Literal["extractive", "generative"]
LLMMode = Literal["replay", "local", "openai", "none"]
COMPOSERS: tuple[Composer, ...] = ("extractive", "generative")

# Built-in question sets: file under eval/data, kind, the sections expected to answer.
BUILTIN_SETS: dict[str, tuple[str, Kind, tuple[SectionKey, ...]]] = {
    "medicationqa": ("retrieval/medicationqa.jsonl", "answerable", ("fda_label",)),
    "pubmedqa": ("retrieval/pubmedqa.jsonl", "answerable", ("research",)),
    "bioasq": ("retrieval/bioasq.jsonl", "answerable", ("research",)),
    "abstention": ("abstention.jsonl", "unanswerable", ()),
    "kqa": ("faithfulness/kqa_questions.jsonl", "coverage", ()),
}


class QuestionSetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    set: str = Field(
        description="a built-in set (medicationqa, pubmedqa, bioasq, abstention, kqa) or any name with 'path'"
    )
    path: str | None = Field(
        None, description="JSONL of {qid, question, expected_sections?, must_have?, nice_to_have?}"
    )
    kind: Kind | None = Field(
        None, description="answerable | unanswerable | coverage (built-in sets know theirs)"
    )
    row_kinds: list[str] | None = Field(
        None,
        description="only rows whose own 'kind' field is one of these (e.g. the abstention set's "
        "out_of_scope_medical, non_medical, made_up_drug, new_drug, gibberish); omitted = every row",
    )
    sample: int | None = Field(None, ge=0, description="seeded sample size; omitted or 0 = every question")
    generative_sample: int | None = Field(
        None,
        ge=0,
        description="how many of the sampled questions the generative composer answers; omitted = all",
    )
    expected_sections: list[SectionKey] | None = None


class RetrievalSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    sample: int | None = Field(30, ge=0, description="questions per retrieval set (seeded); 0 = all")
    sets: list[str] = Field(default_factory=lambda: ["pubmedqa", "bioasq", "medicationqa"])


class CalibrationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    sample: int | None = Field(None, ge=0, description="pairs per labelled set (seeded); omitted or 0 = all")
    holdout_only: bool = Field(False, description="score the held-out split only (what is reported)")
    sets: list[str] = Field(default_factory=lambda: ["healthver", "kqa_nli", "expertqa"])


class RelevanceSuiteSpec(BaseModel):
    """Does each answer section answer, against human-chosen evidence (``eval/relevance.py``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    sample: int | None = Field(
        20, ge=0, description="questions per set of the split (seeded); 0 = every question of the split"
    )
    sets: list[str] = Field(default_factory=lambda: ["medicationqa", "bioasq", "pubmedqa"])
    split: Literal["validation", "train"] = "validation"


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    seed: int = 13
    judge: JudgeName = "lexical"
    extractive_judge: JudgeName | None = Field(
        None, description="judge of the extractive answers (verbatim quotes; default: judge)"
    )
    composers: list[Composer] = Field(default_factory=lambda: list(COMPOSERS))
    llm: LLMMode = Field(
        "replay", description="generative composer's LLM: replayed from the cassette, or live"
    )
    cassette: str | None = None
    thresholds: str | None = None
    questions: list[QuestionSetSpec] = Field(default_factory=list)
    retrieval: RetrievalSpec = RetrievalSpec()
    calibration: CalibrationSpec = CalibrationSpec()
    relevance: RelevanceSuiteSpec | None = Field(None, description="the relevance part; absent = not run")
    folder: Path = Field(SUITES_DIR, exclude=True)
    file: Path | None = Field(None, exclude=True)

    @classmethod
    def load(cls, name_or_path: str | Path) -> Suite:
        path = Path(name_or_path)
        if not path.suffix:
            path = SUITES_DIR / f"{name_or_path}.toml"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.toml")))
            raise FileNotFoundError(f"no suite {name_or_path!r} (looked for {path}); suites: {known}")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls.model_validate({**data, "folder": path.parent.resolve(), "file": path.resolve()})

    def resolve(self, rel: str) -> Path:
        p = Path(rel).expanduser()
        return p if p.is_absolute() else (self.folder / p).resolve()

    @property
    def cassette_path(self) -> Path | None:
        return self.resolve(self.cassette) if self.cassette else None

    @property
    def thresholds_path(self) -> Path | None:
        return self.resolve(self.thresholds) if self.thresholds else None


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    set: str
    kind: Kind
    expected_sections: tuple[SectionKey, ...] = ()
    must_have: tuple[str, ...] = ()
    nice_to_have: tuple[str, ...] = ()
    generative: bool = True  # answered by the generative composer too (see ``generative_sample``)
    row_kind: str | None = None  # the row's own kind (abstention set: made_up_drug, new_drug, …)
    absent_terms: tuple[str, ...] = ()  # abstention set: the terms no corpus record holds
    drug: str | None = None  # the drug key a single-drug question asks about, when the row names it


def question_file(suite: Suite, spec: QuestionSetSpec) -> Path:
    if spec.path:
        return suite.resolve(spec.path)
    if spec.set not in BUILTIN_SETS:
        raise ValueError(
            f"question set {spec.set!r} is not built in ({', '.join(BUILTIN_SETS)}); give it a 'path'"
        )
    return DATA / BUILTIN_SETS[spec.set][0]


def load_questions(suite: Suite) -> tuple[list[Question], dict[str, dict[str, Any]]]:
    """The suite's questions (seeded samples) and, per set, its file, sha256 and counts."""
    out: list[Question] = []
    info: dict[str, dict[str, Any]] = {}
    for spec in suite.questions:
        path = question_file(suite, spec)
        builtin = BUILTIN_SETS.get(spec.set)
        kind: Kind | None = spec.kind or (builtin[1] if builtin else None)
        if kind is None:
            raise ValueError(f"question set {spec.set!r} needs a 'kind' (answerable, unanswerable, coverage)")
        expected = tuple(spec.expected_sections or (builtin[2] if builtin else ()))
        rows = read_jsonl(path)
        if spec.row_kinds is not None:
            rows = [r for r in rows if r.get("kind") in spec.row_kinds]
        chosen = sample(rows, spec.sample or None, seed=suite.seed)
        gen = spec.generative_sample
        generative_ids = {str(r["qid"]) for r in (chosen if gen is None else chosen[:gen])}
        for r in chosen:
            out.append(
                Question(
                    qid=str(r["qid"]),
                    question=str(r["question"]),
                    set=spec.set,
                    kind=kind,
                    expected_sections=tuple(r.get("expected_sections") or expected),
                    must_have=tuple(r.get("must_have") or ()),
                    nice_to_have=tuple(r.get("nice_to_have") or ()),
                    generative=str(r["qid"]) in generative_ids,
                    row_kind=str(r["kind"]) if r.get("kind") else None,
                    absent_terms=tuple(str(t) for t in r.get("absent_terms") or ()),
                    drug=str(r["drug"]) if r.get("drug") else None,
                )
            )
        info[spec.set] = {
            "file": str(path.relative_to(EVAL_DIR.parent))
            if path.is_relative_to(EVAL_DIR.parent)
            else str(path),
            "sha256": file_sha256(path),
            "kind": kind,
            "rows": len(rows),
            "sampled": len(chosen),
            "generative": len(generative_ids),
        }
    return out, info
