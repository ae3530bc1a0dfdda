"""Structured logs: one JSON object per line on stderr, without personal data.

Log records carry the logger name, level, message and time; arguments are
formatted into the message by the code that logs, which never passes claim
values, tokens or keys (docs/security.md). Exceptions are reduced to their
type and govid code: a traceback can quote input.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from did.errors import GovidError


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["error"] = type(exc).__name__
            if isinstance(exc, GovidError):
                entry["code"] = exc.code
        return json.dumps(entry, ensure_ascii=False)


def configure(level: int = logging.INFO) -> None:
    """Send govid's and uvicorn's records to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("govid", "uvicorn.error"):
        logging.getLogger(name).setLevel(level)
    # One line per request only from a process that serves (service.serving,
    # `govid up`), not from a command that happens to run a server in-process.
    logging.getLogger("govid.access").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
