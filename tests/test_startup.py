"""What a fresh interpreter imports to start: the engines only when a search or analysis runs.

``import advisor_client``, ``advisor --help`` and ``advisor presets`` (an in-process server and
one ListPresets call) must not load the search, the rank engines or FLINT; ``--help`` must not
load gRPC, pydantic, the server, the serve command's module, the client or numpy either, nor
must ``advisor-server``'s entry point before it runs (its ``main`` loads them, where it can tell
Ctrl-C from a failure). Each case runs in its own interpreter under ``python -X importtime``,
whose report names every module imported. How long start-up takes is measured by
``bench/bench_startup.py``, not here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ENGINES = ("advisor.seprank", "advisor.search", "flint")
_SERVICE = ("grpc", "advisor.service.server", "advisor.service.command")


def imported_modules(*args: str) -> set[str]:
    """The modules ``python -X importtime *args`` imported (it must exit 0)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Each report line reads "import time: self | cumulative | <indent>module".
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    modules = {line.rsplit("|", 1)[1].strip() for line in lines[1:]}  # lines[0] is the header
    assert "advisor" in modules or "advisor_client" in modules, "no import report read"
    return modules


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The members of ``modules`` that are ``packages`` or inside one of them."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


@pytest.mark.parametrize(
    ("args", "forbidden"),
    [
        pytest.param(("-c", "import advisor_client"), ENGINES, id="import advisor_client"),
        pytest.param(
            ("-m", "advisor.cli.main", "--help"),
            # pydantic and the serve command's module: 115 ms of --help's 156 ms of CPU when a
            # parser error's reporter was imported from advisor.service.command.
            (*ENGINES, *_SERVICE, "advisor_client", "numpy", "pydantic"),
            id="advisor --help",
        ),
        pytest.param(("-m", "advisor.cli.main", "presets"), ENGINES, id="advisor presets"),
        pytest.param(
            ("-c", "from advisor.service.command import main"),
            (*ENGINES, "grpc", "advisor.service.server"),
            id="advisor-server's entry point",
        ),
    ],
)
def test_start_up_leaves_the_engines_unloaded(
    args: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    assert loaded(imported_modules(*args), forbidden) == []


def test_the_check_sees_an_engine_import() -> None:
    # The same check on a process that does import the engines must catch them.
    modules = imported_modules("-c", "import advisor.search.recommend")
    assert loaded(modules, ENGINES) != []
