"""The options of the ``serve`` command, declared apart from the server they configure.

``advisor-server``, ``python server.py`` and ``advisor serve`` all take these options. Building a
parser with them imports nothing but :mod:`argparse`, so ``advisor --help`` and a usage error
answer without loading gRPC or the server.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from advisor.protocol.metadata import address_problem
from advisor.service.logs import (
    LOG_FORMAT_VARIABLE,
    LOG_FORMATS,
    LOG_LEVEL_VARIABLE,
    LOG_LEVELS,
)
from advisor.usage import (
    EMPTY_PATH,
    USAGE_EXIT_STATUS,
    ToggleOnce,
    VersionAction,
    exit_status_help,
)

__all__ = [
    "BAD_OPTION_EXIT_STATUS",
    "INTERRUPTED_EXIT_STATUS",
    "SERVE_DESCRIPTION",
    "SERVE_EPILOG",
    "SERVE_EXIT_STATUS_HELP",
    "SERVE_OPTION_FLAGS",
    "SERVE_SETTINGS",
    "START_FAILED_EXIT_STATUS",
    "add_limit_argument",
    "add_serve_arguments",
    "address",
    "given_path",
]

BAD_OPTION_EXIT_STATUS = USAGE_EXIT_STATUS
"""Exit status for an option the server rejects (as for any usage error)."""

START_FAILED_EXIT_STATUS = 7
"""Exit status when the server cannot start (:class:`~advisor.errors.ServerStartError`)."""

INTERRUPTED_EXIT_STATUS = 1
"""Exit status when Ctrl-C comes before the server handles SIGINT (while gRPC and the server
load), as ``advisor`` ends on an interruption."""

SERVE_DESCRIPTION = (
    "serve the architecture advisor until SIGTERM, SIGHUP or Ctrl-C, then drain the calls in flight"
)
"""What the serve command does, as its help says it (``advisor serve``, ``advisor-server``)."""

SERVE_EXIT_STATUS_HELP = exit_status_help(
    {
        0: "stopped by SIGTERM, SIGHUP or Ctrl-C, after draining (--grace; a second signal "
        "cuts it short: the calls in flight get about a second more to answer), or before "
        "serving when one came while it started",
        INTERRUPTED_EXIT_STATUS: "Ctrl-C while gRPC and the server loaded, or any other failure",
        BAD_OPTION_EXIT_STATUS: "invalid option, --config setting or --limit, or usage error",
        START_FAILED_EXIT_STATUS: "the server could not start: address in use or not "
        "bindable, unusable TLS file, a --katib-data-dir it cannot write in",
    }
)
"""The exit statuses of the serve command, as its help lists them: a signal stops a server
after its drain, exit status 0, where it ends the other commands (130, 143)."""

SERVE_EPILOG = (
    "environment:\n"
    f"  {LOG_LEVEL_VARIABLE}   the least level logged: {', '.join(LOG_LEVELS)} (default INFO)\n"
    f"  {LOG_FORMAT_VARIABLE}  the log's form on stderr: {' or '.join(LOG_FORMATS)}, one JSON "
    "object a line (default text)\n"
    f"\n{SERVE_EXIT_STATUS_HELP}"
)
"""The serve command's help epilog: the variables that shape its log, then its exit statuses."""

# ServerConfig field -> the option that sets it, so a rejected field is reported as the option.
SERVE_OPTION_FLAGS: dict[str, str] = {
    "host": "--host",
    "port": "--port",
    "workers": "--workers",
    "executor": "--executor",
    "worker_niceness": "--worker-niceness",
    "worker_max_memory_mib": "--worker-max-memory",
    "reflection": "--reflection",
    "access_log": "--access-log",
    "tls_cert": "--tls-cert",
    "tls_key": "--tls-key",
    "tls_client_ca": "--tls-client-ca",
    "grace_seconds": "--grace",
    "request_read_seconds": "--request-read-timeout",
    "max_streams_per_connection": "--max-streams-per-connection",
    "token": "--token-file",
    "katib_port": "--katib-port",
    "katib_host": "--katib-host",
    "katib_data_dir": "--katib-data-dir",
    "katib_namespace": "--katib-namespace",
    "metrics_port": "--metrics-port",
    "metrics_host": "--metrics-host",
    "limits": "--limit",
}


def given_path(text: str) -> Path:
    """Read a path option, refusing an empty one.

    ``Path("")`` is the working directory: ``--katib-data-dir ""`` kept Katib's state there and
    ``--token-file ""`` read a directory.
    """
    if not text:
        raise argparse.ArgumentTypeError(EMPTY_PATH)
    return Path(text)


def address(text: str) -> str:
    """Read an address option (``--host``, ``--katib-host``, ``--target``): text gRPC takes.

    Refused as :func:`~advisor.protocol.metadata.address_problem` says.
    """
    problem = address_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


