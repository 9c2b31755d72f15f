"""The ``serve`` command line of ``advisor-server``, ``python server.py`` and ``advisor serve``.

One parser and one start-up path, so every entry point accepts the same options, prints the same
``listening on HOST:PORT`` line once bound (the chosen port when ``--port 0``) and exits the same
way (0 after a graceful drain; one line on stderr, a JSON record where the log is JSON, and 2
for a rejected option, 7 when the server cannot start: an address it cannot bind, a TLS file it
cannot use, a Katib data directory it cannot write in).

The server and gRPC are imported only when the command runs, not with this module (the console
script's entry point): Ctrl-C while they load (the first half second) is then one line and exit
status 1, as for ``advisor serve``, not KeyboardInterrupt's traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import logging
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import pydantic

from advisor.errors import FieldViolation, InvalidRequestError, ServerStartError
from advisor.model.documents import read_document
from advisor.model.scalars import setting_value
from advisor.protocol.metadata import token_problem
from advisor.service.held_signals import hold_drain_signals, release_drain_signals
from advisor.service.logs import (
    FIELDS,
    LOG_FORMAT_VARIABLE,
    LOG_FORMATS,
    LOG_LEVEL_VARIABLE,
    LOG_LEVELS,
    configure_logging,
    report_failure,
    report_warning,
)
from advisor.service.options import (
    BAD_OPTION_EXIT_STATUS,
    INTERRUPTED_EXIT_STATUS,
    SERVE_DESCRIPTION,
    SERVE_EPILOG,
    SERVE_OPTION_FLAGS,
    SERVE_SETTINGS,
    START_FAILED_EXIT_STATUS,
    add_serve_arguments,
)
from advisor.stdout import OutputError, shown_path, silence_stdout, write_stdout
from advisor.suggestions import did_you_mean, known_keys, unknown_name
from advisor.usage import (
    LinesHelpFormatter,
    OneLineParser,
    quoted,
    settle_grpc_verbosity,
    variable_problem,
    violations_as_options,
)
from advisor.validation_messages import invalid_request_from_pydantic
from advisor.words import number_text

if TYPE_CHECKING:
    from advisor.service.config import ServerConfig
    from advisor.service.server import RunningServer

_LOGGER = logging.getLogger(__name__)

_CONFIG_BYTES = 1 << 20
"""Most bytes of a server config file: its settings and limits take a few hundred, and a path
that never ends (``--config /dev/zero``) hung the start-up."""

__all__ = [
    "config_file_keys",
    "config_from_arguments",
    "describe_start_error",
    "limit_options",
    "main",
    "read_bearer_token",
    "serve_from_arguments",
    "warn_if_a_certificate_is_not_valid",
    "warn_if_the_tls_key_is_readable",
]


def serve_from_arguments(args: argparse.Namespace) -> int:
    """Serve with the parsed options until SIGTERM, SIGHUP or Ctrl-C; return the exit status.

    Raises
    ------
    InvalidRequestError
        When an option is rejected (field named as in :class:`ServerConfig`; see
        :data:`~advisor.service.options.SERVE_OPTION_FLAGS` for the option behind it).
    ServerStartError
        When the address cannot be bound or a TLS file cannot be used (see
        :func:`describe_start_error`); a setting the ``--config`` file gave is ``config.KEY``.
    """
    from advisor.service.server import serve_forever  # see the module docstring

    problems = {
        LOG_FORMAT_VARIABLE: variable_problem(LOG_FORMAT_VARIABLE, LOG_FORMATS),
        LOG_LEVEL_VARIABLE: variable_problem(LOG_LEVEL_VARIABLE, LOG_LEVELS),
    }
    violations = [FieldViolation(name, problem) for name, problem in problems.items() if problem]
    if violations:
        raise InvalidRequestError(violations)
    configure_logging()
    config = config_from_arguments(args)
    _warn_if_token_is_sent_in_clear(config)
    _warn_if_anyone_may_call(config)
    warn_if_a_certificate_is_not_valid(config, datetime.datetime.now(datetime.UTC))
    warn_if_the_tls_key_is_readable(config)
    if args.katib_port is None:
        if args.katib_host is not None:
            raise InvalidRequestError.single("katib_host", "needs --katib-port")
        if config.katib_data_dir is not None:
            # Set in the file or as an option, it would keep nothing: no endpoint hands out.
            field = "katib_data_dir" if args.katib_data_dir is not None else "config.katib_data_dir"
            raise InvalidRequestError.single(field, "needs --katib-port")
    katib = {"katib_port": args.katib_port, "katib_host": args.katib_host}
    config_file = None if args.config is None else shown_path(args.config)
    announce = _announcing(_settings(config, config=config_file, **katib))
    try:
        if args.katib_port is None:
            return serve_forever(config, on_ready=announce)
        return _serve_with_katib(config, args.katib_port, args.katib_host, announce)
    except ServerStartError as error:
        # A setting the file gave (no option overrode it) is named as the file's key, as a
        # refused one is: config.tls_cert, written "--config tls_cert".
        options = {f for f in SERVE_SETTINGS if getattr(args, f) is not None}
        from_file = config.model_fields_set - options
        settings = [f"config.{s}" if s in from_file else s for s in error.settings]
        raise ServerStartError(settings, error.description) from None


def _settings(server: ServerConfig, **options: object) -> dict[str, object]:
    """Return every setting in force, to state in the log: ``server``'s and the other ``options``.

    The other options: the ``--config`` file read (None: none) and the Katib endpoint's.

    Each field of ``server`` but its limits (the server's ``request limits:`` line states
    those), so a setting added to the model is stated too. The token itself is no line's to
    show: only whether one is required. The worker processes' settings are left out where the
    threads executor starts none (the line said ``worker_niceness=10`` of no process).
    """
    from advisor.service.config import WORKER_PROCESS_SETTINGS  # see the module docstring

    settings = {name: getattr(server, name) for name in type(server).model_fields}
    del settings["limits"]
    if server.executor == "threads":  # no worker process: its settings are in force nowhere
        settings = {k: v for k, v in settings.items() if k not in WORKER_PROCESS_SETTINGS}
    settings["token"] = server.token is not None
    return settings | options


def config_from_arguments(args: argparse.Namespace) -> ServerConfig:
    """Build the server's configuration: the ``--config`` file, then the options over it.

    Raises
    ------
    InvalidRequestError
        When the file cannot be read (field ``config``), a setting or limit is unknown or out of
        range (fields named as in :class:`ServerConfig`, limits as ``limits.NAME``), or
        ``--limit`` is not ``NAME=VALUE``.
    """
    from advisor.service.config import ServerConfig  # see the module docstring

    settings: dict[str, Any] = {}
    unknown: list[FieldViolation] = []
    if args.config is not None:
        try:
            settings = dict(read_document(args.config, "server config", _CONFIG_BYTES))
        except InvalidRequestError as error:
            raise error.prefixed("config") from None
        known = config_file_keys()
        unknown = _unknown_keys(settings, known)
        settings = {key: value for key, value in settings.items() if key in known}
    inline_token = args.config is not None and "token" in settings
    if _TOKEN_FILE_KEY in settings:
        if "token" in settings:
            # Reading the file over it would silently drop the token the file also states.
            raise InvalidRequestError.single(
                "config.token_file", "the file gives both token and token_file: keep one"
            )
        token_file = settings.pop(_TOKEN_FILE_KEY)
        if args.token_file is None:  # else --token-file overrides it, as options do
            if not isinstance(token_file, str) or not token_file:
                # str() made null the file 'None' ("cannot read None: No such file ...").
                raise InvalidRequestError.single(
                    "config.token_file", f"must be the path of a token file, got {token_file!r}"
                )
            try:
                settings["token"] = _server_token(Path(token_file))
            except InvalidRequestError as error:
                raise error.prefixed("config") from None
    options = {f: getattr(args, f) for f in SERVE_SETTINGS if getattr(args, f) is not None}
    overridden = _overridden_file_values(settings, options)
    settings |= options
    if args.token_file is not None:
        settings["token"] = _server_token(args.token_file)
    if inline_token:  # in force, or --token-file's over it: a secret others can read either way
        held = "the token" if args.token_file is None else "a token (--token-file's is in force)"
        _warn_if_others_can_read(args.config, f"config file {{path}}, which holds {held},")
    given_limits = limit_options(args.limits) if args.limits else {}
    if given_limits:
        limits = settings.get("limits", {})
        if not isinstance(limits, Mapping):
            raise InvalidRequestError.single("limits", "must be a mapping of limit names to values")
        settings["limits"] = {**limits, **given_limits}
    try:
        config = ServerConfig(**settings)
    except InvalidRequestError as error:
        if args.config is None:
            raise
        # A setting the file gave (no option overrode it) is named as the file's key.
        named = [
            v if _from_options(v.field, options, given_limits) else v.prefixed("config")
            for v in error.violations
        ]
        raise InvalidRequestError([*unknown, *overridden, *named]) from None
    if unknown or overridden:
        raise InvalidRequestError([*unknown, *overridden])
    return config


def _overridden_file_values(
    settings: Mapping[str, Any], options: Mapping[str, Any]
) -> list[FieldViolation]:
    """Check the config file's values of the settings ``options`` override, each on its own.

    Overridden, a file's ``workers: true`` (or ``port: 99999``) was accepted, and refused only
    once the option was dropped from the command line, where the file had been taken as valid.
    Each value is checked as its field alone (type and range; what depends on other settings
    is checked on the settings in force), and named as the file's key.
    """
    from advisor.service.config import ServerConfig  # see the module docstring

    violations: list[FieldViolation] = []
    for key in sorted(options.keys() & settings.keys()):
        field = ServerConfig.model_fields[key]
        typed = pydantic.BeforeValidator(functools.partial(setting_value, field.annotation))
        # The field's type, its bounds and the settings' type rule, built at run time.
        form: Any = Annotated[field.annotation, field, typed]
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(form)
        try:
            adapter.validate_python(settings[key])
        except pydantic.ValidationError as error:
            refused = invalid_request_from_pydantic(error, prefix=f"config.{key}")
            violations += refused.violations
    return violations


_TOKEN_FILE_KEY = "token_file"
"""The config file's one key that is no :class:`ServerConfig` field: the file read as ``token``."""


