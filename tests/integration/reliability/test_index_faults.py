"""A damaged index on disk: the server still starts, but not ready — /readyz and every answering route say
503 with what is wrong and the fix — and it comes back by itself once the index is repaired.

test_readiness.py covers a missing index and one built from another corpus; these are the damaged ones: a
truncated artefact, a missing artefact, an unreadable manifest. (An interrupted rebuild leaving the previous
index in service is tests/unit/index/test_manifest.py.)
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from eval.live_server import LiveServer, server_env
from tests.integration.api.conftest import FLAGSHIP, is_problem


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _current(index_dir: Path) -> Path:
    return (index_dir / "current").resolve()


DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    # name: (what to do to the current build's folder, what the detail must name)
    "truncated vectors": (lambda d: _truncate(d / "vectors.f16.npy"), "vectors.f16.npy has checksum"),
    "truncated passage store": (lambda d: _truncate(d / "passages.sqlite"), "passages.sqlite has checksum"),
    "missing dense index": (
        lambda d: (d / "dense-research.faiss").unlink(),
        "dense-research.faiss is listed in the manifest but missing",
    ),
    "unreadable manifest": (lambda d: (d / "manifest.json").write_text("{not json"), "is unreadable"),
}


def _copy_index(fixture_index: Settings, root: Path) -> Settings:
    index_dir = root / "index"
    shutil.copytree(fixture_index.paths.index_dir, index_dir, symlinks=True)
    return fixture_index.model_copy(
        update={"paths": fixture_index.paths.model_copy(update={"index_dir": index_dir})}
    )


def _wait_settled(c: httpx.Client, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        r = c.get("/readyz")
        if r.status_code == 200 or r.json().get("checks", {}).get("index") != "loading":
            return r
        if time.monotonic() > deadline:
            return r
        time.sleep(0.1)


@pytest.fixture(scope="module")
def damaged(
    fixture_index: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, LiveServer]]:
    """One server per kind of damage, started side by side (each loads nothing, so they start fast)."""
    servers: dict[str, LiveServer] = {}
    for name, (harm, _) in DAMAGE.items():
        root = tmp_path_factory.mktemp("damaged")
        settings = _copy_index(fixture_index, root)
        harm(_current(settings.paths.index_dir))
        servers[name] = LiveServer(server_env(settings, root / "var"), root / "server.log")
    with ThreadPoolExecutor(len(servers)) as pool:
        started = [pool.submit(server.start) for server in servers.values()]
    try:
        for future in started:
            future.result()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_leaves_the_server_up_but_not_ready_with_the_fix(
    damage: str, damaged: dict[str, LiveServer]
) -> None:
    server = damaged[damage]
    says = DAMAGE[damage][1]
    with server.client() as c:
        assert c.get("/healthz").status_code == 200
        body = is_problem(_wait_settled(c), 503)
        assert body["checks"] == {"index": "failed"}
        assert says in str(body["detail"])
        assert "run 'curbside index build --force'" in str(body["detail"])
        for r in (
            c.post("/v1/answers", json={"question": FLAGSHIP}),
            c.get("/v1/search", params={"q": "naltrexone"}),
            c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": FLAGSHIP}]}),
        ):
            assert says in str(is_problem(r, 503)["detail"])
    assert "Traceback" not in server.logs()


def test_the_server_becomes_ready_by_itself_once_the_index_is_repaired(
    fixture_index: Settings, tmp_path: Path
) -> None:
    settings = _copy_index(fixture_index, tmp_path)
    build = _current(settings.paths.index_dir)
    good = (build / "vectors.f16.npy").read_bytes()
    _truncate(build / "vectors.f16.npy")
    env = server_env(settings, tmp_path / "var", {"CURBSIDE_API__INDEX_RETRY_S": "1"})
    with LiveServer(env, tmp_path / "server.log") as server, server.client() as c:
        is_problem(_wait_settled(c), 503)
        (build / "vectors.f16.npy").write_bytes(good)  # e.g. restored from a backup, or rebuilt
        server.wait_ready(timeout=90)
        r = c.post("/v1/answers", json={"question": FLAGSHIP})
        assert r.status_code == 200, r.text
        assert c.get("/v1/info").json()["status"] == "ready"
