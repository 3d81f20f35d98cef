"""From corpus records to passages, under an index profile."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from app.corpus.chunker import ChunkParams, chunk_record
from app.corpus.repair import repair_fragments, table_sentences
from app.corpus.study_type import study_type_of
from app.schema import CorpusRecord, Passage

# Label sections left out of the default 'clinical' profile: together they are ~40% of the label text
# (13.6M words), mostly trial tables, pharmacokinetic curves, chemistry and packaging, and they rarely
# answer a clinician's question better than the sections kept (indications, dosing, contraindications,
# warnings, adverse reactions, interactions, specific populations, patient information). The 'full'
# profile keeps them.
LOW_YIELD_LABEL_SECTIONS = frozenset(
    {
        "clinical studies",
        "clinical pharmacology",
        "pharmacokinetics",
        "pharmacodynamics",
        "pharmacogenomics",
        "nonclinical toxicology",
        "carcinogenesis, mutagenesis, impairment of fertility",
        "animal pharmacology and/or toxicology",
        "description",
        "how supplied",
        "storage and handling",
        "how supplied/storage and handling",
        "instructions for use",
        "microbiology",
        "references",
        "inactive ingredient",
        "active ingredient",
        "package label.principal display panel",
        "spl unclassified section",
    }
)


def in_profile(record: CorpusRecord, profile: str) -> bool:
    """Whether ``record`` is indexed under ``profile``. Only full openFDA labels (ids ``label:``) are trimmed;
    the small curated label sets (FDA-ARS safety sections, DailyMed excerpts) are always kept."""
    if profile == "full" or record.source_type != "fda_label" or not record.id.startswith("label:"):
        return True
    section = (record.section or "").strip().lower()
    return not (section in LOW_YIELD_LABEL_SECTIONS or section.startswith("unclassified section"))


def passages_from_records(
    records: Iterable[CorpusRecord], params: ChunkParams, profile: str = "clinical"
) -> Iterator[Passage]:
    for original in records:
        if in_profile(original, profile):
            record = repaired(original)
            study_type = study_type_of(record)
            for p in chunk_record(record, params):
                yield p.model_copy(update={"study_type": study_type}) if study_type else p


def repaired(record: CorpusRecord) -> CorpusRecord:
    """A research record with its text trimmed to whole words and sentences (``repair.repair_fragments``); a
    guideline or label with its Markdown tables (the labels extracted from PDFs keep theirs: an OTC label's
    "Directions") said one sentence per row (``repair.table_sentences``). Done at build time, so the shipped
    data stays as its source gave it."""
    repair = repair_fragments if record.source_type == "research" else table_sentences
    text = repair(record.text)
    return record if text == record.text else record.model_copy(update={"text": text})


def embedding_text(p: Passage) -> str:
    """What the encoder and BM25 see: the document context, then the passage."""
    head = [x for x in (p.title, p.section) if x]
    if len(head) == 2 and head[1].lower() in head[0].lower():
        head = head[:1]
    prefix = ". ".join(head)
    return f"{prefix}. {p.text}" if prefix else p.text
