"""``curbside ingest``: normalise a user's sources into the corpus schema, all or nothing.

Every input is read and validated before anything is written. Without ``skip_bad`` the first problem
(a malformed file or record, a duplicate id, an id already in the corpus) raises ``CorpusError`` naming
the file and line, and no output file is created. With ``skip_bad`` the bad records are left out and
listed in the report, and the good ones are written. The output is one gzip JSON Lines file, written
atomically (temp file + rename), by default ``<corpus_dir>/ingested/<name of the first input>.jsonl.gz``;
re-running the same ingest replaces it. ``curbside index build`` then indexes it, embedding only the new
passages (the embedding cache is keyed by passage text).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.corpus.errors import CorpusError
from app.corpus.jsonl import corpus_files, iter_jsonl, open_text, write_jsonl_gz
from app.corpus.markdown import load_markdown
from app.corpus.openfda import load_openfda
from app.corpus.pmc import load_pmc
from app.corpus.pubmed import load_pubmed
from app.corpus.sources import LoadContext, Loader, Located
from app.corpus.spl import load_spl
from app.schema import CorpusRecord, SourceType


def load_jsonl(path: Path, ctx: LoadContext | None = None) -> Iterator[Located]:
    """Records already in the corpus schema (``*.jsonl`` / ``*.jsonl.gz``), read by ``iter_jsonl``.

    ``iter_jsonl`` yields records in line order and skips only blank lines and (under ``skip_bad``) the
    lines it reports, so the line of each record is recovered by counting alongside it.
    """
    ctx = ctx or LoadContext()
    errors: list[CorpusError] = []
    lines = _nonblank_line_numbers(path)
    bad: set[int] = set()
    taken = 0
    for read in iter_jsonl(path, skip_bad=ctx.skip_bad, errors=errors):
        while errors:
            err = errors.pop(0)
            ctx.error(err)
            if err.line is not None:
                bad.add(err.line)
        while taken < len(lines) and lines[taken] in bad:
            taken += 1
        line = lines[taken] if taken < len(lines) else None
        taken += 1
        rec = read
        if ctx.source_type and read.source_type != ctx.source_type:
            rec = read.model_copy(update={"source_type": ctx.source_type})
        yield Located(rec, str(path), line)
    for err in errors:
        ctx.error(err)


def _nonblank_line_numbers(path: Path) -> list[int]:
    try:
        with open_text(path) as fh:
            return [i for i, line in enumerate(fh, 1) if line.strip()]
    except (OSError, UnicodeDecodeError, EOFError):
        return []  # iter_jsonl reports the problem with its own words


LOADERS: dict[str, Loader] = {
    "jsonl": load_jsonl,
    "openfda": load_openfda,
    "spl": load_spl,
    "pubmed": load_pubmed,
    "pmc": load_pmc,
    "markdown": load_markdown,
}

# What a directory argument expands to, per kind (matched case-insensitively on the file name).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "jsonl": (".jsonl", ".jsonl.gz"),
    "openfda": (".json", ".json.gz", ".json.zip", ".jsonl", ".jsonl.gz", ".ndjson"),
    "spl": (".xml", ".xml.gz", ".zip"),
    "pubmed": (".xml", ".xml.gz"),
    "pmc": (".nxml", ".nxml.gz", ".xml", ".xml.gz", ".tar.gz", ".tgz"),
    "markdown": (".md", ".markdown", ".txt"),
}

_NEXT_STEP = (
    "next: run 'curbside index build' to make these searchable "
    "(only the new passages are embedded; the embedding cache keeps the rest)"
)


@dataclass
class IngestReport:
    """What one ingest read, wrote and left out."""

    kind: str
    inputs: list[Path]
    out: Path | None
    records: int = 0
    by_source_type: dict[str, int] = field(default_factory=dict)
    errors: list[CorpusError] = field(default_factory=list)  # bad records/files left out (--skip-bad)
    skipped: list[CorpusError] = field(default_factory=list)  # left out by design, not errors
    notes: list[str] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return self.out is not None and self.records > 0

    def __str__(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_source_type.items()))
        files = f"{len(self.inputs)} file{'s' if len(self.inputs) != 1 else ''}"
        head = f"ingested {self.records} records ({kinds or 'none'}) from {files} of type {self.kind}"
        lines = [f"{head} → {self.out}"]
        if self.skipped:
            lines.append(f"left out by design ({len(self.skipped)}):")
            lines.extend(f"  {e}" for e in self.skipped)
        if self.errors:
            lines.append(f"bad records or files skipped with --skip-bad ({len(self.errors)}):")
            lines.extend(f"  {e}" for e in self.errors)
        lines.extend(self.notes)
        lines.append(_NEXT_STEP)
        return "\n".join(lines)


def expand_paths(paths: Sequence[Path], kind: str) -> list[Path]:
    """Files named, plus the files of this kind under each directory named (recursively, sorted)."""
    if kind not in LOADERS:
        raise ValueError(f"unknown source type {kind!r}; choose one of {', '.join(LOADERS)}")
    suffixes = EXTENSIONS[kind]
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.name.lower().endswith(suffixes)
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
            if not found:
                raise CorpusError(
                    p, None, f"no {kind} files ({', '.join('*' + s for s in suffixes)}) in this folder"
                )
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise CorpusError(p, None, "no such file or directory")
    return list(dict.fromkeys(out))


def default_output(paths: Sequence[Path], corpus_dir: Path) -> Path:
    name = paths[0].resolve().name
    lower = name.lower()
    for suffix in (
        ".gz",
        ".tgz",
        ".tar",
        ".zip",
        ".jsonl",
        ".ndjson",
        ".json",
        ".nxml",
        ".xml",
        ".markdown",
        ".md",
        ".txt",
    ):
        if lower.endswith(suffix):
            name, lower = name[: -len(suffix)], lower[: -len(suffix)]
    return corpus_dir / "ingested" / f"{name or 'ingested'}.jsonl.gz"


def existing_ids(corpus_dir: Path, exclude: Path | None) -> dict[str, tuple[Path, int]]:
    """Every record id already under ``corpus_dir`` (file, line), except those of ``exclude``."""
    out: dict[str, tuple[Path, int]] = {}
    if not corpus_dir.is_dir():
        return out
    skip = exclude.resolve() if exclude is not None else None
    for path in corpus_files(corpus_dir):
        if skip is not None and path.resolve() == skip:
            continue
        try:
            with open_text(path) as fh:
                for lineno, line in enumerate(fh, 1):
                    try:
                        rid = json.loads(line).get("id") if line.strip() else None
                    except (json.JSONDecodeError, AttributeError):
                        continue
                    if isinstance(rid, str):
                        out.setdefault(rid, (path, lineno))
        except (OSError, UnicodeDecodeError, EOFError):
            continue  # an unreadable corpus file is `curbside index build`'s to report
    return out


def _previous_count(out: Path) -> str | None:
    """How many records the file about to be replaced held (``None`` when there is none)."""
    if not out.is_file():
        return None
    try:
        return f"{sum(1 for _ in iter_jsonl(out, skip_bad=True))} records"
    except CorpusError:
        return "unreadable"


def _where(path: Path | str, line: int | None) -> str:
    return f"{path}:{line}" if line is not None else str(path)


def ingest(
    paths: Sequence[Path],
    *,
    kind: str,
    out: Path | None = None,
    corpus_dir: Path = Path("corpus"),
    skip_bad: bool = False,
    source_type: SourceType | None = None,
    sections: str = "abstract",
) -> IngestReport:
    """Read ``paths`` as ``kind`` sources and write them as one corpus file (see the module docstring)."""
    if not paths:
        raise CorpusError(".", None, "no input paths given")
    files = expand_paths(paths, kind)
    out = out or default_output(paths, corpus_dir)
    if not out.name.endswith(".jsonl.gz"):
        raise CorpusError(out, None, "the output file name must end in .jsonl.gz (the corpus format)")
    loader = LOADERS[kind]
    ctx = LoadContext(skip_bad=skip_bad, source_type=source_type, sections=sections)
    taken = existing_ids(corpus_dir, exclude=out)
    seen: dict[str, tuple[str, int | None]] = {}
    records: list[CorpusRecord] = []
    for path in files:
        try:
            for item in loader(path, ctx):
                rid = item.record.id
                if rid in seen:
                    ctx.error(
                        CorpusError(
                            item.path, item.line, f"duplicate id {rid!r} (first seen at {_where(*seen[rid])})"
                        )
                    )
                    continue
                if rid in taken:
                    ctx.error(
                        CorpusError(
                            item.path,
                            item.line,
                            f"id {rid!r} is already in the corpus ({_where(*taken[rid])}); "
                            "give the source a different id or remove the old record",
                        )
                    )
                    continue
                seen[rid] = (item.path, item.line)
                records.append(item.record)
        except CorpusError as err:  # a file-level problem (does not parse, cannot be opened)
            ctx.error(err)
    if not records:
        detail = f" ({len(ctx.errors)} problems; first: {ctx.errors[0]})" if ctx.errors else ""
        reason = ctx.skipped[0].message if ctx.skipped and not ctx.errors else "no records"
        raise CorpusError(
            files[0] if len(files) == 1 else paths[0], None, f"nothing to ingest: {reason}{detail}"
        )
    previous = _previous_count(out)
    write_jsonl_gz(out, records)
    report = IngestReport(
        kind=kind,
        inputs=files,
        out=out,
        records=len(records),
        by_source_type=dict(Counter(r.source_type for r in records)),
        errors=ctx.errors,
        skipped=ctx.skipped,
    )
    if previous is not None:
        report.notes.append(f"note: replaced the previous {out} ({previous})")
    try:
        out.resolve().relative_to(corpus_dir.resolve())
    except ValueError:
        report.notes.append(
            f"note: {out} is outside the corpus folder {corpus_dir}; the index reads only that folder, "
            "so move the file there (or point CURBSIDE_PATHS__CORPUS_DIR at its folder) before indexing"
        )
    return report
