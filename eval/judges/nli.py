"""The NLI judge. By default the entailment model Curbside ships (``app/models/entailment``, see
``app/answer/entailment.py``): ``EntailmentJudge`` wraps the app's runtime class, so the judge the harness
calibrates is exactly the guard's ``nli`` mode. Any folder holding a ``manifest.json`` is loaded the same way.

Otherwise any sentence-pair classifier in a LOCAL folder (``transformers`` format), e.g. a
cross-encoder NLI model a user has downloaded. Nothing is fetched: ``local_files_only`` always.

The premise is the cited passages joined (truncated to ``max_length`` tokens, longest side first), the
hypothesis the statement. The model's own labels (``config.id2label``) are mapped onto support / neutral /
contradict: common names (entailment, neutral, contradiction, not_entailment…) are mapped by default, and
``label_map`` in the settings overrides or completes that (``CURBSIDE_EVAL__NLI__LABEL_MAP='{"LABEL_0":
"contradict", "LABEL_1": "support", "LABEL_2": "neutral"}'``). The probabilities of model labels that map
to the same judge label are added up; the score is P(support).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.answer.entailment import Precision
from eval.judges.base import LABELS, JudgeError, Label, Verdict

DEFAULT_LABELS: dict[str, Label] = {
    "entailment": "support", "entail": "support", "entailed": "support", "supports": "support",
    "support": "support", "supported": "support", "yes": "support",
    "neutral": "neutral", "not_entailment": "neutral", "non_entailment": "neutral",
    "not enough info": "neutral",
    "nei": "neutral", "no": "neutral", "unsupported": "neutral",
    "contradiction": "contradict", "contradict": "contradict", "contradicted": "contradict",
    "refutes": "contradict", "refuted": "contradict",
}  # fmt: skip


def resolve_labels(id2label: Mapping[int, str], overrides: Mapping[str, str]) -> dict[int, Label]:
    """Model class index → judge label; ``JudgeError`` naming the labels that need a mapping."""
    table = {k.lower(): v for k, v in DEFAULT_LABELS.items()}
    for k, v in overrides.items():
        if v not in LABELS:
            raise JudgeError(f"nli label_map maps {k!r} to {v!r}; use one of {', '.join(LABELS)}")
        table[k.lower()] = v
    out: dict[int, Label] = {}
    missing = []
    for idx, name in id2label.items():
        found = table.get(str(name).lower())
        if found is None:
            missing.append(str(name))
        else:
            out[int(idx)] = found
    if missing:
        raise JudgeError(
            f"the model's labels {missing} have no judge label; set CURBSIDE_EVAL__NLI__LABEL_MAP, e.g. "
            + '{"'
            + missing[0]
            + '": "support"} (labels: support, neutral, contradict)'
        )
    if "support" not in out.values():
        raise JudgeError("no model label maps to 'support'; set CURBSIDE_EVAL__NLI__LABEL_MAP")
    return out


class EntailmentJudge:
    """The shipped entailment model (or one trained by ``eval.judges.train_nli``): windows, batches."""

    name = "nli"

    def __init__(
        self, model_dir: Path | None = None, *, threads: int | None = None, precision: Precision = "auto"
    ) -> None:
        from app.answer.entailment import MODEL_DIR, EntailmentModel, EntailmentModelError

        try:
            self.model = EntailmentModel(model_dir or MODEL_DIR, threads=threads, precision=precision)
        except EntailmentModelError as exc:
            raise JudgeError(str(exc)) from exc

    def support_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[Verdict]:
        out = []
        for v in self.model.judge_many(items):
            detail = ", ".join(f"{lab} {v.probs[lab]:.2f}" for lab in LABELS)
            out.append(Verdict(v.label, v.score, f"NLI: {detail}"))
        return out

    def support(self, statement: str, passages: Sequence[str]) -> Verdict:
        return self.support_many([(statement, passages)])[0]

    def describe(self) -> dict[str, Any]:
        m = self.model.manifest
        return {
            "name": self.name,
            "model": m.get("name"),
            "model_dir": str(self.model.model_dir),
            "weights_sha256": m["files"].get("model.safetensors"),
            "max_length": self.model.max_length,
        }


class NLIJudge:
    name = "nli"

    def __init__(
        self,
        model_dir: Path,
        *,
        label_map: Mapping[str, str] | None = None,
        max_length: int = 512,
        threads: int | None = None,
    ) -> None:
        if not model_dir.is_dir():
            raise JudgeError(
                f"NLI model folder {model_dir} does not exist; set CURBSIDE_EVAL__NLI__MODEL_DIR to a local "
                "folder holding a transformers sequence-classification model and its tokenizer"
            )
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if threads is not None:
            torch.set_num_threads(threads)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                str(model_dir),
                local_files_only=True,
                dtype=torch.float32,  # weights may ship as fp16
            )
        except (OSError, ValueError) as exc:
            raise JudgeError(f"cannot load an NLI model from {model_dir}: {exc}") from exc
        self.model.eval()
        self.model_dir = model_dir
        self.max_length = max_length
        self.label_map = dict(label_map or {})
        self.classes = resolve_labels(self.model.config.id2label, self.label_map)
        self._torch = torch

    def support(self, statement: str, passages: Sequence[str]) -> Verdict:
        premise = "\n".join(p for p in passages if p)
        enc = self.tokenizer(
            premise, statement, truncation="longest_first", max_length=self.max_length, return_tensors="pt"
        )
        with self._torch.no_grad():
            logits = self.model(**enc).logits[0]
        probs = self._torch.softmax(logits, dim=-1).tolist()
        mass: dict[Label, float] = dict.fromkeys(LABELS, 0.0)
        for idx, p in enumerate(probs):
            mass[self.classes[idx]] += p
        label = max(LABELS, key=lambda lab: mass[lab])
        detail = ", ".join(f"{lab} {mass[lab]:.2f}" for lab in LABELS)
        return Verdict(label, round(mass["support"], 4), f"NLI: {detail}")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model_dir": str(self.model_dir),
            "model_type": getattr(self.model.config, "model_type", None),
            "labels": {str(i): f"{self.model.config.id2label[i]}→{lab}" for i, lab in self.classes.items()},
            "max_length": self.max_length,
        }