def config_file_keys() -> list[str]:
    """Return the keys a ``--config`` file takes, sorted: ``ServerConfig``'s fields, ``token_file``.

    Katib's port and host are no keys: options only (the endpoint runs beside the server).
    """
    from advisor.service.config import ServerConfig  # see the module docstring

    return sorted([*ServerConfig.model_fields, _TOKEN_FILE_KEY])


def _unknown_keys(settings: Mapping[str, Any], known: Sequence[str]) -> list[FieldViolation]:
    """Refuse each key of the config file's ``settings`` that is not among its ``known`` keys.

    Each is told the known key spelt closest to it, if any; the known keys are listed once, on
    the first that none is spelt like, not repeated on every unknown key of the file.
    """
    violations = []
    listed = False
    for key in settings:
        if key in known:
            continue
        hint = did_you_mean(str(key), known)
        if not hint and not listed:
            hint, listed = known_keys(known), True
        violations.append(FieldViolation(f"config.{key}", f"Extra inputs are not permitted{hint}"))
    return violations


def read_bearer_token(path: Path) -> str:
    """Read the bearer token of the token file at ``path``, refusing one gRPC cannot send.

    Both ends read their ``--token-file`` here: a token a client could never send (two lines, a
    non-ASCII letter: :func:`~advisor.protocol.metadata.token_problem`) would otherwise start a
    server that refuses every call, or fail every call of a client with ``INTERNAL``.

    Raises
    ------
    InvalidRequestError
        On field ``token_file`` when the file cannot be read, holds no token or one that cannot
        be sent.
    """
    from advisor.service.config import read_token_file  # see the module docstring

    token = read_token_file(path)
    problem = token_problem(token)
    if problem is not None:
        raise InvalidRequestError.single("token_file", f"the token in {shown_path(path)} {problem}")
    return token


