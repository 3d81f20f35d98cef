"""Drug names from the label corpus itself, and their detection in questions.

Keys are normalised names: lower-case, salts and dosage-form words removed, biosimilar suffixes dropped
("NALTREXONE HYDROCHLORIDE" → "naltrexone", "BEVACIZUMAB-AWWB" → "bevacizumab"); combination products also
answer to each ingredient. Brand names that are ordinary words ("Body", "Complete") are ignored when they
are common in the non-label text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from wordfreq import zipf_frequency

# How drug keys are made: an index built with another version is rebuilt (its lexicon would differ).
# 2: route and form words ("inhalation", "nasal", "patch") are not part of a key.
DRUG_KEYS_VERSION = 2

_SALTS = {
    "hydrochloride", "hcl", "dihydrochloride", "sodium", "potassium", "calcium", "magnesium", "sulfate",
    "sulphate", "phosphate", "acetate", "maleate", "mesylate", "dimesylate", "besylate", "citrate",
    "tartrate",
    "bitartrate", "succinate", "fumarate", "hemifumarate", "bromide", "hydrobromide", "chloride", "hyclate",
    "monohydrate", "dihydrate", "trihydrate", "hemihydrate", "anhydrous", "nitrate", "lactate", "gluconate",
    "tosylate", "malate", "valerate", "propionate", "dipropionate", "acetonide", "trometamol", "tromethamine",
    "olamine", "disodium", "medoxomil", "axetil", "pivoxil", "estolate", "stearate", "palmitate",
    "decanoate", "enanthate", "cypionate", "extended-release", "delayed-release", "er", "xr", "sr", "xl",
    "tablets", "tablet", "capsules", "capsule", "injection", "injectable", "oral", "solution", "suspension",
    "cream", "ointment", "gel", "usp", "for", "topical", "ophthalmic", "kit", "pen", "film", "coated",
    "mg", "mcg", "ml", "g", "iu", "units", "unit",
}  # fmt: skip
# Routes and forms a product name may end with ("albuterol sulfate inhalation solution", "FLUTICASONE
# PROPIONATE NASAL", "estradiol patch"): not part of the drug's key, so that the product answers to its
# drug's name; which form a question asks about is told apart later (app/answer/question.py FORMS).
_ROUTES = {
    "inhalation", "inhalant", "inhaler", "aerosol", "nebulizer", "nasal", "spray", "drops", "drop", "otic",
    "vaginal", "rectal", "transdermal", "patch", "lotion", "powder", "syrup", "elixir", "liquid", "chewable",
    "suppository", "suppositories", "jelly", "foam", "granules", "concentrate", "emulsion", "lozenge",
    "lozenges", "softgel", "softgels", "caplet", "caplets", "gelcaps",
}  # fmt: skip
_NOT_NAME = frozenset(_SALTS | _ROUTES)

# Words that join or qualify names; never a drug on their own, never the first or last word of a key
# ("CALCIUM AND ALENDRONATE" split on "and" must not leave "and"; "Concerta and Lexapro" is two drugs).
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "or",
        "with",
        "without",
        "plus",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "by",
        "as",
        "is",
        "are",
        "was",
        "be",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "vs",
        "versus",
        "per",
        "from",
        "into",
        "than",
        "then",
        "also",
        "not",
        "no",
        "nor",
        "but",
        "if",
        "my",
        "your",
        "our",
        "his",
        "her",
        "their",
        "i",
        "you",
        "we",
        "he",
        "she",
        "they",
        "me",
        "him",
        "them",
        "what",
        "which",
        "who",
        "how",
        "when",
        "where",
        "why",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "may",
        "might",
        "take",
        "taking",
        "same",
        "time",
        "day",
        "daily",
        "dose",
        "doses",
        "probably",
    ]
)
CONJUNCTIONS = frozenset({"and", "with", "plus", "or"})
# Zipf frequency (wordfreq, log10 per billion words) at which a one-word key is an everyday English word:
# "water" (5.5) or "alcohol" (4.6) is never detected as a drug in a question; a brand as common as "flu"
# (4.0) is not a key.
EVERYDAY_ZIPF = 4.5
COMMON_BRAND_ZIPF = 3.9


@lru_cache(maxsize=65536)
def english_zipf(word: str) -> float:
    """How common ``word`` is in everyday English (0 for unknown words, about 7 for "and")."""
    return float(zipf_frequency(word, "en"))


# USAN stems: a question word ending like this is very likely a drug name, even one without a label here.
_DRUG_STEMS = (
    "mab", "tinib", "ciclib", "pril", "sartan", "olol", "statin", "vir", "cillin", "mycin", "floxacin",
    "conazole", "prazole", "tidine", "dipine", "gliptin", "gliflozin", "glutide", "parin", "xaban", "gatran",
    "lukast", "triptan", "setron", "afil", "oxetine", "azepam", "azolam", "barbital", "caine", "profen",
    "coxib", "dronate", "semide", "thiazide", "cycline", "platin", "rubicin", "taxel", "navir", "previr",
    "buvir", "tegravir", "zumab", "ximab", "kinra", "trexone", "morphone", "codone", "imod", "lisib",
)  # fmt: skip

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_BIOSIMILAR = re.compile(r"^([a-z]{4,})-[a-z]{4}$")
MAX_NGRAM = 4


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def drug_keys(name: str | None) -> set[str]:
    """Normalised keys under which a label's drug (or brand) name can be found."""
    if not name:
        return set()
    text = name.lower().replace("®", " ").replace("™", " ")
    keys: set[str] = set()
    parts = name_parts(text)
    for chunk in [text, *parts] if len(parts) > 1 else [text]:
        words = _trim(tokens(chunk))
        core = _trim([w for w in words if w not in _NOT_NAME and not w.isdigit()])
        for form in (core, words):
            if not form or not any(
                len(w) >= 3 and w.replace("-", "").isalpha() and w not in FUNCTION_WORDS for w in form
            ):
                continue
            key = " ".join(form)
            keys.add(key)
            m = _BIOSIMILAR.match(key)
            if m:
                keys.add(m.group(1))
            break
    return {k for k in keys if len(k) >= 3}


