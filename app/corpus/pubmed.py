"""PubMed/MEDLINE XML (efetch ``rettype=xml`` output, baseline/update files) → one record per abstract.

Reads ``PubmedArticleSet/PubmedArticle/MedlineCitation`` (also a bare ``PubmedArticle`` or a
``MedlineCitationSet``; ``PubmedBookArticle`` book chapters too). The record is ``pmid:<PMID>`` with the
article title, the journal as organisation, the publication year (``PubDate/Year``, else the first year
in ``MedlineDate``, else the electronic ``ArticleDate``), the DOI and the abstract as text: a structured
abstract keeps its labels, one ``LABEL: text`` paragraph per line, as in the shipped PubMedQA records.
An article without an abstract is left out and reported (a title alone is not evidence). The article's
publication types (``PublicationTypeList``) are kept in the provenance as ``[publication types: A; B]``,
where the study-type classifier (``app/corpus/study_type.py``) reads them.
Files may be gzipped (``pubmed25n0001.xml.gz``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

from app.corpus.errors import CorpusError
from app.corpus.sources import LoadContext, Located, XmlDoc, squash, xml_documents

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def _text(elem: ET.Element | None) -> str:
    """Inline text of an element (``<i>``, ``<sup>`` … flattened), whitespace collapsed."""
    return squash("".join(elem.itertext())) if elem is not None else ""


def _month(value: str) -> int | None:
    value = value.strip().lower()
    if value.isdigit():
        n = int(value)
        return n if 1 <= n <= 12 else None
    return _MONTHS.get(value[:3])


def _date(node: ET.Element | None) -> tuple[int | None, str | None]:
    """(year, ISO date when year, month and day are all given) of a ``PubDate``/``ArticleDate`` element."""
    if node is None:
        return None, None
    year_s = (node.findtext("Year") or "").strip()
    if not year_s:
        m = _YEAR.search(node.findtext("MedlineDate") or "")
        return (int(m.group(1)), None) if m else (None, None)
    if not year_s.isdigit() or not 1800 <= int(year_s) <= 2100:
        return None, None
    year = int(year_s)
    month = _month(node.findtext("Month") or "")
    day_s = (node.findtext("Day") or "").strip()
    if month and day_s.isdigit() and 1 <= int(day_s) <= 31:
        return year, f"{year:04d}-{month:02d}-{int(day_s):02d}"
    return year, None


def abstract_text(abstract: ET.Element | None) -> str:
    """``LABEL: text`` paragraphs of a (structured) abstract, one per line; plain text when unlabelled."""
    if abstract is None:
        return ""
    parts = []
    for node in abstract.findall("AbstractText"):
        body = _text(node)
        if not body:
            continue
        label = squash(node.get("Label") or "")
        parts.append(f"{label}: {body}" if label else body)
    return "\n".join(parts)


def load_pubmed(path: Path, ctx: LoadContext | None = None) -> Iterator[Located]:
    """The abstracts of one PubMed XML file."""
    ctx = ctx or LoadContext()
    for where, doc in xml_documents(path):
        yield from _from_document(doc, where, ctx)


def _from_document(doc: XmlDoc, where: str, ctx: LoadContext) -> Iterator[Located]:
    root = doc.root
    if root.tag in ("PubmedArticleSet", "MedlineCitationSet", "PubmedBookArticleSet"):
        items = [c for c in root if c.tag in ("PubmedArticle", "MedlineCitation", "PubmedBookArticle")]
    elif root.tag in ("PubmedArticle", "MedlineCitation", "PubmedBookArticle"):
        items = [root]
    else:
        raise CorpusError(
            where,
            doc.line(root),
            f"not PubMed XML: the root element is <{root.tag}>, expected <PubmedArticleSet>",
        )
    if not items and not any(c.tag == "DeleteCitation" for c in root):
        ctx.skip(where, doc.line(root), "no PubmedArticle elements in this file")
    for item in items:
        located = _article(item, doc, where, ctx)
        if located:
            yield located


def _article(item: ET.Element, doc: XmlDoc, where: str, ctx: LoadContext) -> Located | None:
    line = doc.line(item)
    if item.tag == "PubmedBookArticle":
        return _book(item, doc, where, ctx)
    citation = item if item.tag == "MedlineCitation" else item.find("MedlineCitation")
    if citation is None:
        ctx.error(CorpusError(where, line, f"<{item.tag}> has no <MedlineCitation>"))
        return None
    pmid = squash(citation.findtext("PMID") or "")
    if not pmid.isdigit():
        ctx.error(CorpusError(where, line, f"article without a valid <PMID> (found {pmid!r})"))
        return None
    article = citation.find("Article")
    if article is None:
        ctx.error(CorpusError(where, line, f"PMID {pmid}: no <Article> element"))
        return None
    title = _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))
    abstract = article.find("Abstract")
    text = abstract_text(abstract)
    if not text:
        ctx.skip(where, line, f"PMID {pmid}: no abstract, left out ({title[:80]!r})")
        return None
    journal = (
        _text(article.find("Journal/Title"))
        or _text(article.find("Journal/ISOAbbreviation"))
        or _text(citation.find("MedlineJournalInfo/MedlineTA"))
        or None
    )
    year, date = _date(article.find("Journal/JournalIssue/PubDate"))
    if year is None:
        year, date = _date(article.find("ArticleDate"))
    doi = None
    for aid in item.iterfind("PubmedData/ArticleIdList/ArticleId"):
        if aid.get("IdType") == "doi" and _text(aid):
            doi = _text(aid)
            break
    if doi is None:
        for eloc in article.iterfind("ELocationID"):
            if eloc.get("EIdType") == "doi" and _text(eloc):
                doi = _text(eloc)
                break
    types = [_text(t) for t in article.iterfind("PublicationTypeList/PublicationType") if _text(t)]
    return _record(
        ctx,
        where,
        line,
        pmid=pmid,
        title=title,
        organization=journal,
        year=year,
        date=date,
        text=text,
        doi=doi,
        abstract=abstract,
        publication_types=types,
    )


def _book(item: ET.Element, doc: XmlDoc, where: str, ctx: LoadContext) -> Located | None:
    line = doc.line(item)
    book_doc = item.find("BookDocument")
    pmid = squash(book_doc.findtext("PMID") or "") if book_doc is not None else ""
    if book_doc is None or not pmid.isdigit():
        ctx.error(CorpusError(where, line, "book article without a <BookDocument><PMID>"))
        return None
    title = _text(book_doc.find("ArticleTitle")) or _text(book_doc.find("Book/BookTitle"))
    abstract = book_doc.find("Abstract")
    text = abstract_text(abstract)
    if not text:
        ctx.skip(where, line, f"PMID {pmid}: no abstract, left out ({title[:80]!r})")
        return None
    publisher = _text(book_doc.find("Book/Publisher/PublisherName")) or None
    year, date = _date(book_doc.find("Book/PubDate"))
    return _record(
        ctx,
        where,
        line,
        pmid=pmid,
        title=title,
        organization=publisher,
        year=year,
        date=date,
        text=text,
        doi=None,
        abstract=abstract,
    )


def _record(
    ctx: LoadContext,
    where: str,
    line: int | None,
    *,
    pmid: str,
    title: str,
    organization: str | None,
    year: int | None,
    date: str | None,
    text: str,
    doi: str | None,
    abstract: ET.Element | None,
    publication_types: list[str] | None = None,
) -> Located | None:
    copyright_note = _text(abstract.find("CopyrightInformation")) if abstract is not None else ""
    license_ = "PubMed abstract; " + (copyright_note or "copyright remains with the publisher")
    return ctx.record(
        where,
        line,
        id=f"pmid:{pmid}",
        source_type=ctx.source_type or "research",
        title=title or None,
        organization=organization,
        year=year,
        date=date,
        section=None,
        text=text,
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        pmid=pmid,
        doi=doi,
        license=license_,
        provenance=(f"{Path(where).name}:{line}" if line else Path(where).name)
        + (f" [publication types: {'; '.join(publication_types)}]" if publication_types else ""),
    )
