"""A real Curbside server in a subprocess (``python -m app.cli serve``) on 127.0.0.1 and a free port.

The one way the API integration tests, the end-to-end browser tests and the API/soak benchmarks start a
server. Its stdout/stderr (JSON-lines logs) go to a file the caller can read (``logs()``,
``error_lines()``). Lives in ``eval`` so that tests and benchmarks share it while ``app`` imports neither.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(settings: Settings, data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a server over ``settings``' corpus, index and model, with its own ``data_dir``
    and no LLM (``extra`` overrides)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURBSIDE_")}
    env.update(
        {
            "CURBSIDE_PATHS__CORPUS_DIR": str(settings.paths.corpus_dir),
            "CURBSIDE_PATHS__INDEX_DIR": str(settings.paths.index_dir),
            "CURBSIDE_PATHS__EMBEDDING_CACHE_DIR": str(settings.paths.embedding_cache_dir),
            "CURBSIDE_PATHS__PROMPTS_DIR": str(settings.paths.prompts_dir),
            "CURBSIDE_PATHS__DATA_DIR": str(data_dir),
            "CURBSIDE_INDEX__PROFILE": settings.index.profile,
            "CURBSIDE_EMBEDDING__MODEL": settings.embedding.model,
            "CURBSIDE_LLM__BACKEND": "none",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def proc_status_mib(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of ``pid`` in MiB, from /proc/<pid>/status."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def error_lines(log: Path, limit: int = 3) -> list[dict[str, Any]]:
    """The first few error records of a server's JSON-lines log (exception type and frames, no text)."""
    found: list[dict[str, Any]] = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("level") == "error":
            found.append({k: record.get(k) for k in ("msg", "exc_type", "traceback")})
            if len(found) >= limit:
                break
    return found


class LiveServer:
    """``with LiveServer(env, log_path) as server:`` — started, healthy, and stopped (SIGTERM) at exit."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self, timeout: float = 120.0) -> LiveServer:
        for _attempt in range(3):
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "app.cli",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.port),
                    ],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_healthy(timeout):
                return self
            if self.process.poll() is None:
                self.stop()
                break
            # Exited: most likely the port was taken between choosing and binding it. Try another.
        raise RuntimeError(f"server did not start; its log:\n{self.logs()[-4000:]}")

    def _wait_healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return False

    def wait_ready(self, timeout: float = 180.0, *, fail_fast: bool = False) -> float:
        """Poll /readyz until the index is loaded; returns the seconds waited. Gives up early when the
        server exits, and with ``fail_fast`` when it reports that loading the index failed (a server left
        to itself retries, so a repaired index still comes up)."""
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                r = httpx.get(f"{self.url}/readyz", timeout=5.0)
                if r.status_code == 200:
                    return time.perf_counter() - started
                last = r.text
                if fail_fast and r.json().get("checks", {}).get("index") == "failed":
                    break
            except (httpx.HTTPError, ValueError) as exc:
                last = last or repr(exc)
            time.sleep(0.2)
        raise RuntimeError(f"server not ready: {last}\n{self.logs()[-4000:]}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (graceful shutdown), then SIGKILL if it does not exit in time. Returns the exit code."""
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.process = None
        return proc.returncode

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def error_lines(self, limit: int = 3) -> list[dict[str, Any]]:
        return error_lines(self.log_path, limit) if self.log_path.exists() else []

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120.0, **kw)  # type: ignore[arg-type]

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextmanager
def serving(settings: Settings, root: Path, extra: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A started, ready server over ``settings``' index, its data and log under ``root``; stopped after."""
    server = LiveServer(server_env(settings, root / "var", extra), root / "server.log").start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
