"""kill -9 of the server in the middle of a burst of follow-ups loses no acknowledged turn.

A real server, one conversation, a burst of follow-ups sent six at a time; once a dozen have been answered
the server gets SIGKILL (no shutdown of any kind). The SQLite file must pass its integrity check, and after
a restart the conversation must hold every acknowledged turn, under the turn number its answer carried,
numbered 1..n without gaps, in order. (A graceful SIGTERM finishing the in-flight answer is test_restart.py.)
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from app.settings import Settings
from eval.live_server import LiveServer, server_env
from tests.integration.api.conftest import FLAGSHIP
from tests.integration.reliability.tally import FIGURES

BURST = 60
CONCURRENCY = 6
KILL_AFTER = 12


def test_kill_9_during_a_burst_of_follow_ups_loses_no_acknowledged_turn(
    fixture_index: Settings, tmp_path: Path
) -> None:
    env = server_env(fixture_index, tmp_path / "var")
    server = LiveServer(env, tmp_path / "first.log").start()
    acked: dict[int, str] = {}  # turn number in the acknowledged answer → question
    errors: list[str] = []
    lock = threading.Lock()
    try:
        server.wait_ready()
        with server.client() as c:
            first = c.post("/v1/answers", json={"question": FLAGSHIP})
            assert first.status_code == 200, first.text
            cid = first.json()["conversation_id"]

        def follow_up(i: int) -> None:
            question = f"And what about the dose, question {i}?"
            try:
                r = httpx.post(
                    f"{server.url}/v1/answers",
                    json={"question": question, "conversation_id": cid},
                    timeout=60,
                )
            except httpx.HTTPError:
                return  # the server died before answering: not acknowledged
            if r.status_code == 200:
                with lock:
                    acked[r.json()["turn"]] = question
            else:
                errors.append(f"{r.status_code}: {r.text[:200]}")

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            for i in range(BURST):
                pool.submit(follow_up, i)
            deadline = time.monotonic() + 120
            while len(acked) < KILL_AFTER and time.monotonic() < deadline:
                time.sleep(0.01)
            assert server.process is not None
            server.process.send_signal(signal.SIGKILL)
            assert server.process.wait(10) == -signal.SIGKILL
    finally:
        server.stop()
    assert errors == []
    assert KILL_AFTER <= len(acked) < BURST, "the kill came mid-burst"

    db = tmp_path / "var" / fixture_index.conversation.db_name
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    with LiveServer(env, tmp_path / "second.log") as again, again.client() as c:
        r = c.get(f"/v1/conversations/{cid}")
        assert r.status_code == 200, r.text
        turns = r.json()["turns"]
    numbers = [t["turn"] for t in turns]
    assert numbers == list(range(1, len(turns) + 1))
    assert turns[0]["question"] == FLAGSHIP
    stored = {t["turn"]: t["question"] for t in turns}
    lost = {n: q for n, q in acked.items() if stored.get(n) != q}
    assert lost == {}, f"acknowledged turns lost or renumbered after kill -9: {lost}"
    assert len(turns) - 1 >= len(acked)
    FIGURES.append(
        f"kill -9 mid-burst: {BURST} follow-ups sent, {len(acked)} acknowledged, "
        f"{len(turns) - 1} stored after restart, 0 lost, turns 1..{len(turns)} in order"
    )
    stamps = [t["created_at"] for t in turns]
    assert stamps == sorted(stamps)
    assert all(t["answer"]["turn"] == t["turn"] for t in turns)
