"""What every source loader shares: located records, the error policy, slugs, dates, safe XML, label sections.

A loader turns one file into ``Located`` corpus records (the record plus the line it came from, so that
later checks such as duplicate ids can still name the file and line). Problems go through a
``LoadContext``: a malformed record is an *error* (raised at once, or collected under ``--skip-bad``);
a record left out by design (an article without an abstract, a heading without text) is a *skip*,
always collected and reported, never fatal.
"""

from __future__ import annotations

import gzip
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple, Protocol, cast
from xml.etree import ElementTree as ET
from xml.parsers import expat

from pydantic import ValidationError

from app.corpus.errors import CorpusError
from app.corpus.jsonl import describe_validation
from app.schema import CorpusRecord, SourceType


class Located(NamedTuple):
    """A record and where it came from (``line`` is ``None`` when the format cannot tell)."""

    record: CorpusRecord
    path: str
    line: int | None


@dataclass
class LoadContext:
    """The error policy and options of one load: strict by default (the first error raises)."""

    skip_bad: bool = False
    source_type: SourceType | None = None
    sections: str = "abstract"  # PMC/JATS: abstract | results | all (which parts become records)
    errors: list[CorpusError] = field(default_factory=list)
    skipped: list[CorpusError] = field(default_factory=list)

    def error(self, err: CorpusError) -> None:
        """A malformed record or file: raise, or (``skip_bad``) remember it and go on."""
        if not self.skip_bad:
            raise err
        self.errors.append(err)

    def skip(self, path: Path | str, line: int | None, reason: str) -> None:
        """A record left out on purpose; reported, never fatal."""
        self.skipped.append(CorpusError(path, line, reason))

    def record(self, path: Path | str, line: int | None, **fields: object) -> Located | None:
        """Validate ``fields`` into a record; a validation failure goes through :meth:`error`."""
        try:
            rec = CorpusRecord.model_validate(fields)
        except ValidationError as exc:
            self.error(CorpusError(path, line, f"invalid record: {describe_validation(exc)}"))
            return None
        return Located(rec, str(path), line)


class Loader(Protocol):
    """``loader(path)`` yields the file's records; ``loader(path, ctx)`` applies ``ctx``'s error policy."""

    def __call__(self, path: Path, ctx: LoadContext | None = None) -> Iterator[Located]: ...


