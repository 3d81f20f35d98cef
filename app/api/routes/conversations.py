"""GET and DELETE /v1/conversations/{id}: a conversation's turns, each with its full answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.deps import RuntimeDep, accepts
from app.api.models import CONVERSATION_ID, ConversationOut, problem_responses
from app.conversation import ConversationNotFound

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

ConversationId = Annotated[
    str, Path(pattern=CONVERSATION_ID, description="the id from an earlier answer's conversation_id")
]


@router.get(
    "/{conversation_id}",
    response_model=ConversationOut,
    summary="A conversation's turns (oldest first)",
    responses=problem_responses(401, 404, 406, 422, 429),
    dependencies=[Depends(accepts("application/json"))],
)
async def get_conversation(conversation_id: ConversationId, runtime: RuntimeDep) -> Response:
    turns = await run_in_threadpool(runtime.conversations.turns, conversation_id)
    return Response(
        ConversationOut(id=conversation_id, turns=turns).model_dump_json(), media_type="application/json"
    )


@router.delete(
    "/{conversation_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a conversation and all its turns",
    responses=problem_responses(401, 404, 422, 429),
)
async def delete_conversation(conversation_id: ConversationId, runtime: RuntimeDep) -> Response:
    if not await run_in_threadpool(runtime.conversations.delete, conversation_id):
        raise ConversationNotFound(conversation_id)
    return Response(status_code=204)
