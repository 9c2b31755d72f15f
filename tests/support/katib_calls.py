"""Ask a Katib suggestion service for designs as Katib's controller does."""

from __future__ import annotations

from collections.abc import Sequence

from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc


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
