"""The ``serve`` command line of ``advisor-server``, ``python server.py`` and ``advisor serve``.

One parser and one start-up path, so every entry point accepts the same options, prints the same
``listening on HOST:PORT`` line once bound (the chosen port when ``--port 0``) and exits the same
way (0 after a graceful drain; 2 and one line on stderr for a rejected option).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from advisor.errors import InvalidRequestError
from advisor.service.options import SERVE_SETTINGS, add_serve_arguments
from advisor.service.server import RunningServer, ServerConfig, read_token_file, serve_forever

__all__ = ["main", "serve_from_arguments"]

_BAD_OPTION_EXIT_STATUS = 2


def serve_from_arguments(args: argparse.Namespace) -> int:
    """Serve with the parsed options until SIGTERM or Ctrl-C; return the exit status.

    Raises
    ------
    InvalidRequestError
        When an option is rejected (field named as in :class:`ServerConfig`; see
        :data:`~advisor.service.options.SERVE_OPTION_FLAGS` for the option behind it).
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = {f: getattr(args, f) for f in SERVE_SETTINGS if getattr(args, f) is not None}
    if args.token_file is not None:
        settings["token"] = read_token_file(args.token_file)
    return serve_forever(ServerConfig(**settings), on_ready=_announce)


def _announce(running: RunningServer) -> None:
    print(f"listening on {running.address}", flush=True)


def main(argv: Sequence[str] | None = None, prog: str = "advisor-server") -> int:
    """Parse the serve options, serve until a signal, and return the exit status."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve the architecture advisor until SIGTERM or Ctrl-C."
    )
    add_serve_arguments(parser)
    try:
        return serve_from_arguments(parser.parse_args(argv))
    except InvalidRequestError as error:
        sys.stderr.write(f"{prog}: {error}\n")
        return _BAD_OPTION_EXIT_STATUS
