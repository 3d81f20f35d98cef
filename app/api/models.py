"""Request and response bodies of the HTTP API (the domain types themselves live in ``app.schema``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schema import (
    Answer,
    Audience,
    EmergencyNotice,
    Hit,
    Passage,
    Reference,
    Section,
    SectionKey,
    SourceType,
    Turn,
)

CONVERSATION_ID = r"^[A-Za-z0-9_-]{1,64}$"

FLAGSHIP = "What are the benefits of low-dose naltrexone?"


# -- problems ----------------------------------------------------------------------------------------------


class FieldProblem(BaseModel):
    field: str = Field(description="the offending field, dotted (e.g. 'question', 'messages.0.role')")
    message: str
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:curbside:problem:question",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "question is empty; type a medical question",
                    "instance": "/v1/answers",
                    "request_id": "5f2c0b6f3a1e4e0e9a0f9f1b2c3d4e5f",
                }
            ]
        },
    )

    type: str = Field(description="URI naming the kind of problem (urn:curbside:problem:…)")
    title: str = Field(description="the HTTP status phrase")
    status: int
    detail: str = Field(description="what went wrong and what to do about it")
    instance: str | None = Field(None, description="the request path")
    request_id: str | None = Field(None, description="find this request in the server log")
    errors: list[FieldProblem] | None = Field(None, description="one entry per invalid field (validation)")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem documents."""
    return {
        s: {"model": Problem, "content": {"application/problem+json": {}}, "description": _WHEN.get(s, "")}
        for s in statuses
    }


_WHEN = {
    400: "malformed JSON",
    401: "API key missing or wrong",
    403: "not allowed on this server",
    404: "not found",
    406: "the Accept header asks for a format this endpoint does not produce",
    413: "request body larger than api.max_body_bytes",
    415: "body is not JSON",
    422: "invalid request (the detail names the field) or an unanswerable question",
    429: "rate limit exceeded (see Retry-After)",
    502: "the LLM backend could not be set up",
    503: "index missing, stale or still loading (the detail says how to fix it)",
}


# -- answers -----------------------------------------------------------------------------------------------


class LLMChoice(BaseModel):
    """Per-request LLM choice. ``backend: none`` (extractive only) is always allowed; anything else only when
    the server sets ``api.allow_llm_override``."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["none", "openai", "local"] = Field(description="'none' forces the extractive answer")
    model: str | None = Field(
        None, max_length=200, description="model name sent to an OpenAI-compatible server"
    )
    base_url: str | None = Field(
        None, max_length=500, pattern=r"^https?://", description="OpenAI-compatible base URL up to /v1"
    )


class AnswerRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": FLAGSHIP},
                {"question": "What dose?", "conversation_id": "3b5bfaaa5efb45ecb5199d87f9bcf170"},
                {"question": FLAGSHIP, "audience": "patient", "sections": ["guidelines", "fda_label"]},
            ]
        },
    )

    question: str = Field(
        min_length=1, description="the question; a follow-up may lean on earlier turns ('and the dose?')"
    )
    conversation_id: str | None = Field(
        None, pattern=CONVERSATION_ID, description="continue this conversation (from an earlier answer)"
    )
    audience: Audience = Field("clinician", description="who reads the answer")
    sections: list[SectionKey] | None = Field(
        None, min_length=1, max_length=3, description="answer only these sections (default: all three)"
    )
    llm: LLMChoice | None = Field(None, description="override the server's LLM for this request")


class ConversationOut(BaseModel):
    id: str
    turns: list[Turn] = Field(description="oldest first, each with its full answer")


class PassageBrief(BaseModel):
    """A candidate passage as announced by the ``retrieval`` stream event."""

    id: str
    source_type: SourceType
    label: str
    title: str | None = None
    organization: str | None = None
    year: int | None = None
    url: str | None = None


class RetrievalEventData(BaseModel):
    """``event: retrieval`` — the standalone question and the passages each section will draw on."""

    standalone_question: str
    drugs: list[str]
    passages: dict[SectionKey, list[PassageBrief]]
    emergency: EmergencyNotice | None = Field(
        None, description="the emergency banner, first, when the question describes an acute emergency"
    )


class SectionEventData(BaseModel):
    """``event: section`` — one guarded section, with every reference numbered so far."""

    section: Section
    references: list[Reference]


class PassageOut(Passage):
    label: str = Field(description="one-line citation: title (organisation, year) — section")


# -- search ------------------------------------------------------------------------------------------------


class SearchOut(BaseModel):
    question: str
    method: Literal["hybrid", "dense", "lexical"]
    drugs: list[str] = Field(
        description="drugs recognised in the query (label passages are restricted to them)"
    )
    unknown_drugs: list[str] = Field(description="drug-like words with no label in the index")
    sections: dict[SourceType, list[Hit]]


# -- health and info ---------------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str] = Field(description="each check and its outcome")


class IndexInfo(BaseModel):
    directory: str
    built_at: str
    profile: str
    model: str
    dim: int
    records: int
    passages: int
    counts: dict[str, int] = Field(description="passages per source type")
    corpus_sha256: str
    dense: dict[str, Any]
    lexical: dict[str, Any]


class Info(BaseModel):
    name: Literal["curbside"] = "curbside"
    version: str
    status: Literal["loading", "ready", "failed"] = Field(description="state of the answer engine")
    problem: str | None = Field(None, description="why the engine is not ready, and the fix")
    index: IndexInfo | None
    embedding_model: str
    composer: Literal["extractive", "generative"]
    llm: dict[str, Any] = Field(description="configured LLM backend and model ('none' = extractive only)")
    limits: dict[str, Any]
    auth_required: bool


# -- OpenAI-compatible chat completions --------------------------------------------------------------------


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "\n".join(p.text for p in self.content if p.type == "text" and p.text)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The official request shape; unknown OpenAI parameters (temperature, top_p, …) are accepted and ignored.

    The last user message is the question, earlier user messages are the conversation. To continue a stored
    conversation pass its id as ``metadata.conversation_id`` (or as ``user``); ``metadata.audience`` may be
    'clinician' or 'patient'.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"model": "curbside", "messages": [{"role": "user", "content": FLAGSHIP}]},
                {
                    "model": "curbside",
                    "stream": True,
                    "messages": [
                        {"role": "user", "content": "What is naltrexone used for?"},
                        {"role": "assistant", "content": "…"},
                        {"role": "user", "content": "What dose?"},
                    ],
                },
            ]
        },
    )

    model: str = Field("curbside", max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(None, max_length=200)
    metadata: dict[str, str] | None = None


class ChatCompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    """Counted in words (the extractive composer has no tokenizer)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    curbside: Answer = Field(description="the structured answer: sections, statements, references, quotes")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "curbside"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
