"""The server's bound on an analysis or a task inference: ``max_time_limit_seconds``.

A search stops by its time limit; an ``Analyze`` or ``InferTask`` sent without a deadline ran
as long as its work took, and on a server with raised size limits could outlast the grace a
connection past its maximum age gives its calls, to end ``UNAVAILABLE``, its work lost. A bound
of a microsecond has passed by the work's first poll, however quick the machine.
"""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.message import Message

from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.service.limits import RequestLimits
from tests.service.test_contract import MIRROR_4X4_ARCHITECTURE, MIRROR_4X4_TASK
from tests.support.harness import CallError, DirectAdvisor
from tests.test_infer_stop import random_graph

_BOUND_SECONDS = 1e-6


@pytest.mark.parametrize(
    ("method", "request_message"),
    [
        ("Analyze", pb.AnalyzeRequest(task=MIRROR_4X4_TASK, architecture=MIRROR_4X4_ARCHITECTURE)),
        (
            "InferTask",
            pb.InferTaskRequest(graph=wire.dependence_graph_to_proto(random_graph(8, 4))),
        ),
    ],
)
def test_a_call_without_a_deadline_ends_at_the_servers_bound_naming_it(
    method: str, request_message: Message
) -> None:
    direct = DirectAdvisor(RequestLimits(max_time_limit_seconds=_BOUND_SECONDS))
    with pytest.raises(CallError) as failure:
        direct.unary(method, request_message)  # answered OK before, however long it ran
    assert failure.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert failure.value.details == (
        f"the {method} call would run past this server's bound of 1e-06 s "
        "(max_time_limit_seconds) and was stopped; send a smaller request, or a server whose "
        "max_time_limit_seconds is higher"
    )
    # Told from the call's own deadline by its ErrorInfo, which names the bound: retrying the
    # same request with a longer deadline meets the same bound.
    [info] = failure.value.error_infos
    assert (info.reason, info.domain) == ("SERVER_TIME_BOUND", "advisor.v1")
    assert dict(info.metadata) == {"max_time_limit_seconds": "1e-06"}
    assert direct.in_flight() == 0


def test_a_call_whose_own_deadline_comes_first_keeps_its_words() -> None:
    direct = DirectAdvisor(RequestLimits(max_time_limit_seconds=60.0))
    request = pb.InferTaskRequest(graph=wire.dependence_graph_to_proto(random_graph(8, 4)))
    with pytest.raises(CallError) as failure:
        direct.unary("InferTask", request, timeout=_BOUND_SECONDS)
    assert failure.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "max_time_limit_seconds" not in failure.value.details
    [info] = failure.value.error_infos  # its own deadline's, not the server's bound
    assert info.reason == "CALL_DEADLINE_EXCEEDED"
