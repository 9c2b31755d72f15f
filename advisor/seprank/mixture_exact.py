"""The exact generic rank of a mixture's matricization, modulo a prime (docs/THEORY.md §9, §15).

The mixture is contracted as it computes: every member's convs (one matrix per layer, shared
across locations, as the printed network shares them) and product poolings, the members' node
tensors summed at every mixing node, one random output row. A node's tensor holds its channel
index and one mode of size M per location of A or B below it. Every other location takes a
random input vector, the same for every member (they read the same input); the padded ones all
take one constant vector, as in the tree engine (docs/THEORY.md §3, advisor.seprank.labels), so
they are never modes of the matrix. The rank of the (A, B) matricization is computed with FLINT
modulo :data:`~advisor.seprank.exact.PRIME`, the maximum over
:data:`~advisor.seprank.exact.EXACT_TRIALS` draws: a draw can only come out low.

Small instances only (:func:`check_mixture_exact_limits`): the root tensor has ``M^(|A|+|B|)``
entries per channel.
"""

from __future__ import annotations

import math
from typing import Final

import flint
import numpy as np
import numpy.typing as npt

from advisor.errors import LimitExceededError
from advisor.model.text import bits_over
from advisor.seprank.exact import EXACT_TRIALS, PRIME
from advisor.seprank.labels import PADDED, SIDE_A, SIDE_B
from advisor.seprank.mixture import MixtureStructure

__all__ = ["MIXTURE_EXACT_MAX_LOG2_SIZE", "check_mixture_exact_limits", "mixture_exact_rank"]

MIXTURE_EXACT_MAX_LOG2_SIZE: Final = 16
"""Largest ``(|A| + |B|) log2 M`` + ``log2`` of the widest layer the engine contracts.

Fixed, unlike a tree's (a server's ``max_exact_log2_size``, up to the tree engine's 24): the
contraction holds every node tensor whole, with no bound on its intermediates or elimination as
the tree engine has. Two members of width 4 at M = 2 took 2.9 s and 220 MiB at 22 and 66 s and
2.6 GiB at 26 (a 2^12 x 2^12 elimination, which the tree engine refuses)."""

_MAX_FAN_IN: Final = 31
"""Products of two residues are below 2^58; 31 of them summed stay below 2^63 (int64)."""

_FIXED: Final = "a fixed bound of the mixture engine, which no server setting raises"
"""How a refusal says its limit is no server's setting: ``max_exact_*`` bound trees and mixtures
alike, and raise neither of this engine's bounds."""

_REGIONS: Final = (SIDE_A, SIDE_B)
"""The labels whose locations are modes of the matrix; free and padded ones take input vectors."""

_Residues = npt.NDArray[np.int64]


def check_mixture_exact_limits(structure: MixtureStructure, labels: npt.NDArray[np.int8]) -> None:
    """Raise :class:`~advisor.errors.LimitExceededError` (field ``exact``) for a large instance.

    Each limit is refused in its own words, quoting the figure that passes it: one message for
    both quoted the widest layer where M was over :data:`_MAX_FAN_IN`, figures within the
    limits it stated. Both say no server setting raises them: a server whose
    ``max_exact_log2_size`` admitted the request (it counts ``(|A| + |B|) log2 M`` only) still
    gets this refusal.
    """
    widest = max(max(widths) for widths in structure.widths)
    channels = max(widest, structure.representation)
    if channels > _MAX_FAN_IN:
        raise LimitExceededError.single(
            "exact",
            f"the exact rank of a mixture takes channel counts (M and every member's widths) "
            f"of at most {_MAX_FAN_IN} ({_FIXED}), got {channels}",
        )
    log2_m = math.log2(structure.representation)
    for row in labels:
        size = int(np.count_nonzero(np.isin(row, _REGIONS))) * log2_m + math.log2(widest)
        if size > MIXTURE_EXACT_MAX_LOG2_SIZE:
            raise LimitExceededError.single(
                "exact",
                f"the exact rank of a mixture is limited to (|A|+|B|) log2 M + log2 r <= "
                f"{MIXTURE_EXACT_MAX_LOG2_SIZE} (r the widest layer; {_FIXED}), got "
                f"{bits_over(size, MIXTURE_EXACT_MAX_LOG2_SIZE)}",
            )


