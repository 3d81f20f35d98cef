"""Markdown and plain-text documents (guidelines, local protocols) with a front matter block → records.

A document may open with a front matter block of ``key: value`` lines between ``---`` lines (a small,
dependency-free subset of YAML: quoted or bare values, ``#`` comments, and ``- item`` lists under an
empty key, joined with ``"; "``)::

    ---
    title: Screening and Behavioral Counseling Interventions to Reduce Unhealthy Alcohol Use
    organization: U.S. Preventive Services Task Force     # or: organisation
    year: 2013
    date: 2013-05-14                                       # YYYY-MM-DD (or YYYY-MM / YYYY)
    url: https://…
    license: US Government work
    source_type: guideline                                 # default; or fda_label / research
    id: uspstf-alcohol-2013                                # optional id prefix
    ---

A Markdown file becomes one record per ``#``/``##`` heading (``section`` = the heading text; deeper
headings stay inside their section as lines of text); text before the first heading is a record with no
section. Markup is reduced to plain text (emphasis, links, code marks, table pipes), lists keep their
``-`` bullets. A ``.txt`` file is one record. Ids are ``guideline:<doc-slug>:<section-slug>``
(``<id>:<section-slug>`` with an ``id`` in the front matter); the record with no section is the bare
prefix. The title is the front matter's, else the first ``#`` heading, else the file name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.corpus.errors import CorpusError
from app.corpus.sources import LoadContext, Located, read_text_file, slugify, unique_slug
from app.schema import SOURCE_TYPES, SourceType

ID_PREFIX: dict[SourceType, str] = {"guideline": "guideline", "fda_label": "label", "research": "doc"}
KNOWN_KEYS = frozenset(
    {
        "title", "organization", "organisation", "year", "date", "url", "license", "licence",
        "source_type", "id", "id_prefix", "doi", "pmid", "drug", "brand",
    }
)  # fmt: skip
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_SECTION_HEADING = re.compile(r"^\s{0,3}(#{1,2})\s+(.*?)\s*#*\s*$")
_ANY_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_THEMATIC_BREAK = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images → alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links → their text
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"<br\s*/?>", re.I), " "),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>"), ""),  # inline HTML tags
    (re.compile(r"\*\*(.+?)\*\*"), r"\1"),
    (re.compile(r"__(.+?)__"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?![\s_])(.+?)(?<![\s_])_(?![\w_])"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])"), r"\1"),
)


def inline_text(line: str) -> str:
    """One line of Markdown with inline markup removed."""
    for pattern, repl in _INLINE_RULES:
        line = pattern.sub(repl, line)
    return line


def plain_text(markdown: str) -> str:
    """Markdown body → plain text that keeps paragraphs, list bullets and table rows."""
    markdown = re.sub(r"<!--.*?-->", "", markdown, flags=re.S)
    out: list[str] = []
    for raw in markdown.splitlines():
        line = raw.rstrip()
        if _FENCE.match(line) or _THEMATIC_BREAK.match(line) or _TABLE_RULE.match(line):
            continue
        heading = _ANY_HEADING.match(line)
        if heading:
            line = heading.group(1)
        line = re.sub(r"^\s{0,3}>\s?", "", line)
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
            cells = [c.strip() for c in stripped[1:-1].split("|")]
            line = " | ".join(c for c in cells if c)
        out.append(inline_text(line).rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


@dataclass
class FrontMatter:
    values: dict[str, str]
    lines: dict[str, int]
    body_start: int  # index of the first body line


def parse_front_matter(lines: list[str], path: Path) -> FrontMatter:
    """The ``---`` block at the top of a document (empty when there is none); errors name the line."""
    if not lines or lines[0].strip() != "---":
        return FrontMatter({}, {}, 0)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise CorpusError(
            path, 1, "front matter opened with '---' is never closed (add a '---' line after it)"
        )
    values: dict[str, str] = {}
    where: dict[str, int] = {}
    list_key: str | None = None
    for i in range(1, end):
        raw = lines[i]
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("- ") and list_key is not None:
            item = _unquote(_strip_comment(line[2:]))
            values[list_key] = f"{values[list_key]}; {item}" if values[list_key] else item
            continue
        m = _KEY.match(line)
        if not m:
            raise CorpusError(path, i + 1, f"front matter line is not 'key: value': {raw.strip()!r}")
        key, value = m.group(1).lower(), _unquote(_strip_comment(m.group(2)))
        values[key], where[key] = value, i + 1
        list_key = key if not value else None
    return FrontMatter(values, where, end + 1)


def _strip_comment(value: str) -> str:
    value = value.strip()
    if value[:1] in ("'", '"'):
        return value
    return re.sub(r"\s+#.*$", "", value)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    return value


@dataclass
class _Meta:
    title: str | None
    organization: str | None
    year: int | None
    date: str | None
    url: str | None
    license: str
    source_type: SourceType
    prefix: str
    doi: str | None
    pmid: str | None
    drug: str | None
    brand: str | None


def _meta(fm: FrontMatter, path: Path, ctx: LoadContext) -> _Meta:
    v, at = fm.values, fm.lines
    for key in v:
        if key not in KNOWN_KEYS:
            ctx.skip(
                path,
                at[key],
                f"front matter key '{key}' is not used (known: {', '.join(sorted(KNOWN_KEYS))})",
            )
    year: int | None = None
    if v.get("year"):
        if not v["year"].isdigit() or not 1800 <= int(v["year"]) <= 2100:
            raise CorpusError(path, at["year"], f"year {v['year']!r} is not a year between 1800 and 2100")
        year = int(v["year"])
    date: str | None = None
    if v.get("date"):
        m = _DATE.match(v["date"])
        if not m:
            raise CorpusError(path, at["date"], f"date {v['date']!r} is not YYYY-MM-DD (or YYYY-MM, YYYY)")
        year = year or int(m.group(1))
        date = v["date"] if m.group(3) else None
    st = v.get("source_type") or "guideline"
    if st not in SOURCE_TYPES:
        raise CorpusError(
            path, at.get("source_type"), f"source_type {st!r} is not one of {', '.join(SOURCE_TYPES)}"
        )
    source_type: SourceType = next(t for t in SOURCE_TYPES if t == st)
    if ctx.source_type is not None:
        source_type = ctx.source_type
    prefix = (v.get("id") or v.get("id_prefix") or "").strip().rstrip(":")
    if not prefix:
        prefix = f"{ID_PREFIX[source_type]}:{slugify(_stem(path)) or 'document'}"
    return _Meta(
        title=v.get("title") or None,
        organization=v.get("organization") or v.get("organisation") or None,
        year=year,
        date=date,
        url=v.get("url") or None,
        license=v.get("license") or v.get("licence") or "unknown",
        source_type=source_type,
        prefix=prefix,
        doi=v.get("doi") or None,
        pmid=v.get("pmid") or None,
        drug=v.get("drug") or None,
        brand=v.get("brand") or None,
    )


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".markdown", ".md", ".txt"):
        name = name.removesuffix(suffix)
    return name


@dataclass
class _Section:
    heading: str | None
    level: int
    line: int
    body: list[str]


def split_sections(lines: list[str], start: int, *, markdown: bool) -> list[_Section]:
    """Body lines grouped under their ``#``/``##`` heading (none for plain text); fenced code is body."""
    sections = [_Section(None, 0, start + 1, [])]
    in_fence = False
    for i in range(start, len(lines)):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        m = _SECTION_HEADING.match(line) if markdown and not in_fence else None
        if m and inline_text(m.group(2)).strip():
            sections.append(_Section(inline_text(m.group(2)).strip(), len(m.group(1)), i + 1, []))
        else:
            sections[-1].body.append(line)
    return sections


