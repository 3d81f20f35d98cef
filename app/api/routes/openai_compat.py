"""POST /v1/chat/completions and GET /v1/models: Curbside as an OpenAI-compatible chat model.

Existing chat clients and SDKs talk to Curbside unchanged: the last user message is the question, the
earlier user messages are the conversation (condensed into a standalone question the same way a stored
conversation is), the assistant message is the answer in Markdown, and the structured ``Answer`` rides
along in an extra ``curbside`` field. ``stream: true`` gives ``chat.completion.chunk`` events, one per
section as it is guarded, ending with ``data: [DONE]``.

To continue a stored conversation instead, pass its id as ``metadata.conversation_id`` (must exist) or as
``user`` (used when it names an existing conversation; otherwise it is just OpenAI's end-user id).
Every answer is stored as a turn; the response's ``curbside.conversation_id`` continues it.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.answer.engine import (
    AnswerEngine,
    AnswerEvent,
    Event,
    QuestionError,
    RetrievalEvent,
    SectionEvent,
    clean_question,
)
from app.api.deps import Runtime, RuntimeDep, accepts, require_json_body
from app.api.errors import ApiError
from app.api.models import (
    CONVERSATION_ID,
    ChatChoice,
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionRequest,
    ChatCompletionStreamEvent,
    ModelCard,
    ModelList,
    Usage,
    problem_responses,
    sse_content,
)
from app.api.streaming import error_payload, event_stream, first, relay, sse
from app.conversation import ConversationNotFound
from app.schema import Answer, Audience

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
log = logging.getLogger("curbside.api")

MODEL = "curbside"
STARTED = int(time.time())


@router.get("/models", response_model=ModelList, summary="The one model this server offers (OpenAI shape)")
async def list_models() -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL, created=STARTED)])


# -- Markdown: each section as ``Section.to_markdown`` renders it (the stream concatenates to the answer's) --


def _words(text: str) -> int:
    return len(text.split())


# -- mapping messages to a question and a conversation -------------------------------------------------------


class _Plan:
    """What one chat-completions request asks of the engine."""

    def __init__(self, body: ChatCompletionRequest, runtime: Runtime) -> None:
        if body.messages[-1].role != "user":
            raise ApiError(
                422,
                "validation",
                "messages must end with a user message (the question)",
                extra={
                    "errors": [{"field": "messages", "message": "the last message must have role 'user'"}]
                },
            )
        limit = runtime.settings.answer.max_question_chars
        self.question = clean_question(body.messages[-1].text(), limit)
        self.earlier: list[str] = []
        for m in body.messages[:-1]:
            if m.role == "user":
                try:
                    self.earlier.append(clean_question(m.text(), limit))
                except QuestionError:
                    continue  # an empty or over-long earlier message carries no topic worth condensing
        meta = body.metadata or {}
        audience = meta.get("audience", "clinician")
        if audience not in ("clinician", "patient"):
            raise ApiError(
                422,
                "validation",
                "metadata.audience: must be 'clinician' or 'patient'",
                extra={
                    "errors": [{"field": "metadata.audience", "message": "must be 'clinician' or 'patient'"}]
                },
            )
        self.audience: Audience = "patient" if audience == "patient" else "clinician"
        self.conversation_id: str | None = None
        cid = meta.get("conversation_id")
        if cid is not None:
            if not re.match(CONVERSATION_ID, cid) or not runtime.conversations.exists(cid):
                raise ConversationNotFound(cid)
            self.conversation_id = cid
        elif body.user and re.match(CONVERSATION_ID, body.user) and runtime.conversations.exists(body.user):
            self.conversation_id = body.user


def _events(plan: _Plan, engine: AnswerEngine) -> Iterator[Event]:
    """The engine's events for this request: a stored conversation continued, or a client-held transcript
    condensed by the engine the same way; either way the answer is stored under the user's own words."""
    transcript = None if plan.conversation_id is not None else plan.earlier
    yield from engine.events(
        plan.question, conversation_id=plan.conversation_id, transcript=transcript, audience=plan.audience
    )


