"""Prompt templates are files in prompts/: a header (``version: N``, ``purpose: ...``), ``---``, the body.

Bodies use ``{name}`` placeholders (``str.format``); the answer records which versions produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


class PromptError(RuntimeError):
    pass


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    purpose: str
    body: str

    def render(self, **values: object) -> str:
        try:
            return self.body.format(**values)
        except KeyError as exc:
            raise PromptError(f"prompt {self.name!r} needs a value for {exc}") from exc

    def entries(self) -> dict[str, str]:
        """``key: value`` lines of the body (for message catalogues such as abstain.md)."""
        out = {}
        for line in self.body.splitlines():
            if ":" in line and not line.startswith((" ", "#")):
                key, value = line.split(":", 1)
                out[key.strip()] = value.strip()
        return out


@lru_cache(maxsize=64)
def load_prompt(directory: Path, name: str) -> Prompt:
    path = directory / f"{name}.md"
    if not path.exists():
        raise PromptError(f"prompt {name!r} not found at {path}")
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---\n")
    if not sep:
        raise PromptError(f"{path}: expected a header, a line '---', then the body")
    meta = {}
    for line in head.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            meta[k.strip()] = v.strip()
    try:
        version = int(meta["version"])
    except (KeyError, ValueError) as exc:
        raise PromptError(f"{path}: header needs 'version: <int>'") from exc
    return Prompt(name=name, version=version, purpose=meta.get("purpose", ""), body=body.strip("\n"))