_NAME_PARTS = re.compile(r",|;|/|\band\b|\bwith\b|\+")
# Words of a product name that never name an ingredient: salts, forms, release ("Carbidopa and Levodopa,
# extended release" has two ingredients, not three).
FORM_WORDS = _NOT_NAME | {"extended", "release", "delayed", "modified", "controlled", "sustained",
                                  "immediate", "orally", "disintegrating", "chewable"}  # fmt: skip


def name_parts(name: str) -> list[str]:
    """The parts of a product name that each name one ingredient ("acetaminophen + codeine", "Oxycodone and
    Acetaminophen" → two parts; "Metformin Hydrochloride" → one)."""
    return [p for p in _NAME_PARTS.split(name.lower()) if p.strip()]


def _full_key(name: str | None) -> str | None:
    """The key of the whole name (salts and forms dropped), not of its parts."""
    if not name:
        return None
    words = _trim([w for w in tokens(name.replace("®", " ")) if w not in _NOT_NAME and not w.isdigit()])
    key = " ".join(words)
    return key if len(key) >= 3 else None


def _trim(words: list[str]) -> list[str]:
    """Drop function words at either end ("and alendronate" → "alendronate")."""
    start, end = 0, len(words)
    while start < end and words[start] in FUNCTION_WORDS:
        start += 1
    while end > start and words[end - 1] in FUNCTION_WORDS:
        end -= 1
    return words[start:end]