def _server_token(path: Path) -> str:
    """Read the server's bearer token (:func:`read_bearer_token`), warning if others can read it."""
    token = read_bearer_token(path)
    _warn_if_others_can_read(path, "token file {path}")
    return token


def _warn_if_others_can_read(
    path: Path, what: str, then: str = "who can then call the server"
) -> None:
    """Log a warning when the file at ``path``, which holds a secret, is readable by others.

    ``what`` names the file in the warning, its ``{path}`` the file's name; ``then`` says what
    a reader of the secret can do.

    The token is the one secret that admits a caller (the TLS key, the one that makes a server
    this server), and a umask's 0644 let every user of the machine read it. Warned of, not
    refused: a mounted secret (Kubernetes' default 0644) works as it did. Only a regular file: a
    pipe or a device keeps no owner's secret.
    """
    mode = path.stat().st_mode
    if stat.S_ISREG(mode) and mode & (stat.S_IRGRP | stat.S_IROTH):
        _LOGGER.warning(
            "%s is readable by other users (mode %04o), %s; make it its owner's alone "
            "(chmod 600 %s)",
            what.format(path=shown_path(path)),
            stat.S_IMODE(mode),
            then,
            shown_path(path),
        )


def warn_if_the_tls_key_is_readable(config: ServerConfig) -> None:
    """Log a warning when ``--tls-key``'s file is readable by other users than its owner.

    A security review: the token file's mode was warned of, the private key's was not, though
    whoever reads it can pose as this server to its clients. A file that cannot be read is left
    to the start, which names it.
    """
    if config.tls_key is None:
        return
    with contextlib.suppress(OSError):
        _warn_if_others_can_read(
            Path(config.tls_key), "--tls-key {path}", "who can then pose as this server"
        )


