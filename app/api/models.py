"""Request and response bodies of the HTTP API (the domain types themselves live in ``app.schema``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, Json, JsonValue, RootModel, StrictBool

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

# A question needs a letter or a digit: the engine's ``clean_question`` rejects one with neither
# (``str.isalnum``: Unicode letters L* and numbers N*), with a sentence saying so. The schemas declare it with
# this JSON Schema (ECMA-262, Unicode) pattern; the server enforces it there, not again in pydantic.
HAS_ALNUM = r"[\p{L}\p{N}]"


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
        min_length=1,
        json_schema_extra={"pattern": HAS_ALNUM},
        description="the question (with at least one letter or digit); a follow-up may lean on earlier "
        "turns ('and the dose?')",
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


# -- Server-Sent Events: one model per event, so a stream's schema says what each event carries ------------
# An event is its SSE fields: ``event`` (its name; "message" when the stream names none), ``id`` and
# ``data``, a string of JSON (``Json[...]``: ``contentMediaType``/``contentSchema`` in the JSON Schema).
# The ``text/event-stream`` response's ``schema`` describes one event, as Open API 3.2's ``itemSchema`` does.


class RetrievalSse(BaseModel):
    """``event: retrieval`` — first: the standalone question and the passages each section will draw on."""

    event: Literal["retrieval"]
    id: str = Field(pattern=r"^[0-9]+$")
    data: Json[RetrievalEventData]


class SectionSse(BaseModel):
    """``event: section`` — one per section, as it is guarded."""

    event: Literal["section"]
    id: str = Field(pattern=r"^[0-9]+$")
    data: Json[SectionEventData]


class AnswerSse(BaseModel):
    """``event: answer`` — last: the final ``Answer``, stored in the conversation."""

    event: Literal["answer"]
    id: str = Field(pattern=r"^[0-9]+$")
    data: Json[Answer]


class ErrorSse(BaseModel):
    """``event: error`` — last, instead of ``answer``, on a failure mid-stream: a problem document."""

    event: Literal["error"]
    data: Json[Problem]


class AnswerStreamEvent(RootModel[RetrievalSse | SectionSse | AnswerSse | ErrorSse]):
    """One event of an answer stream: ``retrieval``, a ``section`` per section, then ``answer`` (or
    ``error``)."""

    root: Annotated[RetrievalSse | SectionSse | AnswerSse | ErrorSse, Field(discriminator="event")]


def sse_content(event_model: type[BaseModel], example: str) -> dict[str, Any]:
    """An OpenAPI ``text/event-stream`` media type whose ``schema`` is one event (``event_model``, registered
    in components by the app's ``openapi()``)."""
    return {"schema": {"$ref": f"#/components/schemas/{event_model.__name__}"}, "example": example}


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

    include_usage: StrictBool = Field(False, description="a last chunk with the usage (true or false only)")


MAX_MESSAGES = 200


def _ends_with_user(max_items: int) -> list[dict[str, Any]]:
    """JSON Schema for "the last message is the user's, with a letter or a digit" (what the route checks):
    one branch per length, as JSON Schema has no other way to constrain an array's last item."""
    text_part = {
        "type": "object",
        "properties": {"type": {"const": "text"}, "text": {"type": "string", "pattern": HAS_ALNUM}},
        "required": ["type", "text"],
    }
    content = {"anyOf": [{"type": "string", "pattern": HAS_ALNUM}, {"type": "array", "contains": text_part}]}
    user = {
        "type": "object",
        "properties": {"role": {"const": "user"}, "content": content},
        "required": ["role", "content"],
    }
    return [
        {"minItems": n, "maxItems": n, "prefixItems": [True] * (n - 1) + [user]}
        for n in range(1, max_items + 1)
    ]


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
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=MAX_MESSAGES,
        description="the conversation; the last message is the question: role 'user', with a letter or digit",
        json_schema_extra={"anyOf": cast(list[JsonValue], _ends_with_user(MAX_MESSAGES))},
    )
    stream: StrictBool = False
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


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One ``chat.completion.chunk``: the role, then the Markdown section by section, then ``finish_reason``
    ``stop`` with the structured answer in ``curbside``; with ``stream_options.include_usage`` a last chunk
    with no choices and the ``usage``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    curbside: Answer | None = Field(None, description="on the chunk that finishes the answer")


class ChatChunkSse(BaseModel):
    """``data:`` one chunk (JSON), or a problem document on a failure mid-stream."""

    event: Literal["message"] = "message"
    data: Json[ChatCompletionChunk | Problem]


class ChatDoneSse(BaseModel):
    """``data: [DONE]`` — the end of the stream."""

    event: Literal["message"] = "message"
    data: Literal["[DONE]"]


class ChatCompletionStreamEvent(RootModel[ChatChunkSse | ChatDoneSse]):
    """One event of a streamed chat completion (data-only SSE, as OpenAI sends them)."""


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "curbside"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