def load_markdown(path: Path, ctx: LoadContext | None = None) -> Iterator[Located]:
    """The sections of one Markdown (``.md``) or plain-text (``.txt``) document."""
    ctx = ctx or LoadContext()
    lines = read_text_file(path).splitlines()
    try:
        fm = parse_front_matter(lines, path)
        meta = _meta(fm, path, ctx)
    except CorpusError as err:
        ctx.error(err)
        return
    is_markdown = not path.name.lower().removesuffix(".gz").endswith(".txt")
    sections = split_sections(lines, fm.body_start, markdown=is_markdown)
    h1 = next((s.heading for s in sections if s.level == 1), None)
    title = meta.title or h1 or _stem(path).replace("-", " ").replace("_", " ")
    seen: set[str] = set()
    n = 0
    for sec in sections:
        text = plain_text("\n".join(sec.body))
        if not text:
            if sec.heading is not None and not (sec.level == 1 and sec.heading == h1):
                ctx.skip(path, sec.line, f"section '{sec.heading}' has no text")
            continue
        rid = (
            meta.prefix
            if sec.heading is None
            else f"{meta.prefix}:{unique_slug(slugify(sec.heading) or 'section', seen)}"
        )
        located = ctx.record(
            path,
            sec.line,
            id=rid,
            source_type=meta.source_type,
            title=title,
            organization=meta.organization,
            year=meta.year,
            date=meta.date,
            section=sec.heading,
            text=text,
            url=meta.url,
            pmid=meta.pmid,
            doi=meta.doi,
            drug=meta.drug,
            brand=meta.brand,
            license=meta.license,
            provenance=f"{path.name}:{sec.line}",
        )
        if located:
            n += 1
            yield located
    if n == 0:
        ctx.error(CorpusError(path, None, "document has no text (only front matter and headings)"))