def _from_options(field: str, options: Mapping[str, Any], limits: Mapping[str, str]) -> bool:
    """Whether the setting at ``field`` (``limits.NAME`` for a limit) came from an option."""
    setting, _, rest = field.partition(".")
    if setting == "limits":
        return rest.partition(".")[0].partition("[")[0] in limits
    return setting.partition("[")[0] in options


def limit_options(entries: Sequence[str]) -> dict[str, str]:
    """Read ``--limit NAME=VALUE`` options as a mapping of limit names to their values' text.

    Every command that takes ``--limit`` reads it here, so they refuse the same ones with the
    same message: a name no limit has, listing the limits' names, and a name given twice, whose
    second value would silently replace the first. The values are left to :class:`ServerConfig`
    to check.

    Raises
    ------
    InvalidRequestError
        On field ``limits`` for an entry that is not ``NAME=VALUE``; on ``limits.NAME`` for a
        name unknown or given twice, one violation each.
    """
    from advisor.service.limits import RequestLimits  # see the module docstring

    known = list(RequestLimits.model_fields)
    limits: dict[str, str] = {}
    violations: list[FieldViolation] = []
    for entry in entries:
        name, equals, value = (part.strip() for part in entry.partition("="))
        if not equals or not name or not value:
            raise InvalidRequestError.single("limits", f"expected NAME=VALUE, got {quoted(entry)}")
        if name not in known:
            problem = unknown_name("limit", name, known)
        elif name in limits:
            problem = f"is given twice, {limits[name]} and {value}: give it once"
        else:
            limits[name] = value
            continue
        violation = FieldViolation(f"limits.{name}", problem)
        if violation not in violations:  # an unknown name given twice is told once
            violations.append(violation)
    if violations:
        raise InvalidRequestError(violations)
    return limits


