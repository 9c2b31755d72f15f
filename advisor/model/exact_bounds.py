"""The exact engine's size bounds: what an exact certification may ask, apart from the engine.

:mod:`advisor.seprank.exact` refuses (``check_exact_limits``) what exceeds them before it builds
anything; a server may not admit more (its ``max_exact_log2_size``). Here, a server's limits read
them without loading the engines (FLINT, the rank modules), which a command that only lists
presets never loads.
"""

from __future__ import annotations

from typing import Final

from advisor.model.text import bits_over, bits_text

__all__ = [
    "EXACT_MAX_LOG2_ELIMINATION",
    "EXACT_MAX_LOG2_INTERMEDIATE",
    "EXACT_MAX_LOG2_SIZE",
    "elimination_problem",
]

EXACT_MAX_LOG2_SIZE: Final = 24
"""Largest ``(|A| + |B|) * log2 M`` accepted: the matricization has ``2**24`` entries at most."""

EXACT_MAX_LOG2_INTERMEDIATE: Final = 24
"""Largest log2 entry count of any intermediate tensor ``[channel, location axes...]``
(``2**24`` int64 entries = 128 MiB)."""

EXACT_MAX_LOG2_ELIMINATION: Final = 32
"""Largest log2 of ``rows * columns * min(rows, columns)`` for the matricization, the work of its
Gaussian elimination: about a second per weight draw (a 2048 x 1024 matrix); a balanced
2048 x 2048 one (2^33) would take several, a 4096 x 4096 one (2^36) minutes."""


def elimination_problem(log2_rows: float, log2_columns: float) -> str | None:
    """Say why the engine refuses to eliminate a ``2^log2_rows x 2^log2_columns`` matrix, or None.

    Past :data:`EXACT_MAX_LOG2_ELIMINATION` whatever a server admits: the engine's refusal, and
    a server's (which would otherwise advise a ``max_exact_log2_size`` that admits only this).
    """
    log2_work = log2_rows + log2_columns + min(log2_rows, log2_columns)
    if log2_work <= EXACT_MAX_LOG2_ELIMINATION:
        return None
    return (
        f"the exact engine would eliminate a 2^{bits_text(log2_rows)} x "
        f"2^{bits_text(log2_columns)} matrix "
        f"(2^{bits_over(log2_work, EXACT_MAX_LOG2_ELIMINATION)} operations); "
        f"the limit is 2^{EXACT_MAX_LOG2_ELIMINATION}"
    )
