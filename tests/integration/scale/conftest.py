"""Milvus for the scale tests: an embedded Milvus Lite file, and a real Milvus 2.3.5 standalone server.

Both come from the ``scale`` extra (pymilvus, milvus-lite, milvus==2.3.5); the tests skip, saying so,
only when it is not installed. The server fixture starts ``milvus-server`` on 127.0.0.1 (advertised
addresses pinned to loopback), reads the port it really took from the config it wrote (it moves to the
next free port when 19530 is busy), and on teardown stops both the launcher and its ``milvus`` child.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

EXTRA = "the 'scale' extra is not installed (pip install -e '.[scale]'; `make test` installs it)"
COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")


def require_extra() -> None:
    pytest.importorskip("pymilvus", reason=EXTRA)
    pytest.importorskip("milvus_lite", reason=EXTRA)


def server_executable() -> Path:
    exe = Path(sys.executable).parent / "milvus-server"
    if not exe.exists():
        pytest.skip(f"milvus-server (PyPI milvus==2.3.5) is missing: {EXTRA}")
    return exe


def proxy_port(config: Path) -> int:
    """The proxy's port from the milvus.yaml that milvus-server wrote."""
    section = re.search(r"^proxy:\n(?:(?: .*)?\n)*?  port: (\d+)", config.read_text(), flags=re.MULTILINE)
    if section is None:
        raise RuntimeError(f"no proxy port in {config}")
    return int(section.group(1))


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _stop(pids: list[int], grace_s: float) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for pid in pids:
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if _is_zombie(pid):
                break
            time.sleep(0.2)
        if Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Milvus 2.3.5 standalone server on 127.0.0.1; yields its URI."""
    require_extra()
    exe = server_executable()
    from pymilvus import MilvusClient

    data = tmp_path_factory.mktemp("milvus-server")
    cmd = [str(exe), "--data", str(data)]
    for comp in COMPONENTS:
        cmd += ["--extra-config", f"{comp}.ip=127.0.0.1"]
    log = (data / "launcher.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = ""
    try:
        config = data / "configs" / "milvus.yaml"
        deadline = time.monotonic() + 90
        while not config.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"milvus-server wrote no config; see {data / 'launcher.log'}")
            time.sleep(0.1)
        time.sleep(0.2)
        uri = f"http://127.0.0.1:{proxy_port(config)}"
        while True:
            try:
                MilvusClient(uri=uri, timeout=2).get_server_version()
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Milvus at {uri} never became ready; see {data}/logs") from None
                time.sleep(0.5)
        yield uri
    finally:
        children = _children(proc.pid)
        _stop([proc.pid, *children], grace_s=5)
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(params=["lite", "server"])
def milvus_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same tests against an embedded Milvus Lite file and the real server."""
    require_extra()
    if request.param == "lite":
        return str(tmp_path / "milvus.db")
    uri: str = request.getfixturevalue("milvus_server")
    return uri
