"""An independent ConvAC oracle: the network evaluated as the export builds it, ranks mod p.

Nothing here uses the advisor's engines (the tree recurrence, the exact contraction, the
pooling structures): the windows are those the PyTorch export pools (the architecture's input
permutation, then plain contiguous windows with the layer's kernel and stride, level after
level, docs/FORMATS.md §2), the network is evaluated forward, location by location, with product
pooling (docs/THEORY.md §1), and a separation rank is the rank of the matrix
``h(x_A^(i), x_B^(j))`` over random representation vectors ``x_A^(i)`` and ``x_B^(j)``, every
other location held at a fixed random vector (free) or at one constant vector (padded;
docs/THEORY.md §3). Arithmetic is modulo a prime below 2^26, so products of residues and sums
of 64 of them fit in int64; the rank is by Gaussian elimination written here.

Sampling rather than the coefficient tensor makes the oracle measure the separation rank of the
function itself, also where windows overlap: there a location feeds several windows, ``h`` is a
polynomial of degree ``d_i`` in location ``i``'s representation (``d_i`` its copies in the
unrolled network), and ``prod_i binom(M + d_i - 1, d_i)`` generic points of a side span every
such polynomial. With ``S_A`` and ``S_B`` generic points per side, the rank is
``min(true rank, S_A, S_B)``, so ``cap`` points per side show whether a rank exceeds ``cap - 1``.
A random draw can only come out low (Schwartz-Zippel); each rank is the maximum of ``trials``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from advisor.geometry.layouts import input_permutation
from advisor.model.architecture import Architecture
from advisor.model.mixture import member_geometries, member_widths

P = 67_108_859
"""The largest prime below 2^26."""

_Ints = npt.NDArray[np.int64]


def contiguous_windows(
    grid: Sequence[int], pool: Sequence[int], step: Sequence[int]
) -> tuple[tuple[int, ...], list[list[int]]]:
    """Return the output grid and, row-major, the row-major positions of every window."""
    counts = [(n - k) // s + 1 for n, k, s in zip(grid, pool, step, strict=True)]
    strides = [math.prod(grid[axis + 1 :]) for axis in range(len(grid))]
    windows = []
    for start in itertools.product(*(range(c) for c in counts)):
        members = []
        for offset in itertools.product(*(range(k) for k in pool)):
            coords = [s * st + o for s, st, o in zip(start, step, offset, strict=True)]
            members.append(sum(c * w for c, w in zip(coords, strides, strict=True)))
        windows.append(members)
    return tuple(counts), windows


def export_levels(architecture: Architecture, geometry: object = None) -> list[_Ints]:
    """Per level, the children of every window, as the export pools them.

    Level 0's children are location ids of the (padded) grid: position ``p`` of the gathered map
    holds location ``permutation[p]``; a level's nodes are the windows of the level below in
    row-major order over the grid they leave.
    """
    if geometry is not None:
        architecture = architecture.model_copy(update={"geometry": geometry, "mixture": None})
    permutation = np.asarray(input_permutation(architecture), dtype=np.int64)
    grid: tuple[int, ...] = tuple(architecture.grid)
    levels = []
    for index, layer in enumerate(architecture.layers):
        step = layer.pool if layer.stride is None else layer.stride
        grid, windows = contiguous_windows(grid, layer.pool, step)
        children = np.asarray(windows, dtype=np.int64)
        levels.append(permutation[children] if index == 0 else children)
    assert math.prod(grid) == 1, "the last pooling is global"
    return levels


def location_sets(levels: Sequence[_Ints]) -> list[list[frozenset[int]]]:
    """Per level ``1 .. L``, the locations under every node."""
    below: list[frozenset[int]] | None = None
    result = []
    for windows in levels:
        if below is None:
            sets = [frozenset(int(x) for x in row) for row in windows]
        else:
            sets = [frozenset().union(*(below[int(c)] for c in row)) for row in windows]
        result.append(sets)
        below = sets
    return result


def multiplicities(levels: Sequence[_Ints], num_locations: int) -> _Ints:
    """Copies of each location in the unrolled network (1 everywhere on a tree)."""
    counts = np.ones(1, dtype=np.int64)
    for windows in reversed(levels):
        below = np.zeros(int(windows.max()) + 1 if windows.size else 0, dtype=np.int64)
        np.add.at(below, windows, np.repeat(counts, windows.shape[1]).reshape(windows.shape))
        counts = below
    full = np.zeros(num_locations, dtype=np.int64)
    full[: counts.size] = counts
    return full


def rank_mod_p(matrix: _Ints) -> int:
    """Rank of an integer matrix modulo :data:`P`, by Gaussian elimination."""
    a = np.asarray(matrix, dtype=np.int64) % P
    rank = 0
    rows, columns = a.shape
    for column in range(columns):
        if rank == rows:
            break
        nonzero = np.flatnonzero(a[rank:, column]) + rank
        if nonzero.size == 0:
            continue
        pivot = int(nonzero[0])
        a[[rank, pivot]] = a[[pivot, rank]]
        a[rank] = a[rank] * pow(int(a[rank, column]), P - 2, P) % P
        others = np.flatnonzero(a[:, column])
        others = others[others != rank]
        if others.size:
            a[others] = (a[others] - a[others, column : column + 1] * a[rank]) % P
        rank += 1
    return rank


@dataclass
class Member:
    """One tree: its windows per level and its widths ``r_0 .. r_{L-1}``."""

    levels: list[_Ints]
    widths: tuple[int, ...]


def _reduced(values: _Ints, modulus: int | None) -> _Ints:
    return values if modulus is None else values % modulus


def _conv(values: _Ints, weights: _Ints, shared: bool, modulus: int | None) -> _Ints:
    """A 1x1 conv: ``values (batch, nodes, in)``, weights ``(out, in)`` or ``(nodes, out, in)``."""
    assert modulus is None or values.shape[-1] <= 64, "64 products of residues below 2^26 fit"
    if shared:
        return _reduced(np.matmul(values, weights.T), modulus)
    return _reduced(np.einsum("bni,noi->bno", values, weights), modulus)


class Network:
    """One weight draw of a tree or a mixture of trees on ``num_locations`` (padded) locations.

    Mixture members are summed, node by node, after the levels in ``mixing`` and at the root;
    nodes are matched by the locations they cover. Arithmetic is modulo ``modulus``, or in
    Python integers (object arrays, never wrapping) when it is None.
    """

    def __init__(
        self,
        members: Sequence[Member],
        num_locations: int,
        representation: int,
        rng: np.random.Generator,
        *,
        shared: bool = True,
        mixing: Sequence[int] = (),
        modulus: int | None = P,
    ) -> None:
        self.members, self.n, self.m, self.shared = (
            list(members),
            num_locations,
            representation,
            shared,
        )
        self.modulus = modulus
        depth = len(self.members[0].levels)
        self.mixing = (*mixing, depth)
        self.weights: list[list[_Ints]] = []
        for member in self.members:
            nodes = [num_locations, *(len(w) for w in member.levels[:-1])]
            fan_in = [representation, *member.widths[:-1]]
            drawn: list[_Ints] = []
            for count, inp, out in zip(nodes, fan_in, member.widths, strict=True):
                shape = (out, inp) if shared else (count, out, inp)
                drawn.append(rng.integers(0, P, size=shape, dtype=np.int64))
            self.weights.append(drawn)
        self.output = rng.integers(0, P, size=self.members[0].widths[-1], dtype=np.int64)
        sets = [location_sets(member.levels) for member in self.members]
        # align[k][level][c]: member k's node at ``level`` covering member 0's node c.
        self.align: list[dict[int, _Ints]] = []
        for own in sets:
            per_level: dict[int, _Ints] = {}
            for level in self.mixing:
                where = {s: i for i, s in enumerate(own[level - 1])}
                per_level[level] = np.array([where[s] for s in sets[0][level - 1]])
            self.align.append(per_level)

    def __call__(self, inputs: _Ints) -> _Ints:
        """Evaluate ``h`` on a batch of representations ``(batch, N, M)``."""
        maps = [inputs for _ in self.members]
        for level in range(len(self.members[0].levels)):
            pooled = []
            for member, weights, values in zip(self.members, self.weights, maps, strict=True):
                z = _conv(values, weights[level], self.shared, self.modulus)
                windows = member.levels[level]
                product = z[:, windows[:, 0], :]
                for j in range(1, windows.shape[1]):
                    product = _reduced(product * z[:, windows[:, j], :], self.modulus)
                pooled.append(product)
            if level + 1 in self.mixing:
                canonical = [
                    own[:, a[level + 1], :] for own, a in zip(pooled, self.align, strict=True)
                ]
                total = _reduced(sum(canonical[1:], canonical[0]), self.modulus)
                pooled = []
                for a in self.align:
                    back = np.empty_like(a[level + 1])
                    back[a[level + 1]] = np.arange(len(back))
                    pooled.append(total[:, back, :])
            maps = pooled
        result = _reduced(maps[0][:, 0, :] @ self.output, self.modulus)
        return result if self.modulus is None else np.asarray(result, dtype=np.int64)


def separation_rank(
    members: Sequence[Member],
    num_locations: int,
    representation: int,
    a: Sequence[int],
    b: Sequence[int],
    *,
    constant: Sequence[int] = (),
    shared: bool = True,
    mixing: Sequence[int] = (),
    cap: int = 257,
    seed: int = 0,
    trials: int = 2,
) -> int:
    """Return ``min(rank, cap)`` of ``h`` across (A, B), other locations held fixed.

    ``constant`` locations all hold one vector (padding), every other free location its own.
    """
    m = representation
    copies = multiplicities(members[0].levels, num_locations)
    for member in members[1:]:
        copies = np.maximum(copies, multiplicities(member.levels, num_locations))

    def span(side: Sequence[int]) -> int:
        # The polynomials of degree d_i in each location's M coordinates: binom(M + d - 1, d).
        return math.prod(math.comb(m + int(copies[i]) - 1, int(copies[i])) for i in side)

    best = 0
    for rng in map(np.random.default_rng, np.random.SeedSequence(seed).spawn(trials)):
        network = Network(members, num_locations, m, rng, shared=shared, mixing=mixing)
        s_a, s_b = min(cap, span(a)), min(cap, span(b))
        fixed = rng.integers(0, P, size=(num_locations, m), dtype=np.int64)
        if len(constant):
            fixed[np.asarray(constant)] = rng.integers(0, P, size=m, dtype=np.int64)
        x_a = rng.integers(0, P, size=(s_a, len(a), m), dtype=np.int64)
        x_b = rng.integers(0, P, size=(s_b, len(b), m), dtype=np.int64)
        inputs = np.broadcast_to(fixed, (s_a, s_b, num_locations, m)).copy()
        inputs[:, :, list(a), :] = x_a[:, None, :, :]
        inputs[:, :, list(b), :] = x_b[None, :, :, :]
        values = network(inputs.reshape(s_a * s_b, num_locations, m)).reshape(s_a, s_b)
        best = max(best, rank_mod_p(values))
    return best


def architecture_members(architecture: Architecture) -> tuple[list[Member], tuple[int, ...]]:
    """The trees of ``architecture`` as the export pools them, and its mixing levels."""
    if architecture.mixture is None:
        return [Member(export_levels(architecture), tuple(architecture.widths))], ()
    geometries = member_geometries(architecture.geometry, architecture.mixture)
    widths = member_widths(architecture.widths, architecture.mixture)
    members = [
        Member(export_levels(architecture, g), tuple(w))
        for g, w in zip(geometries, widths, strict=True)
    ]
    return members, tuple(architecture.mixture.mixing)


def padded_regions(
    architecture: Architecture, a: Sequence[int], b: Sequence[int]
) -> tuple[list[int], list[int], list[int]]:
    """Map input ids to the padded grid's ids; return A, B and the margin's constant ids.

    A margin location whose representation patch (``representation_kernel`` wide, 'same' on the
    padded grid) holds an input pixel is no constant: it is left free.
    """
    shape = architecture.input.shape
    margins = architecture.padding or tuple((0, 0) for _ in shape)
    grid = architecture.grid
    k = architecture.representation_kernel

    def moved(location: int) -> int:
        coords = np.unravel_index(location, shape)
        return int(
            np.ravel_multi_index(
                tuple(int(c) + before for c, (before, _) in zip(coords, margins, strict=True)),
                grid,
            )
        )

    inside = {moved(x) for x in range(math.prod(shape))}
    patches = [
        [p + offset for offset in range(-((k - 1) // 2), k // 2 + 1)] for p in range(max(grid))
    ]

    def zeros_only(location: int) -> bool:
        coords = np.unravel_index(location, grid)
        return not all(
            any(before <= q < before + n for q in patches[int(c)])
            for c, n, (before, _) in zip(coords, shape, margins, strict=True)
        )

    margin = [x for x in range(math.prod(grid)) if x not in inside and zeros_only(x)]
    return [moved(int(x)) for x in a], [moved(int(x)) for x in b], margin


def architecture_rank(
    architecture: Architecture,
    a: Sequence[int],
    b: Sequence[int],
    *,
    shared: bool = True,
    cap: int = 257,
    seed: int = 0,
) -> int:
    """``min(rank, cap)`` of ``architecture`` across input regions A and B (oracle)."""
    members, mixing = architecture_members(architecture)
    pa, pb, margin = padded_regions(architecture, a, b)
    return separation_rank(
        members,
        math.prod(architecture.grid),
        architecture.representation,
        pa,
        pb,
        constant=margin,
        shared=shared,
        mixing=mixing,
        cap=cap,
        seed=seed,
    )


def cap_above(log2_figure: float) -> int:
    """Points per side enough to tell whether a rank exceeds ``2^log2_figure``."""
    power: float = 2.0**log2_figure
    return math.floor(power + 1e-6) + 1