def mixture_exact_rank(structure: MixtureStructure, labels: npt.NDArray[np.int8]) -> int:
    """Return the generic rank of one correlation's matricization (``labels``: ``(N,)``).

    The weights are drawn from one fixed seed, so the same arguments always give the same rank.
    """
    check_mixture_exact_limits(structure, labels[None, :])
    rng = np.random.default_rng(0)
    return max(_Draw(structure, rng).rank(labels) for _ in range(EXACT_TRIALS))


class _Node:
    """A node's tensor: channel first, then one mode per region location in ``locations``."""

    def __init__(self, values: _Residues, locations: tuple[int, ...]) -> None:
        self.values, self.locations = values, locations

    def times(self, other: _Node) -> _Node:
        """Multiply channel-wise with another node (product pooling), modes concatenated."""
        left = self.values.reshape(self.values.shape[0], -1, 1)
        right = other.values.reshape(other.values.shape[0], 1, -1)
        product = (left * right % PRIME).reshape(
            -1, *self.values.shape[1:], *other.values.shape[1:]
        )
        return _Node(product, self.locations + other.locations)

    def sorted(self) -> _Node:
        """Return the same tensor with its modes in ascending location order."""
        order = np.argsort(self.locations)
        values = np.transpose(self.values, (0, *(1 + order)))
        return _Node(values, tuple(sorted(self.locations)))


class _Draw:
    """One random draw of every member's weights in GF(p)."""

    def __init__(self, structure: MixtureStructure, rng: np.random.Generator) -> None:
        self.structure, self.rng = structure, rng
        m = structure.representation
        self.weights = [
            [self._draw(out, inp) for inp, out in zip((m, *widths[:-1]), widths, strict=True)]
            for widths in structure.widths
        ]
        self.output = self._draw(structure.widths[0][-1])

    def _draw(self, *shape: int) -> _Residues:
        return self.rng.integers(0, PRIME, size=shape, dtype=np.int64)

    def rank(self, labels: npt.NDArray[np.int8]) -> int:
        m = self.structure.representation
        constant = self._draw(m)  # every padded location holds this one input
        leaves = [
            _Node(np.eye(m, dtype=np.int64), (i,))
            if side in _REGIONS
            else _Node(constant if side == PADDED else self._draw(m), ())
            for i, side in enumerate(labels.tolist())
        ]
        nodes = [list(leaves) for _ in self.structure.members]
        for level in range(self.structure.depth):
            nodes = [self._pooled(member, level, own) for member, own in enumerate(nodes)]
            if level + 1 in self.structure.mixing:
                nodes = self._summed(self.structure.mixing.index(level + 1), nodes)
        root = nodes[0][0]
        top = np.tensordot(self.output, root.values, axes=(0, 0)) % PRIME
        a = [axis for axis, x in enumerate(root.locations) if labels[x] == SIDE_A]
        b = [axis for axis, x in enumerate(root.locations) if labels[x] == SIDE_B]
        matrix = np.transpose(top, (*a, *b)).reshape(m ** len(a), -1)
        return int(flint.nmod_mat(*matrix.shape, matrix.ravel().tolist(), PRIME).rank())

    def _pooled(self, member: int, level: int, children: list[_Node]) -> list[_Node]:
        weights = self.weights[member][level]
        convolved = [
            _Node(np.tensordot(weights, c.values, axes=(1, 0)) % PRIME, c.locations)
            for c in children
        ]
        pooled = []
        for window in self.structure.members[member].windows[level]:
            node = convolved[int(window[0])]
            for child in window[1:]:
                node = node.times(convolved[int(child)])
            pooled.append(node)
        return pooled

    def _summed(self, index: int, nodes: list[list[_Node]]) -> list[list[_Node]]:
        canonical = self.structure.canonical
        count = len(canonical[0][index])
        sums = []
        for c in range(count):
            parts = [
                own[int(nodes_of[index][c])].sorted()
                for own, nodes_of in zip(nodes, canonical, strict=True)
            ]
            total = parts[0].values.copy()
            for part in parts[1:]:
                total = (total + part.values) % PRIME
            sums.append(_Node(total, parts[0].locations))
        result = []
        for nodes_of in canonical:
            own: list[_Node] = [sums[0]] * count
            for c in range(count):
                own[int(nodes_of[index][c])] = sums[c]
            result.append(own)
        return result
