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
"""

from __future__ import annotations

from advisor.service.held_signals import hold_drain_signals

__all__ = ["advisor", "advisor_server"]


def advisor() -> int:
    """Run the ``advisor`` command on the process's command line; return its exit status."""
    hold_drain_signals()
    try:
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


def _interrupted(prog: str) -> int:
    """Say that Ctrl-C came while the command loaded; return the status of an interruption."""
    from advisor.service.options import INTERRUPTED_EXIT_STATUS
    from advisor.stdout import say_error

    say_error(prog, "interrupted")
    return INTERRUPTED_EXIT_STATUS
