"""GET /healthz (the process is alive), GET /readyz (ready to answer), GET /v1/info (what is being served)."""

from __future__ import annotations

from importlib import metadata

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.deps import RuntimeDep, accepts
from app.api.errors import problem_response
from app.api.models import Health, IndexInfo, Info, Ready, problem_responses
from app.index.manifest import IndexMismatch, Manifest, read_manifest

router = APIRouter(tags=["health"])


def version() -> str:
    try:
        return metadata.version("curbside")
    except metadata.PackageNotFoundError:
        return "0+unknown"


# GET and HEAD as two routes: one route with both methods gives both the same operationId, which an
# OpenAPI document must not have.
@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
@router.head("/healthz", response_model=Health, summary="Liveness: the process answers (no body)")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Readiness: index loaded and matching its manifest; LLM reachable if one is configured",
    responses=problem_responses(503),
)
async def readyz(request: Request, runtime: RuntimeDep) -> Response:
    runtime.start_loading()  # retries a failed load every api.index_retry_s
    engine = runtime.engine
    if engine is None:
        err = runtime.unavailable()
        return problem_response(
            request.scope,
            err.status,
            err.kind,
            err.detail,
            title="Service Unavailable",
            headers=err.headers,
            extra={"checks": {"index": runtime.state}},
        )
    checks = {"index": "ok", "conversations": "ok"}
    healthy = await run_in_threadpool(runtime.llm_healthy)
    if healthy is None:
        checks["llm"] = "not configured" if runtime.llm_problem is None else "unavailable"
    else:
        checks["llm"] = "ok" if healthy else "unreachable"
    if healthy is False or runtime.llm_problem is not None:
        name = engine.llm.name if engine.llm is not None else runtime.settings.llm.backend
        detail = runtime.llm_problem or (
            f"the LLM backend {name!r} does not answer; answers fall back to extractive until it does "
            "(check CURBSIDE_LLM__BASE_URL, or set CURBSIDE_LLM__BACKEND=none)"
        )
        return problem_response(
            request.scope,
            503,
            "llm-unavailable",
            detail,
            headers={"Retry-After": "10"},
            extra={"checks": checks},
        )
    return Response(Ready(checks=checks).model_dump_json(), media_type="application/json")


def _index_info(manifest: Manifest, directory: str) -> IndexInfo:
    return IndexInfo(
        directory=directory,
        built_at=manifest.built_at,
        profile=manifest.profile,
        model=manifest.model,
        dim=manifest.dim,
        records=manifest.records,
        passages=manifest.passages,
        counts=manifest.counts,
        corpus_sha256=manifest.corpus_sha256,
        dense=manifest.dense,
        lexical=manifest.lexical,
    )


@router.get(
    "/v1/info",
    response_model=Info,
    tags=["info"],
    summary="Version, corpus counts per source type, index manifest, models, limits",
    responses=problem_responses(401, 406, 429),
    dependencies=[Depends(accepts("application/json"))],
)
async def info(runtime: RuntimeDep) -> Info:
    from app.index.builder import current_dir

    settings = runtime.settings
    engine = runtime.engine
    index: IndexInfo | None = None
    if engine is not None:
        index = _index_info(engine.index.manifest, str(engine.index.directory))
    else:
        try:
            directory = current_dir(settings)
            index = _index_info(await run_in_threadpool(read_manifest, directory), str(directory))
        except IndexMismatch:
            index = None
    llm = engine.llm if engine is not None else None
    return Info(
        version=version(),
        status=runtime.state,
        problem=runtime.problem or runtime.llm_problem,
        index=index,
        embedding_model=settings.embedding.model,
        composer="generative" if llm is not None else "extractive",
        llm={
            "backend": settings.llm.backend,
            "model": settings.llm.model or None,
            "client": llm.name if llm is not None else None,
            "override_allowed": settings.api.allow_llm_override,
        },
        limits={
            "max_question_chars": settings.answer.max_question_chars,
            "max_body_bytes": settings.api.max_body_bytes,
            "rate_limit_per_minute": settings.api.rate_limit_per_minute,
            "history_turns": settings.conversation.history_turns,
        },
        auth_required=settings.api.api_key is not None,
    )