# ---------------------------------------------------------------------------------------------- text


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lower-case, runs of non-alphanumerics → ``-``: ``"Indications and Usage"`` → ``indications-and-usage``.

    The same rule as the shipped corpus's ids (``label:<set_id>:<section-slug>``).
    """
    return _NON_ALNUM.sub("-", text.lower()).strip("-")


def squash(text: str) -> str:
    """Collapse every run of whitespace (newlines included) to one space, trimmed."""
    return " ".join(text.split())


def unique_slug(slug: str, seen: set[str]) -> str:
    """``slug``, or ``slug-2``, ``slug-3`` … when already taken; records the result in ``seen``."""
    out, n = slug, 1
    while out in seen:
        n += 1
        out = f"{slug}-{n}"
    seen.add(out)
    return out


_YYYYMMDD = re.compile(r"^(\d{4})(\d{2})?(\d{2})?")


def date_from_compact(value: str | None) -> tuple[int | None, str | None]:
    """``"20260715"`` → ``(2026, "2026-07-15")``; a partial value gives what it can; junk ``(None, None)``."""
    if not value:
        return None, None
    m = _YYYYMMDD.match(value.strip())
    if not m:
        return None, None
    year = int(m.group(1))
    if not 1800 <= year <= 2100:
        return None, None
    month, day = m.group(2), m.group(3)
    if month and day and 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
        return year, f"{year:04d}-{month}-{day}"
    return year, None


# ------------------------------------------------------------------------------------------- opening


def open_binary(path: Path) -> IO[bytes]:
    """A file's bytes, transparently gunzipped for ``*.gz``."""
    if path.name.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def zip_members(path: Path, suffixes: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    """``(display path, bytes)`` of each member of a zip archive whose name ends with one of ``suffixes``."""
    try:
        with zipfile.ZipFile(path) as zf:
            for name in sorted(zf.namelist()):
                if name.lower().endswith(suffixes) and not name.startswith("__MACOSX/"):
                    yield f"{path}!{name}", zf.read(name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CorpusError(path, None, f"unreadable zip archive ({exc})") from exc


# ------------------------------------------------------------------------------------------------ XML


@dataclass
class XmlDoc:
    """A parsed XML document: namespace-free tags, plus the source line of every element."""

    root: ET.Element
    lines: dict[ET.Element, int]

    def line(self, elem: ET.Element | None) -> int | None:
        return None if elem is None else self.lines.get(elem)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def parse_xml(data: IO[bytes] | bytes, where: Path | str) -> XmlDoc:
    """Parse XML safely and keep element line numbers.

    expat never fetches external entities or DTDs here (no handler is installed), and any ``<!ENTITY``
    declaration is refused outright, so entity-expansion bombs cannot run. Namespaces are stripped from
    tag and attribute names (``{urn:hl7-org:v3}section`` → ``section``). Errors name the file and line.
    """
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        elem = builder.start(_local(name), {_local(k): v for k, v in attrs.items()})
        lines[elem] = parser.CurrentLineNumber

    def end(name: str) -> None:
        builder.end(_local(name))

    def refuse_entity(*_args: object) -> None:
        raise CorpusError(where, parser.CurrentLineNumber, "XML entity declarations are not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = refuse_entity
    parser.buffer_text = True
    try:
        if isinstance(data, bytes):
            parser.Parse(data, True)
        else:
            parser.ParseFile(data)
        root = builder.close()
    except expat.ExpatError as exc:
        msg = expat.ErrorString(exc.code) if exc.code is not None else str(exc)
        raise CorpusError(where, exc.lineno, f"XML does not parse ({msg}, column {exc.offset + 1})") from exc
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CorpusError(where, None, f"unreadable ({type(exc).__name__}: {exc})") from exc
    except AssertionError as exc:  # TreeBuilder.close() on an empty document
        raise CorpusError(where, None, "empty XML document") from exc
    return XmlDoc(root, lines)


def xml_documents(path: Path, *, zip_suffixes: tuple[str, ...] = (".xml",)) -> Iterator[tuple[str, XmlDoc]]:
    """Each XML document in ``path``: the file itself (gzip allowed), or every XML member of a zip."""
    if path.name.lower().endswith(".zip"):
        for where, data in zip_members(path, zip_suffixes):
            yield where, parse_xml(data, where)
        return
    try:
        fh = open_binary(path)
    except OSError as exc:
        raise CorpusError(path, None, f"cannot open: {exc}") from exc
    with fh:
        yield str(path), parse_xml(fh, path)


def read_text_file(path: Path) -> str:
    """A UTF-8 text file (gzip allowed); undecodable bytes are an error naming the line."""
    try:
        with open_binary(path) as fh:
            data = fh.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CorpusError(path, None, f"cannot read ({type(exc).__name__}: {exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(path, line, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


# ------------------------------------------------------------------------------------- label sections


@dataclass(frozen=True)
class LabelSection:
    loinc: str
    field: str  # the openFDA drug/label field name
    name: str  # the section name used in the corpus


# Names follow the shipped corpus (which took them from the LOINC section table of FDA/openfda), so an
# ingested label section looks like a shipped one and the index profiles treat it the same way.
LABEL_SECTIONS: tuple[LabelSection, ...] = (
    LabelSection("34066-1", "boxed_warning", "Boxed Warning"),
    LabelSection("43683-2", "recent_major_changes", "Recent Major Changes"),
    LabelSection("34067-9", "indications_and_usage", "Indications and Usage"),
    LabelSection("34068-7", "dosage_and_administration", "Dosage and Administration"),
    LabelSection("43678-2", "dosage_forms_and_strengths", "Dosage Forms and Strengths"),
    LabelSection("34070-3", "contraindications", "Contraindications"),
    LabelSection("43685-7", "warnings_and_cautions", "Warnings and Precautions"),
    LabelSection("34071-1", "warnings", "Warnings"),
    LabelSection("42232-9", "precautions", "Precautions"),
    LabelSection("34072-9", "general_precautions", "General Precautions"),
    LabelSection("34084-4", "adverse_reactions", "Adverse Reactions"),
    LabelSection("90374-0", "clinical_trials_experience", "Clinical Trials Experience"),
    LabelSection("90375-7", "postmarketing_experience", "Postmarketing Experience"),
    LabelSection("34073-7", "drug_interactions", "Drug Interactions"),
    LabelSection(
        "34074-5", "drug_and_or_laboratory_test_interactions", "Drug and/or Laboratory Test Interactions"
    ),
    LabelSection("43684-0", "use_in_specific_populations", "Use in Specific Populations"),
    LabelSection("42228-7", "pregnancy", "Pregnancy"),
    LabelSection("34077-8", "teratogenic_effects", "Teratogenic Effects"),
    LabelSection("34078-6", "nonteratogenic_effects", "Nonteratogenic Effects"),
    LabelSection("34079-4", "labor_and_delivery", "Labor and Delivery"),
    LabelSection("34080-2", "nursing_mothers", "Nursing Mothers"),
    LabelSection("77290-5", "lactation", "Lactation"),
    LabelSection(
        "77291-3",
        "females_and_males_of_reproductive_potential",
        "Females and Males of Reproductive Potential",
    ),
    LabelSection("34081-0", "pediatric_use", "Pediatric Use"),
    LabelSection("34082-8", "geriatric_use", "Geriatric Use"),
    LabelSection("88828-9", "renal_impairment", "Renal Impairment"),
    LabelSection("88829-7", "hepatic_impairment", "Hepatic Impairment"),
    LabelSection("42227-9", "drug_abuse_and_dependence", "Drug Abuse and Dependence"),
    LabelSection("34085-1", "controlled_substance", "Controlled Substance"),
    LabelSection("34086-9", "abuse", "Abuse"),
    LabelSection("34087-7", "dependence", "Dependence"),
    LabelSection("34088-5", "overdosage", "Overdosage"),
    LabelSection("34089-3", "description", "Description"),
    LabelSection("34090-1", "clinical_pharmacology", "Clinical Pharmacology"),
    LabelSection("43679-0", "mechanism_of_action", "Mechanism of Action"),
    LabelSection("43681-6", "pharmacodynamics", "Pharmacodynamics"),
    LabelSection("43682-4", "pharmacokinetics", "Pharmacokinetics"),
    LabelSection("66106-6", "pharmacogenomics", "Pharmacogenomics"),
    LabelSection("88830-5", "immunogenicity", "Immunogenicity"),
    LabelSection("49489-8", "microbiology", "Microbiology"),
    LabelSection("43680-8", "nonclinical_toxicology", "Nonclinical Toxicology"),
    LabelSection(
        "34083-6",
        "carcinogenesis_and_mutagenesis_and_impairment_of_fertility",
        "Carcinogenesis, Mutagenesis, Impairment of Fertility",
    ),
    LabelSection("34091-9", "animal_pharmacology_and_or_toxicology", "Animal Pharmacology and/or Toxicology"),
    LabelSection("34092-7", "clinical_studies", "Clinical Studies"),
    LabelSection("34093-5", "references", "References"),
    LabelSection("34069-5", "how_supplied", "How Supplied"),
    LabelSection("44425-7", "storage_and_handling", "Storage and Handling"),
    LabelSection("88437-9", "how_supplied_storage_and_handling", "How Supplied/Storage and Handling"),
    LabelSection("34075-2", "laboratory_tests", "Laboratory Tests"),
    LabelSection("34076-0", "information_for_patients", "Information for Patients"),
    LabelSection("88436-1", "patient_counseling_information", "Patient Counseling Information"),
    LabelSection("42231-1", "spl_medguide", "Medication Guide"),
    LabelSection("42230-3", "spl_patient_package_insert", "Patient Package Insert"),
    LabelSection("68498-5", "patient_medication_information", "Patient Medication Information"),
    LabelSection("59845-8", "instructions_for_use", "Instructions for Use"),
    LabelSection("38056-8", "spl_supplemental_patient_material", "Supplemental Patient Material"),
    LabelSection("42229-5", "spl_unclassified_section", "Unclassified Section"),
    LabelSection("51945-4", "package_label_principal_display_panel", "Package Label.Principal Display Panel"),
    # OTC "Drug Facts" and other label types
    LabelSection("55106-9", "active_ingredient", "Active Ingredient"),
    LabelSection("51727-6", "inactive_ingredient", "Inactive Ingredient"),
    LabelSection("55105-1", "purpose", "Purpose"),
    LabelSection("50570-1", "do_not_use", "Do Not Use"),
    LabelSection("50569-3", "ask_doctor", "Ask Doctor"),
    LabelSection("50568-5", "ask_doctor_or_pharmacist", "Ask Doctor/Pharmacist"),
    LabelSection("50567-7", "when_using", "When Using"),
    LabelSection("50566-9", "stop_use", "Stop Use"),
    LabelSection("53414-9", "pregnancy_or_breast_feeding", "Pregnancy or Breast Feeding"),
    LabelSection("50565-1", "keep_out_of_reach_of_children", "Keep Out of Reach of Children"),
    LabelSection("53413-1", "questions", "Questions"),
    LabelSection("60561-8", "other_safety_information", "Other Safety Information"),
    LabelSection("69759-9", "risks", "Risks"),
    LabelSection("71744-7", "health_care_provider_letter", "Health Care Provider Letter"),
    LabelSection("50744-2", "information_for_owners_or_caregivers", "Information for Owners/Caregivers"),
    LabelSection("50741-8", "safe_handling_warning", "Safe Handling Warning"),
    LabelSection("54433-8", "user_safety_warnings", "User Safety Warnings"),
    LabelSection("50742-6", "environmental_warning", "Environmental Warning"),
    LabelSection("50743-4", "food_safety_warning", "Food Safety Warning"),
    LabelSection("53412-3", "residue_warning", "Residue Warning"),
    LabelSection("50745-9", "veterinary_indications", "Veterinary Indications"),
    LabelSection("69718-5", "statement_of_identity", "Statement of Identity"),
    LabelSection("69719-3", "health_claim", "Health Claim"),
    LabelSection("60560-0", "intended_use_of_the_device", "Intended Use of the Device"),
    LabelSection("60563-4", "summary_of_safety_and_effectiveness", "Summary of Safety and Effectiveness"),
)
SECTION_BY_LOINC: dict[str, LabelSection] = {s.loinc: s for s in LABEL_SECTIONS}
SECTION_BY_FIELD: dict[str, LabelSection] = {s.field: s for s in LABEL_SECTIONS}

_SMALL_WORDS = {"and", "or", "of", "for", "in", "the", "to", "with", "a", "an", "on"}


def humanize_field(name: str) -> str:
    """An unknown openFDA field as a section name: ``"health_claim"`` → ``"Health Claim"``."""
    words = name.replace("_and_or_", " and/or ").replace("_", " ").split()
    return " ".join(w if i and w in _SMALL_WORDS else w[:1].upper() + w[1:] for i, w in enumerate(words))


_ALPHA = re.compile(r"[a-z]+")


def heading_only(text: str, section: str) -> bool:
    """True when ``text`` is nothing but the section's own heading (``"8 USE IN SPECIFIC POPULATIONS"``)."""
    words = _ALPHA.findall(text.lower())
    if len(words) > 12:
        return False
    return set(words) <= set(_ALPHA.findall(section.lower())) | {"section"}


def first(values: object) -> str | None:
    """The first non-blank string of an openFDA-style list (or the string itself)."""
    if isinstance(values, str):
        return squash(values) or None
    if isinstance(values, list):
        for v in values:
            if isinstance(v, str) and v.strip():
                return squash(v)
    return None


def joined_unique(values: object, sep: str = ", ") -> str | None:
    """The distinct non-blank strings of a list, in order, joined."""
    items = [values] if isinstance(values, str) else values if isinstance(values, list) else []
    out: list[str] = []
    for v in items:
        if isinstance(v, str) and squash(v) and squash(v) not in out:
            out.append(squash(v))
    return sep.join(out) or None


def label_title(brand: str | None, drug: str | None, section: str) -> str:
    return f"{brand or drug or 'Drug label'} — {section}"


def dailymed_url(set_id: str) -> str:
    return f"https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={set_id}"


@dataclass(frozen=True)
class LabelMeta:
    """What every section record of one drug label shares, whichever format it came in (openFDA, SPL)."""

    key: str  # the set id, or ``spl-<document id>``
    set_id: str | None
    drug: str | None
    brand: str | None
    manufacturer: str | None
    year: int | None
    date: str | None
    license: str
    seen: set[str] = field(default_factory=set)  # section slugs used so far: ids stay unique per label

    def record(
        self, ctx: LoadContext, where: str, line: int | None, section: str, text: str
    ) -> Located | None:
        """One section of the label as a validated record (``None`` when it fails, through ``ctx``)."""
        return ctx.record(
            where,
            line,
            id=f"label:{self.key}:{unique_slug(slugify(section), self.seen)}",
            source_type=ctx.source_type or "fda_label",
            title=label_title(self.brand, self.drug, section),
            organization=f"{self.manufacturer} (FDA label)" if self.manufacturer else "U.S. FDA label",
            year=self.year,
            date=self.date,
            section=section,
            text=text,
            url=dailymed_url(self.set_id) if self.set_id else None,
            set_id=self.set_id,
            drug=self.drug,
            brand=self.brand,
            license=self.license,
            provenance=f"{Path(where).name}:{line}" if line else Path(where).name,
        )
