"""Estimate the dependence graph of a data sample: |Pearson correlation| between locations.

Following Alexander, De La Vega, Razin and Cohen (NeurIPS 2023, arXiv:2303.11249), the weight of
two locations is ``w_ij = |corr(x_i, x_j)|``. A location with ``C > 1`` channels is a vector; its
weight with another is the square root of the RV coefficient of the two channel vectors,
``sqrt(||R_ij||_F^2 / (||R_ii||_F ||R_jj||_F))`` with ``R`` the channel correlation matrix —
``|corr|`` again when ``C = 1``, and in ``[0, 1]``.

The estimate streams over chunks of samples (:meth:`DataSample.chunks`), in one of two ways:

- ``exact`` (features = locations x channels at most :data:`DENSE_FEATURES`): a first pass
  computes the means and spreads (and finds non-finite values and constant features), a second
  accumulates the full correlation matrix (``features^2`` doubles, 512 MB at the bound);
- ``sketch`` (larger grids): the first pass also accumulates a random Gaussian projection of the
  samples onto :data:`SKETCH_DIM` dimensions, whose correlations estimate the sample's with a
  standard error of about ``1/sqrt(SKETCH_DIM)``; each location's strongest ``top_k`` pairs on
  the sketch are then recomputed exactly in a second pass, so every weight reported is the
  sample's own (a pair the sketch ranked below them may be missing).

Only each location's ``top_k`` strongest pairs are kept (:class:`DependenceGraph`). The first
pass also measures each location's tails — its values' third and fourth standardized moments and
largest standardized deviation — which set the evidence threshold of its pairs
(:mod:`advisor.infer.significance`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.infer.data import DataSample
from advisor.infer.graph import DependenceGraph, Estimate, locations_text
from advisor.infer.terms import DEFAULT_TOP_K, MAX_TOP_K
from advisor.model.arguments import checked_integer, checked_seed, require_flag
from advisor.words import counted

__all__ = [
    "CONSTANT_REMEDY",
    "DENSE_FEATURES",
    "SKETCH_DIM",
    "Progress",
    "dependence_graph",
]

DENSE_FEATURES: Final = 8192
"""Most features (locations x channels) whose full correlation matrix is computed."""

SKETCH_DIM: Final = 128
"""Dimensions of the random projection of the samples on larger grids."""

CONSTANT_REMEDY: Final = "pass allow_constant=True"
"""How the refusal of constant locations says to accept them, in the library's terms (the
command line says its flag instead)."""

_SUBSAMPLE: Final = 8
"""Column stride of the sample that sets a wide row's top-k threshold (:func:`_row_top`)."""

_BLOCK_ELEMENTS: Final = 1 << 24
"""Elements of one block of the correlation matrix (or of gathered pair values) at a time."""

_CONSTANT_SPREAD: Final = 64 * float(np.finfo(np.float64).eps)
"""A feature whose spread is under this fraction of its mean's magnitude (64 float64 ulps, about
1.4e-14) is constant: its values differ by float rounding at most (relative, so the verdict does
not depend on the data's units). The floor was 1e-12, some 4,500 ulps: sequences of spread 1 on
an offset of 1e12, which float64 holds to about 1e-4, read as never varying."""

Progress = Callable[[int, int], None]
"""Told ``(work done, work to do)`` after each chunk, over every pass of the sample (the graph's
only work that grows with the file), in sample reads of two passes: ``2 x samples`` to do. The
first pass is the first half; where it finds a repeated sample (:class:`_Repeats`) a third pass
follows, and the two after it share the second half, so the fraction never goes back."""

