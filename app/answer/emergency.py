"""Emergency detection: a question that describes an acute emergency now gets a banner before anything else.

    notice = detect_emergency(question)   # EmergencyNotice(category="cardiac", message="... Call 911 ...")

The patterns and banner messages live in ``app/answer/data/emergency.toml`` (see its header for how a
category fires); ``python -m app.cli eval emergency`` scores them on eval/data/emergency.jsonl. Nothing here
logs the question.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.schema import EmergencyNotice

PATTERNS_FILE = Path(__file__).resolve().parent / "data" / "emergency.toml"


@dataclass(frozen=True)
class Category:
    name: str
    message: str
    always: tuple[re.Pattern[str], ...]
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class EmergencyRules:
    version: int
    person: re.Pattern[str]
    exclude: tuple[re.Pattern[str], ...]
    categories: tuple[Category, ...]

    def detect(self, question: str) -> EmergencyNotice | None:
        text = normalise(question)
        for cat in self.categories:
            if any(p.search(text) for p in cat.always):
                return EmergencyNotice(category=cat.name, message=cat.message)
        if not self.person.search(text) or any(p.search(text) for p in self.exclude):
            return None
        for cat in self.categories:
            if any(p.search(text) for p in cat.patterns):
                return EmergencyNotice(category=cat.name, message=cat.message)
        return None


def normalise(text: str) -> str:
    """Lower-cased, apostrophes dropped ("can't" → "cant"), whitespace collapsed."""
    text = text.lower().replace("’", "'").replace("'", "")
    return re.sub(r"\s+", " ", text).strip()


def _compile(items: list[str], where: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for raw in items:
        try:
            out.append(re.compile(raw))
        except re.error as exc:
            raise ValueError(f"{PATTERNS_FILE}: bad pattern in {where}: {raw!r} ({exc})") from exc
    return tuple(out)


def load_rules(path: Path = PATTERNS_FILE) -> EmergencyRules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    cats = tuple(
        Category(
            name=c["name"],
            message=c["message"],
            always=_compile(c.get("always", []), c["name"]),
            patterns=_compile(c.get("patterns", []), c["name"]),
        )
        for c in data["category"]
    )
    return EmergencyRules(
        version=int(data["version"]),
        person=re.compile(data["person"]),
        exclude=_compile(data.get("exclude", []), "exclude"),
        categories=cats,
    )


@lru_cache(maxsize=1)
def default_rules() -> EmergencyRules:
    return load_rules()


def detect_emergency(question: str) -> EmergencyNotice | None:
    """The emergency banner for ``question``, or None when it does not describe an emergency happening now."""
    return default_rules().detect(question)
