"""Practical width profiles: the channel counts a practitioner would build, scored as a family.

The rank model alone drives widths to extremes: a correlation that saturates its target buys
nothing more, so the budget goes to one layer and the rest falls to the narrowest choice (the
first version recommended ``M = 32``, widths 256 then 4, which trains to chance: a 4-channel top
behind a 16x16 max pool passes two distinct states on binary images). A *practical* profile is
the shape standard CNNs have:

- ``M`` within ``[min_representation, max_representation]`` and at most ``r_0``;
- a geometric ladder ``r_l = r_0 * g^l`` with ``g`` in :data:`GROWTHS` (constant; doubling:
  the standard CNN), each width snapped down to a channel choice and kept within
  ``[min_width, largest choice]``. Halving ladders (wide-base [LYCS18]) were tried and dropped:
  trained, they lost to constant ones (docs/OUTCOMES.md);
- every hidden width at least ``min_width`` (by default the larger of the task's outputs and
  :data:`~advisor.model.budget.DEFAULT_MIN_WIDTH`), so no layer is a bottleneck for what the task
  does not describe, such as the classifier's outputs.

A depth-``L`` tree has at most ``|M| * |r_0| * |GROWTHS|`` profiles (several hundred). A tree's
figures never fall when a width grows (every figure is a min-cut whose capacities are log2 widths
or dimensions that grow with them), so a profile another fitting profile of the tree dominates
(no width smaller, one larger, hence more parameters) can neither score higher nor win a tie,
which goes to the larger net: the search scores the :func:`maximal` fitting profiles only, all of
them, exactly, in one vectorised pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.arrays import unique_rows
from advisor.model.budget import Budget

__all__ = ["GROWTHS", "ProfileRules", "maximal", "practical_profiles"]

GROWTHS: Final = (1.0, 2.0)
"""Width ratio between consecutive hidden layers: constant or doubling."""

_Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ProfileRules:
    """The bounds a practical profile keeps (see the module docstring).

    Attributes
    ----------
    choices
        Allowed channel counts, ascending.
    min_width
        Smallest hidden width.
    min_representation, max_representation
        Range of ``M``.
    floor_outputs
        The outputs when they set ``min_width`` (no budget ``min_width``, more outputs than
        its default), else None.
    """

    choices: tuple[int, ...]
    min_width: int
    min_representation: int
    max_representation: int
    floor_outputs: int | None = None

    @classmethod
    def for_budget(cls, budget: Budget, outputs: int) -> ProfileRules:
        """Return the rules a practical search under ``budget`` with ``outputs`` keeps."""
        return cls(
            tuple(budget.profile_choices()),
            budget.hidden_floor(outputs),
            budget.min_representation,
            budget.max_representation,
            budget.floor_outputs(outputs),
        )

    def floor_source(self) -> str:
        """Say what set ``min_width``: the budget's (or its default), or the outputs."""
        if self.floor_outputs is None:
            return "min_width, --min-width"
        return f"the {self.floor_outputs:,} outputs"

    def representations(self) -> list[int]:
        """Return the allowed ``M`` (choices in range; the smallest choice if none is)."""
        inside = [
            c for c in self.choices if self.min_representation <= c <= self.max_representation
        ]
        return inside or [min(self.choices, key=lambda c: abs(c - self.min_representation))]

    def hidden(self) -> list[int]:
        """Return the allowed hidden widths (choices from ``min_width``; the largest if none)."""
        return [c for c in self.choices if c >= self.min_width] or [self.choices[-1]]

    def relaxed(self) -> list[str]:
        """Say where the allowed widths hold none the floors ask for, and what is used instead.

        :meth:`representations` and :meth:`hidden` then give way to the choices (a caller who
        allows only narrow widths gets narrow nets); the search says so in its notes.
        """
        said = []
        hidden, representation = self.hidden()[0], self.representations()[0]
        if hidden < self.min_width:
            said.append(
                f"none reaches the narrowest hidden width, {self.min_width} "
                f"({self.floor_source()}), so "
                f"every hidden layer is {hidden} wide, the widest allowed"
            )
        if not self.min_representation <= representation <= self.max_representation:
            said.append(
                f"none lies in M's range, {self.min_representation} to "
                f"{self.max_representation}, so M is {representation}, the nearest allowed"
            )
        return said


def practical_profiles(depth: int, rules: ProfileRules) -> _Ints:
    """Return every practical profile ``(M, r_0, ..., r_{depth-1})`` as ``(P, depth + 1)`` rows.

    Rows are distinct and sorted lexicographically, so the enumeration is reproducible. Every
    ladder (base times growth) is snapped in one pass and paired with every ``M`` at once: a
    Python loop over them took a millisecond per depth, a share of a small search's set-up.
    """
    hidden = np.asarray(rules.hidden(), dtype=np.int64)
    representations = np.asarray(rules.representations(), dtype=np.int64)
    growth = np.asarray(GROWTHS, dtype=np.float64)[:, None] ** np.arange(depth)
    ladders = _snap(hidden[:, None, None] * growth[None], hidden).reshape(-1, depth)
    ladder, m = np.nonzero(representations[None, :] <= ladders[:, :1])
    rows = np.column_stack([representations[m], ladders[ladder]])
    if not rows.size:  # every M above every base: the smallest M with the smallest constant ladder
        rows = np.asarray([[representations.min(), *[int(hidden[0])] * depth]], dtype=np.int64)
    return unique_rows(rows)[0]


_DOMINANCE_CELLS: Final = 1 << 22
"""Comparisons (rows x rows x widths) :func:`maximal` holds in memory at once."""


def maximal(profiles: _Ints) -> npt.NDArray[np.bool_]:
    """Mark the ``(P, D)`` profiles no other row dominates (every width >=, one width >).

    Equal rows do not dominate each other, so duplicates are all kept. Rows that differ only in
    ``M`` (the first column) are settled first, by keeping the largest ``M`` of each ladder;
    the few rows left are compared pairwise.
    """
    count, widths = profiles.shape
    kept = np.zeros(count, dtype=np.bool_)
    if count == 0:
        return kept
    ladders, ladder = unique_rows(profiles[:, 1:])
    largest = np.full(ladders.shape[0], np.iinfo(np.int64).min)
    np.maximum.at(largest, ladder, profiles[:, 0])
    rows = np.flatnonzero(profiles[:, 0] == largest[ladder])
    left = profiles[rows]
    step = max(1, _DOMINANCE_CELLS // max(1, rows.size * widths))
    for start in range(0, rows.size, step):
        chunk = left[start : start + step, None, :]
        at_least = np.all(left[None, :, :] >= chunk, axis=2)
        larger = np.any(left[None, :, :] > chunk, axis=2)
        kept[rows[start : start + step]] = ~np.any(at_least & larger, axis=1)
    return kept


def _snap(ideal: npt.NDArray[np.float64], allowed: _Ints) -> _Ints:
    """Each ideal width rounded down to an allowed one (up to the smallest when below it)."""
    index = np.searchsorted(allowed, ideal + 1e-9, side="right") - 1
    snapped: _Ints = allowed[np.clip(index, 0, allowed.size - 1)]
    return snapped