def _serve_with_katib(
    config: ServerConfig,
    katib_port: int,
    katib_host: str | None,
    announce: _Announce,
) -> int:
    """Serve the advisor and, on ``katib_host:katib_port``, Katib's Suggestion service; stop both.

    Once both serve, ``announce`` says so, then the Katib endpoint's address is printed.

    ``katib_host`` None binds the advisor's interface (``config.host``). Both drain from the same
    signal, concurrently: Katib's drain begins (without blocking) just before the advisor's, so
    the process ends one grace period after the signal (plus gRPC's final cancel), not two.
    """
    from advisor.protocol.metadata import UNIX_SCHEMES, socket_name_problem
    from advisor.service.binding import port_taken_error, shares_port
    from advisor.service.katib_server import KATIB_METHODS, start_katib_server
    from advisor.service.metrics import Metrics
    from advisor.service.server import ADVISOR_METHODS, serve_forever

    host = config.host if katib_host is None else katib_host
    if not 0 <= katib_port <= 65535:
        raise InvalidRequestError.single("katib_port", f"{katib_port} is not a TCP port")
    if not host:
        raise InvalidRequestError.single("katib_host", "must name an interface, e.g. 0.0.0.0")
    socket_problem = socket_name_problem(host)
    if socket_problem is not None:  # --host's was refused as ServerConfig's own
        raise InvalidRequestError.single("katib_host", socket_problem)
    if host == config.host and host.startswith(UNIX_SCHEMES):
        # gRPC binds a socket path by replacing what is there: the second endpoint took it.
        raise InvalidRequestError.single(
            "katib_host",
            f"{host} is --host's socket too: give the Katib endpoint its own "
            "(--katib-host unix:OTHER_PATH, or an interface such as 0.0.0.0)",
        )
    # Katib's endpoint binds first, and the other's bind then failed naming its host and port.
    if shares_port(host, katib_port, config.host, config.port):
        raise port_taken_error("katib_port", katib_port, "--port")
    if shares_port(host, katib_port, config.metrics_interface, config.metrics_port):
        raise port_taken_error("katib_port", katib_port, "--metrics-port")
    # One registry counts both servers' calls, served by the advisor's metrics endpoint.
    metrics = None if config.metrics_port is None else Metrics([*ADVISOR_METHODS, *KATIB_METHODS])
    try:
        katib = start_katib_server(
            host,
            katib_port,
            config.workers,
            config.limits,
            access_log=config.access_log,
            data_dir=config.katib_data_dir,
            namespace=config.katib_namespace,
            metrics=metrics,
        )
    except ServerStartError as error:
        if katib_host is not None or "katib_host" not in error.settings:
            raise
        # On --host's interface: name that option, not a --katib-host never given.
        settings = ["host" if s == "katib_host" else s for s in error.settings]
        raise ServerStartError(settings, error.description) from None
    _warn_if_katib_is_open(config, host, katib.address)

    def announce_both(running: RunningServer) -> None:
        announce(running, katib_port=katib.port)
        _print_line(f"katib suggestion service on {katib.address}")

    def drain_katib() -> None:
        katib.begin_stop(config.grace_seconds)

    try:
        return serve_forever(
            config,
            on_ready=announce_both,
            on_stop=drain_katib,
            on_hurry=katib.hurry,
            metrics=metrics,
        )
    finally:
        # Begun with the advisor's drain, Katib's has had its grace period by now: this waits for
        # what is left of it (or drains it from here, if the advisor never got to serve).
        katib.stop(config.grace_seconds)


def _warn_if_katib_is_open(config: ServerConfig, host: str, address: str) -> None:
    """Log a warning when the advisor's port asks for credentials and Katib's, on ``host``, is open.

    Katib's endpoint takes no token and no TLS (Katib's controller dials it without either), and
    each ``GetSuggestions`` runs a search: bound beyond this machine (``--host 0.0.0.0`` with no
    ``--katib-host``), whoever reaches it uses the server, while the operator may take the token
    or TLS of the advisor's port for the whole server's. Warned of, not refused: Katib's controller
    runs in another pod and must reach the port (docs/INTEGRATIONS.md).
    """
    from advisor.service.binding import reaches_other_machines  # see the module docstring

    required = [name for name, on in (("a token", config.token), ("TLS", config.tls_cert)) if on]
    if not required or not reaches_other_machines(host):
        return
    _LOGGER.warning(
        "the advisor's port requires %s, but Katib's endpoint on %s takes no credentials "
        "(Katib's controller dials it without any): anyone who reaches it runs searches; bind "
        "it to 127.0.0.1 or to a cluster-internal interface only Katib's controller reaches "
        "(--katib-host ADDRESS) and keep its port inside the cluster",
        " and ".join(required),
        address,
    )


