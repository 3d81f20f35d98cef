"""A real Curbside server in a subprocess (``python -m app.cli serve``) on 127.0.0.1 and a free port.

Used by the API integration tests, the end-to-end browser tests and the load benchmark. The server's
stdout/stderr (JSON-lines logs) go to a file the tests can read.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(settings: Settings, data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a server over ``settings``' corpus and index, with its own ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURBSIDE_")}
    env.update(
        {
            "CURBSIDE_PATHS__CORPUS_DIR": str(settings.paths.corpus_dir),
            "CURBSIDE_PATHS__INDEX_DIR": str(settings.paths.index_dir),
            "CURBSIDE_PATHS__EMBEDDING_CACHE_DIR": str(settings.paths.embedding_cache_dir),
            "CURBSIDE_PATHS__DATA_DIR": str(data_dir),
            "CURBSIDE_LLM__BACKEND": "none",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


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

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Poll /readyz until the index is loaded."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"{self.url}/readyz", timeout=5.0)
                if r.status_code == 200:
                    return
                last = r.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout}s: {last}\n{self.logs()[-4000:]}")

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

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120.0, **kw)  # type: ignore[arg-type]

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
