"""The dates a PEM file's certificates are valid between, read from their DER.

OpenSSL loads an expired certificate, and gRPC serves it: every client then fails its handshake
(``certificate verify failed: certificate has expired``) while the server starts without a word.
The serving command warns of it from these dates. The standard library reads no certificate's
dates but a CA's (``SSLContext.get_ca_certs``), so the DER is walked here: an X.509
certificate's ``validity`` is the fifth element of its ``tbsCertificate`` (RFC 5280, 4.1), after
an optional ``[0]`` version, the serial number, the signature algorithm and the issuer.
"""

from __future__ import annotations

import datetime
import os
import re
import ssl
from typing import Final

from advisor.stdout import shown_path

__all__ = ["certificate_dates", "dates_problem"]

_BLOCK: Final = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
"""One PEM certificate block."""

_UTC_TIME: Final = 0x17
"""DER tag of ``UTCTime`` (``YYMMDDHHMMSSZ``; ``GeneralizedTime``, 0x18, has four-digit years)."""

_VERSION: Final = 0xA0
"""DER tag of the ``[0] EXPLICIT`` version that opens a v2 or v3 ``tbsCertificate``."""


def certificate_dates(pem: bytes) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """Return each certificate's ``notBefore`` and ``notAfter`` (UTC), in the file's order.

    A block that does not read as a certificate is left out (OpenSSL's own check,
    :func:`~advisor.model.pem.certificates_problem`, refuses such files first).
    """
    dates = []
    for block in _BLOCK.findall(pem):
        try:
            dates.append(_validity(ssl.PEM_cert_to_DER_cert(block.decode("ascii"))))
        except (ValueError, IndexError):
            continue
    return dates


def dates_problem(path: str | os.PathLike[str], pem: bytes, now: datetime.datetime) -> str | None:
    """Say which certificate of ``path`` (read as ``pem``) is not valid at ``now``; None if all are.

    The first such: expired (``notAfter`` past) or not yet valid (``notBefore`` to come).
    """
    dates = certificate_dates(pem)
    for index, (not_before, not_after) in enumerate(dates):
        which = "the certificate" if len(dates) == 1 else f"certificate {index + 1} of {len(dates)}"
        if now > not_after:
            return f"{which} in {shown_path(path)} expired on {_moment(not_after)}"
        if now < not_before:
            return f"{which} in {shown_path(path)} is not valid until {_moment(not_before)}"
    return None


def _moment(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _validity(der: bytes) -> tuple[datetime.datetime, datetime.datetime]:
    """Return the ``notBefore`` and ``notAfter`` of the DER certificate ``der``."""
    _, certificate, _ = _element(der, 0)
    _, at, _ = _element(der, certificate)  # into tbsCertificate
    tag, _, end = _element(der, at)
    if tag == _VERSION:
        at = end
    for _ in range(3):  # serialNumber, signature, issuer
        _, _, at = _element(der, at)
    _, at, _ = _element(der, at)  # into validity
    tag, start, end = _element(der, at)
    not_before = _time(tag, der[start:end])
    tag, start, end = _element(der, end)
    return not_before, _time(tag, der[start:end])


def _element(der: bytes, at: int) -> tuple[int, int, int]:
    """Return the tag of the DER element at ``at``, and where its contents start and end."""
    tag, length = der[at], der[at + 1]
    at += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(der[at : at + size], "big")
        at += size
    if at + length > len(der):
        raise ValueError("a DER element runs past the certificate's end")
    return tag, at, at + length


def _time(tag: int, value: bytes) -> datetime.datetime:
    """Return a DER ``UTCTime`` or ``GeneralizedTime`` (RFC 5280's forms, in UTC, ``Z``)."""
    text = value.decode("ascii")
    if tag == _UTC_TIME:
        year = int(text[:2])
        text = f"{year + (1900 if year >= 50 else 2000)}{text[2:]}"  # RFC 5280, 4.1.2.5.1
    return datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.UTC)
