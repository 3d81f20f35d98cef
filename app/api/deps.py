"""What routes depend on: the runtime (settings, conversation store, answer engine), content negotiation.

The engine (index + embedder + optional LLM client) loads in a background thread when the app starts, so
the server answers ``/healthz`` at once. If the index is missing, damaged or stale the server still runs:
``/readyz`` and every route that needs the index answer 503 with the fix, and the load is retried every
``api.index_retry_s`` seconds, so ``curbside index build`` in another terminal brings the server up.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Annotated, Literal

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from app.answer.engine import AnswerEngine
from app.api.errors import ApiError
from app.api.models import LLMChoice
from app.conversation import ConversationStore
from app.index.manifest import IndexMismatch
from app.llm import LLMClient, LLMError, make_client
from app.settings import Settings

log = logging.getLogger("curbside.api")

EngineState = Literal["loading", "ready", "failed"]
LOAD_WAIT_S = 120.0
LLM_HEALTH_TTL_S = 10.0
MAX_OVERRIDES = 4


class Runtime:
    """The process-wide dependencies of one app: built by ``create_app``, closed at shutdown."""

    def __init__(self, settings: Settings, engine: AnswerEngine | None = None) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._loaded = threading.Event()
        self._engine: AnswerEngine | None = engine
        self._state: EngineState = "ready" if engine is not None else "loading"
        self._problem: str | None = None
        self._attempt_at = 0.0
        self._thread: threading.Thread | None = None
        self._overrides: OrderedDict[tuple[str, str, str], AnswerEngine] = OrderedDict()
        self._llm_health: tuple[float, bool] | None = None
        self.llm_problem: str | None = None
        if engine is not None and engine.conversations is not None:
            self.conversations = engine.conversations
        else:
            self.conversations = ConversationStore(settings.paths.data_dir / settings.conversation.db_name)
            if engine is not None:
                engine.conversations = self.conversations
        if engine is not None:
            self._loaded.set()

    # -- engine lifecycle ------------------------------------------------------------------------------
    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def problem(self) -> str | None:
        return self._problem

    @property
    def engine(self) -> AnswerEngine | None:
        return self._engine

    def start_loading(self) -> None:
        """Start loading the engine in the background unless it is loaded, loading, or failed just now."""
        with self._lock:
            if self._engine is not None or (self._thread is not None and self._thread.is_alive()):
                return
            if (
                self._state == "failed"
                and time.monotonic() - self._attempt_at < self.settings.api.index_retry_s
            ):
                return
            self._attempt_at = time.monotonic()
            self._loaded.clear()
            self._thread = threading.Thread(target=self._load, name="curbside-engine-load", daemon=True)
            self._thread.start()

    def _load(self) -> None:
        from app.index.search_index import SearchIndex
        from app.retrieval import Retriever

        started = time.perf_counter()
        try:
            index = SearchIndex.load(self.settings)
            retriever = Retriever(index, self.settings.retrieval)
            llm: LLMClient | None = None
            try:
                llm = make_client(self.settings.llm)
            except LLMError as exc:
                self.llm_problem = (
                    f"LLM backend {self.settings.llm.backend!r} unavailable ({exc}); answers are extractive"
                )
                log.warning("llm backend unavailable", extra={"reason": exc.reason})
            engine = AnswerEngine(self.settings, retriever, llm, self.conversations)
        except IndexMismatch as exc:
            self._fail(str(exc))
            return
        except Exception as exc:
            log.exception("engine failed to load")
            self._fail(
                f"the index could not be loaded ({type(exc).__name__}); run 'curbside index build --force'"
            )
            return
        with self._lock:
            self._engine = engine
            self._state = "ready"
            self._problem = None
        self._loaded.set()
        log.info(
            "engine ready",
            extra={
                "seconds": round(time.perf_counter() - started, 2),
                "passages": index.manifest.passages,
                "llm": llm.name if llm is not None else "none",
            },
        )

    def _fail(self, problem: str) -> None:
        with self._lock:
            self._state = "failed"
            self._problem = problem
        self._loaded.set()
        log.warning("index unavailable", extra={"problem": problem})

    def wait(self, timeout: float) -> bool:
        return self._loaded.wait(timeout)

    def retry_after(self) -> int:
        if self._state == "loading":
            return 5
        left = self.settings.api.index_retry_s - (time.monotonic() - self._attempt_at)
        return max(1, int(left + 0.999))

    def unavailable(self) -> ApiError:
        if self._state == "loading":
            detail = "the index is still loading; try again in a few seconds"
        else:
            detail = self._problem or "the index is not available; run 'curbside index build'"
        return ApiError(
            503,
            "index-unavailable" if self._state == "failed" else "loading",
            detail,
            headers={"Retry-After": str(self.retry_after())},
        )

    async def require_engine(self) -> AnswerEngine:
        if self._engine is not None:
            return self._engine
        self.start_loading()
        if self._state == "loading":
            await run_in_threadpool(self.wait, LOAD_WAIT_S)
        if self._engine is None:
            raise self.unavailable()
        return self._engine

    # -- per-request LLM choice ------------------------------------------------------------------------
    def engine_for(self, engine: AnswerEngine, choice: LLMChoice | None) -> tuple[AnswerEngine, bool]:
        """(engine, use_llm) for a request's ``llm`` field; ApiError 403 when overrides are off."""
        if choice is None:
            return engine, True
        if choice.backend == "none":
            return engine, False
        if not self.settings.api.allow_llm_override:
            raise ApiError(
                403,
                "llm-override-disabled",
                "this server does not let requests choose their LLM "
                "(set CURBSIDE_API__ALLOW_LLM_OVERRIDE=true "
                'to allow it); omit \'llm\' or send {"backend": "none"}',
            )
        key = (choice.backend, choice.model or "", choice.base_url or "")
        with self._lock:
            found = self._overrides.get(key)
            if found is not None:
                self._overrides.move_to_end(key)
                return found, True
        update: dict[str, object] = {"backend": choice.backend}
        if choice.model:
            update["model"] = choice.model
        if choice.base_url:
            update["base_url"] = choice.base_url
        client = make_client(self.settings.llm.model_copy(update=update))
        other = dataclasses.replace(engine, llm=client)
        with self._lock:
            self._overrides[key] = other
            evicted = self._overrides.popitem(last=False)[1] if len(self._overrides) > MAX_OVERRIDES else None
        if evicted is not None and evicted.llm is not None:
            evicted.llm.close()
        return other, True

    # -- readiness ---------------------------------------------------------------------------------------
    def llm_healthy(self) -> bool | None:
        """None when no LLM is configured; else whether it answered recently (cached a few seconds)."""
        engine = self._engine
        if engine is None or engine.llm is None:
            return None
        now = time.monotonic()
        cached = self._llm_health
        if cached is not None and now - cached[0] < LLM_HEALTH_TTL_S:
            return cached[1]
        ok = engine.llm.health()
        self._llm_health = (now, ok)
        return ok

    def close(self) -> None:
        with self._lock:
            engines = [self._engine, *self._overrides.values()]
            self._overrides.clear()
        for engine in engines:
            if engine is not None and engine.llm is not None:
                try:
                    engine.llm.close()
                except Exception:
                    log.exception("closing the LLM client failed")
        self.conversations.close()


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_engine(request: Request) -> AnswerEngine:
    return await get_runtime(request).require_engine()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


