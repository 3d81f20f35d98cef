"""Research fragments trimmed to whole words and sentences; labels kept out of quotable sentences.

The texts are real records of the shipped corpus (BioASQ snippets, PubMedQA and trial abstracts).
"""

from __future__ import annotations

from app.answer.extractive import is_clean, trim
from app.corpus.chunker import ChunkParams, chunk_record, label_end
from app.corpus.passages import passages_from_records, repaired
from app.corpus.repair import repair_fragments, repair_line, table_sentences
from app.schema import CorpusRecord


def _research(text: str, **kw: object) -> CorpusRecord:
    base: dict[str, object] = {"id": "pmid:1", "source_type": "research", "text": text}
    base.update(kw)
    return CorpusRecord.model_validate(base)


def test_cut_label_and_glued_next_label_are_trimmed() -> None:
    # pmid:25005336
    text = (
        "JECTIVE: To describe a patient whose active SLE (including lupus nephritis) was managed with the "
        "use of belimumab throughout pregnancy.ME"
    )
    assert repair_fragments(text) == (
        "To describe a patient whose active SLE (including lupus nephritis) was managed with the use of "
        "belimumab throughout pregnancy."
    )


def test_line_cut_at_both_ends_keeps_its_whole_sentences() -> None:
    # pmid:25258511: the range starts inside "review" and stops after "We conclude"
    text = (
        "view presented here focuses on naltrexone sustained-release/bupropion sustained-release "
        "combination (Contrave(®)). We conclude"
    )
    assert repair_fragments(text) == (
        "view presented here focuses on naltrexone sustained-release/bupropion sustained-release "
        "combination (Contrave(®))."
    )


def test_overlapping_snippet_repeats_are_dropped() -> None:
    # pmid:17932453: the second snippet is the first one shifted by two characters, plus "Here, we"
    first = (
        "On the other hand, Klinefelter syndrome is well recognized chromosomal abnormality caused by an "
        "additional X chromosome in males (47,XXY), and the characteristic clinical findings include tall "
        "stature, immaturity of external genitalia, testicular dysfunction."
    )
    text = first + "\n" + first[3:] + " Here, we"
    assert repair_fragments(text) == first


def test_mid_sentence_start_moves_to_the_next_sentence() -> None:
    # pmid:34585455 (second line)
    line = (
        "disintegration of explicit and implicit information processing in patients with FNSD has previously "
        "been suggested; however, this suggestion has so far received little empirical support. Trauma and "
        "maladaptive schemas probably reinforce disintegration in FNSD."
    )
    assert repair_line(line) == "Trauma and maladaptive schemas probably reinforce disintegration in FNSD."


def test_whole_sentence_without_its_full_stop_is_kept() -> None:
    line = (
        "The SYT protein appears to act as a transcriptional co-activator and the SSX proteins as "
        "co-repressors"
    )
    assert repair_line(line) == line
    # lower-case gene names are not a mid-sentence start
    gene = "mTOR inhibitors block the pathway. They were tested in mice."
    assert repair_line(gene) == gene


def test_complete_abstract_is_unchanged_byte_for_byte() -> None:
    text = (
        "Background: Most fibromyalgia patients are seen in primary care (PC). However, the effectiveness "
        "of the treatments prescribed by general practitioners is usually minimal.\n\n"
        "Trial registration: NCT00550966"
    )
    assert repair_fragments(text) == text
    rec = _research(text)
    assert repaired(rec) is rec


def test_nothing_left_keeps_the_original() -> None:
    text = "rity was assessed using kinematic techniques. Cognitive prof"
    assert repair_fragments(text) == "rity was assessed using kinematic techniques."
    alone = "16 patients, 10 men and 6 women had a"
    assert repair_fragments(alone) == alone


def test_repair_applies_to_research_records_only() -> None:
    label = CorpusRecord.model_validate(
        {"id": "label:x:dosage", "source_type": "fda_label", "text": "take one tablet daily. Do not"}
    )
    assert repaired(label) is label
    research = _research("take one tablet daily. Do not exceed the dose. It was cut at")
    (p,) = passages_from_records([research], ChunkParams())
    assert p.text == "Do not exceed the dose."


def test_label_end_finds_structured_abstract_labels() -> None:
    assert label_end("BACKGROUND: Retention treatment is reportedly associated") == len("BACKGROUND: ")
    assert label_end("Method/design: Design.") == len("Method/design: ")
    assert label_end("MAIN OUTCOME MEASURES: Mortality at 30 days.") == len("MAIN OUTCOME MEASURES: ")
    assert label_end("BACKGROUND & AIMS\nIdiopathic achalasia is a motility disorder.") == len(
        "BACKGROUND & AIMS\n"
    )
    assert label_end("Patients received 2.5 mg: the dose was halved.") == 0
    assert label_end("Mortality fell from 12% to 8% in the treated group.") == 0
    assert label_end("RESULTS:") == 0  # a label alone is not cut to nothing


def test_quotable_sentences_start_after_the_label_and_stay_verbatim() -> None:
    # PubMedQA-style abstract: one "LABEL: text" paragraph per line
    text = (
        "OBJECTIVE: Base Deficit (BD) is a marker of tissue hypoxia in polytrauma patients.\n"
        "METHODS: We reviewed 120 patients with isolated head injury.\n"
        "CONCLUSIONS: BD was present in most of them."
    )
    (p,) = chunk_record(_research(text))
    assert p.text == text  # the label stays in the passage text
    assert p.sentence_texts() == [
        "Base Deficit (BD) is a marker of tissue hypoxia in polytrauma patients.",
        "We reviewed 120 patients with isolated head injury.",
        "BD was present in most of them.",
    ]
    for span in p.sentences:
        assert p.text[span.start : span.end] in text
    label = CorpusRecord.model_validate(
        {"id": "ngc:1:recs", "source_type": "guideline", "text": "Grade A: offer statins to adults."}
    )
    (g,) = chunk_record(label)
    assert g.sentence_texts() == ["Grade A: offer statins to adults."]  # only research labels are cut


