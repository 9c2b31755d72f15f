"""InferTask as a service: a bad dependence graph is refused on its message's field paths."""

from __future__ import annotations

import pytest

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from tests.support.harness import CallError, DirectAdvisor


@pytest.mark.parametrize(
    ("graph_input", "field"),
    [
        (pb.InputSpec(), "graph.input.shape"),
        (pb.InputSpec(shape=[4], channels=0), "graph.input.channels"),
    ],
)
def test_a_bad_graph_input_names_its_proto_field(graph_input: pb.InputSpec, field: str) -> None:
    graph = pb.DependenceGraph(input=graph_input, samples=10, top_k=1, estimate="exact")
    with pytest.raises(CallError) as error:
        DirectAdvisor().unary("InferTask", pb.InferTaskRequest(graph=graph))
    assert [f for f, _ in error.value.violations] == [field]
