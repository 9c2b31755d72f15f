"""The validity dates of PEM certificates, read from their DER, against OpenSSL's own reading."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest

from advisor.model.certificate_dates import certificate_dates, dates_problem
from tests.support.certificates import make_certificates

UTC = datetime.UTC


def _openssl_dates(path: Path) -> tuple[datetime.datetime, datetime.datetime]:
    """Return ``openssl x509 -startdate -enddate`` of the first certificate in ``path``."""
    done = subprocess.run(
        ["openssl", "x509", "-in", str(path), "-noout", "-startdate", "-enddate"],
        capture_output=True,
        text=True,
        check=True,
    )
    fields = dict(line.split("=", 1) for line in done.stdout.splitlines())
    read = [
        datetime.datetime.strptime(fields[key], "%b %d %H:%M:%S %Y GMT").replace(tzinfo=UTC)
        for key in ("notBefore", "notAfter")
    ]
    return read[0], read[1]


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("certificates")
    made = make_certificates(directory)
    # A century: past 2049, RFC 5280 writes the date as a GeneralizedTime, not a UTCTime.
    century = directory / "century.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(directory / "century.key"),
            "-out", str(century), "-days", "36500", "-subj", "/CN=century",
        ],
        capture_output=True,
        check=True,
    )  # fmt: skip
    return [made.ca, made.server_cert, made.client_cert, made.nameless_cert, century]


def test_the_dates_are_openssl_s(pems: list[Path]) -> None:
    for path in pems:
        assert certificate_dates(path.read_bytes()) == [_openssl_dates(path)], path
    assert certificate_dates(pems[-1].read_bytes())[0][1].year > 2100


def test_a_chain_s_certificates_are_each_read_and_a_broken_block_is_left_out(
    pems: list[Path],
) -> None:
    server, ca = pems[1].read_bytes(), pems[0].read_bytes()
    broken = b"-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n"
    chain = b"# a comment\n" + server + broken + ca
    assert certificate_dates(chain) == [_openssl_dates(pems[1]), _openssl_dates(pems[0])]
    assert certificate_dates(b"") == []


def test_a_certificate_past_or_before_its_dates_is_named(pems: list[Path]) -> None:
    path = pems[1]
    not_before, not_after = _openssl_dates(path)
    pem = path.read_bytes()
    assert dates_problem(path, pem, not_before) is None
    assert dates_problem(path, pem, not_after) is None
    later = not_after + datetime.timedelta(seconds=1)
    stamp = not_after.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert dates_problem(path, pem, later) == f"the certificate in {path} expired on {stamp}"
    earlier = not_before - datetime.timedelta(seconds=1)
    stamp = not_before.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert dates_problem(path, pem, earlier) == (
        f"the certificate in {path} is not valid until {stamp}"
    )
    # In a chain, which one: the century-long second certificate outlives the first.
    chain = pem + pems[-1].read_bytes()
    assert dates_problem(path, chain, later) == (
        f"certificate 1 of 2 in {path} expired on {not_after.strftime('%Y-%m-%d %H:%M:%S UTC')}"
    )
    century_start = _openssl_dates(pems[-1])[0]
    reversed_chain = pems[-1].read_bytes() + pem
    problem = dates_problem(path, reversed_chain, later)
    assert problem is not None and problem.startswith("certificate 2 of 2 in ")
    assert dates_problem(path, reversed_chain, max(century_start, not_before)) is None
