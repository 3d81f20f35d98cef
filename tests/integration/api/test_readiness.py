"""Missing or mismatched index: the server starts, /readyz says 503 with the fix, and so do the answers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest

from app.settings import Settings
from eval.live_server import LiveServer, server_env
from tests.conftest import FIXTURE_CORPUS, make_settings
from tests.integration.api.conftest import FLAGSHIP, is_problem


@pytest.fixture(scope="module")
def no_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("no-index")
    with LiveServer(server_env(make_settings(root), root / "var"), root / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def stale_index(fixture_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The fixture index, served over a corpus that has changed since it was built."""
    root = tmp_path_factory.mktemp("stale-index")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    first = sorted(corpus.glob("*.jsonl"))[0]
    lines = first.read_text().splitlines()
    first.write_text("\n".join(lines[:-1]) + "\n")  # one record fewer
    settings = fixture_index.model_copy(
        update={"paths": fixture_index.paths.model_copy(update={"corpus_dir": corpus})}
    )
    with LiveServer(server_env(settings, root / "var"), root / "server.log") as server:
        yield server


def _wait_failed(c: httpx.Client) -> httpx.Response:
    import time

    for _ in range(300):
        r = c.get("/readyz")
        if r.json().get("checks", {}).get("index") != "loading":
            return r
        time.sleep(0.1)
    return r


def test_missing_index_server_is_alive_but_not_ready(no_index: LiveServer) -> None:
    with no_index.client() as c:
        assert c.get("/healthz").status_code == 200
        r = _wait_failed(c)
        body = is_problem(r, 503)
        assert "run 'curbside index build'" in str(body["detail"])
        assert "manifest.json missing" in str(body["detail"])
        assert int(r.headers["retry-after"]) >= 1


def test_missing_index_answer_and_search_routes_are_503_with_the_fix(no_index: LiveServer) -> None:
    with no_index.client() as c:
        _wait_failed(c)
        for r in (
            c.post("/v1/answers", json={"question": FLAGSHIP}),
            c.post(
                "/v1/answers/stream", json={"question": FLAGSHIP}, headers={"Accept": "text/event-stream"}
            ),
            c.get("/v1/search", params={"q": "naltrexone"}),
            c.get("/v1/passages/x%23y"),
            c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": FLAGSHIP}]}),
        ):
            body = is_problem(r, 503)
            assert "curbside index build" in str(body["detail"])
        info = c.get("/v1/info").json()
        assert info["status"] == "failed"
        assert info["index"] is None
        assert "curbside index build" in info["problem"]
        assert c.get("/").status_code == 200  # the page still loads and can show the error


def test_mismatched_index_is_not_served(stale_index: LiveServer) -> None:
    with stale_index.client() as c:
        body = is_problem(_wait_failed(c), 503)
        detail = str(body["detail"])
        assert "corpus sha256" in detail
        assert "run 'curbside index build'" in detail
        body = is_problem(c.post("/v1/answers", json={"question": FLAGSHIP}), 503)
        assert "corpus sha256" in str(body["detail"])
        info = c.get("/v1/info").json()
        assert info["status"] == "failed"
        assert info["index"] is not None  # the manifest on disk is shown, for diagnosis
