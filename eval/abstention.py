"""Builds ``eval/data/abstention.jsonl``: questions the shipped corpus cannot answer (abstention metric).

    python -m eval.abstention          # check every question's absent terms against corpus/, write the file
    python -m eval.abstention --check  # only check (exit 1 if a term is found in the corpus)

Two kinds, written by hand:
- ``out_of_scope_medical``: a real medical question about a drug, supplement or condition that no corpus
  record mentions. Each question lists its ``absent_terms`` (the drug/condition it is about); the builder
  reads every record of ``corpus/**/*.jsonl.gz`` (title, text, drug, brand, section; lower-cased) and
  refuses a term found anywhere in it, as a substring — so "kava" is refused if "kavalactone" is there.
- ``non_medical``: everyday questions (cooking, travel, sport…); their distinctive words are checked too.
Other words of a question (e.g. "blood sugar" in "Does berberine lower blood sugar?") may well be in the
corpus: an answer built on them answers a different question, and that is what the metric should catch.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from app.settings import ROOT
from eval.datasets import DATA

OUT = DATA / "abstention.jsonl"

MEDICAL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("What is the recommended dose of xanomeline?", ("xanomeline",)),
    ("What are the side effects of ritlecitinib?", ("ritlecitinib",)),
    ("Is iptacopan safe during pregnancy?", ("iptacopan",)),
    ("How does zilucoplan work?", ("zilucoplan",)),
    ("How often is vutrisiran given?", ("vutrisiran",)),
    ("What is eplontersen used for?", ("eplontersen",)),
    ("Is kratom addictive?", ("kratom",)),
    ("What are the risks of drinking ayahuasca?", ("ayahuasca",)),
    ("What does the research say about psilocybin therapy?", ("psilocybin",)),
    ("Is ibogaine an effective treatment for addiction?", ("ibogaine",)),
    ("What causes kuru?", ("kuru",)),
    ("What is Morgellons disease?", ("morgellons",)),
    ("How is Naegleria fowleri infection treated?", ("naegleria", "fowleri")),
    ("What are the symptoms of mpox?", ("mpox",)),
    ("What is Alice in Wonderland syndrome?", ("alice in wonderland",)),
    ("What is exploding head syndrome?", ("exploding head",)),
    ("What is Capgras delusion?", ("capgras",)),
    ("How is scurvy treated?", ("scurvy",)),
    ("Does berberine lower blood sugar?", ("berberine",)),
    ("What is the dose of elderberry syrup for a cold?", ("elderberry",)),
    ("Is colloidal silver safe to drink?", ("colloidal silver",)),
    ("Can fenbendazole treat cancer?", ("fenbendazole",)),
    ("What is mebendazole used for?", ("mebendazole",)),
    ("What are the health benefits of moringa?", ("moringa",)),
    ("Does nattokinase dissolve blood clots?", ("nattokinase",)),
    ("Is phenibut addictive?", ("phenibut",)),
    ("What is tianeptine?", ("tianeptine",)),
    ("Does rhodiola help with fatigue?", ("rhodiola",)),
    ("Are kava supplements bad for the liver?", ("kava",)),
    ("How can altitude sickness be prevented?", ("altitude sickness",)),
    ("How is decompression sickness treated?", ("decompression sickness",)),
    ("What is stiff person syndrome?", ("stiff person",)),
    ("What is cyclic vomiting syndrome?", ("cyclic vomiting",)),
    ("How do you treat a stonefish sting?", ("stonefish",)),
    ("What is valoctocogene roxaparvovec?", ("valoctocogene", "roxaparvovec")),
    ("What is exagamglogene autotemcel used for?", ("exagamglogene", "autotemcel")),
    ("What are the side effects of etranacogene dezaparvovec?", ("etranacogene", "dezaparvovec")),
    ("What is harlequin ichthyosis?", ("harlequin",)),
)

NON_MEDICAL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("How do I bake sourdough bread?", ("sourdough",)),
    ("What is the capital of Mongolia?", ("mongolia", "ulaanbaatar")),
    ("How do I fix a flat tire on my mountain bike?", ("mountain bike",)),
    ("Who won the 1998 FIFA World Cup?", ("fifa",)),
    ("How do I update the firmware on my smart TV?", ("smart tv", "firmware")),
    ("What is the best way to learn to play the guitar?", ("guitar",)),
    ("How many moons does Neptune have?", ("neptune",)),
    ("How do I make cold brew coffee?", ("cold brew",)),
    ("What is the difference between a stock and a bond?", ("stock market", "bonds and stocks")),
    ("How do I repot a houseplant?", ("houseplant",)),
    ("How do you say good morning in French?", ("good morning", "bonjour")),
    ("How do I unclog a kitchen sink?", ("unclog", "kitchen sink")),
    ("What year did the Berlin Wall fall?", ("berlin wall",)),
    ("How do I write a cover letter for a job application?", ("cover letter",)),
    ("How do I teach my puppy to sit?", ("puppy",)),
    ("What is the plot of Moby-Dick?", ("moby",)),
    ("How do I calculate compound interest on a savings account?", ("compound interest", "savings account")),
    ("Who painted the Mona Lisa?", ("mona lisa",)),
    ("How do I fold a paper airplane?", ("paper airplane",)),
    ("What are the rules for castling in chess?", ("castling",)),
)


def rows() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for kind, items in (("out_of_scope_medical", MEDICAL), ("non_medical", NON_MEDICAL)):
        for question, terms in items:
            out.append(
                {
                    "qid": f"abstain:{len(out) + 1:03d}",
                    "question": question,
                    "kind": kind,
                    "absent_terms": list(terms),
                }
            )
    return out


def corpus_texts(corpus_dir: Path) -> Iterator[str]:
    for path in sorted(corpus_dir.rglob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    yield " ".join(
                        str(r.get(k) or "") for k in ("title", "text", "drug", "brand", "section")
                    ).lower()


def found_terms(items: Sequence[dict[str, object]], corpus_dir: Path) -> dict[str, int]:
    """Each absent term → how many corpus records contain it (all should be 0)."""
    terms = {str(t).lower() for r in items for t in r["absent_terms"]}  # type: ignore[attr-defined]
    counts = dict.fromkeys(terms, 0)
    for text in corpus_texts(corpus_dir):
        for t in terms:
            if t in text:
                counts[t] += 1
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.abstention")
    p.add_argument("--check", action="store_true", help="only check the corpus, do not write")
    p.add_argument("--corpus", default=str(ROOT / "corpus"))
    args = p.parse_args(argv)
    items = rows()
    counts = found_terms(items, Path(args.corpus))
    present = {t: n for t, n in counts.items() if n}
    for t, n in sorted(present.items()):
        print(f"in the corpus: {t!r} ({n} records)")
    if present:
        return 1
    print(f"{len(items)} questions; none of their {len(counts)} absent terms is in {args.corpus}")
    if not args.check:
        OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), encoding="utf-8")
        print(f"written: {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