_Floats = npt.NDArray[np.float64]
_Chunks = Iterator[tuple[int, _Floats]]
"""A pass over a sample: ``(first sample, values)`` per chunk (:meth:`DataSample.chunks`)."""
_Block = npt.NDArray[np.float32]
_Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Moments:
    """Per-feature standardization, in units of the feature's largest deviation, and tails.

    A value ``x`` standardizes to ``((x/2 - half_shift) / half_unit - offset) * inverse_spread``
    (see :func:`_moments`): ``half_shift`` is half the first sample's value, ``half_unit`` half
    the largest deviation from it (1 where there is none), ``offset`` and ``1 / inverse_spread``
    the mean and spread in those units (``inverse_spread`` 0 for a constant feature, which then
    contributes 0). No step leaves the float64 range: halves of values up to the float64
    maximum differ by at most that maximum, the deviations in units are within [-1, 1], and a
    varying feature's spread in units is at least ``1 / sqrt(2 samples)``.

    ``kurtosis`` is the fourth standardized moment of the feature's values (3 for Gaussian ones,
    about ``1 / p`` for 0/1 events of probability ``p``) and ``largest`` the largest magnitude of
    a standardized value; both 0 for a constant feature, at least 1 otherwise. ``skewness`` is
    the third standardized moment (0 for symmetric values, 2 for exponential ones; 0 for a
    constant feature).
    """

    half_shift: _Floats
    half_unit: _Floats
    offset: _Floats
    inverse_spread: _Floats
    kurtosis: _Floats
    largest: _Floats
    skewness: _Floats

    def deviation(self, values: _Floats) -> _Floats:
        """Return ``values`` in units of each feature's largest deviation from the first sample."""
        deviation: _Floats = (values * 0.5 - self.half_shift) / self.half_unit
        return deviation

    def standardize(self, values: _Floats) -> npt.NDArray[np.float32]:
        return ((self.deviation(values) - self.offset) * self.inverse_spread).astype(np.float32)


def dependence_graph(
    data: DataSample,
    *,
    top_k: int = DEFAULT_TOP_K,
    allow_constant: bool = False,
    dense_features: int = DENSE_FEATURES,
    sketch_dim: int = SKETCH_DIM,
    seed: int = 0,
    progress: Progress | None = None,
) -> DependenceGraph:
    """Estimate the sparse top-k dependence graph of ``data`` (see the module docstring).

    Parameters
    ----------
    data
        The sample.
    top_k
        Strongest pairs kept per location (``1..MAX_TOP_K``; at most locations - 1 are).
    allow_constant
        Accept locations that never vary: they get no edges and are listed in
        ``DependenceGraph.constant``. Without it they are an error.
    dense_features
        Above this many features the ``sketch`` estimate is used.
    sketch_dim
        Dimensions of the sketch.
    seed
        Seed of the sketch's projection.
    progress
        Told the samples read after each chunk (:data:`Progress`), for a caller to show.

    Raises
    ------
    InvalidRequestError
        On ``data`` for a value that is NaN or infinite (its sample, location and channel) or
        for constant locations without ``allow_constant``; before any work, on ``top_k``
        unless it is a whole number from 1 to ``MAX_TOP_K``, ``allow_constant`` unless it is a
        boolean and ``seed`` unless it is a seed (0 to 2^63 - 1): the checks of the client's
        ``infer_task``, in its words (a ``top_k`` of ``2.0`` failed inside NumPy, ``True`` was
        kept as the graph's ``top_k``, ``"no"`` allowed constant locations).
    """
    top_k = checked_integer("top_k", top_k, 1, MAX_TOP_K)
    allow_constant = require_flag(allow_constant, "allow_constant")
    seed = checked_seed("seed", seed)
    dense = data.features <= dense_features
    repeats = _Repeats(data.samples)
    first = repeats.counted(_reported(data, progress, 0, 2))
    moments, sketch = _moments(data, first, None if dense else sketch_dim, seed)
    passes = 3 if repeats.repeated else 2
    if repeats.repeated:
        repeats.centre(_reported(data, progress, 1, passes), moments)
    second = repeats.weighed(_reported(data, progress, passes - 1, passes))
    constant = _constant_locations(moments, data.channels)
    if constant.size and not allow_constant:
        shown = locations_text(data.shape, constant.tolist())
        vary = "varies" if constant.size == 1 else "vary"
        raise data.refused(
            f"{counted(constant.size, 'location')} never {vary} in the sample, at {shown}: "
            f"their correlation is undefined; {CONSTANT_REMEDY} to give them no edges (they are "
            "listed in the result)"
        )
    keep = min(top_k, data.num_locations - 1)
    if sketch is None:
        correlation = _dense_correlation(data, second, moments)
        rows, cols, weights = _top_pairs(correlation, data.channels, keep)
        blocks: _Floats | None = None
        if data.channels > 1:
            blocks = correlation.diagonal_blocks(data.channels)
        estimate: Estimate = "exact"
    else:
        rows, cols, _ = _top_pairs(_GramSource(sketch, data.samples), data.channels, keep)
        weights, blocks = _pair_weights(data, second, moments, rows, cols)
        estimate = "sketch"
    positive = weights > 0
    kurtosis, largest, skewness = _location_tails(moments, data.channels)
    effective, tail = (None, None) if blocks is None else _channel_figures(blocks)
    return DependenceGraph(
        shape=data.shape,
        channels=data.channels,
        samples=data.samples,
        # What was kept: a report of "top 8 per location" on a grid of 4 misstated it.
        top_k=keep,
        rows=rows[positive],
        cols=cols[positive],
        weights=np.minimum(weights[positive], 1.0),
        constant=tuple(constant.tolist()),
        estimate=estimate,
        distinct_samples=repeats.distinct,
        effective_samples=repeats.effective(data.samples),
        kurtosis=kurtosis,
        largest_deviation=largest,
        skewness=skewness,
        effective_channels=effective,
        tail_channels=tail,
    )


