"""Server-Sent Events: the engine's events as SSE frames, made in a worker thread, sent from the event loop.

The engine is synchronous and CPU-bound; each step of its generator runs in the thread pool so the event
loop keeps serving other requests while an answer is being composed. The first step runs before the
response starts, so a bad question or an unknown conversation still gets its proper 4xx status; an error
after that arrives as an ``error`` event carrying the problem document.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from app.answer.engine import AnswerEvent, Event, RetrievalEvent, SectionEvent
from app.api.errors import PATH_SAFE, problem_body, problem_for_exception
from app.api.models import PassageBrief, RetrievalEventData, SectionEventData

log = logging.getLogger("curbside.api")
T = TypeVar("T")

SSE_HEADERS = {"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"}


class _Done:
    pass


DONE = _Done()


def sse(data: str, event: str | None = None, event_id: int | None = None) -> bytes:
    lines = []
    if event:
        lines.append(f"event: {event}")
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in (data.splitlines() or [""]))
    return ("\n".join(lines) + "\n\n").encode()


def _step(it: Iterator[T]) -> T | _Done:
    try:
        return next(it)
    except StopIteration:
        return DONE


async def first(it: Iterator[T]) -> T | _Done:
    """The first item, computed in the thread pool; exceptions propagate (the route maps them to 4xx/5xx)."""
    return await run_in_threadpool(_step, it)


async def relay(
    it: Iterator[T],
    head: T | _Done,
    render: Callable[[T], bytes],
    on_error: Callable[[BaseException], bytes],
    tail: bytes = b"",
) -> AsyncIterator[bytes]:
    """Send ``head`` and then the rest of ``it`` (each step in the thread pool), ``tail`` at the end."""
    try:
        item = head
        while not isinstance(item, _Done):
            yield render(item)
            try:
                item = await run_in_threadpool(_step, it)
            except Exception as exc:
                status, *_ = problem_for_exception(exc)
                if status >= 500:
                    log.error("stream failed", exc_info=exc)
                yield on_error(exc)
                break
        if tail:
            yield tail
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            # A generator still running in a worker thread cannot be closed; it finishes on its own.
            with contextlib.suppress(Exception):
                close()


def error_payload(exc: BaseException, instance: str) -> dict[str, Any]:
    status, kind, detail, _headers, extra = problem_for_exception(exc)
    return problem_body(status, kind, detail, instance=quote(instance, safe=PATH_SAFE), extra=extra)


def event_stream(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)


# -- the native stream: retrieval → section × n → answer ---------------------------------------------------


def answer_frames(events: Iterator[Event]) -> Iterator[tuple[str, str]]:
    """(event name, JSON data) for each engine event; runs in the worker thread (each step is engine work)."""
    for ev in events:
        if isinstance(ev, RetrievalEvent):
            briefs = {
                key: [
                    PassageBrief(
                        id=p.id,
                        source_type=p.source_type,
                        label=p.citation_label(),
                        title=p.title,
                        organization=p.organization,
                        year=p.year,
                        url=p.url,
                    )
                    for p in passages
                ]
                for key, passages in ev.passages.items()
            }
            data = RetrievalEventData.model_validate(
                {
                    "standalone_question": ev.standalone_question,
                    "drugs": ev.drugs,
                    "passages": briefs,
                    "emergency": ev.emergency,
                }
            )
            yield "retrieval", data.model_dump_json()
        elif isinstance(ev, SectionEvent):
            yield "section", SectionEventData(section=ev.section, references=ev.references).model_dump_json()
        elif isinstance(ev, AnswerEvent):
            yield "answer", ev.answer.model_dump_json()


def render_frame_factory() -> Callable[[tuple[str, str]], bytes]:
    counter = 0

    def render(frame: tuple[str, str]) -> bytes:
        nonlocal counter
        counter += 1
        return sse(frame[1], event=frame[0], event_id=counter)

    return render
