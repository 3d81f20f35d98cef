"""API key on/off and the per-client rate limit, each on its own real server (no index needed for these)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import Settings
from eval.live_server import LiveServer, server_env
from tests.integration.api.conftest import is_problem

KEY = "s3cret-key-for-tests"


def _empty_index_settings(root: Path) -> Settings:
    from tests.conftest import make_settings

    return make_settings(root)  # no index built here: the server starts not-ready, and fast


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("keyed")
    env = server_env(_empty_index_settings(root), root / "var", {"CURBSIDE_API__API_KEY": KEY})
    with LiveServer(env, root / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("limited")
    env = server_env(_empty_index_settings(root), root / "var", {"CURBSIDE_API__RATE_LIMIT_PER_MINUTE": "5"})
    with LiveServer(env, root / "server.log") as server:
        yield server


def test_without_the_key_v1_routes_are_401(keyed: LiveServer) -> None:
    with keyed.client() as c:
        for method, path in (("GET", "/v1/info"), ("POST", "/v1/answers"), ("GET", "/v1/conversations/abc")):
            r = c.request(method, path, json={"question": "x"} if method == "POST" else None)
            body = is_problem(r, 401)
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert "Authorization: Bearer" in str(body["detail"])
        body = is_problem(c.get("/v1/info", headers={"Authorization": "Bearer wrong"}), 401)
        assert "wrong" in str(body["detail"])
        is_problem(c.get("/v1/info", headers={"Authorization": KEY}), 401)  # no scheme
        assert KEY not in keyed.logs()


def test_with_the_key_v1_routes_answer(keyed: LiveServer) -> None:
    with keyed.client(headers={"Authorization": f"Bearer {KEY}"}) as c:
        info = c.get("/v1/info")
        assert info.status_code == 200
        assert info.json()["auth_required"] is True
        # Authorised, but this server has no index: the answer route says how to fix that.
        body = is_problem(c.post("/v1/answers", json={"question": "What dose?"}), 503)
        assert "curbside index build" in str(body["detail"])


def test_health_page_and_docs_stay_open_with_a_key(keyed: LiveServer) -> None:
    with keyed.client() as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 503  # not ready (no index), but not 401
        assert c.get("/").status_code == 200
        assert c.get("/static/app.js").status_code == 200
        assert c.get("/openapi.json").status_code == 200


def test_rate_limit_gives_429_with_retry_after(limited: LiveServer) -> None:
    with limited.client() as c:
        statuses = [c.get("/v1/info").status_code for _ in range(5)]
        assert statuses == [200] * 5
        r = c.get("/v1/info")
        body = is_problem(r, 429)
        assert int(r.headers["retry-after"]) >= 1
        assert "requests a minute" in str(body["detail"])
        # Health checks and the page are not rate limited.
        assert all(c.get("/healthz").status_code == 200 for _ in range(10))
        assert c.get("/").status_code == 200