@dataclass
class DrugLexicon:
    """Normalised drug key → the index rows of the label passages that carry it."""

    records: dict[str, set[int]] = field(default_factory=dict)
    # generic ↔ brand: the full drug-field key and the full brand-field key of the same label, both ways
    names: dict[str, set[str]] = field(default_factory=dict)
    _synonyms: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        labels: Iterable[tuple[int, str | None, str | None]],
        common_words: Counter[str] | None = None,
        *,
        common_threshold: int = 20,
    ) -> DrugLexicon:
        """From (row, drug, brand) triples; ``common_words`` counts words in non-label passages."""
        lex = cls()
        common = common_words or Counter()
        for row, drug, brand in labels:
            for key in drug_keys(drug):
                lex.records.setdefault(key, set()).add(row)
            brands = []
            for key in drug_keys(brand):
                if " " not in key and (
                    common[key] >= common_threshold or english_zipf(key) >= COMMON_BRAND_ZIPF
                ):
                    continue  # an ordinary word used as a brand name
                lex.records.setdefault(key, set()).add(row)
                brands.append(key)
            generic = _full_key(drug)
            for b in brands:
                if generic and b != generic and b == _full_key(brand):
                    lex.names.setdefault(generic, set()).add(b)
                    lex.names.setdefault(b, set()).add(generic)
        return lex

    def is_key(self, key: str) -> bool:
        """A lexicon key that may name a drug in a question (never a function word, whatever the index)."""
        if key not in self.records:
            return False
        words = key.split()
        if all(w in FUNCTION_WORDS or w.isdigit() for w in words):
            return False
        return len(words) > 1 or english_zipf(key) < EVERYDAY_ZIPF

    def detect(self, text: str) -> list[str]:
        """Drug keys named in ``text``, longest match first, no overlaps.

        "concerta and lexapro" is two drugs even when some record's drug field reads "Concerta and Lexapro":
        a key joined by a conjunction is kept whole only when it is a product of its own, i.e. its passages
        are not all passages of its parts (see ``is_combination``).
        """
        words = tokens(text)
        found: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(MAX_NGRAM, len(words) - i), 0, -1):
                cand = " ".join(words[i : i + n])
                key = cand if self.is_key(cand) else None
                if key is None and n == 1:
                    # "low-dose naltrexone": also try the parts of a hyphenated word.
                    for part in cand.split("-"):
                        if self.is_key(part):
                            key = part
                if key is not None and n > 1 and not self.is_combination(key):
                    continue  # "concerta and lexapro": try the shorter matches, one drug at a time
                if key is not None:
                    if key not in found:
                        found.append(key)
                    i += n
                    break
            else:
                i += 1
        return found

    def is_combination(self, key: str) -> bool:
        """True unless ``key`` is "A and B" (or with/plus) where A and B are drugs of their own and the key
        has at most one passage: a product label has several sections, a phrase that once served as a
        record's drug field ("Concerta and Lexapro") has one."""
        words = key.split()
        cuts = [j for j, w in enumerate(words) if w in CONJUNCTIONS]
        if not cuts:
            return True
        parts, start = [], 0
        for j in [*cuts, len(words)]:
            parts.append(" ".join(words[start:j]))
            start = j + 1
        if not all(p and self.is_key(p) for p in parts):
            return True
        return len(self.records.get(key, ())) > 1

    def unknown_drugs(self, text: str) -> list[str]:
        """Words that look like drug names (USAN stems) but have no label here."""
        out = []
        for w in tokens(text):
            for part in w.split("-"):
                if len(part) >= 6 and part.endswith(_DRUG_STEMS) and part not in self.records:
                    out.append(part)
        return out

    def synonyms(self, key: str) -> frozenset[str]:
        """``key`` and the other names of the same product: the brand ↔ generic of a label ("coumadin" ↔
        "warfarin"), and longer forms of the same name ("metformin extended" ↔ "metformin"). An ingredient of
        a combination is not a synonym of the other ingredient."""
        if key not in self._synonyms:
            out = {key}
            for name in [key, *self.names.get(key, ())]:
                out.add(name)
                out |= self.names.get(name, set())
            head = key.split(maxsplit=1)[0]
            for other in self.records:
                longer = other.startswith(f"{key} ") and not set(other.split()) & CONJUNCTIONS
                if longer or (key.startswith(f"{other} ") and other == head):
                    out.add(other)
            self._synonyms[key] = frozenset(k for k in out if self.is_key(k))
        return self._synonyms[key]

    def rows(self, keys: Iterable[str]) -> set[int]:
        out: set[int] = set()
        for k in keys:
            out |= self.records.get(k, set())
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "records": {k: sorted(v) for k, v in sorted(self.records.items())},
            "names": {k: sorted(v) for k, v in sorted(self.names.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DrugLexicon:
        """From ``to_json``'s shape, or the older flat ``{key: rows}`` one (no brand ↔ generic names)."""
        if isinstance(data.get("records"), dict):
            return cls(
                {k: set(v) for k, v in data["records"].items()},
                {k: set(v) for k, v in data.get("names", {}).items()},
            )
        return cls({k: set(v) for k, v in data.items()})