# -- content negotiation -----------------------------------------------------------------------------------


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    out: list[tuple[str, str, float]] = []
    for part in accept.split(","):
        bits = [b.strip() for b in part.split(";")]
        if not bits[0]:
            continue
        mtype, _, subtype = bits[0].lower().partition("/")
        q = 1.0
        for param in bits[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        out.append((mtype, subtype or "*", q))
    return out


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer the Accept header prefers (first offer on ties), or None when it accepts none of them."""
    if not accept or not accept.strip():
        return offers[0]
    ranges = _ranges(accept)
    best: tuple[float, int, str] | None = None
    for pos, offer in enumerate(offers):
        otype, _, osub = offer.partition("/")
        q_here: float | None = None
        specificity = -1
        for mtype, msub, q in ranges:
            if mtype == otype and msub in (osub, "*"):
                spec = 2 if msub == osub else 1
            elif mtype == "*":
                spec = 0
            else:
                continue
            if spec > specificity:
                specificity, q_here = spec, q
        if q_here is not None and q_here > 0 and (best is None or q_here > best[0]):
            best = (q_here, -pos, offer)
    return best[2] if best else None


def accepts(*offers: str) -> Callable[[Request], str]:
    """A dependency: the negotiated media type, or 406 problem+json naming what the endpoint produces."""

    def dependency(request: Request) -> str:
        accept = request.headers.get("accept")
        chosen = negotiate(accept, offers)
        if chosen is None:
            raise ApiError(
                406,
                "not-acceptable",
                f"this endpoint produces {' or '.join(offers)}; the Accept header asks for {accept!r}",
            )
        return chosen

    return dependency


def require_json_body(request: Request) -> None:
    """415 unless the body is declared as JSON (FastAPI would otherwise report a confusing type error)."""
    ctype = request.headers.get("content-type", "")
    media = ctype.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    shown = f"'{ctype}'" if ctype else "none"
    raise ApiError(
        415,
        "unsupported-media-type",
        f"send the body as JSON with 'Content-Type: application/json' (got {shown})",
    )