def _channel_figures(blocks: _Floats) -> tuple[_Floats, _Floats]:
    """Each location's effective and tail channels of its channel correlations ``R`` (``blocks``).

    ``tr(R)^2 / tr(R^2)`` and ``tr(R^2)^3 / tr(R^3)^2``: of ``R``'s eigenvalues, the sum over
    the root of the sum of squares, and the sum of squares cubed over the sum of cubes squared,
    each squared. Both 1 where the channels move as one and the number of channels where they
    are independent; the tail's at most the effective's (Cauchy-Schwarz; rounding is clipped);
    both 0 at a constant location. They set the mean and the tail of the null distribution of
    the location's pairs' weights (:mod:`advisor.infer.significance`, "Several channels").
    """
    trace = np.trace(blocks, axis1=1, axis2=2)
    squares = (blocks**2).sum(axis=(1, 2))
    cubes = np.einsum("nab,nab->n", blocks @ blocks, blocks)  # tr(R^3), R symmetric
    varying = squares > 0
    effective, tail = np.zeros(len(blocks)), np.zeros(len(blocks))
    effective[varying] = np.clip(trace[varying] ** 2 / squares[varying], 1.0, blocks.shape[1])
    ratio = squares[varying] ** 3 / np.maximum(cubes[varying], np.finfo(np.float64).tiny) ** 2
    tail[varying] = np.clip(ratio, 1.0, effective[varying])
    return effective, tail


def _reported(data: DataSample, progress: Progress | None, index: int, passes: int) -> _Chunks:
    """Yield ``data``'s chunks of pass ``index`` of ``passes``, telling ``progress`` the work done.

    Of ``2 x samples`` (:data:`Progress`): the first pass counts a sample read as one, each
    later pass as ``1 / (passes - 1)``.
    """
    samples = data.samples
    for start, chunk in data.chunks():
        yield start, chunk
        if progress is not None:
            read = start + len(chunk)
            later = (index - 1) * samples + read  # the reads of the passes after the first
            done = read if index == 0 else samples + later // (passes - 1)
            progress(done, 2 * samples)


