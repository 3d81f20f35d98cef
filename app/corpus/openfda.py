"""openFDA drug/label JSON → one corpus record per label section.

Accepted shapes: an API response or a bulk download file (``{"meta": …, "results": [label, …]}``, plain
or ``.json.zip``/``.json.gz``), a JSON list of labels, a single label object, or JSON Lines of labels
(or of API responses). Each text field (``indications_and_usage``, ``boxed_warning``, … a list of
strings) becomes a record ``label:<set_id>:<section-slug>``; ``*_table`` fields (HTML), product/indexing
data elements and the ``openfda`` block are not section text. Line numbers are known for JSON Lines;
for a whole JSON document the message names the label's position (``results[3]``) instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.corpus.errors import CorpusError
from app.corpus.sources import (
    SECTION_BY_FIELD,
    LabelMeta,
    LoadContext,
    Located,
    date_from_compact,
    first,
    heading_only,
    humanize_field,
    joined_unique,
    open_binary,
    squash,
    zip_members,
)

LICENSE = "openFDA drug label (openFDA data CC0; label text US Government work)"

# Top-level label fields that are not section text.
NON_SECTION_FIELDS = frozenset(
    {
        "id",
        "set_id",
        "version",
        "effective_time",
        "openfda",
        "spl_product_data_elements",
        "spl_indexing_data_elements",
        "@epoch",
        "@id",
        "@timestamp",
    }
)

_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


def section_name(field: str) -> str:
    known = SECTION_BY_FIELD.get(field)
    return known.name if known else humanize_field(field)


def is_section_field(field: str) -> bool:
    return field not in NON_SECTION_FIELDS and not field.endswith("_table") and not field.startswith("@")


def load_openfda(path: Path, ctx: LoadContext | None = None) -> Iterator[Located]:
    """The label sections of one openFDA file (see the module docstring for the shapes accepted)."""
    ctx = ctx or LoadContext()
    if path.name.lower().endswith(".zip"):
        for where, data in zip_members(path, (".json", ".jsonl", ".ndjson")):
            yield from _from_bytes(data, where, ctx, jsonl=where.lower().endswith((".jsonl", ".ndjson")))
        return
    try:
        with open_binary(path) as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise CorpusError(path, None, f"cannot read ({type(exc).__name__}: {exc})") from exc
    yield from _from_bytes(data, str(path), ctx, jsonl=path.name.lower().endswith(_JSONL_SUFFIXES))


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(where, line, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _from_bytes(data: bytes, where: str, ctx: LoadContext, *, jsonl: bool) -> Iterator[Located]:
    text = _decode(data, where)
    if not jsonl:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data" or not _first_line_is_json(text):
                raise CorpusError(
                    where, exc.lineno, f"invalid JSON ({exc.msg} at column {exc.colno})"
                ) from exc
            jsonl = True  # one JSON value per line: JSON Lines under another name
        else:
            yield from _from_document(doc, where, ctx, locate=_set_id_lines(text))
            return
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            ctx.error(CorpusError(where, lineno, f"invalid JSON ({exc.msg} at column {exc.colno})"))
            continue
        yield from _from_document(obj, where, ctx, line=lineno)


_SET_ID = re.compile(r'"set_id"\s*:\s*"([^"]+)"')


def _set_id_lines(text: str) -> dict[str, int]:
    """The line of each label's ``"set_id": "…"`` in a whole JSON document (bulk files are pretty-printed)."""
    out: dict[str, int] = {}
    line, pos = 1, 0
    for m in _SET_ID.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        out.setdefault(m.group(1), line)
    return out


def _first_line_is_json(text: str) -> bool:
    line = next((x for x in text.splitlines() if x.strip()), "")
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _from_document(
    doc: object, where: str, ctx: LoadContext, line: int | None = None, locate: dict[str, int] | None = None
) -> Iterator[Located]:
    if isinstance(doc, dict) and "results" in doc:
        results = doc["results"]
        if not isinstance(results, list):
            ctx.error(
                CorpusError(where, line, f"'results' is {type(results).__name__}, expected a list of labels")
            )
            return
        for i, label in enumerate(results):
            yield from _from_label(label, where, ctx, line, f"results[{i}]", locate=locate)
    elif isinstance(doc, list):
        for i, label in enumerate(doc):
            yield from _from_label(label, where, ctx, line, f"[{i}]", locate=locate)
    else:
        yield from _from_label(doc, where, ctx, line, "label" if line is None else "", locate=locate)


def _from_label(
    label: Any, where: str, ctx: LoadContext, line: int | None, pos: str, *, locate: dict[str, int] | None
) -> Iterator[Located]:
    at = f"{pos}: " if pos else ""
    if not isinstance(label, dict):
        ctx.error(CorpusError(where, line, f"{at}expected a label object, got {type(label).__name__}"))
        return
    raw_openfda = label.get("openfda")
    ofda: dict[str, Any] = raw_openfda if isinstance(raw_openfda, dict) else {}
    set_id = first(label.get("set_id")) or first(ofda.get("spl_set_id"))
    spl_id = first(label.get("id")) or first(ofda.get("spl_id"))
    if not set_id and not spl_id:
        ctx.error(CorpusError(where, line, f"{at}label has neither 'set_id' nor 'id'"))
        return
    key = set_id or f"spl-{spl_id}"
    if line is None and locate and set_id:
        line = locate.get(set_id)  # where the label's set_id is written: close enough to find it
    brand = first(ofda.get("brand_name"))
    drug = joined_unique(ofda.get("generic_name"))
    manufacturer = first(ofda.get("manufacturer_name"))
    year, date = date_from_compact(first(label.get("effective_time")))
    meta = LabelMeta(key, set_id, drug, brand, manufacturer, year, date, LICENSE)
    n_sections = 0
    for field, raw in label.items():
        if not is_section_field(field):
            continue
        value = [raw] if isinstance(raw, str) else raw
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            ctx.error(
                CorpusError(
                    where,
                    line,
                    f"{at}{key}: field '{field}' is {type(value).__name__}, expected a list of strings",
                )
            )
            continue
        text = "\n\n".join(s for s in (squash(v) for v in value) if s)
        if not text:
            continue
        name = section_name(field)
        n_sections += 1
        if heading_only(text, name):
            ctx.skip(where, line, f"{at}{key}: section '{name}' is only its heading")
            continue
        located = meta.record(ctx, where, line, name, text)
        if located:
            yield located
    if n_sections == 0:
        ctx.error(
            CorpusError(
                where,
                line,
                f"{at}{key}: label has no section text (expected fields such as 'indications_and_usage')",
            )
        )
