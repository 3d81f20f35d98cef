"""Focus-entity detection measured on MedicationQA's real consumer questions (their ``focus`` field).

    python -m app.cli eval focus [--split validation|train|all]

A question counts as found when a detected drug names the gold focus under any of its names (generic ↔
brand, see ``DrugLexicon.synonyms``) or is spelt inside it. Printed beside the detector: two baselines —
plain n-gram lookup in the lexicon (what ``DrugLexicon.detect`` did before function-word filtering,
combination splitting and spelling correction) and "the rarest content word is the drug". The shipped
corpus holds one DailyMed excerpt per MedicationQA question whose drug field is the question's focus, so
the lexicon has seen every gold name; ``--labels-only`` drops the keys only such one-passage records carry
(a harder, fairer measure of the detector itself; the product never does this).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.answer.focus import find_focus
from app.index.drugs import FUNCTION_WORDS, MAX_NGRAM, DrugLexicon, drug_keys, english_zipf, tokens
from app.index.lexical import analyze
from app.index.search_index import SearchIndex
from eval.datasets import DATA, read_jsonl, split_of_question

MEDICATIONQA = DATA / "retrieval" / "medicationqa.jsonl"

Detector = Callable[[str], list[str]]


@dataclass
class Score:
    questions: int = 0
    found: int = 0
    predicted: int = 0
    correct_predictions: int = 0
    function_word_drugs: int = 0
    with_unknown: int = 0

    def row(self, name: str) -> str:
        recall = self.found / self.questions if self.questions else 0.0
        precision = self.correct_predictions / self.predicted if self.predicted else 0.0
        return (
            f"| {name} | {self.questions} | {recall:.3f} | {precision:.3f} | {self.function_word_drugs} "
            f"| {self.with_unknown} |"
        )


def gold_names(focus: str, lexicon: DrugLexicon) -> set[str]:
    """Every key the gold focus goes by: its own keys and their synonyms."""
    out: set[str] = set()
    for key in drug_keys(focus):
        out.add(key)
        if key in lexicon.records:
            out |= lexicon.synonyms(key)
    return out


def matches(pred: str, gold: set[str], focus: str) -> bool:
    if pred in gold:
        return True
    gold_tokens = set(tokens(focus))
    return all(w in gold_tokens for w in pred.split())


def ngram_baseline(lexicon: DrugLexicon) -> Detector:
    def detect(text: str) -> list[str]:
        words, found, i = tokens(text), [], 0
        while i < len(words):
            for n in range(min(MAX_NGRAM, len(words) - i), 0, -1):
                cand = " ".join(words[i : i + n])
                if cand in lexicon.records:
                    found.append(cand)
                    i += n
                    break
            else:
                i += 1
        return found

    return detect


def rarest_word_baseline(doc_freq: Callable[[str], int]) -> Detector:
    def detect(text: str) -> list[str]:
        words = [w for w in tokens(text) if w.isalpha() and len(w) >= 4 and analyze(w)]
        if not words:
            return []
        return [min(words, key=lambda w: min(doc_freq(s) for s in analyze(w)))]

    return detect


def labels_only(lexicon: DrugLexicon) -> DrugLexicon:
    """The lexicon without keys that only one-passage records carry (see the module docstring)."""
    return DrugLexicon({k: rows for k, rows in lexicon.records.items() if len(rows) > 1})


def score(
    rows: list[dict[str, Any]], detect: Detector, lexicon: DrugLexicon, unknown: Detector | None
) -> Score:
    s = Score()
    for r in rows:
        gold = gold_names(r["focus"], lexicon)
        preds = detect(r["question"])
        s.questions += 1
        s.predicted += len(preds)
        ok = [p for p in preds if matches(p, gold, r["focus"])]
        s.correct_predictions += len(ok)
        s.found += int(bool(ok))
        s.function_word_drugs += sum(
            1 for p in preds if p in FUNCTION_WORDS or (" " not in p and english_zipf(p) >= 4.5)
        )
        if unknown is not None and unknown(r["question"]):
            s.with_unknown += 1
    return s


def evaluate(index: SearchIndex, split: str = "validation", *, only_labels: bool = False) -> str:
    rows = [r for r in read_jsonl(MEDICATIONQA) if split == "all" or split_of_question(r["qid"], r) == split]
    lexicon = labels_only(index.lexicon) if only_labels else index.lexicon
    df = index.lexical.doc_freq

    def focus_drugs(q: str) -> list[str]:
        return find_focus(q, lexicon, df).drugs

    def focus_unknown(q: str) -> list[str]:
        return find_focus(q, lexicon, df).unknown

    lines = [
        f"MedicationQA focus detection, {split} split, lexicon: {'labels only' if only_labels else 'full'}",
        "",
        "| detector | questions | recall (gold drug found) | precision (detected drugs that are gold) "
        "| function/everyday words as drugs | questions with an 'unknown' term |",
        "|---|---|---|---|---|---|",
        score(rows, focus_drugs, lexicon, focus_unknown).row("find_focus"),
        score(rows, ngram_baseline(lexicon), lexicon, None).row("baseline: n-gram lexicon lookup"),
        score(rows, rarest_word_baseline(df), lexicon, None).row("baseline: rarest content word"),
    ]
    return "\n".join(lines)
