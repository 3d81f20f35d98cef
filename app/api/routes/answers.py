"""POST /v1/answers (JSON, or SSE with ``Accept: text/event-stream``) and POST /v1/answers/stream."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.answer.engine import AnswerEngine
from app.api.deps import Runtime, RuntimeDep, accepts, require_json_body
from app.api.models import AnswerRequest, AnswerStreamEvent, problem_responses, sse_content
from app.api.streaming import (
    answer_frames,
    error_payload,
    event_stream,
    first,
    relay,
    render_frame_factory,
    sse,
)
from app.schema import Answer

router = APIRouter(prefix="/v1", tags=["answers"])
log = logging.getLogger("curbside.api")

EVENT_STREAM = "text/event-stream"
SSE_DOC = (
    "Server-Sent Events, in this order: `retrieval` (standalone question, candidate passages per section), "
    "`section` (one per section as it is guarded, with the references numbered so far), `answer` (the final "
    "Answer, stored in the conversation). On a failure mid-stream: `error` with a problem document."
)
_SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the answer (JSON), or its Server-Sent Events",
        "content": {
            EVENT_STREAM: sse_content(
                AnswerStreamEvent,
                "event: retrieval\nid: 1\ndata: {...}\n\nevent: section\nid: 2\ndata: {...}\n\n"
                "event: answer\nid: 5\ndata: {...}\n\n",
            )
        },
    },
    **problem_responses(400, 401, 403, 404, 406, 413, 415, 422, 429, 503),
}


def _log_question(runtime: Runtime, body: AnswerRequest) -> None:
    if runtime.settings.api.log_questions:
        log.info("question", extra={"question": body.question, "conversation_id": body.conversation_id})


async def _prepare(
    body: AnswerRequest, runtime: Runtime, engine: AnswerEngine
) -> tuple[AnswerEngine, dict[str, Any]]:
    _log_question(runtime, body)
    use_llm = True
    if body.llm is not None:
        engine, use_llm = await run_in_threadpool(runtime.engine_for, engine, body.llm)
    kwargs: dict[str, Any] = {
        "conversation_id": body.conversation_id,
        "audience": body.audience,
        "sections": body.sections,
        "use_llm": use_llm,
    }
    return engine, kwargs


async def _stream(request: Request, engine: AnswerEngine, question: str, kwargs: dict[str, Any]) -> Response:
    frames = answer_frames(engine.events(question, **kwargs))
    head = await first(frames)  # a bad question or unknown conversation fails here, with its own status
    path = request.url.path

    def on_error(exc: BaseException) -> bytes:
        return sse(json.dumps(error_payload(exc, path)), event="error")

    return event_stream(relay(frames, head, render_frame_factory(), on_error))


@router.post(
    "/answers",
    response_model=Answer,
    summary="Answer a question (three cited sections)",
    description="Returns the `Answer`. A follow-up is a POST with the `conversation_id` of the earlier "
    "answer. "
    "With `Accept: text/event-stream` the answer streams instead: " + SSE_DOC,
    responses=_SSE_RESPONSE,
    dependencies=[Depends(require_json_body)],
)
async def create_answer(
    body: AnswerRequest,
    request: Request,
    media: Annotated[str, Depends(accepts("application/json", EVENT_STREAM))],
    runtime: RuntimeDep,
) -> Response:
    engine, kwargs = await _prepare(body, runtime, await runtime.require_engine())
    if media == EVENT_STREAM:
        return await _stream(request, engine, body.question, kwargs)
    answer = await run_in_threadpool(engine.ask, body.question, **kwargs)
    return Response(answer.model_dump_json(), media_type="application/json")


@router.post(
    "/answers/stream",
    summary="Answer a question as Server-Sent Events",
    description=SSE_DOC
    + " Each event is an `AnswerStreamEvent`: `retrieval` → RetrievalEventData, `section` → "
    "SectionEventData, `answer` → Answer, `error` → Problem.",
    responses=_SSE_RESPONSE,
    response_class=Response,
    dependencies=[Depends(require_json_body), Depends(accepts(EVENT_STREAM))],
)
async def stream_answer(
    body: AnswerRequest,
    request: Request,
    runtime: RuntimeDep,
) -> Response:
    engine, kwargs = await _prepare(body, runtime, await runtime.require_engine())
    return await _stream(request, engine, body.question, kwargs)
