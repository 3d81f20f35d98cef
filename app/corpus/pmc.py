"""PMC / JATS XML articles (``*.nxml`` as PMC distributes them, single files, folders or ``.tar.gz`` bundles).

Reads ``article/front/article-meta`` (ids, title, dates, licence, abstract), ``front/journal-meta`` (the
journal, as organisation) and, on request, ``body/sec`` (one record per top-level section):

* ids: ``article-id`` with ``pub-id-type`` ``pmid``, ``pmc``/``pmcid`` and ``doi``. The abstract record is
  ``pmid:<PMID>`` (the same id as a PubMed record of the article), else ``pmc:<PMCID digits>``, else
  ``doi:<DOI>``; a body section is ``<that id>:<section-slug>``;
* the abstract: a structured abstract keeps its section titles as ``Title: text`` paragraphs (as the shipped
  trial records do); graphical abstracts and teasers are ignored; an article without one is left out of
  the abstract and reported (a title alone is not evidence);
* ``license``: the ``license`` element's link (``xlink:href``) or its text, else the copyright statement,
  else "no licence stated in the article XML" — each article keeps its own, so a deployment can filter on
  it;
* provenance: the file (and bundle member) plus ``[article-type: …]``, which the study-type classifier
  reads (``app/corpus/study_type.py``).

``sections``: ``abstract`` (default), ``results`` (the abstract plus the body sections whose title or
``sec-type`` says results/findings) or ``all`` (the abstract plus every top-level body section). Tables,
figures and formulae are left out of section text. Parsing uses the project's safe expat reader: no DTD
or external entity is fetched and an ``<!ENTITY`` declaration is refused. Problems name the file (and
bundle member) and the line of the element.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

from app.corpus.errors import CorpusError
from app.corpus.sources import (
    LoadContext,
    Located,
    XmlDoc,
    parse_xml,
    slugify,
    squash,
    unique_slug,
    xml_documents,
)

SECTION_CHOICES = ("abstract", "results", "all")
MEMBER_SUFFIXES = (".nxml", ".xml")
_SKIP = {"table-wrap", "fig", "disp-formula", "table", "graphic", "media", "supplementary-material", "fn"}
_RESULTS = re.compile(r"\b(results?|findings)\b", re.IGNORECASE)
_YEAR = re.compile(r"^\s*(1[89]\d\d|20\d\d)\s*$")


def load_pmc(path: Path, ctx: LoadContext | None = None) -> Iterator[Located]:
    """The articles of one ``.nxml``/``.xml`` file (gzip allowed) or of every XML member of a tar bundle."""
    ctx = ctx or LoadContext()
    for where, doc in _documents(path):
        yield from _article(doc, where, ctx)


def _documents(path: Path) -> Iterator[tuple[str, XmlDoc]]:
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        yield from _tar_documents(path)
        return
    yield from xml_documents(path)


def _tar_documents(path: Path) -> Iterator[tuple[str, XmlDoc]]:
    """Every XML member of a tar bundle, read into memory (nothing is extracted to disk)."""
    try:
        tf = tarfile.open(path, "r:*")  # noqa: SIM115 — closed by the ``with`` below
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise CorpusError(path, None, f"unreadable tar bundle ({type(exc).__name__}: {exc})") from exc
    with tf:
        try:
            members = sorted(
                (m for m in tf.getmembers() if m.isfile() and m.name.lower().endswith(MEMBER_SUFFIXES)),
                key=lambda m: m.name,
            )
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise CorpusError(path, None, f"unreadable tar bundle ({type(exc).__name__}: {exc})") from exc
        if not members:
            raise CorpusError(path, None, "no .nxml or .xml files in this bundle")
        for m in members:
            where = f"{path}!{m.name}"
            fh = tf.extractfile(m)
            if fh is None:
                raise CorpusError(where, None, "cannot read this bundle member")
            try:
                data = fh.read()
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise CorpusError(where, None, f"unreadable ({type(exc).__name__}: {exc})") from exc
            yield where, parse_xml(data, where)


def _text(elem: ET.Element | None) -> str:
    """Inline text, whitespace collapsed; tables, figures, formulae and footnotes left out."""
    if elem is None:
        return ""
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if child.tag not in _SKIP:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(elem)
    return squash("".join(parts))


def _paragraphs(sec: ET.Element, prefix: str = "") -> list[str]:
    """``Title: text`` paragraphs of a section and its subsections (title only on the first paragraph)."""
    out: list[str] = []
    title = _text(sec.find("title"))
    label = f"{prefix}{title}" if title else prefix
    pending = f"{label}: " if title else ""
    for child in sec:
        if child.tag == "p":
            body = _text(child)
            if body:
                out.append(pending + body)
                pending = ""
        elif child.tag == "sec":
            out.extend(_paragraphs(child))
        elif child.tag == "list":
            items = [_text(i) for i in child.iter("list-item")]
            body = "; ".join(i for i in items if i)
            if body:
                out.append(pending + body)
                pending = ""
    return out


def _abstract(meta: ET.Element) -> ET.Element | None:
    for node in meta.findall("abstract"):
        if (node.get("abstract-type") or "").lower() not in ("graphical", "teaser", "toc", "precis"):
            return node
    return None


def abstract_text(abstract: ET.Element | None) -> str:
    """A structured abstract as ``Title: text`` paragraphs, a plain one as its paragraphs."""
    if abstract is None:
        return ""
    return "\n\n".join(_paragraphs(abstract))


def _pub_date(meta: ET.Element) -> tuple[int | None, str | None]:
    """(year, ISO date) of the first publication date with a year: epub, then ppub/collection, then any."""
    dates = meta.findall("pub-date")

    def rank(d: ET.Element) -> int:
        kind = (d.get("pub-type") or d.get("date-type") or "").lower()
        return {"epub": 0, "pub": 1, "ppub": 2, "collection": 3}.get(kind, 4)

    for d in sorted(dates, key=rank):
        m = _YEAR.match(d.findtext("year") or "")
        if not m:
            continue
        year = int(m.group(1))
        month, day = (d.findtext("month") or "").strip(), (d.findtext("day") or "").strip()
        if month.isdigit() and day.isdigit() and 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            return year, f"{year:04d}-{int(month):02d}-{int(day):02d}"
        return year, None
    return None, None


def _license(meta: ET.Element) -> str:
    perms = meta.find("permissions")
    if perms is not None:
        lic = perms.find("license")
        if lic is not None:
            href = lic.get("href") or ""
            text = _text(lic)
            if href.strip():
                return href.strip()
            if text:
                return text
            if lic.get("license-type"):
                return str(lic.get("license-type"))
        statement = _text(perms.find("copyright-statement"))
        if statement:
            return statement
    return "no licence stated in the article XML"


def _ids(meta: ET.Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for aid in meta.findall("article-id"):
        kind = (aid.get("pub-id-type") or "").lower()
        value = _text(aid)
        if kind == "pmcid":
            kind = "pmc"
        if kind in ("pmid", "pmc", "doi") and value and kind not in out:
            out[kind] = value[3:] if kind == "pmc" and value.upper().startswith("PMC") else value
    return out


def _article(doc: XmlDoc, where: str, ctx: LoadContext) -> Iterator[Located]:
    root = doc.root
    if root.tag != "article":
        raise CorpusError(
            where, doc.line(root), f"not JATS XML: the root element is <{root.tag}>, expected <article>"
        )
    meta = root.find("front/article-meta")
    if meta is None:
        ctx.error(CorpusError(where, doc.line(root), "<article> has no <front><article-meta>"))
        return
    ids = _ids(meta)
    if "pmid" in ids and not ids["pmid"].isdigit():
        ctx.error(CorpusError(where, doc.line(meta), f'<article-id pub-id-type="pmid"> is {ids["pmid"]!r}'))
        return
    base = (
        f"pmid:{ids['pmid']}"
        if "pmid" in ids
        else f"pmc:{ids['pmc']}"
        if "pmc" in ids
        else f"doi:{ids['doi']}"
        if "doi" in ids
        else None
    )
    if base is None:
        ctx.error(
            CorpusError(
                where, doc.line(meta), "<article-meta> has no <article-id> of pub-id-type pmid, pmc or doi"
            )
        )
        return
    title = _text(meta.find("title-group/article-title"))
    if not title:
        ctx.error(CorpusError(where, doc.line(meta), f"{base}: no <title-group><article-title>"))
        return
    journal = (
        _text(root.find("front/journal-meta/journal-title-group/journal-title"))
        or _text(root.find("front/journal-meta/journal-title"))
        or None
    )
    year, date = _pub_date(meta)
    url = (
        f"https://www.ncbi.nlm.nih.gov/pmc/articles/PMC{ids['pmc']}/"
        if "pmc" in ids
        else f"https://pubmed.ncbi.nlm.nih.gov/{ids['pmid']}/"
        if "pmid" in ids
        else f"https://doi.org/{ids['doi']}"
    )
    article_type = root.get("article-type")
    file_name, _, member = where.partition("!")
    provenance = Path(file_name).name + (f"!{member}" if member else "")
    if article_type:
        provenance += f" [article-type: {article_type}]"
    common = {
        "source_type": ctx.source_type or "research",
        "title": title,
        "organization": journal,
        "year": year,
        "date": date,
        "url": url,
        "pmid": ids.get("pmid"),
        "doi": ids.get("doi"),
        "license": _license(meta),
        "provenance": provenance,
    }
    abstract = _abstract(meta)
    text = abstract_text(abstract)
    if text:
        located = ctx.record(where, doc.line(abstract), id=base, section=None, text=text, **common)
        if located:
            yield located
    else:
        ctx.skip(where, doc.line(meta), f"{base}: no abstract, left out ({title[:80]!r})")
    if ctx.sections == "abstract":
        return
    body = root.find("body")
    seen: set[str] = set()
    for sec in body.findall("sec") if body is not None else []:
        name = _text(sec.find("title")) or (sec.get("sec-type") or "").strip() or "Section"
        if ctx.sections == "results" and not (
            _RESULTS.search(name) or _RESULTS.search(sec.get("sec-type") or "")
        ):
            continue
        paragraphs = _paragraphs(sec)
        # the section's own title is its ``section``; drop it from the first paragraph
        own = f"{_text(sec.find('title'))}: "
        if paragraphs and own != ": " and paragraphs[0].startswith(own):
            paragraphs[0] = paragraphs[0][len(own) :]
        sec_text = "\n\n".join(paragraphs)
        if not sec_text:
            ctx.skip(where, doc.line(sec), f"{base}: section {name!r} has no text, left out")
            continue
        slug = unique_slug(slugify(name) or "section", seen)
        located = ctx.record(where, doc.line(sec), id=f"{base}:{slug}", section=name, text=sec_text, **common)
        if located:
            yield located
