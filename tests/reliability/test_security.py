"""Transport and access security: TLS, mutual TLS, bearer tokens, reflection, opaque errors.

Certificates are made for each run by the ``openssl`` CLI (``certificates.make_certificates``).
A cheap authenticated call (``ListPresets``) and the health check probe each configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from advisor_client.client import AdvisorClient
from advisor_client.connection import TlsConfig
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.service import servicer
from advisor.service.server import ServerConfig, start_server
from tests.support.certificates import Certificates, make_certificates
from tests.support.named_search import start_named_search
from tests.support.raw_calls import Outcome, call_raw, health_status, leaks
from tests.support.workloads import quick_budget, small_task

TIMEOUT_SECONDS = 5.0
TOKEN = "correct-horse-battery-staple"
LIST_PRESETS = advisor_pb2.ListPresetsRequest().SerializeToString()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def _credentials(
    certificates: Certificates, cert: Path | None = None, key: Path | None = None
) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=certificates.ca.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )


def _list_presets(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = ()) -> Outcome:
    return call_raw(channel, "ListPresets", LIST_PRESETS, TIMEOUT_SECONDS, metadata)


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_address(certificates: Certificates) -> Iterator[str]:
    config = ServerConfig(
        workers=1, tls_cert=certificates.server_cert, tls_key=certificates.server_key
    )
    with start_server(config) as running:
        yield f"localhost:{running.port}"


def test_tls_serves_a_client_that_trusts_the_ca(
    certificates: Certificates, tls_address: str
) -> None:
    with grpc.secure_channel(tls_address, _credentials(certificates)) as channel:
        assert _list_presets(channel).code == grpc.StatusCode.OK
        assert health_status(channel) == "SERVING"


def test_tls_refuses_a_plaintext_client(tls_address: str) -> None:
    with grpc.insecure_channel(tls_address) as channel:
        assert _list_presets(channel).code == grpc.StatusCode.UNAVAILABLE


def test_a_client_that_does_not_trust_the_server_certificate_refuses_it(
    tls_address: str,
) -> None:
    with grpc.secure_channel(tls_address, grpc.ssl_channel_credentials()) as channel:
        assert _list_presets(channel).code == grpc.StatusCode.UNAVAILABLE


# --- mutual TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mtls_address(certificates: Certificates) -> Iterator[str]:
    config = ServerConfig(
        workers=1,
        tls_cert=certificates.server_cert,
        tls_key=certificates.server_key,
        tls_client_ca=certificates.ca,
    )
    with start_server(config) as running:
        yield f"localhost:{running.port}"


def test_mutual_tls_serves_a_client_with_a_certificate_from_the_ca(
    certificates: Certificates, mtls_address: str
) -> None:
    credentials = _credentials(certificates, certificates.client_cert, certificates.client_key)
    with grpc.secure_channel(mtls_address, credentials) as channel:
        assert _list_presets(channel).code == grpc.StatusCode.OK


@pytest.mark.parametrize("client", ["none", "intruder"])
def test_mutual_tls_refuses_a_client_without_a_certificate_from_the_ca(
    certificates: Certificates, mtls_address: str, client: str
) -> None:
    if client == "none":
        credentials = _credentials(certificates)
    else:
        credentials = _credentials(
            certificates, certificates.intruder_cert, certificates.intruder_key
        )
    with grpc.secure_channel(mtls_address, credentials) as channel:
        assert _list_presets(channel).code == grpc.StatusCode.UNAVAILABLE


def _mtls_client(address: str, certificates: Certificates, cert: Path, key: Path) -> AdvisorClient:
    tls = TlsConfig(root_ca=certificates.ca, client_cert=cert, client_key=key)
    return AdvisorClient(address, tls=tls)


@pytest.mark.parametrize(
    ("owner_name", "colleague_name"), [("client", "colleague"), ("nameless", "other_nameless")]
)
def test_under_mutual_tls_a_search_name_is_its_callers_own(
    owner_name: str, colleague_name: str, certificates: Certificates
) -> None:
    # A caller of another certificate could finish a search whose name it guessed ("trial-7"),
    # and was told ALREADY_EXISTS for a name another caller's running search held. Certificates
    # that name no one (no subject alternative name, no common name) were all one caller: gRPC
    # reports each as the common name b"".
    config = ServerConfig(
        workers=2,
        executor="threads",
        tls_cert=certificates.server_cert,
        tls_key=certificates.server_key,
        tls_client_ca=certificates.ca,
    )
    with start_server(config) as running:
        address = f"localhost:{running.port}"

        def client_of(name: str) -> AdvisorClient:
            cert, key = (getattr(certificates, f"{name}_{part}") for part in ("cert", "key"))
            return _mtls_client(address, certificates, cert, key)

        with client_of(owner_name) as owner, client_of(colleague_name) as colleague:
            thread, answered = start_named_search(owner, running, "trial-7")
            try:
                assert colleague.finish_search("trial-7") is False
                own = colleague.recommend(
                    wire.task_from_proto(small_task()),
                    wire.budget_from_proto(quick_budget()),
                    search_id="trial-7",
                )
                assert own.recommendations
                assert thread.is_alive(), "the colleague's calls finished the owner's search"
            finally:
                assert owner.finish_search("trial-7")
                thread.join(timeout=30.0)
    assert not thread.is_alive()
    assert answered["result"].complete is False


# --- bearer token ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_channel() -> Iterator[grpc.Channel]:
    with (
        start_server(ServerConfig(workers=1, token=TOKEN)) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        yield channel


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("authorization", "Bearer wrong"),),
        (("authorization", TOKEN),),
        (("authorization", f"Bearer {TOKEN}x"),),
        (("authorization", f"Bearer {TOKEN[:-1]}"),),
        (("authorization", f"Bearer {TOKEN}"), ("authorization", "Bearer wrong")),
        (("x-token", TOKEN),),
    ],
    ids=["missing", "wrong", "no-scheme", "longer", "prefix", "two-values", "other-key"],
)
@pytest.mark.parametrize("method", ["ListPresets", "StreamRecommend"])
def test_a_call_without_the_right_token_is_unauthenticated(
    token_channel: grpc.Channel, method: str, metadata: tuple[tuple[str, str], ...]
) -> None:
    outcome = call_raw(token_channel, method, LIST_PRESETS, TIMEOUT_SECONDS, metadata)
    assert outcome.code == grpc.StatusCode.UNAUTHENTICATED
    assert TOKEN not in outcome.details


def test_a_call_with_the_right_token_is_served(token_channel: grpc.Channel) -> None:
    outcome = _list_presets(token_channel, (("authorization", f"Bearer {TOKEN}"),))
    assert outcome.code == grpc.StatusCode.OK


def test_health_needs_no_token(token_channel: grpc.Channel) -> None:
    assert health_status(token_channel) == "SERVING"


def test_the_token_works_as_call_credentials_over_tls(certificates: Certificates) -> None:
    config = ServerConfig(
        workers=1,
        tls_cert=certificates.server_cert,
        tls_key=certificates.server_key,
        token=TOKEN,
    )
    credentials = grpc.composite_channel_credentials(
        _credentials(certificates), grpc.access_token_call_credentials(TOKEN)
    )
    with (
        start_server(config) as running,
        grpc.secure_channel(f"localhost:{running.port}", credentials) as channel,
    ):
        assert _list_presets(channel).code == grpc.StatusCode.OK


# --- reflection -----------------------------------------------------------------------------------


def _reflected_services(channel: grpc.Channel) -> list[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    responses = stub.ServerReflectionInfo(iter([request]), timeout=TIMEOUT_SECONDS)
    return [s.name for r in responses for s in r.list_services_response.service]


def test_reflection_is_off_by_default(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        _reflected_services(channel)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_reflection_lists_the_services_when_enabled() -> None:
    with (
        start_server(ServerConfig(workers=1, reflection=True)) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        services = _reflected_services(channel)
    assert advisor_pb2.DESCRIPTOR.services_by_name["ArchitectureAdvisor"].full_name in services


# --- no internal detail in errors -----------------------------------------------------------------


def test_an_unexpected_failure_reaches_the_client_as_an_opaque_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret at /work/main/advisor/search.py line 7: KeyError('x')")

    monkeypatch.setattr(servicer, "list_presets", explode)
    # The patch reaches the servicer of this process only: a server whose work runs on threads
    # (a worker process's failure is tests/service/test_processes.py's).
    with (
        start_server(ServerConfig(workers=1, executor="threads")) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        outcome = _list_presets(channel)
    assert outcome.code == grpc.StatusCode.INTERNAL
    assert not leaks(outcome.details)
    assert "secret" not in outcome.details
