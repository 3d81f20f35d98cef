"""Each source loader turns a small real source into corpus records with the right ids, sections and metadata,
and every malformed input is a CorpusError that names the file and the line."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from app.corpus.errors import CorpusError
from app.corpus.markdown import load_markdown, plain_text
from app.corpus.openfda import load_openfda
from app.corpus.pubmed import load_pubmed
from app.corpus.sources import LoadContext, slugify
from app.corpus.spl import load_spl
from app.schema import CorpusRecord

SOURCES = Path(__file__).resolve().parents[2] / "fixtures" / "sources"
OPENFDA = SOURCES / "openfda_naltrexone_label.json"
SPL = SOURCES / "spl_lithium_carbonate.xml"
PUBMED = SOURCES / "pubmed_efetch.xml"
GUIDELINE = SOURCES / "uspstf_alcohol_misuse_2013.md"

NALTREXONE_SET_ID = "f9807ec0-3504-4c66-8efe-ea25f84c782b"
LITHIUM_SET_ID = "63b3790f-a9b5-47f4-bae1-ddf8b43c13c1"


def _by_id(records: list[CorpusRecord]) -> dict[str, CorpusRecord]:
    return {r.id: r for r in records}


def _naltrexone_label() -> dict[str, object]:
    label = json.loads(OPENFDA.read_text(encoding="utf-8"))["results"][0]
    assert isinstance(label, dict)
    return label


def test_slug_is_lower_case_with_runs_of_other_characters_as_one_dash() -> None:
    assert slugify("Carcinogenesis, Mutagenesis, Impairment of Fertility") == (
        "carcinogenesis-mutagenesis-impairment-of-fertility"
    )
    assert slugify("  Ask Doctor/Pharmacist ") == "ask-doctor-pharmacist"


# ------------------------------------------------------------------------------------------- openFDA


def test_openfda_label_becomes_one_record_per_text_section() -> None:
    records = _by_id([x.record for x in load_openfda(OPENFDA)])
    ind = records[f"label:{NALTREXONE_SET_ID}:indications-and-usage"]
    assert ind.source_type == "fda_label"
    assert ind.section == "Indications and Usage"
    assert ind.title == "NALTREXONE HYDROCHLORIDE — Indications and Usage"
    assert ind.organization == "Bryant Ranch Prepack (FDA label)"
    assert ind.url == f"https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={NALTREXONE_SET_ID}"
    assert (ind.year, ind.date) == (2026, "2026-07-15")
    assert (ind.set_id, ind.drug, ind.brand) == (
        NALTREXONE_SET_ID,
        "NALTREXONE HYDROCHLORIDE",
        "NALTREXONE HYDROCHLORIDE",
    )
    assert ind.text.startswith("INDICATIONS AND USAGE Naltrexone hydrochloride tablets are indicated")
    dosing = records[f"label:{NALTREXONE_SET_ID}:dosage-and-administration"]
    assert "A dose of 50 mg once daily is recommended for most patients." in dosing.text


def test_openfda_records_in_a_whole_json_document_point_at_their_label() -> None:
    located = list(load_openfda(OPENFDA))
    lines = OPENFDA.read_text(encoding="utf-8").splitlines()
    assert {x.line for x in located} == {42}
    assert f'"set_id": "{NALTREXONE_SET_ID}"' in lines[41]
    assert located[0].record.provenance == "openfda_naltrexone_label.json:42"


def test_openfda_tables_and_product_data_are_not_sections() -> None:
    records = [x.record for x in load_openfda(OPENFDA)]
    assert not any("table" in r.id or "product-data" in r.id for r in records)
    assert not any("<td" in r.text for r in records)
    assert {r.section for r in records} == {
        "Indications and Usage",
        "Contraindications",
        "Drug Abuse and Dependence",
        "Overdosage",
        "Dosage and Administration",
        "Unclassified Section",
        "Package Label.Principal Display Panel",
    }


def _content(records: list[CorpusRecord]) -> list[dict[str, object]]:
    return [r.model_dump(exclude={"provenance"}) for r in records]


def test_openfda_list_and_json_lines_give_the_same_records(tmp_path: Path) -> None:
    expected = _content([x.record for x in load_openfda(OPENFDA)])
    listed = tmp_path / "labels.json"
    listed.write_text(json.dumps([_naltrexone_label()]), encoding="utf-8")
    lines = tmp_path / "labels.jsonl.gz"
    with gzip.open(lines, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(_naltrexone_label()) + "\n")
    assert _content([x.record for x in load_openfda(listed)]) == expected
    located = list(load_openfda(lines))
    assert _content([x.record for x in located]) == expected
    assert {x.line for x in located} == {1}
    assert located[0].record.provenance == "labels.jsonl.gz:1"


def test_openfda_bulk_zip_is_read(tmp_path: Path) -> None:
    bulk = tmp_path / "drug-label-0001-of-0001.json.zip"
    with zipfile.ZipFile(bulk, "w") as zf:
        zf.writestr("drug-label-0001-of-0001.json", OPENFDA.read_text(encoding="utf-8"))
    assert len(list(load_openfda(bulk))) == 7


def test_openfda_broken_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(
        json.dumps(_naltrexone_label()) + "\n" + '{"set_id": "x", "boxed_warning": [\n', encoding="utf-8"
    )
    with pytest.raises(CorpusError, match=r"labels\.jsonl:2: invalid JSON"):
        list(load_openfda(path))


def test_openfda_unparseable_document_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text('{"results": [\n  {"set_id": "a",\n   "boxed_warning": ["x"]\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"labels\.json:4: invalid JSON"):
        list(load_openfda(path))


def test_openfda_document_with_trailing_garbage_is_not_taken_for_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text(OPENFDA.read_text(encoding="utf-8") + "]\n", encoding="utf-8")
    n_lines = len(OPENFDA.read_text(encoding="utf-8").splitlines())
    with pytest.raises(CorpusError, match=rf"labels\.json:{n_lines + 1}: invalid JSON \(Extra data"):
        list(load_openfda(path))


def test_openfda_label_without_any_text_is_an_error(tmp_path: Path) -> None:
    label = {
        k: v for k, v in _naltrexone_label().items() if k in ("set_id", "id", "effective_time", "openfda")
    }
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(_naltrexone_label()) + "\n" + json.dumps(label) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"labels\.jsonl:2: .*label has no section text"):
        list(load_openfda(path))


def test_openfda_field_of_wrong_type_is_reported_and_skippable(tmp_path: Path) -> None:
    label = dict(_naltrexone_label(), boxed_warning=5)
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(label) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"labels\.jsonl:1: .*field 'boxed_warning' is int"):
        list(load_openfda(path))
    ctx = LoadContext(skip_bad=True)
    assert len(list(load_openfda(path, ctx))) == 7
    assert [e.line for e in ctx.errors] == [1]


def test_openfda_heading_only_section_is_left_out_and_reported(tmp_path: Path) -> None:
    label = dict(_naltrexone_label(), use_in_specific_populations=["8 USE IN SPECIFIC POPULATIONS"])
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"results": [label]}), encoding="utf-8")
    ctx = LoadContext()
    records = [x.record for x in load_openfda(path, ctx)]
    assert not any(r.section == "Use in Specific Populations" for r in records)
    assert "only its heading" in str(ctx.skipped[0])


# ----------------------------------------------------------------------------------------------- SPL


def test_spl_sections_are_identified_by_loinc_code() -> None:
    records = _by_id([x.record for x in load_spl(SPL)])
    assert set(records) == {
        f"label:{LITHIUM_SET_ID}:{slug}"
        for slug in (
            "boxed-warning",
            "indications-and-usage",
            "dosage-and-administration",
            "contraindications",
            "use-in-specific-populations",
            "pregnancy",
            "lactation",
        )
    }
    bw = records[f"label:{LITHIUM_SET_ID}:boxed-warning"]
    assert bw.section == "Boxed Warning"
    assert bw.title == "Lithium Carbonate — Boxed Warning"
    assert bw.organization == "Glenmark Pharmaceuticals Inc., USA (FDA label)"
    assert (bw.year, bw.date) == (2025, "2025-12-23")
    assert (bw.set_id, bw.drug, bw.brand) == (LITHIUM_SET_ID, "Lithium Carbonate", "Lithium Carbonate")
    assert bw.url == f"https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={LITHIUM_SET_ID}"


def test_spl_text_keeps_subsections_lists_and_tables_but_not_highlights() -> None:
    records = _by_id([x.record for x in load_spl(SPL)])
    bw = records[f"label:{LITHIUM_SET_ID}:boxed-warning"].text
    assert bw.startswith("WARNING: LITHIUM TOXICITY\n\nLithium toxicity is closely related to serum lithium")
    assert "See full prescribing information" not in bw  # the Highlights excerpt
    ind = records[f"label:{LITHIUM_SET_ID}:indications-and-usage"].text
    assert "\n• Treatment of acute manic and mixed episodes in patients 7 years and older" in ind
    assert ind.count("mood-stabilizing agent") == 1
    dosing = records[f"label:{LITHIUM_SET_ID}:dosage-and-administration"].text
    assert "2.1 Pre-treatment Screening\n\nBefore initiating treatment with lithium" in dosing
    assert (
        "Adult and Pediatric Patients over 30 kg | Capsules | 300 mg three times daily | 300 mg every 3 days"
        in dosing
    )
    assert "  " not in dosing


def test_spl_nested_known_section_is_its_own_record_and_stays_in_its_parent() -> None:
    records = _by_id([x.record for x in load_spl(SPL)])
    parent = records[f"label:{LITHIUM_SET_ID}:use-in-specific-populations"].text
    pregnancy = records[f"label:{LITHIUM_SET_ID}:pregnancy"].text
    assert pregnancy.startswith("8.1 Pregnancy\n\nRisk Summary:")
    assert pregnancy in parent
    assert "8.6 Renal Impairment" in parent  # an unclassified subsection belongs to its parent only


def test_spl_records_carry_their_source_line() -> None:
    lines = {x.record.section: x.line for x in load_spl(SPL)}
    text = SPL.read_text(encoding="utf-8").splitlines()
    line = lines["Contraindications"]
    assert line is not None
    assert "<section" in text[line - 1]
    assert "34070-3" in text[line + 1]


def test_spl_that_does_not_parse_names_file_and_line(tmp_path: Path) -> None:
    lines = SPL.read_text(encoding="utf-8").splitlines()
    broken = next(i for i, line in enumerate(lines) if "<title>4 CONTRAINDICATIONS" in line)
    lines[broken] = lines[broken].replace("</title>", "")
    path = tmp_path / "label.xml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"label\.xml:\d+: XML does not parse \(mismatched tag"):
        list(load_spl(path))


def test_spl_root_must_be_a_document(tmp_path: Path) -> None:
    path = tmp_path / "pubmed.xml"
    path.write_bytes(PUBMED.read_bytes())
    with pytest.raises(CorpusError, match=r"pubmed\.xml:3: not an SPL document"):
        list(load_spl(path))


def test_xml_entity_declarations_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE document [\n <!ENTITY a "aaaaaaaaaa">\n'
        ' <!ENTITY b "&a;&a;&a;&a;">\n]>\n'
        '<document xmlns="urn:hl7-org:v3">&b;</document>\n',
        encoding="utf-8",
    )
    with pytest.raises(CorpusError, match=r"bomb\.xml:3: XML entity declarations are not allowed"):
        list(load_spl(path))


def test_spl_product_name_keeps_its_suffix_as_words(tmp_path: Path) -> None:
    path = tmp_path / "label.xml"
    text = SPL.read_text(encoding="utf-8")
    path.write_text(
        text.replace("<name>Lithium Carbonate</name>", "<name>Lithium<suffix>Carbonate</suffix></name>", 1)
    )
    assert {x.record.brand for x in load_spl(path)} == {"Lithium Carbonate"}


def test_spl_inside_a_dailymed_zip_is_read(tmp_path: Path) -> None:
    archive = tmp_path / "63b3790f-a9b5-47f4-bae1-ddf8b43c13c1.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("lithium.xml", SPL.read_bytes())
        zf.writestr("lithium-structure.jpg", b"\xff\xd8")
    assert len(list(load_spl(archive))) == 7


# -------------------------------------------------------------------------------------------- PubMed


def test_pubmed_structured_abstract_keeps_its_labels() -> None:
    records = _by_id([x.record for x in load_pubmed(PUBMED)])
    rec = records["pmid:36765305"]
    assert rec.source_type == "research"
    assert rec.title == (
        "Dual-specificity phosphatases 22-deficient T cells contribute to the pathogenesis of "
        "ankylosing spondylitis."
    )
    assert rec.organization == "BMC medicine"
    assert (rec.year, rec.date) == (2023, "2023-02-10")
    assert (rec.pmid, rec.doi) == ("36765305", "10.1186/s12916-023-02745-6")
    assert rec.url == "https://pubmed.ncbi.nlm.nih.gov/36765305/"
    assert rec.section is None
    paragraphs = rec.text.split("\n")
    assert [p.split(":", 1)[0] for p in paragraphs] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert "(p < 0.001)" in rec.text
    assert "an increase of TNF-α+, interleukin-17A+, and interferon-γ+ CD3+ T cells." in rec.text


def test_pubmed_unstructured_abstract_is_plain_text() -> None:
    rec = _by_id([x.record for x in load_pubmed(PUBMED)])["pmid:37160881"]
    assert rec.text.startswith("Spatial Protein Quality Control (sPQC) sequesters misfolded proteins")
    assert rec.organization == "Nature communications"
    assert rec.doi == "10.1038/s41467-023-37706-3"  # the article's own, not a reference's


def test_pubmed_article_without_abstract_is_skipped_with_a_reason() -> None:
    ctx = LoadContext()
    ids = [x.record.id for x in load_pubmed(PUBMED, ctx)]
    assert ids == ["pmid:36765305", "pmid:37160881"]
    assert len(ctx.skipped) == 1
    assert "PMID 37278239: no abstract" in str(ctx.skipped[0])
    assert ctx.errors == []


def test_pubmed_medline_date_gives_the_year(tmp_path: Path) -> None:
    text = PUBMED.read_text(encoding="utf-8").replace(
        "<Year>2023</Year>\n" + " " * 28 + "<Month>Feb</Month>\n" + " " * 28 + "<Day>10</Day>",
        "<MedlineDate>1998 Dec-1999 Jan</MedlineDate>",
    )
    path = tmp_path / "p.xml"
    path.write_text(text, encoding="utf-8")
    rec = _by_id([x.record for x in load_pubmed(path)])["pmid:36765305"]
    assert (rec.year, rec.date) == (1998, None)


def test_pubmed_article_without_pmid_names_its_line(tmp_path: Path) -> None:
    text = PUBMED.read_text(encoding="utf-8").replace('<PMID Version="1">37160881</PMID>', "")
    path = tmp_path / "p.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match=r"p\.xml:62: article without a valid <PMID>"):
        list(load_pubmed(path))


def test_pubmed_xml_that_does_not_parse_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "p.xml.gz"
    cut = PUBMED.read_bytes()[:3000]
    with gzip.open(path, "wb") as fh:
        fh.write(cut)
    with pytest.raises(CorpusError, match=r"p\.xml\.gz:\d+: XML does not parse"):
        list(load_pubmed(path))


# ------------------------------------------------------------------------------------------ Markdown


def test_guideline_markdown_becomes_one_record_per_section() -> None:
    records = [x.record for x in load_markdown(GUIDELINE)]
    prefix = "guideline:uspstf-alcohol-misuse-2013"
    assert [r.id for r in records] == [
        f"{prefix}:screening-and-behavioral-counseling-interventions-in-primary-care-to-reduce-alcohol-misuse",
        f"{prefix}:summary-of-recommendations-and-evidence",
        f"{prefix}:clinical-considerations",
        f"{prefix}:potential-benefits",
        f"{prefix}:potential-harms",
    ]
    rec = records[1]
    assert rec.source_type == "guideline"
    assert rec.section == "Summary of Recommendations and Evidence"
    assert rec.title is not None
    assert rec.title.startswith("Screening and behavioral counseling interventions in primary care")
    assert rec.organization == "U.S. Preventive Services Task Force"  # from 'organisation:'
    assert (rec.year, rec.date, rec.pmid) == (2013, "2013-05-14", "23698791")
    assert rec.url == "https://www.guideline.gov/summaries/summary/9843"
    assert rec.license.startswith("US Government work")


def test_guideline_markdown_text_is_plain() -> None:
    records = _by_id([x.record for x in load_markdown(GUIDELINE)])
    summary = records["guideline:uspstf-alcohol-misuse-2013:summary-of-recommendations-and-evidence"].text
    assert summary.startswith("- The USPSTF recommends that clinicians screen adults aged 18 years or older")
    assert "(B recommendation)" in summary
    assert "**" not in summary
    considerations = records["guideline:uspstf-alcohol-misuse-2013:clinical-considerations"].text
    assert "Screening Tests\n\nThe USPSTF considers 3 tools" in considerations  # ### headings stay as lines
    assert "(AUDIT)" in considerations
    assert "B | The USPSTF recommends the service." in considerations
    assert "|---|" not in considerations
    harms = records["guideline:uspstf-alcohol-misuse-2013:potential-harms"].text
    assert "See the Community Preventive Services Task Force for public health interventions." in harms


def test_plain_text_reduces_inline_markup() -> None:
    assert plain_text("**Dose:** take `50 mg` *daily* — see [label](https://x.y)\n\n---\n> quoted") == (
        "Dose: take 50 mg daily — see label\n\nquoted"
    )


def test_front_matter_id_is_the_id_prefix(tmp_path: Path) -> None:
    path = tmp_path / "ldn.md"
    path.write_text(
        "---\nid: ldn-protocol\ntitle: LDN\n---\n## Dosing\nStart at 1.5 mg at night.\n", encoding="utf-8"
    )
    assert [x.record.id for x in load_markdown(path)] == ["ldn-protocol:dosing"]


def test_plain_text_document_is_one_record_without_section(tmp_path: Path) -> None:
    path = tmp_path / "alcohol-screening.txt"
    path.write_text(
        "---\ntitle: Alcohol misuse screening\nyear: 2013\n---\n"
        "# Not a heading in plain text\n"
        "Evidence is lacking to determine the optimal interval for screening.\n",
        encoding="utf-8",
    )
    (located,) = load_markdown(path)
    rec = located.record
    assert (rec.id, rec.section, rec.title, rec.year) == (
        "guideline:alcohol-screening",
        None,
        "Alcohol misuse screening",
        2013,
    )
    assert rec.text.startswith("Not a heading in plain text\n")


@pytest.mark.parametrize(
    ("front_matter", "message"),
    [
        ("title: A\nthis line has no colon\n", r"g\.md:3: front matter line is not 'key: value'"),
        ("title: A\nyear: twenty\n", r"g\.md:3: year 'twenty' is not a year"),
        ("date: 14 May 2013\n", r"g\.md:2: date '14 May 2013' is not YYYY-MM-DD"),
        ("source_type: blog\n", r"g\.md:2: source_type 'blog' is not one of"),
    ],
)
def test_bad_front_matter_names_file_and_line(tmp_path: Path, front_matter: str, message: str) -> None:
    path = tmp_path / "g.md"
    path.write_text(f"---\n{front_matter}---\n## S\nText.\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        list(load_markdown(path))


def test_unclosed_front_matter_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "g.md"
    path.write_text("---\ntitle: A\n## S\nText.\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"g\.md:1: front matter opened with '---' is never closed"):
        list(load_markdown(path))


def test_document_with_no_text_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "g.md"
    path.write_text("---\ntitle: A\n---\n# A\n\n## Empty\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"g\.md: document has no text"):
        list(load_markdown(path))
