"""api/server.py: server processes run without the imports they never use."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_a_server_process_imports_scikit_learn_and_alembic_without_pandas_or_pygments() -> None:
    done = _run(
        "import sys, api.server, sklearn.base, sklearn.pipeline, alembic.script\n"
        "assert 'sklearn' in sys.modules and 'mako' in sys.modules\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
        "assert 'pygments' not in sys.modules, 'pygments was imported'\n"
        "try:\n"
        "    import pandas\n"
        "except ModuleNotFoundError as exc:\n"
        "    print('kept out:', exc)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "kept out: No module named 'pandas' in a server" in done.stdout


def test_elsewhere_pandas_imports_as_usual() -> None:
    done = _run("import api.app, pandas; print(pandas.__name__)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pandas"


def test_keeping_out_is_installed_once() -> None:
    done = _run(
        "import sys, api.server\n"
        "api.server.keep_out_unused_imports()\n"
        "print(sum(type(f).__name__ == '_NotInServer' for f in sys.meta_path))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_a_server_process_hands_back_pages_of_mapped_libraries() -> None:
    done = _run(
        "import api.app, api.deps\n"
        "assert not api.deps.RELEASE_MAPPED_FILE_PAGES, 'set without a server'\n"
        "import api.server, sklearn.svm, scipy.stats\n"
        "assert api.deps.RELEASE_MAPPED_FILE_PAGES\n"
        "def rss_file():\n"
        "    status = open('/proc/self/status').read().split('RssFile:')[1]\n"
        "    return int(status.split()[0])\n"
        "before = rss_file()\n"
        "advised = api.deps.release_mapped_file_pages()\n"
        "print(advised, before, rss_file())\n"
    )
    assert done.returncode == 0, done.stderr
    advised, before, after = (int(v) for v in done.stdout.split())
    assert advised > 0
    assert after < before  # kB of mapped files resident, before and after
