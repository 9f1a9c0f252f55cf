"""Structured logs: one JSON object per line, carrying the id of the request being served.

The request id is set by `api.middleware.RequestContext` in a context variable, so every line
logged while serving a request (in the event loop or in the thread running a sync route) carries
it. Nothing here logs a post's text; callers must not either, at INFO or above.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

LOGGER_NAME = "tandai"
request_id_var: ContextVar[str | None] = ContextVar("tandai_request_id", default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's message with terminal colours
}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of each record (as logging.lastResort)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:
        return sys.stderr


def configure_logging(level: str | int = "INFO") -> logging.Logger:
    """Give the `tandai` logger a JSON handler on stderr unless it has a handler already.

    Idempotent, so every app built in one process (tests build many) shares one handler.
    Records still propagate, so handlers on the root logger (pytest's, an operator's) see them.
    """
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    return logger


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """A `log_config` for `uvicorn.run` that makes uvicorn's own lines JSON as well.

    Pair it with `access_log=False`: `RequestContext` logs each request with its id.
    """
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            LOGGER_NAME: {"handlers": ["json"], "level": level, "propagate": False},
        },
    }
