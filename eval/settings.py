"""Settings of the evaluation harness: environment prefix ``CURBSIDE_EVAL__``, nested with ``__``.

``CURBSIDE_EVAL__JUDGE=nli CURBSIDE_EVAL__NLI__MODEL_DIR=~/models/nli curbside eval run --suite ci`` picks
the NLI judge; a ``--judge`` flag overrides the setting. (The app's own settings stay in ``app.settings``;
``eval`` reads them, never the reverse.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EVAL_DIR = Path(__file__).resolve().parent

JudgeName = Literal["lexical", "nli", "llm"]


class LexicalJudgeSettings(BaseModel):
    min_overlap: float = Field(
        0.4, ge=0, le=1, description="share of a statement's content words the passages must contain (tuned)"
    )
    contradict_overlap: float = Field(
        0.7,
        ge=0,
        le=1.01,
        description="overlap above which a negation/direction/number clash is a contradiction",
    )
    detect_contradictions: bool = Field(True, description="label clashes 'contradict' rather than 'neutral'")
    join_identifiers: bool = Field(True, description="treat 'COVID-19', 'IL-6' as names, not quantities")
    use_drug_lexicon: bool = Field(
        True, description="check drug names with the index's drug lexicon when an index is available"
    )


class NLIJudgeSettings(BaseModel):
    model_dir: Path | None = Field(
        None,
        description="local folder of a sequence-pair classifier (default: the shipped entailment model, "
        "app/models/entailment)",
    )
    label_map: dict[str, str] = Field(
        default_factory=dict,
        description="model label → support|neutral|contradict (common NLI names are mapped already)",
    )
    max_length: int = Field(512, ge=16, description="tokens of premise + statement seen by the model")
    threads: int | None = Field(None, ge=1, description="torch threads (default: torch's own)")
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="the shipped model's arithmetic (auto: bfloat16 where the CPU has native bf16 "
        "instructions, else float32)",
    )


class LLMJudgeSettings(BaseModel):
    max_tokens: int = Field(64, ge=4, description="tokens the judge may write (verdict word and a reason)")
    max_passage_chars: int = Field(
        6000, ge=200, description="characters of cited passages shown to the judge"
    )


class EvalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CURBSIDE_EVAL__", env_nested_delimiter="__", extra="ignore")

    judge: JudgeName = Field("lexical", description="judge of 'does the passage support the statement?'")
    lexical: LexicalJudgeSettings = LexicalJudgeSettings()
    nli: NLIJudgeSettings = NLIJudgeSettings()
    llm_judge: LLMJudgeSettings = LLMJudgeSettings()
    slow_judge_calibration_sample: int = Field(
        100,
        ge=1,
        description="pairs per labelled set when an nli/llm judge is calibrated by a suite saying 'all'",
    )
    reports_dir: Path = Field(EVAL_DIR / "reports", description="reports go to <reports_dir>/<suite>/")
    cassettes_dir: Path = Field(EVAL_DIR / "cassettes", description="recorded LLM responses")
