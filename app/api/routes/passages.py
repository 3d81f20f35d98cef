"""GET /v1/passages/{id}: the full passage behind a citation, so its quoted span can be highlighted.

Passage ids contain ':' and '#' (``label:<set id>:indications-and-usage#0``): send them URL-encoded
(``%23`` for '#'; '/' as ``%2F`` is accepted too).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.deps import RuntimeDep, accepts
from app.api.errors import ApiError
from app.api.models import PassageOut, problem_responses

router = APIRouter(prefix="/v1/passages", tags=["passages"])


@router.get(
    "/{passage_id:path}",
    response_model=PassageOut,
    summary="A passage with its metadata and sentence offsets",
    responses=problem_responses(401, 404, 406, 429, 503),
    dependencies=[Depends(accepts("application/json"))],
)
async def get_passage(passage_id: str, runtime: RuntimeDep) -> Response:
    engine = await runtime.require_engine()
    passage = await run_in_threadpool(engine.passage, passage_id)
    if passage is None:
        raise ApiError(
            404,
            "passage-not-found",
            f"no passage {passage_id!r} in the index (the index may have been rebuilt since it was cited; "
            "ask the question again)",
        )
    out = PassageOut(**passage.model_dump(), label=passage.citation_label())
    return Response(out.model_dump_json(), media_type="application/json")
