"""DailyMed SPL XML (HL7 v3 Structured Product Labeling) → one corpus record per label section.

Sections are identified by their LOINC code (``34067-9`` Indications & Usage, ``34066-1`` Boxed Warning,
… see ``app.corpus.sources.LABEL_SECTIONS``). Every top-level section becomes a record, and so does every
nested section whose code is a known, specific one (Pregnancy ``42228-7`` inside Use in Specific
Populations ``43684-0``), as openFDA does; the parent keeps the child's text too. A section's text is its
title, its paragraphs, lists (one bullet per item) and tables (one line per row, cells joined by
``" | "``), then its subsections in order, whitespace-normalised. Highlights (``<excerpt>``) repeat the
full text in short and are left out; product-data sections are metadata, not text.

Input: an ``.xml`` file (or ``.xml.gz``), or a DailyMed ``.zip`` download (its XML member is read).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

from app.corpus.errors import CorpusError
from app.corpus.sources import (
    SECTION_BY_LOINC,
    LabelMeta,
    LoadContext,
    Located,
    XmlDoc,
    date_from_compact,
    squash,
    xml_documents,
)

LICENSE = "DailyMed SPL (label text US Government work)"

UNCLASSIFIED = "42229-5"
# Structured data, not prose: product listing and indexing sections.
DATA_SECTIONS = frozenset(
    {"48780-1", "48779-3", "60685-5", "64123-3", "64124-1", "73815-3", "77648-4", "93723-5"}
)
_MEDIA = ("renderMultiMedia", "observationMedia")
_BULLETS = ("•", "-", "–", "—", "*", "·", "○", "▪")


# ------------------------------------------------------------------------------------------ rendering


def _inline(elem: ET.Element) -> str:
    """All the text inside ``elem`` (inline markup dropped, line breaks as spaces), whitespace collapsed."""
    return squash("".join(_inline_parts(elem)))


def _inline_parts(elem: ET.Element) -> Iterator[str]:
    if elem.tag in _MEDIA:
        return
    if elem.text:
        yield elem.text
    for child in elem:
        if child.tag == "br":
            yield " "
        else:
            yield from _inline_parts(child)
        if child.tail:
            yield child.tail


def _blocks(elem: ET.Element) -> list[str]:
    """The block-level text of a ``<text>`` element (or of a paragraph, item or cell inside one)."""
    out: list[str] = []
    buf: list[str] = [elem.text or ""]

    def flush() -> None:
        text = squash("".join(buf))
        if text:
            out.append(text)
        buf.clear()

    for child in elem:
        tag = child.tag
        if tag == "paragraph":
            flush()
            out.extend(_blocks(child))
        elif tag == "list":
            flush()
            for item in child:
                if item.tag == "item":
                    out.extend(_bullet(_blocks(item)))
        elif tag == "table":
            flush()
            out.extend(_table(child))
        elif tag == "br":
            buf.append(" ")
        else:
            buf.extend(_inline_parts(child))
        buf.append(child.tail or "")
    flush()
    return out


def _bullet(blocks: list[str]) -> list[str]:
    if not blocks:
        return []
    head = blocks[0]
    if not head.startswith(_BULLETS):
        head = f"• {head}"
    elif len(head) > 1 and not head[1].isspace():
        head = f"{head[0]} {head[1:]}"
    return [head, *blocks[1:]]


def _table(table: ET.Element) -> list[str]:
    out: list[str] = []
    caption = table.find("caption")
    if caption is not None and _inline(caption):
        out.append(_inline(caption))
    for tr in table.iter("tr"):
        cells = [" ".join(_blocks(td)) for td in tr if td.tag in ("td", "th")]
        row = " | ".join(c for c in cells if c)
        if row:
            out.append(row)
    return out


def _join(blocks: list[str]) -> str:
    """Blank lines between blocks; consecutive bullets stay on consecutive lines."""
    parts: list[str] = []
    for i, b in enumerate(blocks):
        if i:
            both_bullets = b.startswith(_BULLETS) and blocks[i - 1].startswith(_BULLETS)
            parts.append("\n" if both_bullets else "\n\n")
        parts.append(b)
    return "".join(parts)


def section_blocks(section: ET.Element) -> list[str]:
    """Title, text, then nested subsections (recursively) of one ``<section>``; highlights left out."""
    out: list[str] = []
    title = _title(section)
    if title:
        out.append(title)
    for child in section:
        if child.tag == "text":
            out.extend(_blocks(child))
        elif child.tag == "component":
            for sub in child.findall("section"):
                out.extend(section_blocks(sub))
    return out


# --------------------------------------------------------------------------------------------- loader


def _code(section: ET.Element) -> str:
    code = section.find("code")
    return (code.get("code") or "").strip() if code is not None else ""


def _title(section: ET.Element) -> str:
    title = section.find("title")
    return _inline(title) if title is not None else ""


def _section_name(section: ET.Element, code: str, top_level: bool) -> str | None:
    """The corpus section name, or ``None`` when this (nested) section is not a record of its own."""
    known = SECTION_BY_LOINC.get(code)
    if known and code != UNCLASSIFIED:
        return known.name
    if not top_level:
        return None
    title = _title(section)
    if code == UNCLASSIFIED or not code:
        return f"Unclassified Section: {title}" if title else "Unclassified Section"
    code_el = section.find("code")
    display = squash(code_el.get("displayName") or "") if code_el is not None else ""
    name = title or display.removesuffix(" SECTION").removesuffix(" section") or f"LOINC {code}"
    return name.title() if name.isupper() else name


def _products(root: ET.Element) -> tuple[str | None, str | None]:
    """(brand, generic names) from the listed products' ``manufacturedProduct`` entries."""
    brands: list[str] = []
    generics: list[str] = []
    for mp in root.iter("manufacturedProduct"):
        name = mp.find("name")
        if name is None:
            continue
        brand = squash(" ".join(name.itertext()))  # <name>TRIAMINIC<suffix>Night Time</suffix></name>
        if brand and brand not in brands:
            brands.append(brand)
        for gen in mp.iterfind("asEntityWithGeneric/genericMedicine/name"):
            g = _inline(gen)
            if g and g not in generics:
                generics.append(g)
    return (brands[0] if brands else None), (", ".join(generics) or None)


