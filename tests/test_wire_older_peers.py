"""Answers of a server that predates some of advisor.v1's fields, read by this version's decoder.

Such a server leaves the newer fields out, so they arrive as proto3's defaults (0, false, empty);
each test builds the message an older server sent by clearing the fields it did not know.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from advisor.model.results import Analysis, CorrelationAnalysis, Efficiency
from advisor.protocol import wire


def _over_the_wire(message: Message) -> Any:
    """Serialize and parse again, as a real call does."""
    return type(message).FromString(message.SerializeToString())


def _analysis(efficiency: Efficiency) -> Analysis:
    correlation = CorrelationAnalysis("c", 3.0, 4.0, "tight")
    return Analysis(
        parameters=100, multiply_adds=2_000, correlations=[correlation], efficiency=efficiency
    )


def test_contiguous_figures_from_a_server_that_predates_contiguous_priced_are_priced() -> None:
    # Efficiency's field 5 came after its figures: an older server sends them with it false.
    priced = _analysis(Efficiency(3.0, 9.5, 4.0, 10.25))
    message = wire.analysis_to_proto(priced)
    message.efficiency.ClearField("contiguous_priced")
    decoded = wire.analysis_from_proto(_over_the_wire(message))
    assert decoded == priced
    assert decoded.efficiency is not None
    assert "not computed" not in decoded.efficiency.summary()
