"""PEM files for TLS: read them, and say what OpenSSL will make of them before gRPC does.

gRPC takes certificate and key bytes as they are and fails only at the handshake, where a file
that is not a PEM certificate reads as a server that is down (``UNAVAILABLE``) and a bad server
file as a failed bind. The client and the server check their files here first, so a bad one is
named as the setting it came from.
"""

from __future__ import annotations

import os
import ssl

from advisor.errors import InvalidRequestError
from advisor.files import read_bounded
from advisor.stdout import cannot_read, shown_path

__all__ = [
    "MAX_PEM_BYTES",
    "certificates_problem",
    "key_problem",
    "pem_path_problem",
    "read_pem",
    "read_pem_file",
]

MAX_PEM_BYTES = 1 << 22
"""Most bytes of a PEM file: a certificate chain or a key takes a few kB, a system's whole CA
bundle about 200 kB."""


def read_pem(path: str | os.PathLike[str] | None, field: str) -> bytes | None:
    """Return the bytes of a PEM file (certificate or key), or None when no path is given.

    Raises
    ------
    InvalidRequestError
        On ``field`` when the file cannot be read, or ``path`` is no path: an int would be
        opened as a file descriptor (read, then closed: the process's socket, say), and bytes
        or a string holding PEM text are content, not the name of a file.
    """
    if path is None:
        return None
    problem = pem_path_problem(path)
    if problem is not None:
        raise InvalidRequestError.single(field, problem)
    try:
        return read_pem_file(path)
    except OSError as error:
        raise InvalidRequestError.single(field, cannot_read(path, error)) from None


def pem_path_problem(path: object) -> str | None:
    """Say why ``path`` is no path of a PEM file (None when it may be one).

    An int would be opened as a file descriptor, and bytes or a string holding PEM text are
    content, not a file's name: a key given so was also kept, and shown, in the settings' repr.
    """
    if not isinstance(path, str | os.PathLike):
        return f"must be the path of a PEM file (a str or os.PathLike); got {type(path).__name__}"
    if str(path).lstrip().startswith("-----BEGIN"):
        return "holds PEM text, not the path of a PEM file: write it to a file and pass its path"
    return None


def read_pem_file(path: str | os.PathLike[str]) -> bytes:
    """Return the bytes of the PEM file at ``path``, refusing one over :data:`MAX_PEM_BYTES`.

    Raises
    ------
    OSError
        When the file cannot be read; ``EFBIG`` when it is longer than :data:`MAX_PEM_BYTES`,
        so a path that never ends (``/dev/zero``) is refused, not read until memory runs out.
    """
    return read_bounded(path, MAX_PEM_BYTES, "a PEM file")


def certificates_problem(path: str | os.PathLike[str], pem: bytes) -> str | None:
    """Say that the file ``path``, read as ``pem``, holds no certificate OpenSSL can load.

    None when it holds one.
    """
    if not pem.strip():
        # ssl raises a bare ValueError ("Empty certificate data") for it, not an SSLError.
        return f"{shown_path(path)} holds no PEM certificate (the file is empty)"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=pem.decode("ascii"))
    except UnicodeDecodeError:
        reason = "not ASCII"
    except ssl.SSLError as error:
        reason = str(error.reason or error)
    else:
        return None
    return f"{shown_path(path)} holds no PEM certificate ({reason})"


def key_problem(certificate: str | os.PathLike[str], key: str | os.PathLike[str]) -> str | None:
    """Say that ``key`` is not the unencrypted PEM private key of ``certificate`` (None: it is)."""
    try:
        # An encrypted key would make OpenSSL ask for a password: an empty one fails instead.
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(
            certificate, key, password=lambda: b""
        )
    except ssl.SSLError as error:
        return (
            f"{key} is not the unencrypted PEM private key of {certificate} "
            f"({error.reason or error})"
        )
    return None