def load_spl(path: Path, ctx: LoadContext | None = None) -> Iterator[Located]:
    """The label sections of one SPL document (or of each SPL document in a DailyMed zip)."""
    ctx = ctx or LoadContext()
    for where, doc in xml_documents(path):
        yield from _from_document(doc, where, ctx)


def _from_document(doc: XmlDoc, where: str, ctx: LoadContext) -> Iterator[Located]:
    root = doc.root
    if root.tag != "document":
        raise CorpusError(
            where,
            doc.line(root),
            f"not an SPL document: the root element is <{root.tag}>, expected <document>",
        )
    set_el, id_el = root.find("setId"), root.find("id")
    set_id = (set_el.get("root") or "").strip() if set_el is not None else ""
    spl_id = (id_el.get("root") or "").strip() if id_el is not None else ""
    if not set_id and not spl_id:
        raise CorpusError(where, doc.line(root), "SPL document has neither <setId root=…> nor <id root=…>")
    key = set_id or f"spl-{spl_id}"
    eff = root.find("effectiveTime")
    year, date = date_from_compact(eff.get("value") if eff is not None else None)
    org_el = root.find("author/assignedEntity/representedOrganization/name")
    manufacturer = _inline(org_el) if org_el is not None else ""
    brand, drug = _products(root)
    body = root.find("component/structuredBody")
    if body is None:
        raise CorpusError(where, doc.line(root), "SPL document has no <component><structuredBody>")

    meta = LabelMeta(key, set_id or None, drug, brand, manufacturer or None, year, date, LICENSE)
    emitted = 0
    errors_before = len(ctx.errors)

    def visit(section: ET.Element, top_level: bool, ancestors: tuple[str, ...]) -> Iterator[Located]:
        nonlocal emitted
        code = _code(section)
        if code in DATA_SECTIONS:
            return
        name = None if code in ancestors else _section_name(section, code, top_level)
        if name is not None:
            blocks = section_blocks(section)
            title = _title(section)
            line = doc.line(section)
            if not (blocks[1:] if title and blocks and blocks[0] == title else blocks):
                ctx.skip(where, line, f"{key}: section '{name}' has no text")
            else:
                located = meta.record(ctx, where, line, name, _join(blocks))
                if located:
                    emitted += 1
                    yield located
        for comp in section.findall("component"):
            for sub in comp.findall("section"):
                yield from visit(sub, False, (*ancestors, code))

    for comp in body.findall("component"):
        for section in comp.findall("section"):
            yield from visit(section, True, ())
    if emitted == 0 and len(ctx.errors) == errors_before:
        ctx.error(CorpusError(where, doc.line(body), f"{key}: SPL document has no section with text"))
