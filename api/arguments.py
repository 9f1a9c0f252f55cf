"""Command-line arguments shared by `tandai` and `python -m api.server`.

A module of its own, with no imports of the app: `api.server` changes what its process may
import as soon as it is imported, so `tandai` must not import it to share these.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum` (and at most `maximum`)."""

    def read(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"{minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {number}")
        return number

    return read


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """--host, --port and --workers of the HTTP server. A port outside 1-65535 is refused: uvicorn
    would take it modulo 65536 and announce the number given."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=whole_number(1, 65535), default=8000)
    parser.add_argument("--workers", type=whole_number(1), default=1)
