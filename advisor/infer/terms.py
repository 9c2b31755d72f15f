"""The inference's terms that the command line states before it loads anything heavy.

The CLI's parser names the parts ``--data`` adds and the rules the inference keeps a finding by
in its help; this module holds them, with no import beyond the standard library, so parsing
the command line loads neither pydantic nor numpy (:mod:`advisor.cli.main`).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ARRANGED_RATIO",
    "ARRANGEMENT_GAIN",
    "DATA_PARTS",
    "DATA_PREFIX",
    "DEFAULT_TOP_K",
    "EVIDENCE_COVERAGE",
    "MAX_PAIRS",
    "MAX_TOP_K",
    "NEAR_PAIR",
    "PAIR_PREFIX",
]

ARRANGED_RATIO: Final = 0.8
"""The inferred task carries the arrangement when it brings the canonical entanglement to at most
this fraction of the data's own order (:func:`advisor.infer.task.infer_task`); here, beside the
parts ``--data`` adds, so the CLI's parser can say the rule without importing the inference."""

EVIDENCE_COVERAGE: Final = 0.5
"""Least share of the varying locations the evidence must reach for the inferred task to make
claims about the whole grid — its stripes, its halves and the arrangement: measured on a few
dependent pairs, a grid-wide partition gets a described correlation's weight from them alone,
and an arrangement places every other location arbitrarily (its long-range pairs, two locations
each, stand on their own evidence)."""

ARRANGEMENT_GAIN: Final = f"{1 - ARRANGED_RATIO:.0%}"
"""The least drop of the crossing dependence that carries the arrangement, in words (``20%``)."""

DATA_PARTS: Final = ("correlations", "arrangement")
"""What a data sample can add to a described task; ``recommend --data`` adds both by default."""

DATA_PREFIX: Final = "data: "
"""The prefix of the names of the correlations a data sample adds."""

MAX_PAIRS: Final = 16
"""Most long-range pairs in a task (and most pairs too near to be, listed as dropped)."""

NEAR_PAIR: Final = "too near for a long-range pair"
"""Why a strong pair of locations is not a long-range pair (the start of its dropped reason)."""

PAIR_PREFIX: Final = "locations "
"""The start of a pair's name (``locations (3, 2) vs (3, 13)``), which no stripe's has."""


DEFAULT_TOP_K: Final = 16
"""Edges kept per location by default (``infer --top-k``)."""

MAX_TOP_K: Final = 256
"""Most edges kept per location (``infer --top-k``, ``InferTask``'s ``top_k``)."""