def _warn_if_token_is_sent_in_clear(config: ServerConfig) -> None:
    """Log a warning when the advisor's port asks for a token without TLS, open to other machines.

    A token crosses the network in clear then: whoever sees a call's bytes on the way reads the
    token and can call the server. Warned of, not refused, as Katib's open port is
    (:func:`_warn_if_katib_is_open`): TLS may end at a proxy beside the server (a service
    mesh's sidecar), on a network the operator trusts.
    """
    from advisor.service.binding import reaches_other_machines  # see the module docstring

    if config.token is None or config.tls_cert is not None:
        return
    if not reaches_other_machines(config.host):
        return
    _LOGGER.warning(
        "the advisor's port on %s requires a token but serves no TLS: the token crosses the "
        "network in clear, for anyone who sees a call to read and call the server with; serve "
        "TLS (--tls-cert, --tls-key) or bind it to 127.0.0.1",
        config.host,
    )


def _warn_if_anyone_may_call(config: ServerConfig) -> None:
    """Log a warning when the advisor's port asks for no credentials, open to other machines.

    ``--host 0.0.0.0`` without a token or client certificates started without a word, where a
    token without TLS is warned of (:func:`_warn_if_token_is_sent_in_clear`): whoever reaches
    the port runs searches of up to the longest time limit. Warned of, not refused: a network
    policy or a mesh's sidecar may admit only the team's clients.
    """
    from advisor.service.binding import reaches_other_machines  # see the module docstring

    if config.token is not None or config.tls_client_ca is not None:
        return
    if not reaches_other_machines(config.host):
        return
    _LOGGER.warning(
        "the advisor's port on %s takes calls from anyone who reaches it (no token, no client "
        "certificate), each a search of up to %s s; require a token (--token-file) or client "
        "certificates (--tls-client-ca), or bind it to 127.0.0.1",
        config.host,
        number_text(config.limits.max_time_limit_seconds),
    )


def warn_if_a_certificate_is_not_valid(config: ServerConfig, now: datetime.datetime) -> None:
    """Log a warning for a TLS certificate that is expired, or not yet valid, at ``now``.

    OpenSSL loads it and gRPC serves it, and the server started without a word while every
    client's handshake failed (``certificate has expired``): with ``--tls-cert``'s, every
    client's; with ``--tls-client-ca``'s, every client certificate it signed. Warned of, not
    refused: a client that does not check the dates still connects, and a server that would
    not start would hide the cause in a restart loop. A file that cannot be read is left to the
    start, which names it.
    """
    from advisor.model.certificate_dates import dates_problem
    from advisor.model.pem import read_pem_file

    settings = (
        (config.tls_cert, "--tls-cert", "every client's TLS handshake fails until it is replaced"),
        (
            config.tls_client_ca,
            "--tls-client-ca",
            "the client certificates it signed are refused until it is replaced",
        ),
    )
    for path, option, effect in settings:
        if path is None:
            continue
        try:
            problem = dates_problem(path, read_pem_file(path), now)
        except OSError:
            continue
        if problem is not None:
            _LOGGER.warning("%s: %s: %s", option, problem, effect)


_FIELD_OPTIONS = {**SERVE_OPTION_FLAGS, "token_file": "--token-file", "config": "--config"}
"""The option that sets each setting, as a refused one is named (``workers`` is ``--workers``)."""


def describe_start_error(error: ServerStartError) -> str:
    """Return ``error`` as one line naming the options behind it (``--tls-cert: ...``).

    A setting of the ``--config`` file, ``config.tls_cert``, is named as its key there
    (``--config tls_cert: ...``).
    """
    options = "/".join(_option_of(setting) for setting in error.settings)
    return f"{options}: {error.description}"


def _option_of(setting: str) -> str:
    """Return the option that gave ``setting`` (``--config tls_cert`` for ``config.tls_cert``)."""
    source, dot, key = setting.partition(".")
    if dot:
        return f"{_FIELD_OPTIONS[source]} {key}"
    return SERVE_OPTION_FLAGS.get(setting, setting)


