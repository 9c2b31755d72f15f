"""The analysis table writes a log2 figure as a power of two only when it is one.

Two decimals with the trailing zeros dropped wrote log2(511) = 8.997 as ``9`` and 3^53's
84.003 as ``84``: a reader of ``9  exact`` takes the rank to be 512.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.cli.format import render_analysis
from advisor.model.results import Analysis, CorrelationAnalysis, MemberFigure


def _row(log2_rank: float, certificate: str = "exact", log2_max_rank: float | None = None) -> str:
    """The table's ``log2 rank`` of one figure; the dimension bound above it unless given."""
    correlation = CorrelationAnalysis(
        name="c",
        log2_separation_rank=log2_rank,
        log2_max_rank=log2_rank + 1 if log2_max_rank is None else log2_max_rank,
        certificate=certificate,  # type: ignore[arg-type]
        weight=1.0,
        log2_min_cut=log2_rank,
    )
    return _cells(correlation)[0]


def _cells(correlation: CorrelationAnalysis) -> list[str]:
    """The table's cells of ``correlation`` (named ``c``) after its name and weight.

    Those of every part of a table too wide for the terminal, each of which names it again.
    """
    analysis = Analysis(parameters=10, multiply_adds=20, correlations=[correlation])
    lines = [
        line for line in render_analysis(analysis, "table").splitlines() if line.startswith("c ")
    ]
    return [
        cell for index, line in enumerate(lines) for cell in line.split()[2 if index == 0 else 1 :]
    ]


@pytest.mark.parametrize(
    ("log2_rank", "written"),
    [
        (math.log2(511), "9.00"),
        (53 * math.log2(3), "84.00"),
        (math.log2(1023), "10.00"),
        (9.0, "9"),
        (1536.0, "1536"),
        (math.log2(3), "1.58"),
        (math.log2(21), "4.39"),
        (7.3, "7.3"),
    ],
)
def test_a_figure_reads_as_a_power_of_two_only_when_it_is_one(
    log2_rank: float, written: str
) -> None:
    assert _row(log2_rank) == written


@pytest.mark.parametrize(
    ("log2_rank", "certificate", "written"),
    [
        (156.744, "exact", "156.74"),
        (156.744, "tight", "156.75"),
        (156.744, "upper_bound", "156.75"),
        (math.log2(511), "tight", "9.00"),
        (9.0, "upper_bound", "9"),
        (156.75, "tight", "156.75"),
    ],
)
def test_an_upper_bound_is_written_rounded_up(
    log2_rank: float, certificate: str, written: str
) -> None:
    # A tight or upper_bound rank (and the dimension bound) is a bound from above, written up in
    # the documents (9 decimals); the table's two decimals to the nearest wrote 156.744 as
    # 156.74, below the bound.
    assert _row(log2_rank, certificate) == written


@given(st.floats(0.01, 1e6, allow_nan=False), st.sampled_from(["tight", "upper_bound"]))
def test_no_upper_bound_reads_below_itself(log2_rank: float, certificate: str) -> None:
    assert float(_row(log2_rank, certificate)) >= log2_rank - 1e-9


@given(st.integers(1, 2**24))  # distinct ranks have distinct 9-decimal figures up to 2^24
def test_a_rank_reads_as_an_integer_log_exactly_when_it_is_a_power_of_two(rank: int) -> None:
    shown = _row(round(math.log2(rank), 9), "tight")
    assert ("." not in shown) == (rank & (rank - 1) == 0)


def test_an_exact_rank_at_the_dimension_bound_reads_as_the_bound() -> None:
    # The rank 49 of M = 7 on two locations a side is the bound 2 log2 7 = 5.6147: written to
    # the nearest it read 5.61 beside a log2 max of 5.62, a rank short of the bound it reaches.
    at_bound = round(2 * math.log2(7) + 0.5e-9, 9)
    assert _row(at_bound, "exact", at_bound) == "5.62"
    assert _row(math.log2(48), "exact", at_bound) == "5.58"  # below it: to the nearest


def test_a_members_exact_rank_is_written_as_the_mixtures_exact_rank() -> None:
    # A member's exact rank 3 was written rounded up, 1.59, beside the mixture's exact rank 3,
    # written to the nearest, 1.58: the same rank read as two.
    log2_3 = math.log2(3)
    correlation = CorrelationAnalysis(
        name="c",
        log2_separation_rank=log2_3,
        log2_max_rank=4.0,
        certificate="exact",
        weight=1.0,
        log2_min_cut=2.0,
        members=(MemberFigure(log2_3, "exact"), MemberFigure(log2_3, "upper_bound")),
    )
    assert _cells(correlation) == ["1.58", "4", "exact", "1.58", "exact", "1.59", "upper_bound"]
