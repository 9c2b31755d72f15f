"""The options of the ``serve`` command, declared apart from the server they configure.

``advisor-server``, ``python server.py`` and ``advisor serve`` all take these options. Building a
parser with them imports nothing but :mod:`argparse`, so ``advisor --help`` and a usage error
answer without loading gRPC or the server.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = [
    "BAD_OPTION_EXIT_STATUS",
    "SERVE_OPTION_FLAGS",
    "SERVE_SETTINGS",
    "START_FAILED_EXIT_STATUS",
    "add_serve_arguments",
]

BAD_OPTION_EXIT_STATUS = 2
"""Exit status for an option the server rejects (as for any usage error)."""

START_FAILED_EXIT_STATUS = 7
"""Exit status when the server cannot start (:class:`~advisor.errors.ServerStartError`)."""

# ServerConfig field -> the option that sets it, so a rejected field is reported as the option.
SERVE_OPTION_FLAGS: dict[str, str] = {
    "host": "--host",
    "port": "--port",
    "workers": "--workers",
    "reflection": "--reflection",
    "tls_cert": "--tls-cert",
    "tls_key": "--tls-key",
    "tls_client_ca": "--tls-client-ca",
    "grace_seconds": "--grace",
    "token": "--token-file",
    "katib_port": "--katib-port",
}

SERVE_SETTINGS: dict[str, dict[str, Any]] = {
    "host": {"help": "interface to bind (default 127.0.0.1)"},
    "port": {"type": int, "help": "TCP port to bind; 0 picks a free one (default 0)"},
    "workers": {"type": int, "help": "advisor calls served at once (default: CPUs)"},
    "reflection": {"action": "store_true", "default": None, "help": "serve gRPC reflection"},
    "tls_cert": {"type": Path, "metavar": "PEM", "help": "server certificate chain"},
    "tls_key": {"type": Path, "metavar": "PEM", "help": "server private key"},
    "tls_client_ca": {"type": Path, "metavar": "PEM", "help": "require client certificates (mTLS)"},
    "grace_seconds": {"type": float, "metavar": "S", "help": "drain time on SIGTERM (default 10)"},
}
"""The ServerConfig fields the command line sets, with their argparse settings."""


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the server options (every :data:`SERVE_SETTINGS` field and ``--token-file``)."""
    for field, settings in SERVE_SETTINGS.items():
        parser.add_argument(SERVE_OPTION_FLAGS[field], dest=field, **settings)
    parser.add_argument(
        "--token-file", type=Path, metavar="FILE", help="require the bearer token this file holds"
    )
    parser.add_argument(
        "--katib-port",
        type=int,
        metavar="PORT",
        help="also serve Katib's Suggestion service on this port (Katib's default: 6789)",
    )
