"""Entailment: do the cited passages entail a statement, leave it open, or contradict it?

A small cross-encoder (MiniLM-L6, three labels: support / neutral / contradict) trained offline by
``python -m eval.judges.train_nli`` and shipped in ``app/models/entailment/`` (fp16 safetensors, its sha256
in ``manifest.json`` checked on load). Passages are cut into windows of a few sentences; the windows that
share most words with the statement are scored in one batch, and the verdict is taken over them: *support*
when one window entails the statement, else *contradict* when one contradicts it, else *neutral*.

Used by the guard's ``nli`` mode (``CURBSIDE_ANSWER__GUARD_MODE=nli``) and by the evaluation harness's
``nli`` judge. The model is loaded once, lazily, on first use; torch is imported only then.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.answer.grounding import Grounding, check, content_terms
from app.corpus.chunker import split_sentences
from app.index.cache import file_sha256

EntailmentLabel = Literal["support", "neutral", "contradict"]
ENTAILMENT_LABELS: tuple[EntailmentLabel, ...] = ("support", "neutral", "contradict")
MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "entailment"
WINDOW_WORDS = 70  # words of passage per window: with the statement, fits the model's 128 tokens
MAX_WINDOWS = 4  # windows scored per (statement, passages): those sharing most words with the statement
MAX_LENGTH = 128
MIN_WINDOW_WORDS = 20
LONG_STATEMENT_WORDS = 25  # longer statements get shorter windows (see ``window_words``)
BATCH = 16  # pairs per forward pass: on 2 cores, small length-sorted batches beat 64 (eval/bench.py judge)
# Arithmetic of the forward pass. ``auto``: bfloat16 where the CPU has native bf16 instructions (AVX512-BF16,
# AMX; about twice as fast, same labels as float32 on the held-out HealthVer pairs), else float32.
Precision = Literal["auto", "float32", "bfloat16"]


class EntailmentModelError(RuntimeError):
    """The shipped entailment model is missing or does not match its manifest."""


@dataclass(frozen=True)
class Verdict:
    """The label, P(support) of the deciding window, and the probabilities of every label."""

    label: EntailmentLabel
    score: float
    probs: dict[str, float]
    window: str

    @property
    def supported(self) -> bool:
        return self.label == "support"


def windows(passages: Sequence[str], words: int = WINDOW_WORDS) -> list[str]:
    """Each passage cut into runs of whole sentences of at most ``words`` words (a longer sentence alone),
    consecutive windows sharing one sentence so that a claim spanning a boundary is seen whole."""
    out: list[str] = []
    for text in passages:
        if not text.strip():
            continue
        sents = [text[s.start : s.end].strip() for s in split_sentences(text)] or [text.strip()]
        sents = [s for s in sents if s]
        i = 0
        while i < len(sents):
            j, count = i, 0
            while j < len(sents) and (j == i or count + len(sents[j].split()) <= words):
                count += len(sents[j].split())
                j += 1
            out.append(" ".join(sents[i:j]))
            if j >= len(sents):
                break
            i = j - 1 if j - 1 > i else j
    return out


def closest(statement: str, candidates: Sequence[str], k: int) -> list[str]:
    """The ``k`` candidates sharing most content terms with ``statement`` (ties: in order)."""
    terms = set(content_terms(statement))
    scored = sorted(enumerate(candidates), key=lambda ic: (-len(terms & set(content_terms(ic[1]))), ic[0]))
    return [c for _, c in scored[:k]]


def verify(model_dir: Path) -> dict[str, Any]:
    """The manifest, after checking every file it lists against its sha256."""
    manifest_path = model_dir / "manifest.json"
    if not manifest_path.exists():
        raise EntailmentModelError(f"no entailment model at {model_dir} (manifest.json missing)")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    for name, digest in manifest["files"].items():
        path = model_dir / name
        if not path.exists() or file_sha256(path) != digest:
            raise EntailmentModelError(f"{path} is missing or does not match its sha256 in manifest.json")
    return manifest


class EntailmentModel:
    """The cross-encoder, loaded from a verified folder; ``score`` batches (premise, statement) pairs."""

    def __init__(
        self, model_dir: Path = MODEL_DIR, *, threads: int | None = None, precision: Precision = "auto"
    ) -> None:
        self.manifest = verify(model_dir)
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if threads is not None:
            torch.set_num_threads(threads)
        self._torch = torch
        self.model_dir = model_dir
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), local_files_only=True, dtype=torch.float32
        )
        self.precision: Precision = precision if precision != "auto" else _native_precision(torch)
        if self.precision == "bfloat16":
            self.model = self.model.to(torch.bfloat16)
        self.model.eval()
        id2label = self.model.config.id2label
        self.labels: list[EntailmentLabel] = [id2label[i] for i in range(len(id2label))]
        if sorted(self.labels) != sorted(ENTAILMENT_LABELS):
            raise EntailmentModelError(f"{model_dir}: labels {self.labels}, expected {ENTAILMENT_LABELS}")
        self.max_length = int(self.manifest.get("max_length", MAX_LENGTH))

    def score(self, pairs: Sequence[tuple[str, str]], batch: int = BATCH) -> list[dict[str, float]]:
        """P(label) for each (premise, statement) pair. Pairs are batched by length, so a batch is padded to
        its own longest pair rather than to the longest of a random mix (the output keeps the input order)."""
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out: list[dict[str, float]] = [{} for _ in pairs]
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            chunk = [pairs[i] for i in idx]
            enc = self.tokenizer(
                [p for p, _ in chunk],
                [h for _, h in chunk],
                truncation="longest_first",  # a statement longer than max_length is cut too
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
            with self._torch.inference_mode():
                logits = self.model(**enc).logits.float()
                probs = self._torch.softmax(logits, dim=-1).tolist()
            for i, row in zip(idx, probs, strict=True):
                out[i] = {lab: round(p, 4) for lab, p in zip(self.labels, row, strict=True)}
        return out

    def judge_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[Verdict]:
        """A verdict per (statement, passages), all windows of all items scored in batches. A statement the
        passages say word for word is entailed without asking the model."""
        plan: list[tuple[int, str]] = []
        verbatim: dict[int, Verdict] = {}
        for i, (statement, passages) in enumerate(items):
            quoted = next((t for t in passages if is_verbatim(statement, t)), None)
            if quoted is not None:
                verbatim[i] = Verdict(
                    "support", 1.0, {"support": 1.0, "neutral": 0.0, "contradict": 0.0}, quoted
                )
                continue
            cands = closest(statement, windows(passages, window_words(statement)), MAX_WINDOWS) or [""]
            plan.extend((i, w) for w in cands)
        probs = self.score([(w, items[i][0]) for i, w in plan])
        per: dict[int, list[tuple[str, dict[str, float]]]] = {}
        for (i, w), p in zip(plan, probs, strict=True):
            per.setdefault(i, []).append((w, p))
        return [verbatim[i] if i in verbatim else decide(per[i]) for i in range(len(items))]


def window_words(statement: str) -> int:
    """Words of passage per window for this statement: the statement and its window share the model's
    ``MAX_LENGTH`` tokens, so a long statement gets shorter windows (whole sentences still) rather than a
    window whose end, where the matching sentence may be, is cut off."""
    n = len(statement.split())
    return WINDOW_WORDS if n <= LONG_STATEMENT_WORDS else max(MIN_WINDOW_WORDS, WINDOW_WORDS + 25 - n)


def is_verbatim(statement: str, text: str) -> bool:
    """The statement is said word for word in ``text`` (spacing, case and a final full stop aside)."""
    return _squash(statement).rstrip(".") in _squash(text)


def decide(scored: Sequence[tuple[str, dict[str, float]]]) -> Verdict:
    """Support when a window's most likely label is support; else contradict when one's is; else neutral.
    The deciding window is the one most confident in that label."""
    labels: tuple[EntailmentLabel, ...] = ("support", "contradict")
    for label in labels:
        hits = [(w, p) for w, p in scored if max(p, key=lambda k: p[k]) == label]
        if hits:
            w, p = max(hits, key=lambda wp: wp[1][label])
            return Verdict(label, p["support"], p, w)
    w, p = max(scored, key=lambda wp: wp[1]["support"])
    return Verdict("neutral", p["support"], p, w)


def _native_precision(torch: Any) -> Precision:
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    return "bfloat16" if native else "float32"


@functools.lru_cache(maxsize=2)
def shared_model(precision: Precision = "auto") -> EntailmentModel:
    """The shipped model, loaded once per process."""
    return EntailmentModel(precision=precision)


def entails(statement: str, passages: Sequence[str], precision: Precision = "auto") -> Verdict:
    """Do ``passages`` (read together, window by window) entail ``statement``? The shipped model."""
    return shared_model(precision).judge_many([(statement, passages)])[0]


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


def grounded_by_entailment(
    statement: str,
    evidence: Iterable[str],
    *,
    drug_names: Iterable[str] = (),
    min_overlap: float = 0.6,
    precision: Precision = "auto",
) -> Grounding:
    """The guard's ``nli`` mode: the exact checks of ``grounding.check`` (every number with its unit, every
    drug named, negation / contraindication cues) must pass, and then the statement must be a verbatim quote
    of a cited text or entailed by them (the model's verdict). Word overlap is not required: a faithful
    paraphrase is kept; a contradiction or a statement the sources leave open is not. ``min_overlap`` is
    accepted for the same signature as ``check`` and unused; ``precision`` is the model's arithmetic."""
    texts = [t for t in evidence if t]
    exact = check(statement, texts, drug_names=drug_names, min_overlap=0.0)
    if exact.missing_numbers or exact.missing_drugs or exact.negation_mismatch or not texts:
        return exact
    if any(is_verbatim(statement, t) for t in texts):
        return Grounding(supported=True, overlap=exact.overlap, reason="verbatim quote")
    verdict = entails(statement, texts, precision)
    detail = ", ".join(f"{lab} {verdict.probs[lab]:.2f}" for lab in ENTAILMENT_LABELS)
    return Grounding(
        supported=verdict.supported,
        overlap=exact.overlap,
        reason=("entailed" if verdict.supported else f"not entailed ({verdict.label})") + f": {detail}",
    )
