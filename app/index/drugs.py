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
}  # fmt: skip

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
    parts = [p for p in re.split(r",|;|/|\band\b|\bwith\b|\+", text) if p.strip()]
    for chunk in [text, *parts] if len(parts) > 1 else [text]:
        words = tokens(chunk)
        core = [w for w in words if w not in _SALTS and not w.isdigit()]
        for form in (core, words):
            if not form:
                continue
            key = " ".join(form)
            keys.add(key)
            m = _BIOSIMILAR.match(key)
            if m:
                keys.add(m.group(1))
            break
    return {k for k in keys if len(k) >= 3}


@dataclass
class DrugLexicon:
    """Normalised drug key → the index rows of the label passages that carry it."""

    records: dict[str, set[int]] = field(default_factory=dict)

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
            for key in drug_keys(brand):
                if " " not in key and common[key] >= common_threshold:
                    continue  # an ordinary word used as a brand name
                lex.records.setdefault(key, set()).add(row)
        return lex

    def detect(self, text: str) -> list[str]:
        """Drug keys named in ``text``, longest match first, no overlaps."""
        words = tokens(text)
        found: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(MAX_NGRAM, len(words) - i), 0, -1):
                cand = " ".join(words[i : i + n])
                key = cand if cand in self.records else None
                if key is None and n == 1:
                    # "low-dose naltrexone": also try the parts of a hyphenated word.
                    for part in cand.split("-"):
                        if part in self.records:
                            key = part
                if key is not None:
                    if key not in found:
                        found.append(key)
                    i += n
                    break
            else:
                i += 1
        return found

    def unknown_drugs(self, text: str) -> list[str]:
        """Words that look like drug names (USAN stems) but have no label here."""
        out = []
        for w in tokens(text):
            for part in w.split("-"):
                if len(part) >= 6 and part.endswith(_DRUG_STEMS) and part not in self.records:
                    out.append(part)
        return out

    def rows(self, keys: Iterable[str]) -> set[int]:
        out: set[int] = set()
        for k in keys:
            out |= self.records.get(k, set())
        return out

    def to_json(self) -> dict[str, list[int]]:
        return {k: sorted(v) for k, v in sorted(self.records.items())}

    @classmethod
    def from_json(cls, data: dict[str, list[int]]) -> DrugLexicon:
        return cls({k: set(v) for k, v in data.items()})
