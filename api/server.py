"""The server process: uvicorn serving `create_app`, without the imports a server never uses.

    python -m api.server [--host H] [--port P] [--workers N]

`tandai serve` checks the model and then replaces itself with this command, so a server starts
from a fresh interpreter. Two libraries are imported by others only because they are installed,
and a server never uses them; here they are kept out before anything imports their users, which
then work as they do where the library is absent (a case both support):

- pandas: scikit-learn imports it whenever it is installed (tandai installs it for its data
  tools). About 30 MB of resident memory per worker; the server reads no data frames.
- pygments: installed with the test tools; Mako (under the schema migrations) imports it to
  colour error pages the server never renders. About 5 MB.

Worker processes import the app from this module, so they keep them out too.

A server process also hands back, after each model load, the pages of shared libraries it
has mapped but does not use (`api.deps.release_mapped_file_pages`): ~30 MB of resident
memory, more from a fresh install.
"""

from __future__ import annotations

import argparse
import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

NOT_IN_SERVER = frozenset({"pandas", "pygments"})


class _NotInServer(importlib.abc.MetaPathFinder):
    """Answers an import of a package in NOT_IN_SERVER as if it were not installed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in NOT_IN_SERVER:
            raise ModuleNotFoundError(f"No module named {fullname!r} in a server", name=fullname)
        return None


def keep_out_unused_imports() -> None:
    """Install the finder (once). Packages already imported stay as they are."""
    if not any(type(f).__name__ == _NotInServer.__name__ for f in sys.meta_path):
        sys.meta_path.insert(0, _NotInServer())


keep_out_unused_imports()

from api import deps  # noqa: E402
from api.app import create_app  # noqa: E402

deps.RELEASE_MAPPED_FILE_PAGES = True

__all__ = ["create_app", "keep_out_unused_imports", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    from api.logging import uvicorn_log_config
    from api.metrics import multiprocess_directory
    from api.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m api.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = Settings()
    # Metrics of several worker processes are pooled in a directory set before they start.
    with multiprocess_directory(args.workers):
        uvicorn.run(
            "api.server:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=uvicorn_log_config(settings.log_level),
            access_log=False,
            # a worker imports and loads the model before it answers its first health check
            timeout_worker_healthcheck=60,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
