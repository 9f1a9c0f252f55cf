"""The server process: uvicorn serving `create_app`, without the imports a server never uses.

    python -m api.server [--host H] [--port P] [--workers N]

`tandai serve` checks the model and then replaces itself with this command, so a server starts
from a fresh interpreter. Three libraries are imported by others only because they are installed,
and a server never uses them; here they are kept out before anything imports their users, which
then work as they do where the library is absent (a case both support):

- pandas: scikit-learn imports it whenever it is installed (tandai installs it for its data
  tools). About 30 MB of resident memory per worker; the server reads no data frames.
- pygments: installed with the test tools; Mako (under the schema migrations) imports it to
  colour error pages the server never renders. About 5 MB.
- rich: installed with the test tools; scikit-learn (from 1.9) imports it for the progress bars
  of its fitting callbacks, which a server never shows. About 3 MB.

A third is imported by what a server needs, for what it never does: scikit-learn imports
scipy.stats (~13 MB of the process's own memory, with its submodules) when it is imported, for a
few functions it calls only in fitting, metrics and search (`spearmanr`, `gmean`, `rankdata`,
`mode`). A server imports a stand-in in its place (`_Deferred`): those names are functions that
import the real module when called, and any other name imports it at once, so whatever uses
scipy.stats (a retrain in the server's process) gets it, one import later.
(`importlib.util.LazyLoader` defers a module until an attribute is read, which `from
scipy.stats import spearmanr` does at once.)

Worker processes import the app from this module, so they keep them out too.

A server process also hands back, after each model load, the pages of shared libraries it
has mapped but does not use (`api.deps.release_mapped_file_pages`): ~30 MB of resident
memory, more from a fresh install.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

NOT_IN_SERVER = frozenset({"pandas", "pygments", "rich"})
# Modules imported in a server as a stand-in, and the functions the stand-in hands out without
# importing the module (those its importers take by name when they are imported).
DEFERRED_IN_SERVER = {"scipy.stats": frozenset({"gmean", "mode", "rankdata", "spearmanr"})}


class _Deferred(ModuleType):
    """A stand-in for a module of DEFERRED_IN_SERVER until anything of it is used."""

    def __init__(self, name: str, functions: frozenset[str], finder: _NotInServer) -> None:
        super().__init__(name)
        self._deferred_functions = functions
        self._deferred_finder = finder  # the finder that made it, to import the module past it
        self._deferred_real: ModuleType | None = None

    def _real(self) -> ModuleType:
        """The module itself, imported on first need (the stand-in then forwards to it)."""
        if self._deferred_real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            with self._deferred_finder.importing_for_real(self.__name__):
                self._deferred_real = importlib.import_module(self.__name__)
        return self._deferred_real

    def __getattr__(self, name: str) -> Any:
        if name in self._deferred_functions:
            real = self._real

            def deferred(*args: Any, **kwargs: Any) -> Any:
                return getattr(real(), name)(*args, **kwargs)

            deferred.__name__ = deferred.__qualname__ = name
            return deferred
        if name.startswith("__") and name != "__all__":
            raise AttributeError(name)  # probes of a module's dunders (`__file__`) import nothing
        return getattr(self._real(), name)


class _DeferredLoader(importlib.abc.Loader):
    def __init__(self, functions: frozenset[str], finder: _NotInServer) -> None:
        self.functions = functions
        self.finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return _Deferred(spec.name, self.functions, self.finder)

    def exec_module(self, module: ModuleType) -> None:
        pass


class _NotInServer(importlib.abc.MetaPathFinder):
    """Answers an import of a package in NOT_IN_SERVER as if it were not installed, and an
    import of a module of DEFERRED_IN_SERVER with its stand-in."""

    def __init__(self) -> None:
        self._for_real: set[str] = set()

    @contextlib.contextmanager
    def importing_for_real(self, name: str) -> Iterator[None]:
        self._for_real.add(name)
        try:
            yield
        finally:
            self._for_real.discard(name)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in NOT_IN_SERVER:
            raise ModuleNotFoundError(f"No module named {fullname!r} in a server", name=fullname)
        functions = DEFERRED_IN_SERVER.get(fullname)
        if functions is None or fullname in self._for_real:
            return None
        with self.importing_for_real(fullname):
            real = importlib.util.find_spec(fullname)
        if real is None:
            return None
        # the real package's directory as the stand-in's `__path__`: its submodules import
        # as they are, without the package's own `__init__`
        spec = ModuleSpec(fullname, _DeferredLoader(functions, self), is_package=True)
        spec.submodule_search_locations = real.submodule_search_locations
        return spec


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
    from pydantic import ValidationError

    from api.arguments import add_server_arguments
    from api.logging import uvicorn_log_config
    from api.metrics import multiprocess_directory
    from api.settings import Settings, settings_error

    parser = argparse.ArgumentParser(prog="python -m api.server", description=__doc__)
    add_server_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        parser.exit(2, f"{parser.prog}: error: settings: {settings_error(exc)}\n")
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