SERVE_SETTINGS: dict[str, dict[str, Any]] = {
    "host": {
        "type": address,
        "help": "interface to bind (default 127.0.0.1), or a Unix domain socket, unix:PATH "
        "(--port is then unused)",
    },
    "port": {"type": int, "help": "TCP port to bind; 0 picks a free one (default 0)"},
    "workers": {
        "type": int,
        "help": "advisor calls served at once (default: CPUs, bounded by memory)",
    },
    "executor": {
        "choices": ("processes", "threads"),
        "help": "where the calls' work runs: in --workers worker processes (default; no search "
        "can delay health) or on threads of the server process (quicker to start)",
    },
    "worker_niceness": {
        "type": int,
        "metavar": "N",
        "help": "lower the worker processes' priority by N, 0-19, so health comes first on a "
        "busy machine (default 10)",
    },
    "worker_max_memory_mib": {
        "type": int,
        "metavar": "MIB",
        "help": "stop a call that takes its worker process over MIB resident "
        "(RESOURCE_EXHAUSTED) and replace the worker (default: never)",
    },
    "reflection": {
        "action": ToggleOnce,
        "default": None,
        "help": "serve gRPC reflection (default: off; --no-reflection overrides a config file's)",
    },
    "access_log": {
        "action": ToggleOnce,
        "default": None,
        "help": "log one line per finished call: method, status, seconds, peer (default: on)",
    },
    "tls_cert": {"type": given_path, "metavar": "PEM", "help": "server certificate chain"},
    "tls_key": {"type": given_path, "metavar": "PEM", "help": "server private key"},
    "tls_client_ca": {
        "type": given_path,
        "metavar": "PEM",
        "help": "require client certificates (mTLS)",
    },
    "grace_seconds": {
        "type": float,
        "metavar": "S",
        "help": "drain time once stopped (default 10)",
    },
    "request_read_seconds": {
        "type": float,
        "metavar": "S",
        "help": "time a call has to send its request message, at least 0.1 (default 10)",
    },
    "max_streams_per_connection": {
        "type": int,
        "metavar": "N",
        "help": "calls one connection may have open at once (default 100)",
    },
    "katib_data_dir": {
        "type": given_path,
        "metavar": "DIR",
        "help": "keep what the Katib endpoint's learning calls handed out in DIR, to survive "
        "a restart: Katib's resumePolicy FromVolume mounts /opt/katib/data (needs --katib-port)",
    },
    "katib_namespace": {
        "metavar": "NS",
        "help": "the Kubernetes namespace of the Katib experiments served (the pod's own): names "
        "their records in --katib-data-dir with their name, since Katib's request names no "
        "namespace (needs --katib-data-dir)",
    },
    "metrics_port": {
        "type": int,
        "metavar": "PORT",
        "help": "serve Prometheus metrics at GET /metrics on this TCP port (0 picks a free one; "
        "default: none)",
    },
    "metrics_host": {
        "type": address,
        "metavar": "H",
        "help": "interface the metrics endpoint binds (default: --host's; needs --metrics-port)",
    },
}
"""The ServerConfig fields the command line sets, with their argparse settings."""


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the server options to ``parser``, a setting's under its :data:`SERVE_OPTION_FLAGS` flag.

    :data:`SERVE_SETTINGS`, ``--token-file``, ``--katib-host``, ``--katib-port``, ``--limit`` and
    ``--config``. A refused setting is named by that flag, so it is the option the parser takes.
    ``--version`` too (:class:`~advisor.usage.VersionAction`): an operator asks a server's script
    what it runs as ``advisor --version`` is asked.

    Settings absent from the command line stay None, so a ``--config`` file can supply them.
    """
    parser.add_argument("--version", action=VersionAction)
    for field, settings in SERVE_SETTINGS.items():
        parser.add_argument(SERVE_OPTION_FLAGS[field], dest=field, **settings)
    parser.add_argument(
        SERVE_OPTION_FLAGS["token"],
        dest="token_file",
        type=given_path,
        metavar="FILE",
        help="require the bearer token this file holds",
    )
    parser.add_argument(
        SERVE_OPTION_FLAGS["katib_host"],
        dest="katib_host",
        type=address,
        metavar="H",
        help="interface the Katib endpoint binds (default: --host's), e.g. 0.0.0.0 for Katib's "
        "controller while the advisor's own service stays on 127.0.0.1",
    )
    parser.add_argument(
        SERVE_OPTION_FLAGS["katib_port"],
        dest="katib_port",
        type=int,
        metavar="PORT",
        help="also serve Katib's Suggestion service on this port (Katib's default: 6789)",
    )
    add_limit_argument(
        parser,
        "set a request limit, e.g. max_locations=1048576 (repeatable; see docs/SERVICE.md)",
    )
    parser.add_argument(
        "--config",
        type=given_path,
        metavar="FILE",
        help="YAML or JSON file of server settings and a 'limits' mapping; options override it",
    )


def add_limit_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """Add ``--limit NAME=VALUE``, repeatable, to ``parser``: the request limits it sets.

    ``advisor serve`` sets its server's limits with it, the other commands their embedded
    server's; both read it as :func:`~advisor.service.command.limit_options` does.
    """
    parser.add_argument(
        SERVE_OPTION_FLAGS["limits"],
        dest="limits",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=help,
    )
