"""Start the architecture advisor gRPC service and serve until SIGTERM or Ctrl-C.

    python server.py [--host H] [--port P] [--workers N] [--reflection]
                     [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]] [--token-file FILE]

Once bound it prints ``listening on HOST:PORT`` on stdout (the chosen port when ``--port 0``);
logs go to stderr. A bad option is one line on stderr and exit status 2. docs/SERVICE.md
describes the service, its limits and its status codes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from advisor.errors import InvalidRequestError
from advisor.service.server import RunningServer, ServerConfig, read_token_file, serve_forever

__all__ = ["main"]

_BAD_OPTION_EXIT_STATUS = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument("--workers", type=int, help="advisor calls served at once (default: CPUs)")
    parser.add_argument("--reflection", action="store_true", help="serve gRPC reflection")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="server certificate chain")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="server private key")
    parser.add_argument(
        "--tls-client-ca", type=Path, metavar="PEM", help="require client certificates from it"
    )
    parser.add_argument("--token-file", type=Path, metavar="FILE", help="require this bearer token")
    parser.add_argument(
        "--grace", type=float, metavar="SECONDS", help="drain time on SIGTERM (default 10)"
    )
    return parser


def _announce(running: RunningServer) -> None:
    sys.stdout.write(f"listening on {running.address}\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, serve until a signal, and return the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "reflection": args.reflection,
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
        "tls_client_ca": args.tls_client_ca,
        "grace_seconds": args.grace,
    }
    try:
        if args.token_file is not None:
            settings["token"] = read_token_file(args.token_file)
        config = ServerConfig(**{k: v for k, v in settings.items() if v is not None})
        return serve_forever(config, on_ready=_announce)
    except InvalidRequestError as error:
        sys.stderr.write(f"server.py: {error}\n")
        return _BAD_OPTION_EXIT_STATUS


if __name__ == "__main__":
    sys.exit(main())
