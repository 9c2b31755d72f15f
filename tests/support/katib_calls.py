"""Ask a Katib suggestion service for designs as Katib's controller does."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import grpc

from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.service.katib_server import start_katib_server


def katib_endpoint() -> Iterator[api_pb2_grpc.SuggestionStub]:
    """A Katib endpoint in this process with one slot and the default limits, stopped after.

    For fixtures (``yield from``): a test whose checks need an empty cache of sequences, or no
    experiment warned of yet, takes an endpoint of its own, not one its module shares.
    """
    server = start_katib_server("127.0.0.1", 0, workers=1)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield api_pb2_grpc.SuggestionStub(channel)
    finally:
        server.stop(0)


def suggestions_asked(
    katib: api_pb2_grpc.SuggestionStub,
    experiment: api_pb2.Experiment,
    trials: Sequence[api_pb2.Trial],
    current: int,
    total: int,
) -> list[api_pb2.GetSuggestionsReply.ParameterAssignments]:
    """Ask for ``current`` designs, the call that brings Katib's count to ``total``.

    With Katib's own call timeout (60 s); returns the reply's assignments.
    """
    reply = katib.GetSuggestions(
        api_pb2.GetSuggestionsRequest(
            experiment=experiment,
            trials=trials,
            current_request_number=current,
            total_request_number=total,
        ),
        timeout=60,
    )
    return list(reply.parameter_assignments)
