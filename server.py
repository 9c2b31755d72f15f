"""Start the architecture advisor gRPC service and serve until SIGTERM or Ctrl-C.

    python server.py [--host H] [--port P] [--workers N] [--reflection] [--grace S]
                     [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]] [--token-file FILE]

The same options as ``advisor serve`` (advisor/service/command.py). Once bound it prints
``listening on HOST:PORT`` on stdout; logs go to stderr. A bad option is one line on stderr and
exit status 2. docs/SERVICE.md describes the service, its limits and its status codes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from advisor.errors import InvalidRequestError
from advisor.service.command import add_serve_arguments, serve_from_arguments

__all__ = ["main"]

_BAD_OPTION_EXIT_STATUS = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, serve until a signal, and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_serve_arguments(parser)
    try:
        return serve_from_arguments(parser.parse_args(argv))
    except InvalidRequestError as error:
        sys.stderr.write(f"server.py: {error}\n")
        return _BAD_OPTION_EXIT_STATUS


if __name__ == "__main__":
    sys.exit(main())
