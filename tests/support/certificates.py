"""Throw-away X.509 material for the TLS tests, made at test time with the ``openssl`` CLI.

A test CA signs a server certificate (valid for ``localhost`` and ``127.0.0.1``) and two client
certificates (``client`` and ``colleague``, two callers the server tells apart), and two more
that name no one (``nameless`` and ``other_nameless``: no subject alternative name and no common
name, only an organization); a second, unrelated CA signs an intruder's client certificate, which
a server that trusts only the first CA must refuse. Keys are EC P-256 (fast to generate) and live
one day.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Certificates", "make_certificates", "make_server_certificate"]


@dataclass(frozen=True)
class Certificates:
    """Paths of the PEM files :func:`make_certificates` wrote."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    intruder_cert: Path
    intruder_key: Path
    colleague_cert: Path
    colleague_key: Path
    nameless_cert: Path
    nameless_key: Path
    other_nameless_cert: Path
    other_nameless_key: Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _authority(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", cert, "-days", "1", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key


def _leaf(
    directory: Path,
    name: str,
    authority: tuple[Path, Path],
    extensions: str,
    subject: str | None = None,
) -> tuple[Path, Path]:
    """Write a key and a certificate ``authority`` signs, of ``subject`` (default ``/CN=name``)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    request, extfile = directory / f"{name}.csr", directory / f"{name}.ext"
    extfile.write_text(extensions)
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", request, "-subj", subject or f"/CN={name}",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", request, "-CA", authority[0], "-CAkey", authority[1],
        "-CAcreateserial", "-out", cert, "-days", "1", "-extfile", extfile,
    )  # fmt: skip
    return cert, key


def make_certificates(directory: Path) -> Certificates:
    """Write a CA, a server and four client certificates, and an intruder signed by another CA."""
    authority = _authority(directory, "test-ca")
    server = _leaf(
        directory,
        "server",
        authority,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    client = _leaf(directory, "client", authority, "extendedKeyUsage=clientAuth\n")
    colleague = _leaf(directory, "colleague", authority, "extendedKeyUsage=clientAuth\n")
    intruder = _leaf(
        directory, "intruder", _authority(directory, "other-ca"), "extendedKeyUsage=clientAuth\n"
    )
    nameless = [
        _leaf(directory, name, authority, "extendedKeyUsage=clientAuth\n", f"/O={organization}")
        for name, organization in (("nameless", "tenant-a"), ("other-nameless", "tenant-b"))
    ]
    return Certificates(
        authority[0], *server, *client, *intruder, *colleague, *nameless[0], *nameless[1]
    )


def make_server_certificate(directory: Path, alt_names: str) -> tuple[Path, Path]:
    """Write a server certificate for ``alt_names`` (``DNS:advisor.test``), signed by the CA
    :func:`make_certificates` wrote in ``directory``; return its certificate and key."""
    authority = (directory / "test-ca.pem", directory / "test-ca.key")
    extensions = f"subjectAltName={alt_names}\nextendedKeyUsage=serverAuth\n"
    return _leaf(directory, "named-server", authority, extensions)