class _Announce(Protocol):
    """Say that a server started, with the ports its other endpoints bound (``katib_port``)."""

    def __call__(self, running: RunningServer, **bound: int) -> None: ...


def _announcing(settings: Mapping[str, object]) -> _Announce:
    """Return what a server that has started says: the ``settings`` in force, then its address.

    The settings are logged once it serves, not before the bind, so a start that fails stays
    one error line; under a JSON log they are a ``settings`` field as well. The ports are the
    ones bound: ``--port 0``'s line said ``port=0``, and ``--metrics-port 0`` and ``--katib-port
    0`` said ``0`` until 2026-12-07 (``bound`` takes the Katib endpoint's).
    """

    def announce(running: RunningServer, **bound: int) -> None:
        metrics = {} if running.metrics_port is None else {"metrics_port": running.metrics_port}
        in_force = {**settings, "port": running.port, **metrics, **bound}
        _LOGGER.info(
            "settings: %s",
            ", ".join(f"{name}={value}" for name, value in in_force.items()),
            extra={FIELDS: {"settings": in_force}},
        )
        _announce(running)

    return announce


def _announce(running: RunningServer) -> None:
    _print_line(f"listening on {running.address}")
    if running.metrics_address is not None:
        _print_line(f"metrics on {running.metrics_address}")


def _print_line(line: str) -> None:
    """Print ``line`` on standard output; a reader that has gone does not stop the server.

    A supervisor that closed the pipe (or a ``| true``) made the announcement raise
    ``BrokenPipeError``: a traceback, and a server that had started stopped with exit status 1.
    The line is logged instead, and standard output goes to ``/dev/null`` from then on
    (:func:`~advisor.stdout.silence_stdout`). A character its encoding lacks is Python's escape
    (:func:`~advisor.stdout.write_stdout`): ``PYTHONIOENCODING=ascii advisor serve --host
    unix:/tmp/日本.sock`` ended with ``unexpected UnicodeEncodeError`` once it served.
    """
    try:
        write_stdout(f"{line}\n")
    except (OSError, OutputError) as error:
        _LOGGER.warning("cannot write %r on standard output (%s); serving on", line, error)
        if sys.stdout is not None:  # started with it closed: nothing to send anywhere
            silence_stdout()


def main(argv: Sequence[str] | None = None, prog: str = "advisor-server") -> int:
    """Parse the serve options, serve until a signal, and return the exit status.

    A failure is one line ``PROG: error: ...`` on stderr, written as ``advisor``'s are
    (:func:`~advisor.stdout.say_error`): a start-up failure's line lacked ``error:``, and a
    standard error that took no line ended the server with a traceback and status 1. Started
    with the process's own command line (``argv`` None), it holds a SIGTERM or SIGHUP that comes
    while gRPC and the server load (:mod:`advisor.service.held_signals`): the start then stops
    before serving, exit status 0, where the signal ended the process outright.
    """
    if argv is None:  # the process's own command line: a supervisor's SIGTERM may come now
        hold_drain_signals()
    parser = OneLineParser(
        prog=prog,
        description=SERVE_DESCRIPTION,
        epilog=SERVE_EPILOG,
        formatter_class=LinesHelpFormatter,
    )
    add_serve_arguments(parser)
    parser.reporter = report_failure
    try:
        args = parser.parse_args(argv)
        settle_grpc_verbosity(prog, own_process=argv is None, warn=report_warning)
        return serve_from_arguments(args)
    except InvalidRequestError as error:
        message = violations_as_options(error.violations, _FIELD_OPTIONS)
        return report_failure(prog, message, BAD_OPTION_EXIT_STATUS)
    except ServerStartError as error:
        return report_failure(prog, describe_start_error(error), START_FAILED_EXIT_STATUS)
    except KeyboardInterrupt:
        # Ctrl-C before serve_forever handles SIGINT: while gRPC and the server load.
        return report_failure(prog, "interrupted", INTERRUPTED_EXIT_STATUS)
    finally:
        release_drain_signals()
