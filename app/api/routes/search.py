"""GET /v1/search?q=…&section=…&k=…: retrieval only (hybrid, dense or BM25), for power users and debugging."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.answer.engine import clean_question
from app.api.deps import RuntimeDep, accepts
from app.api.models import HAS_ALNUM, SearchOut, problem_responses
from app.retrieval import Filters
from app.schema import SECTION_SOURCE, SOURCE_TYPES, SourceType

router = APIRouter(prefix="/v1", tags=["search"])
log = logging.getLogger("curbside.api")

SectionName = Literal["guideline", "guidelines", "fda_label", "research"]


@router.get(
    "/search",
    response_model=SearchOut,
    summary="Ranked passages per section (no answer)",
    responses=problem_responses(401, 406, 422, 429, 503),
    dependencies=[Depends(accepts("application/json"))],
)
async def search(
    *,
    q: Annotated[
        str,
        Query(
            min_length=1,
            description="the query (with at least one letter or digit)",
            examples=["naltrexone dose for alcohol use disorder"],
            # Declared here, enforced by clean_question (str.isalnum) below.
            json_schema_extra={"pattern": HAS_ALNUM},
        ),
    ],
    runtime: RuntimeDep,
    section: Annotated[
        list[SectionName] | None, Query(description="source types to search (repeatable; default all three)")
    ] = None,
    k: Annotated[int, Query(ge=1, le=50, description="passages per section")] = 5,
    method: Annotated[Literal["hybrid", "dense", "lexical"], Query()] = "hybrid",
    year_min: Annotated[int | None, Query(ge=1800, le=2100)] = None,
    year_max: Annotated[int | None, Query(ge=1800, le=2100)] = None,
) -> Response:
    question = clean_question(q, runtime.settings.answer.max_question_chars)
    if runtime.settings.api.log_questions:
        log.info("search", extra={"question": question})
    engine = await runtime.require_engine()
    types: tuple[SourceType, ...] | None = None
    if section:
        wanted = {SECTION_SOURCE["guidelines"] if s == "guidelines" else s for s in section}
        types = tuple(st for st in SOURCE_TYPES if st in wanted)
    filters = Filters(source_types=types, year_min=year_min, year_max=year_max)
    result = await run_in_threadpool(engine.retriever.retrieve, question, k=k, method=method, filters=filters)
    out = SearchOut(
        question=question,
        method=method,
        drugs=result.drugs,
        unknown_drugs=result.unknown_drugs,
        sections=result.sections,
    )
    return Response(out.model_dump_json(), media_type="application/json")
