"""The shipped corpus format: (gzip) JSON Lines, one ``CorpusRecord`` per line."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from app.corpus.errors import CorpusError
from app.schema import CorpusRecord


def open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open("r", encoding="utf-8")


def describe_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "record"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def iter_jsonl(
    path: Path, *, skip_bad: bool = False, errors: list[CorpusError] | None = None
) -> Iterator[CorpusRecord]:
    """Yield validated records; a bad line raises ``CorpusError`` naming file and line (or is skipped)."""
    try:
        fh = open_text(path)
    except OSError as exc:
        raise CorpusError(path, None, f"cannot open: {exc}") from exc
    with fh:
        lineno = 0
        while True:
            lineno += 1
            try:
                line = fh.readline()
            except (UnicodeDecodeError, OSError, EOFError, gzip.BadGzipFile) as exc:
                raise CorpusError(path, lineno, f"unreadable ({type(exc).__name__}: {exc})") from exc
            if not line:
                return
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise CorpusError(path, lineno, f"expected a JSON object, got {type(obj).__name__}")
                yield CorpusRecord.model_validate(obj)
            except json.JSONDecodeError as exc:
                err = CorpusError(path, lineno, f"invalid JSON ({exc.msg} at column {exc.colno})")
            except ValidationError as exc:
                err = CorpusError(path, lineno, f"invalid record: {describe_validation(exc)}")
            except CorpusError as exc:
                err = exc
            else:
                continue
            if not skip_bad:
                raise err
            if errors is not None:
                errors.append(err)


def corpus_files(corpus_dir: Path) -> list[Path]:
    files = sorted(
        p for p in corpus_dir.rglob("*") if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz"))
    )
    return files


def load_corpus(corpus_dir: Path) -> list[CorpusRecord]:
    """All records under ``corpus_dir``, in file then line order; ids must be unique."""
    files = corpus_files(corpus_dir)
    if not files:
        raise CorpusError(corpus_dir, None, "no *.jsonl or *.jsonl.gz files found")
    seen: dict[str, Path] = {}
    out: list[CorpusRecord] = []
    for path in files:
        for rec in iter_jsonl(path):
            if rec.id in seen:
                raise CorpusError(path, None, f"duplicate id {rec.id!r} (also in {seen[rec.id]})")
            seen[rec.id] = path
            out.append(rec)
    return out


def corpus_checksum(corpus_dir: Path) -> str:
    """sha256 over the relative names and bytes of every corpus file."""
    h = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        h.update(str(path.relative_to(corpus_dir)).encode())
        h.update(b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def write_jsonl_gz(path: Path, records: Iterable[CorpusRecord]) -> int:
    """Write records atomically (temp file + rename). Returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec.model_dump(), sort_keys=True, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n
