"""Builds ``eval/data/abstention.jsonl``: questions the shipped corpus cannot answer (abstention metric).

    python -m eval.abstention          # check every question's absent terms against corpus/, write the file
    python -m eval.abstention --check  # only check (exit 1 if a term is found in the corpus)

Two kinds, written by hand:
- ``out_of_scope_medical``: a real medical question about a drug, supplement or condition that no corpus
  record mentions. Each question lists its ``absent_terms`` (the drug/condition it is about); the builder
  reads every record of ``corpus/**/*.jsonl.gz`` (title, text, drug, brand, section; lower-cased) and
  refuses a term found anywhere in it, as a substring — so "kava" is refused if "kavalactone" is there.
- ``non_medical``: everyday questions (cooking, travel, sport…); their distinctive words are checked too.
- ``made_up_drug``: a single-drug question about a drug name invented for this project ("trelavoxin").
- ``new_drug``: a single-drug question about a real drug approved recently (2023-2025) that the shipped
  corpus does not hold (checked like every absent term).
- ``gibberish``: keyboard mashes and nonsense words, some dressed as a drug question.
Other words of a question (e.g. "blood sugar" in "Does berberine lower blood sugar?") may well be in the
corpus: an answer built on them answers a different question, and that is what the metric should catch.

Two answer metrics live here too (the suite runner calls them on the answers to this set):
``other_drug_sections`` (sections answering a single-drug question with another drug's text: the asked drug
is unknown here, or a statement neither mentions it nor cites its label) and ``naming_sections`` (sections
whose message names the missing term, as ``prompts/abstain.md``'s ``unknown_term`` does).
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.answer.focus import mentions_drug
from app.index.drugs import DrugLexicon, drug_keys
from app.schema import Answer, Reference, Section
from app.settings import ROOT
from eval.datasets import DATA
from eval.metrics import Rate

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


# Invented for this project; each name checked absent from the corpus.
MADE_UP_DRUGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("What is the maximum daily dose of trelavoxin?", ("trelavoxin",)),
    ("Is valdoprexin safe during pregnancy?", ("valdoprexin",)),
    ("What are the side effects of zorbitamide?", ("zorbitamide",)),
    ("Can I take cravimet with alcohol?", ("cravimet",)),
    ("How should morvantrine tablets be stored?", ("morvantrine",)),
    ("What is the usual adult dose of plexitrol?", ("plexitrol",)),
    ("Who should not take brenzavir?", ("brenzavir",)),
    ("What is fentrolimab used for?", ("fentrolimab",)),
    ("Is sandoxacet safe for children?", ("sandoxacet",)),
    ("How does lumirexadine work?", ("lumirexadine",)),
    ("What are the contraindications of tavorpamil?", ("tavorpamil",)),
    ("Is dravoxetine addictive?", ("dravoxetine",)),
    ("What is halvopride used for?", ("halvopride",)),
    ("What drugs interact with quorvaline?", ("quorvaline",)),
    ("How much kexolatrine can I take in a day?", ("kexolatrine",)),
)

# Approved by the FDA in 2023-2025, not in the shipped corpus.
NEW_DRUGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("What is the recommended dose of crovalimab?", ("crovalimab",)),
    ("What are the side effects of zolbetuximab?", ("zolbetuximab",)),
    ("Is revumenib safe during pregnancy?", ("revumenib",)),
    ("What is ensartinib used for?", ("ensartinib",)),
    ("How is landiolol given?", ("landiolol",)),
    ("What are the warnings for mirdametinib?", ("mirdametinib",)),
    ("How often is concizumab injected?", ("concizumab",)),
    ("What is cosibelimab approved for?", ("cosibelimab",)),
    ("Which patients should not receive zenocutuzumab?", ("zenocutuzumab",)),
    ("What is the dose of zavegepant nasal spray?", ("zavegepant",)),
    ("What are the risks of obecabtagene autoleucel?", ("obecabtagene",)),
)

GIBBERISH: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("asdkj qwpoe zzxv?", ("asdkj", "qwpoe", "zzxv")),
    ("Flibber the wompus in glarn?", ("flibber", "wompus", "glarn")),
    ("qwertyuiop asdfghjkl zxcvbnm", ("qwertyuiop", "asdfghjkl", "zxcvbnm")),
    ("What is the dosage of blorft snezzle pragnix?", ("blorft", "snezzle", "pragnix")),
)

KINDS = (
    ("out_of_scope_medical", MEDICAL),
    ("non_medical", NON_MEDICAL),
    ("made_up_drug", MADE_UP_DRUGS),
    ("new_drug", NEW_DRUGS),
    ("gibberish", GIBBERISH),
)
SINGLE_DRUG_KINDS = frozenset({"made_up_drug", "new_drug"})


def rows() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for kind, items in KINDS:
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


# -- answer metrics ---------------------------------------------------------------------------------------


def answers(section: Section) -> bool:
    """The section answers: it does not abstain and states something that is not mere context."""
    return not section.abstained and any(not st.context for st in section.statements)


def _statement_about(text: str, cited: Sequence[Reference], drug: str, lexicon: DrugLexicon) -> bool:
    """The statement names the drug, or cites that drug's label or a quote naming it."""
    if mentions_drug(text, drug, lexicon):
        return True
    names = lexicon.synonyms(drug)
    for ref in cited:
        if ref.source_type == "fda_label" and (drug_keys(ref.drug) | drug_keys(ref.brand)) & names:
            return True
        if mentions_drug(ref.quote.text, drug, lexicon):
            return True
    return False


def other_drug_section(
    section: Section, answer: Answer, item: Mapping[str, Any], lexicon: DrugLexicon
) -> bool:
    """A section that answers a single-drug question with another drug's text: the asked drug is unknown
    here (``made_up_drug``, ``new_drug``: nothing here can be about it), or, for a known drug
    (``item['drug']``, a lexicon key), one of its statements neither names it nor cites its label."""
    if not answers(section):
        return False
    if item.get("kind") in SINGLE_DRUG_KINDS:
        return True
    drug = item.get("drug")
    if not drug:
        return False
    refs = {r.number: r for r in answer.references}
    return any(
        not _statement_about(st.text, [refs[n] for n in st.citations if n in refs], str(drug), lexicon)
        for st in section.statements
        if not st.context
    )


def other_drug_sections(pairs: Iterable[tuple[Answer, Mapping[str, Any]]], lexicon: DrugLexicon) -> Rate:
    """Share of the sections of single-drug questions that answer with another drug's text (want 0)."""
    hits = total = 0
    for answer, item in pairs:
        if item.get("kind") not in SINGLE_DRUG_KINDS and not item.get("drug"):
            continue
        for sec in answer.sections:
            total += 1
            hits += other_drug_section(sec, answer, item, lexicon)
    return Rate(hits, total)


def naming_sections(pairs: Iterable[tuple[Answer, Mapping[str, Any]]]) -> Rate:
    """Share of the abstaining sections of drug questions (``made_up_drug``, ``new_drug``) whose message
    names the missing term ("No FDA label, guideline or abstract here mentions trelavoxin…") (want 1)."""
    hits = total = 0
    for answer, item in pairs:
        if item.get("kind") not in SINGLE_DRUG_KINDS:
            continue
        terms = [str(t).lower() for t in item.get("absent_terms", [])]
        for sec in answer.sections:
            total += 1
            hits += any(t in (sec.message or "").lower() for t in terms)
    return Rate(hits, total)


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
