"""The entry points of ``advisor`` and ``advisor-server``: they hold the drain signals first.

The console scripts, ``python -m advisor`` and ``server.py`` start here. The command modules
import pydantic and the argument parsers before they can hold a supervisor's SIGTERM
(:mod:`advisor.service.held_signals`): about 0.06 s for ``advisor``, 0.15 s for
``advisor-server`` on an idle machine, in which a SIGTERM or SIGHUP ended the process outright
(exit status 143 or 129, nothing logged, where the serving commands promise "stopped before
serving" and 0) and a Ctrl-C printed KeyboardInterrupt's traceback. Here the signals are held
before any of that loads (this module imports nothing else at load), and a Ctrl-C while it
loads is the commands' one line ``interrupted`` and exit status 1. ``advisor`` gives the other
commands their signals back with their default meaning (:func:`advisor.cli.main.main`).

``advisor`` first checks that the client library it runs with is its own (:func:`_client_problem`):
``python -m advisor`` from a checkout whose project is not installed found no ``advisor_client``
(``client/`` installs under that name) and failed with a traceback once a command needed it, and
with an older wheel installed it ran the checkout's ``advisor`` with the wheel's client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.service.held_signals import hold_drain_signals

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["advisor", "advisor_server"]


def advisor() -> int:
    """Run the ``advisor`` command on the process's command line; return its exit status."""
    hold_drain_signals()
    try:
        problem = _client_problem()
        if problem is not None:
            return _refused(problem)
        from advisor.cli.main import main  # only now: see the module docstring

        return main()
    except KeyboardInterrupt:  # before the command handles it
        return _interrupted("advisor")


def advisor_server(prog: str = "advisor-server") -> int:
    """Run the serve command line of ``advisor-server`` (``prog``: its name in messages)."""
    hold_drain_signals()
    try:
        from advisor.service.command import main  # only now: see the module docstring

        return main(prog=prog)
    except KeyboardInterrupt:  # before the command handles it
        return _interrupted(prog)


def _client_problem() -> str | None:
    """Say why ``advisor`` cannot run with the ``advisor_client`` Python would import, if it cannot.

    Found, not imported (``--help`` must not load the client): refused when there is none, or
    when ``advisor`` runs from a checkout (``client/`` and ``pyproject.toml`` beside it; a wheel's
    ``site-packages`` may hold another project's ``client``) and the client found is not that
    ``client/``, a link to it counting as it.
    """
    from importlib.util import find_spec
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    client = root / "client"
    checkout = (
        root if (client / "__init__.py").is_file() and (root / "pyproject.toml").is_file() else None
    )
    spec = find_spec("advisor_client")
    if spec is None:
        return (
            f"no module advisor_client, the client library advisor runs with: {_install(checkout)}"
        )
    if checkout is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    found = Path(locations[0] if locations else spec.origin or "")
    if found.resolve() == client.resolve():
        return None
    return (
        f"the advisor at {root / 'advisor'} would run with the client library of another copy, "
        f"{found}: {_install(checkout)}"
    )


def _install(checkout: Path | None) -> str:
    """Say how to install the advisor: from ``checkout``, the one it runs from, or its wheel."""
    if checkout is not None:
        # An unpacked sdist has no .ci/: its hint named a script it lacks.
        setup = " (or bash .ci/setup)" if (checkout / ".ci" / "setup").is_file() else ""
        return f"install the project from its checkout {checkout}: pip install -e .{setup}"
    return (
        "reinstall the project from the wheel or checkout it came from: pip install "
        "--force-reinstall WHEEL (pip install -e . in a checkout)"
    )


def _refused(problem: str) -> int:
    """Say ``problem`` as the command's one error line; return the usage exit status."""
    from advisor.stdout import say_error
    from advisor.usage import USAGE_EXIT_STATUS

    say_error("advisor", problem)
    return USAGE_EXIT_STATUS


def _interrupted(prog: str) -> int:
    """Say that Ctrl-C came while the command loaded; return the status of an interruption."""
    from advisor.service.options import INTERRUPTED_EXIT_STATUS
    from advisor.stdout import say_error

    say_error(prog, "interrupted")
    return INTERRUPTED_EXIT_STATUS