def _completion(answer: Answer, plan: _Plan, cid: str) -> ChatCompletion:
    content = answer.to_markdown()
    prompt = _words(" ".join([*plan.earlier, plan.question]))
    done = _words(content)
    return ChatCompletion(
        id=cid,
        created=int(time.time()),
        model=MODEL,
        choices=[ChatChoice(message=ChatCompletionMessage(content=content))],
        usage=Usage(prompt_tokens=prompt, completion_tokens=done, total_tokens=prompt + done),
        curbside=answer,
    )


def _chunk(cid: str, created: int, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    body.update(extra)
    return json.dumps(body, ensure_ascii=False)


def chunk_stream(events: Iterator[Event], plan: _Plan, cid: str, include_usage: bool) -> Iterator[str]:
    """OpenAI ``chat.completion.chunk`` JSON: role, then the Markdown section by section, then the rest."""
    created = int(time.time())
    sent = ""
    events = iter(events)
    head = next(events)  # a bad question or unknown conversation fails before the response starts
    yield _chunk(cid, created, {"role": "assistant", "content": ""})
    for ev in itertools.chain([head], events):
        if isinstance(ev, RetrievalEvent):
            if ev.emergency is not None:
                piece = f"> **{ev.emergency.message}**\n\n"  # first, as in Answer.to_markdown
                sent += piece
                yield _chunk(cid, created, {"content": piece})
            if ev.standalone_question != plan.question:
                piece = f"*Answering:* {ev.standalone_question}\n\n"
                sent += piece
                yield _chunk(cid, created, {"content": piece})
        elif isinstance(ev, SectionEvent):
            piece = ev.section.to_markdown() + "\n"
            sent += piece
            yield _chunk(cid, created, {"content": piece})
        elif isinstance(ev, AnswerEvent):
            full = ev.answer.to_markdown()
            rest = full[len(sent) :] if full.startswith(sent) else "\n\n" + full
            if rest:
                yield _chunk(cid, created, {"content": rest})
            yield _chunk(cid, created, {}, "stop", curbside=ev.answer.model_dump(mode="json"))
            if include_usage:
                prompt = _words(" ".join([*plan.earlier, plan.question]))
                done = _words(full)
                usage = {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}
                yield json.dumps(
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": MODEL,
                        "choices": [],
                        "usage": usage,
                    }
                )


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="OpenAI-compatible chat completions (Markdown answer + structured `curbside` field)",
    description=__doc__ or "",
    responses={
        200: {
            "description": "a chat.completion, or with stream=true chat.completion.chunk events ending "
            "with `data: [DONE]`",
            "content": {
                "text/event-stream": sse_content(
                    ChatCompletionStreamEvent,
                    'data: {"object": "chat.completion.chunk", ...}\n\n'
                    'data: {"object": "chat.completion.chunk", ...}\n\ndata: [DONE]\n\n',
                )
            },
        },
        **problem_responses(400, 401, 404, 406, 413, 415, 422, 429, 503),
    },
    dependencies=[Depends(require_json_body)],
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    # OpenAI SDKs send 'Accept: application/json' even when streaming: either is fine for either mode.
    _media: Annotated[str, Depends(accepts("application/json", "text/event-stream"))],
    runtime: RuntimeDep,
) -> Response:
    plan = await run_in_threadpool(_Plan, body, runtime)
    if runtime.settings.api.log_questions:
        log.info("question", extra={"question": plan.question, "conversation_id": plan.conversation_id})
    engine = await runtime.require_engine()
    cid = "chatcmpl-" + uuid.uuid4().hex
    events = _events(plan, engine)
    if not body.stream:

        def run() -> Answer:
            answer: Answer | None = None
            for ev in events:
                if isinstance(ev, AnswerEvent):
                    answer = ev.answer
            assert answer is not None
            return answer

        answer = await run_in_threadpool(run)
        return Response(_completion(answer, plan, cid).model_dump_json(), media_type="application/json")

    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    chunks = chunk_stream(events, plan, cid, include_usage)
    head = await first(chunks)
    path = request.url.path

    def on_error(exc: BaseException) -> bytes:
        return sse(json.dumps(error_payload(exc, path)))

    return event_stream(relay(chunks, head, sse, on_error, tail=sse("[DONE]")))
