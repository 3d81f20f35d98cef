"""Conversations live in SQLite: follow-ups survive a restart; SIGTERM lets an in-flight answer finish."""

from __future__ import annotations

import signal
from pathlib import Path

from app.settings import Settings
from eval.live_server import LiveServer, server_env
from tests.integration.api.conftest import FLAGSHIP
from tests.integration.api.sse import frames


def test_follow_up_across_a_graceful_restart(fixture_index: Settings, tmp_path: Path) -> None:
    env = server_env(fixture_index, tmp_path / "var")
    with LiveServer(env, tmp_path / "first.log") as server:
        server.wait_ready()
        with server.client() as c:
            first = c.post("/v1/answers", json={"question": FLAGSHIP}).json()
            cid = first["conversation_id"]
            # SIGTERM while a follow-up streams: the answer completes (and is stored), then the server exits.
            with c.stream(
                "POST",
                "/v1/answers/stream",
                json={"question": "What dose?", "conversation_id": cid},
                headers={"Accept": "text/event-stream"},
            ) as r:
                got = frames(r.iter_lines())
                events = [next(got).event]
                assert server.process is not None
                server.process.send_signal(signal.SIGTERM)
                events.extend(f.event for f in got)
        assert events == ["retrieval", "section", "section", "section", "answer"]
        # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is -SIGTERM.
        assert server.process.wait(30) in (0, -signal.SIGTERM)
        assert '"stopped: in-flight requests finished' in server.logs()

    with LiveServer(env, tmp_path / "second.log") as server:
        server.wait_ready()
        with server.client() as c:
            turns = c.get(f"/v1/conversations/{cid}").json()["turns"]
            assert [t["question"] for t in turns] == [FLAGSHIP, "What dose?"]
            assert turns[0]["answer"]["sections"] == first["sections"]
            r = c.post("/v1/answers", json={"question": "And the side effects?", "conversation_id": cid})
            assert r.status_code == 200, r.text
            follow = r.json()
    assert follow["turn"] == 3
    assert "naltrexone" in follow["standalone_question"].lower()
