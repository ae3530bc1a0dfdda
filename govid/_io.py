"""Small helpers the subcommands share: JSON output, secret files, HTTP trust."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from did.errors import Forbidden, ResolutionUnavailable
from service.fetch import Fetcher, FetchPolicy


def print_json(value: Any) -> None:
    """JSON on stdout, two-space indented, keys in the order given."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def read_secret(path: Path) -> str:
    """Read a key file, refusing one that other users can read (as ssh does)."""
    if path.stat().st_mode & 0o077:
        raise Forbidden("the key file is readable by other users; chmod 600 it")
    return path.read_text(encoding="utf-8")


def write_secret(path: Path, text: str) -> None:
    """Write `text` to `path` atomically with mode 0600 from the first byte."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def fetch_text(url: str, *, timeout: float = 5.0) -> str:
    """GET a small text the user pointed the command at (bounded by service.fetch)."""
    with Fetcher(FetchPolicy.configured(budget=3 * timeout)) as fetch:
        response = fetch.get(url)
    if response.status_code != 200:
        raise ResolutionUnavailable(f"the server answered HTTP {response.status_code}")
    return response.text
