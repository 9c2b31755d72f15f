"""The coherence ablation of the trained-outcome benchmark (bench/outcomes/ties.py) picks as its
rules say. Skipped without the optional ``validate`` extra (bench.outcomes imports torch)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from advisor.model.task import parse_task
from bench.outcomes.ties import RULES, picks

SEARCH, BEFORE, LEVELS, LISTING = RULES


def test_each_rule_gives_its_own_first() -> None:
    # The local preset's stripes reach the same ranks under contiguous pooling and the dilation
    # order pooling steps two apart first; the coherence, in the score or first among ties,
    # chooses the dilation order, the levels apart and the listing order the contiguous net (on
    # 32 steps: on 64, with the arrangement at half its weight, a shallower contiguous tree
    # outscores both trees of windows of 2 where the coherence only breaks ties).
    chosen = picks(parse_task({"input": {"shape": [32]}, "preset": "local"}), 10_002, 2)
    assert chosen is not None
    assert chosen[SEARCH].family == chosen[BEFORE].family == "dilations"
    assert chosen[LEVELS].family == chosen[LISTING].family == "contiguous"


def test_a_task_every_rule_agrees_on_has_no_picks() -> None:
    task = parse_task({"input": {"shape": [64]}, "preset": "symmetry"})
    assert picks(task, 10_002, 2) is None