class _Repeats:
    """Count the distinct samples of a pass and how often each occurs; weigh the copies' ties.

    Each sample's values, as float64 with ``-0.0`` read as ``0.0``, are hashed to 64 bits
    (Python's keyed hash of the bytes: two distinct samples of ten million collide with
    probability about 3e-6). The first pass (:meth:`counted`) stores every sample's hash, 8 bytes
    a sample, and sorts them once at its end into the distinct samples' hashes and counts, 16
    bytes per distinct sample (160 MB for ten million), which the later passes look up; 33 bytes
    a sample at the peak, measured with every sample distinct (the sort is in place). (Merging
    each chunk's into the sorted hashes seen before re-sorted them all per chunk: quadratic, a
    second per chunk at five million distinct samples.)

    A sample that occurs ``c`` times ties ``c (c - 1) / 2`` pairs of samples. Two copies of
    one draw add ``2 y^2`` to ``sum_s y_s^2``, the variance of ``samples * r`` of a pair of
    locations with ``y = z_i z_j`` their standardized product in each sample; two independent
    draws that happen to agree add nothing. The last pass (:meth:`weighed`) sums each tie's
    ``y^2`` averaged over the grid's pairs — the sample's *leverage* (:func:`_leverage`) — and,
    to scale it, every sample's; :meth:`effective` counts the ties as copies by that weight.
    Independent draws agree where their values are the likeliest, near each location's mean,
    so their ties weigh little: 1,000 samples of independent 0/1 events of probability 0.01 on
    a 16x16 grid tie 3,972 pairs (nearly all of the all-zero sample), weighing 1.0 in all, where
    250 Gaussian samples each saved four times tie 1,500 weighing 1,499 (docs/INFER.md,
    "Repeated samples").

    The leverage standardizes with the mean and spread of the *distinct* samples, each once
    (:meth:`centre`, a pass of its own when some sample repeats): with the whole sample's,
    copies pull the mean onto the copied sample, whose leverage then falls to near 0 — one of
    300 Gaussian samples saved 300 times weighed as 92 samples and its ties as next to none,
    where the draws are 300 and the copies one.
    """

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self.keys = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int64)
        self.centring: _Moments | None = None
        self.tied_leverage = 0.0
        self.total_leverage = 0.0

    def counted(self, chunks: _Chunks) -> _Chunks:
        """Yield ``chunks`` as they are, then count their samples (once they are all read)."""
        hashes = np.empty(self.samples, dtype=np.int64)
        for start, chunk in chunks:
            hashes[start : start + len(chunk)] = _sample_hashes(chunk)
            yield start, chunk
        hashes.sort()
        first = np.ones(hashes.size, dtype=np.bool_)
        np.not_equal(hashes[1:], hashes[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        self.keys = hashes[starts]
        del hashes, first
        self.counts = np.diff(starts, append=self.samples)

    @property
    def repeated(self) -> bool:
        """Whether some sample counted occurs more than once."""
        return self.distinct < self.samples

    def centre(self, chunks: _Chunks, moments: _Moments) -> None:
        """Measure the distinct samples' mean and spread over ``chunks``, a pass of its own.

        After :meth:`counted`. Each occurrence of a sample of count ``c`` adds ``1 / c`` of
        its deviation (:meth:`_Moments.deviation`, the units of ``moments``) and of its square
        to the sums, so each distinct sample adds its own once. A feature constant in
        ``moments`` stays so (its ``z`` is 0).
        """
        total = np.zeros(moments.offset.size)
        squares = np.zeros(moments.offset.size)
        for _, chunk in chunks:
            share = 1.0 / self._counts(chunk)
            deviation = moments.deviation(chunk)
            total += share @ deviation
            squares += share @ (deviation * deviation)
        mean = total / self.distinct
        spread = np.sqrt(np.maximum(squares / self.distinct - mean**2, 0.0))
        varying = (moments.inverse_spread > 0) & (spread > 0)
        inverse = np.zeros(spread.size)
        inverse[varying] = 1.0 / spread[varying]
        self.centring = dataclasses.replace(moments, offset=mean, inverse_spread=inverse)

    def weighed(self, chunks: _Chunks) -> _Chunks:
        """Yield ``chunks`` as they are, summing the leverage of every sample and of the ties.

        After :meth:`centre`, whose mean and spread standardize the samples; without it (no
        sample repeats) nothing is summed nor hashed again. A sample of count ``c`` adds
        ``(c - 1) / 2`` times its leverage to the ties' (its ``c`` occurrences tie
        ``c (c - 1) / 2`` pairs).
        """
        centring = self.centring
        varying = 0 if centring is None else int(np.count_nonzero(centring.inverse_spread))
        for start, chunk in chunks:
            if centring is not None:
                leverage = _leverage(centring.standardize(chunk), varying)
                self.total_leverage += float(leverage.sum())
                self.tied_leverage += float(((self._counts(chunk) - 1) * leverage).sum()) / 2.0
            yield start, chunk

    def _counts(self, chunk: _Floats) -> _Ints:
        """Return how often each sample of ``chunk`` occurs (after :meth:`counted`)."""
        counts: _Ints = self.counts[np.searchsorted(self.keys, _sample_hashes(chunk))]
        return counts

    @property
    def distinct(self) -> int:
        """Distinct samples counted."""
        return int(self.keys.size)

    def effective(self, samples: int) -> float:
        """Return the independent samples the sample weighs as: ``n / (1 + 2 T / A)``.

        ``n`` is ``samples``, ``T`` the ties' summed leverage and ``A`` all samples'
        (:meth:`weighed`): the copies raise the variance of ``n * r`` by ``1 + 2 T / A`` over
        the grid's pairs, as ``n / (1 + 2 T / A)`` independent samples would. Each sample
        saved ``c`` times alike gives ``n / c``, the distinct count, as Kish's effective size
        ``n^2 / sum c^2`` does; ties of samples near every location's mean give nearly ``n``.
        At least 1: the sample holds one draw at least.
        """
        if self.tied_leverage == 0.0:
            return float(samples)
        return max(1.0, samples / (1.0 + 2.0 * self.tied_leverage / self.total_leverage))


def _sample_hashes(chunk: _Floats) -> _Ints:
    """Return a 64-bit hash of each sample's values (``-0.0`` read as ``0.0``)."""
    return np.fromiter(
        (hash(row.tobytes()) for row in chunk + 0.0), dtype=np.int64, count=len(chunk)
    )


def _leverage(z: npt.NDArray[np.float32], features: int) -> _Floats:
    """Return each standardized sample's ``z_f^2 z_g^2`` averaged over its pairs of features.

    The pairs ``f != g`` of the ``features`` varying ones (a constant one's ``z`` is 0: its pairs
    are never evidence): ``(S^2 - sum z^4) / (F (F - 1))`` with ``S = sum z^2``. 1 on average
    for independent features (``E z^2 = 1``), near 0 for a sample at every feature's mean.
    Under two varying features there are no pairs: 1, each tie a full copy.
    """
    squares = z.astype(np.float64) ** 2
    if features < 2:
        return np.ones(len(squares))
    total = squares.sum(axis=1)
    pairs: _Floats = (total**2 - (squares**2).sum(axis=1)) / (features * (features - 1))
    return pairs


def _moments(
    data: DataSample, chunks: _Chunks, sketch_dim: int | None = None, seed: int = 0
) -> tuple[_Moments, _Block | None]:
    """Stream the means and spreads (and the sketch); refuse non-finite values with their position.

    The sums are kept in units of each feature's largest deviation from the first sample seen so
    far (the sums are rescaled when a later chunk deviates more, as LAPACK's scaled sum of
    squares is), so no square overflows or underflows: the moments of ``x * 1e160``,
    ``x * 1e-13`` or subnormal ``x * 1e-310`` are those of ``x``, scaled. The deviations are
    taken between halves of the values, and the unit kept as a half (``half_unit``): two values
    of opposite sign near the float64 maximum differ by more than it, their halves do not
    (halving is exact but for values under 4.5e-308, which lose their last bit). A feature is
    constant when its spread is under :data:`_CONSTANT_SPREAD` of its mean's magnitude, a floor
    relative to the feature's own scale (a feature whose values are all equal has a spread of
    exactly 0).

    With ``sketch_dim``, the same pass projects the samples on ``sketch_dim`` Gaussian
    directions (entries of variance ``1/sketch_dim``, so the sketch's Gram matrix estimates the
    samples'): it accumulates ``R U`` and ``R 1``, ``U = (X/2 - half_shift) / half_unit``, and
    centres and scales afterwards, ``Y = (R U - (R 1) m^T) / s`` with ``m`` and ``s`` the mean
    and spread of ``U``.

    The same sums, with those of ``U^3`` and ``U^4`` and the extremes of ``U``, give each
    feature's tails (:class:`_Moments`): the third and fourth central moments from the power
    sums, exact to rounding since ``|U| <= 1`` and the spread in units is at least
    ``1 / sqrt(2 samples)``.
    """
    rng = np.random.default_rng(seed)
    half_shift: _Floats | None = None
    half_unit = np.zeros(data.features)
    total = np.zeros(data.features)
    squares = np.zeros(data.features)
    cubes, fourths = np.zeros(data.features), np.zeros(data.features)
    top, bottom = np.zeros(data.features), np.zeros(data.features)
    projected = np.zeros((sketch_dim or 0, data.features))
    weights = np.zeros(sketch_dim or 0)
    for start, chunk in chunks:
        finite = np.isfinite(chunk)
        if not finite.all():
            sample, feature = (int(v) for v in np.argwhere(~finite)[0])
            raise data.refused(
                f"sample {start + sample}, {data.place(feature)} is {chunk[sample, feature]}: "
                "every value must "
                "be a finite number (nothing is dropped; clean or remove that sample)",
            )
        centred = chunk * 0.5
        if half_shift is None:
            half_shift = centred[0].copy()
        centred -= half_shift
        largest = np.abs(centred).max(axis=0)
        grown = largest > half_unit
        if grown.any():
            ratio = np.ones(data.features)
            ratio[grown] = half_unit[grown] / largest[grown]
            total *= ratio
            squares *= ratio**2
            cubes *= ratio**3
            fourths *= ratio**4
            top *= ratio
            bottom *= ratio
            projected *= ratio
            half_unit = np.maximum(half_unit, largest)
        scaled = centred / np.where(half_unit > 0, half_unit, 1.0)
        total += scaled.sum(axis=0)
        squared = scaled * scaled
        squares += squared.sum(axis=0)
        cubes += np.einsum("ij,ij->j", squared, scaled)
        fourths += np.einsum("ij,ij->j", squared, squared)
        top = np.maximum(top, scaled.max(axis=0))
        bottom = np.minimum(bottom, scaled.min(axis=0))
        if sketch_dim:
            directions = rng.standard_normal((sketch_dim, len(chunk))) / np.sqrt(sketch_dim)
            projected += directions.astype(np.float32) @ scaled.astype(np.float32)
            weights += directions.sum(axis=1)
    assert half_shift is not None
    mean_offset = total / data.samples
    spread_in_units = np.sqrt(np.maximum(squares / data.samples - mean_offset**2, 0.0))
    # Half the mean and the spread: the mean lies between the values, and the spread is at most
    # the largest deviation from the mean, so neither half overflows.
    varying = spread_in_units * half_unit > _CONSTANT_SPREAD * np.abs(
        half_shift + mean_offset * half_unit
    )
    inverse = np.zeros(data.features)
    inverse[varying] = 1.0 / spread_in_units[varying]
    m = mean_offset
    central_fourth = (fourths - 4.0 * m * cubes + 6.0 * m**2 * squares) / data.samples - 3.0 * m**4
    # At least 1 where the feature varies (E z^4 >= (E z^2)^2 = 1, and some |z| >= 1): rounding
    # may take either a hair under.
    kurtosis = np.where(varying, np.maximum(central_fourth * inverse**4, 1.0), 0.0)
    largest = np.where(varying, np.maximum(np.maximum(top - m, m - bottom) * inverse, 1.0), 0.0)
    central_third = (cubes - 3.0 * m * squares) / data.samples + 2.0 * m**3
    moments = _Moments(
        half_shift,
        np.where(half_unit > 0, half_unit, 1.0),
        mean_offset,
        inverse,
        kurtosis,
        largest,
        central_third * inverse**3,
    )
    if not sketch_dim:
        return moments, None
    projected -= np.outer(weights, mean_offset)
    projected *= inverse
    return moments, projected.astype(np.float32)


def _location_tails(moments: _Moments, channels: int) -> tuple[_Floats, _Floats, _Floats]:
    """Each location's kurtosis, largest deviation and skewness: its heaviest channel's.

    With one channel, the feature's own. With several, the largest over the channels (the
    skewness of largest magnitude, with its sign): where the channels move as one the location's
    values are its heaviest channel's, the case the tails' thresholds are calibrated on; what
    more channels add is raised apart, by the effective and tail channels
    (:mod:`advisor.infer.significance`, "Several channels").
    """
    kurtosis = moments.kurtosis.reshape(-1, channels).max(axis=1)
    largest = moments.largest.reshape(-1, channels).max(axis=1)
    skewness = moments.skewness.reshape(-1, channels)
    most = np.abs(skewness).argmax(axis=1)
    return kurtosis, largest, skewness[np.arange(len(skewness)), most]


def _constant_locations(moments: _Moments, channels: int) -> _Ints:
    varying = (moments.inverse_spread > 0).reshape(-1, channels).any(axis=1)
    return np.flatnonzero(~varying).astype(np.int64)


class _GramSource:
    """Rows of the correlation matrix ``Y^T Y / samples`` of standardized columns ``Y``."""

    def __init__(self, columns: npt.NDArray[np.float32], samples: int) -> None:
        self.columns = columns
        self.samples = samples

    @property
    def features(self) -> int:
        return int(self.columns.shape[1])

    def rows(self, start: int, stop: int) -> _Block:
        block: _Block = self.columns[:, start:stop].T @ self.columns
        block /= self.samples
        return block

    def diagonal_blocks(self, channels: int) -> _Floats:
        by_location = self.columns.reshape(self.columns.shape[0], -1, channels)
        blocks: _Floats = np.einsum("snc,snd->ncd", by_location, by_location).astype(np.float64)
        return blocks / self.samples


class _DenseSource:
    """Rows of a correlation matrix held whole."""

    def __init__(self, matrix: _Block) -> None:
        self.matrix = matrix

    @property
    def features(self) -> int:
        return int(self.matrix.shape[0])

    def rows(self, start: int, stop: int) -> _Block:
        return self.matrix[start:stop].copy()

    def diagonal_blocks(self, channels: int) -> _Floats:
        locations = self.features // channels
        grid = self.matrix.reshape(locations, channels, locations, channels)
        ids = np.arange(locations)
        return grid[ids, :, ids, :].astype(np.float64)


def _dense_correlation(data: DataSample, chunks: _Chunks, moments: _Moments) -> _DenseSource:
    gram = np.zeros((data.features, data.features))
    for _, chunk in chunks:
        z = moments.standardize(chunk)
        gram += z.T @ z
    return _DenseSource((gram / data.samples).astype(np.float32))


def _location_weights(block: _Block, channels: int, norms: _Floats, first: int) -> _Block:
    """Combine a block of channel correlations (rows ``first..``) into location weights.

    ``block`` is squared in place, and each location pair's ``channels``-squared entries are
    summed as that many strided additions: a sum over two axes of the block's 4-D view took
    three and a half times as long, most of ``infer``'s time on a 128x128 RGB sample.
    """
    if channels == 1:
        return np.abs(block, out=block)
    np.square(block, out=block)
    cells = block.reshape(-1, channels, norms.size, channels)
    squares = cells[:, 0, :, 0].copy()
    for a, b in itertools.product(range(channels), repeat=2):
        if a or b:
            squares += cells[:, a, :, b]
    rows = norms[first : first + squares.shape[0], None]
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.sqrt(squares / (rows * norms[None, :]))
    return np.asarray(np.nan_to_num(weights, nan=0.0, posinf=0.0), dtype=np.float32)


def _self_norms(source: _DenseSource | _GramSource, channels: int) -> _Floats:
    """``||R_ii||_F`` per location (1 for a single channel)."""
    if channels == 1:
        return np.ones(source.features)
    norms: _Floats = np.sqrt((source.diagonal_blocks(channels) ** 2).sum(axis=(1, 2)))
    return norms


def _top_pairs(
    source: _DenseSource | _GramSource, channels: int, keep: int
) -> tuple[_Ints, _Ints, _Floats]:
    """Each location's ``keep`` strongest partners: unique pairs ``rows < cols``, weights."""
    locations = source.features // channels
    norms = _self_norms(source, channels)
    step = max(1, _BLOCK_ELEMENTS // (source.features * channels))
    found: list[_Ints] = []
    values: list[_Block] = []
    for first in range(0, locations, step):
        last = min(locations, first + step)
        weights = _location_weights(
            source.rows(first * channels, last * channels), channels, norms, first
        )
        weights[np.arange(last - first), np.arange(first, last)] = -1.0
        partners = _row_top(weights, keep)
        own = np.repeat(np.arange(first, last), keep)
        found.append(np.stack([own, partners.reshape(-1)]))
        values.append(np.take_along_axis(weights, partners, axis=1).reshape(-1))
    pairs = np.sort(np.concatenate(found, axis=1), axis=0)
    keys, first_seen = np.unique(pairs[0] * locations + pairs[1], return_index=True)
    kept: _Floats = np.concatenate(values)[first_seen].astype(np.float64)
    return (keys // locations).astype(np.int64), (keys % locations).astype(np.int64), kept


def _row_top(weights: _Block, keep: int) -> _Ints:
    """Column ids of each row's ``keep`` largest entries (in no particular order).

    Wide rows are first thresholded at the ``keep``-th largest entry of every
    :data:`_SUBSAMPLE`-th column — never above the row's own ``keep``-th largest, so no entry of
    the answer is lost — and only the entries above it are sorted: about ``keep x _SUBSAMPLE``
    per row instead of a selection over the whole row.
    """
    count, width = weights.shape
    sample = weights[:, ::_SUBSAMPLE]
    if sample.shape[1] <= keep:
        cut = width - keep
        return np.argpartition(weights, cut, axis=1)[:, cut:].astype(np.int64)
    threshold = np.partition(sample, sample.shape[1] - keep, axis=1)[:, sample.shape[1] - keep]
    above = weights >= threshold[:, None]
    if np.count_nonzero(above) > 4 * _SUBSAMPLE * keep * count:  # ties (e.g. zero rows)
        cut = width - keep
        return np.argpartition(weights, cut, axis=1)[:, cut:].astype(np.int64)
    # Two-dimensional np.nonzero is ten times slower than a flat one (28 ms against 2 ms on a
    # block of 166 rows of 100,352), a quarter of inferring 300 samples of 8x112x112.
    rows, cols = np.divmod(np.flatnonzero(above), width)
    order = np.lexsort((-weights[rows, cols], rows))
    starts = np.searchsorted(rows[order], np.arange(count))
    top: _Ints = cols[order][starts[:, None] + np.arange(keep)[None, :]].astype(np.int64)
    return top


def _pair_weights(
    data: DataSample, chunks: _Chunks, moments: _Moments, rows: _Ints, cols: _Ints
) -> tuple[_Floats, _Floats | None]:
    """Return the exact weights of the given pairs, streamed over the samples.

    And each location's channel correlations (None for one channel).
    """
    channels = data.channels
    cross = np.zeros((rows.size, channels, channels))
    own = np.zeros((data.num_locations, channels, channels))
    for _, chunk in chunks:
        z = moments.standardize(chunk).reshape(len(chunk), data.num_locations, channels)
        by_location = np.ascontiguousarray(z.transpose(1, 0, 2))
        if channels > 1:
            own += np.einsum("nsc,nsd->ncd", by_location, by_location)
        for start, stop in _spans(rows.size, max(1, _BLOCK_ELEMENTS // (len(chunk) * channels))):
            left = by_location[rows[start:stop]]
            right = by_location[cols[start:stop]]
            cross[start:stop] += np.einsum("psc,psd->pcd", left, right)
    cross /= data.samples
    if channels == 1:
        return np.abs(cross[:, 0, 0]), None
    own /= data.samples
    norms = np.sqrt((own**2).sum(axis=(1, 2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.sqrt((cross**2).sum(axis=(1, 2)) / (norms[rows] * norms[cols]))
    return np.asarray(np.nan_to_num(weights, nan=0.0, posinf=0.0), dtype=np.float64), own


def _spans(size: int, step: int) -> Iterator[tuple[int, int]]:
    for start in range(0, size, step):
        yield start, min(size, start + step)
