"""Structured logging: one JSON object per line, each carrying the request id of the request it belongs to.

Question text never reaches the logs unless ``api.log_questions`` is on: the access log records the path
without its query string, and an exception is logged by type and frames, not by its message (a message
can quote the input that caused it).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("curbside_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


# Characters other than "\n" that line readers (Python's str.splitlines, many log shippers) break lines at;
# json.dumps(ensure_ascii=False) leaves them raw inside strings, so a request path could split a record.
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", "request_id", ...extra}`` on one line."""

    def __init__(self, *, exception_messages: bool = False) -> None:
        super().__init__()
        self.exception_messages = exception_messages

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "request_id" and not key.startswith("_"):
                out[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            out["exc_type"] = exc_type.__name__
            if self.exception_messages and exc is not None:
                out["exc_message"] = str(exc)
            out["traceback"] = [
                f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb, limit=30)
            ]
        return json.dumps(out, ensure_ascii=False, default=str).translate(_LINE_BREAKS)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


def configure_logging(*, log_questions: bool = False, level: int = logging.INFO) -> None:
    """Route every logger (ours, uvicorn's, the libraries') to one JSON-lines handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(exception_messages=log_questions))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ("curbside", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level)
    # The access log is ours (no query strings); uvicorn's would print the URL with the question in it.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    logging.captureWarnings(True)