GUIDELINE_TABLE = (
    "### Classification\n"
    "| Grade | West Haven Criteria | Clinical Features |\n"
    "|---|:---:|---|\n"
    "| Minimal/Covert | 0–I | No overt signs |\n"
    "| **Grade II** | Overt | Lethargy, disorientation, asterixis |\n"
    "| Grade IV | Coma | – |\n"
    "\n"
    "Lactulose is first-line. A pipe | outside a table stays."
)


def test_a_guideline_table_is_said_one_sentence_per_row() -> None:
    assert table_sentences(GUIDELINE_TABLE) == (
        "### Classification\n"
        "Minimal/Covert — West Haven Criteria: 0–I; Clinical Features: No overt signs.\n"
        "Grade II — West Haven Criteria: Overt; Clinical Features: Lethargy, disorientation, asterixis.\n"
        "Grade IV — West Haven Criteria: Coma.\n"
        "\n"
        "Lactulose is first-line. A pipe | outside a table stays."
    )
    assert table_sentences("no table here\n| a | b |\nnot a rule") == "no table here\n| a | b |\nnot a rule"


def test_table_rows_become_quotable_sentences_of_the_guideline_passage() -> None:
    record = CorpusRecord.model_validate(
        {"id": "openmed:x:he", "source_type": "guideline", "title": "Cirrhosis", "text": GUIDELINE_TABLE}
    )
    fixed = repaired(record)
    assert "|---|" not in fixed.text
    (p,) = chunk_record(fixed, ChunkParams(min_words=1))
    quotable = [s for s in p.sentence_texts() if is_clean(trim(s))]
    assert any(s.startswith("Grade II — West Haven Criteria: Overt") for s in quotable)
    for s in p.sentence_texts():
        assert s in fixed.text  # verbatim from the stored (repaired) text


# An OTC label's "Directions" as the PDF extraction left them: the table has no column names, its first row
# is data (a whole direction in a cell); a second table names them.
LABEL_DIRECTIONS = (
    "Directions\n"
    "do not take more than directed (see overdose warning)\n"
    "\n"
    "| adults and children 12 years and over | take 2 tablets every 4-6 hours while symptoms last, "
    "not more than 12 tablets in 24 hours |\n"
    "| ------------------------------------- | ------------------------------------------------- |\n"
    "| children 6 to 11 years | take 1 tablet every 4-6 hours while symptoms last, not more than 5 tablets "
    "in 24 hours |\n"
    "| children under 6 years | do not use |\n"
    "\n"
    "| Color | Dyes |\n"
    "| --- | --- |\n"
    "| 1 mg: | D\\&C Red No. 6 Barium Lake |\n"
    "| • | \\[see USP Controlled Room Temperature] |"
)


def test_a_label_table_without_column_names_is_said_row_by_row_from_its_first_row() -> None:
    assert table_sentences(LABEL_DIRECTIONS) == (
        "Directions\n"
        "do not take more than directed (see overdose warning)\n"
        "\n"
        "Adults and children 12 years and over — take 2 tablets every 4-6 hours while symptoms last, "
        "not more than 12 tablets in 24 hours.\n"
        "Children 6 to 11 years — take 1 tablet every 4-6 hours while symptoms last, not more than 5 tablets "
        "in 24 hours.\n"
        "Children under 6 years — do not use.\n"
        "\n"
        "1 mg — Dyes: D&C Red No. 6 Barium Lake.\n"  # a subject's colon and Markdown's escapes dropped
        "Dyes: [see USP Controlled Room Temperature]."  # a bullet is no subject
    )
    # Numbers with words in every cell are a data row; a score's bare numbers are column names.
    products = "| 250 mg Capsule | NDC 81964-225-01 |\n| --- | --- |\n| 500 mg Capsule | NDC 81964-205-01 |"
    assert table_sentences(products) == (
        "250 mg Capsule — NDC 81964-225-01.\n500 mg Capsule — NDC 81964-205-01."
    )
    score = "| SpO2 Scale 2 | 3 | 0 |\n| --- | --- | --- |\n| SpO2 (%) | ≤ 83 | 88–92 |"
    assert table_sentences(score) == "SpO2 (%) — 3: ≤ 83; 0: 88–92."


def test_label_table_rows_become_quotable_sentences_and_the_heading_line_is_not_quoted() -> None:
    record = CorpusRecord.model_validate(
        {
            "id": "label:pdf-x:dosage-and-administration",
            "source_type": "fda_label",
            "title": "Acetaminophen — Dosage and Administration",
            "section": "Dosage and Administration",
            "text": LABEL_DIRECTIONS,
        }
    )
    fixed = repaired(record)
    assert "|" not in fixed.text
    assert fixed.text != record.text
    (p,) = chunk_record(fixed, ChunkParams(min_words=1))
    quotable = [trim(s) for s in p.sentence_texts() if is_clean(trim(s))]
    assert quotable[0].startswith("Adults and children 12 years and over — take 2 tablets")
    assert not any(s.startswith("Directions") for s in quotable)  # "Directions\ndo not take …": a heading
    for s in p.sentence_texts():
        assert s in fixed.text  # verbatim from the stored (repaired) text
