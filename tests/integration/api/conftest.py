"""One real server for the package (fixture index, its own conversation database), started once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.settings import Settings
from eval.live_server import LiveServer, serving

FLAGSHIP = "What are the benefits of low-dose naltrexone?"


@pytest.fixture(scope="package")
def api_server(fixture_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(fixture_index, tmp_path_factory.mktemp("api-server")) as server:
        yield server


@pytest.fixture(scope="package")
def http(api_server: LiveServer) -> Iterator[httpx.Client]:
    with api_server.client() as client:
        yield client


@pytest.fixture(scope="package")
def flagship(http: httpx.Client) -> dict[str, Any]:
    """The flagship question's answer, asked once for the package."""
    r = http.post("/v1/answers", json={"question": FLAGSHIP})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def is_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """Assert ``r`` is an RFC 9457 problem document with ``status``; return it."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    for key in ("type", "title", "status", "detail", "instance", "request_id"):
        assert key in body, (key, body)
    assert body["status"] == status
    assert body["request_id"] == r.headers["x-request-id"]
    assert "Traceback" not in r.text
    assert 'File "' not in r.text
    return body
