"""Which dependence a sample can tell from independence: the least weight that is evidence.

Every sample of independent locations shows some dependence: ``|r|`` of two independent
locations is of order ``1/sqrt(samples)`` (0.018 at 3,000 samples), and the dependence graph
keeps each location's strongest pairs, so on data without structure it holds only the largest of
that noise. Task inference must not read structure into it. An edge is evidence when its weight
exceeds what independent locations reach with probability :data:`FAMILY_ALPHA` over *every* pair
of the grid (a Bonferroni bound on the family of ``n (n - 1) / 2`` pairs, since the graph picks
the largest of them).

For one channel, ``sqrt(samples) * r`` of independent locations is asymptotically standard
normal, so the threshold is ``z / sqrt(samples)`` with ``z`` the normal quantile of
``1 - alpha / (2 * pairs)``.

**Several channels.** With ``C`` channels the weight is ``sqrt(RV)``
(:mod:`advisor.infer.dependence`), and ``samples * w^2`` of independent locations is
asymptotically ``X = sum_k c_k Z_k^2``: standard normals ``Z_k`` weighted by the products of
the two locations' channel-correlation eigenvalues over ``||R_ii||_F ||R_jj||_F``, whose
cumulants are ``sum c_k = d_i d_j`` (``d_i = tr(R_ii) / ||R_ii||_F``), ``2 sum c_k^2 = 2`` and
``8 sum c_k^3 = 8 s_i s_j`` (``s_i = tr(R_ii^3) / ||R_ii||_F^3``). The one-channel tail,
``d = s = 1``, is the heaviest only far out: at the grid's ``z^2`` (17.8 on 8x8, 23.1 on
16x16) the tail of ``X`` is heavier from 12 independent channels on (8x8; its mean, up to ``C``,
passes ``z^2`` at 18), and the one-channel threshold read every pair of 64-channel noise as
evidence. So ``X`` is fitted by a shifted, scaled chi-square of the
same three cumulants, ``X ~ (chi2_nu - nu) / sqrt(nu) + d_i d_j`` with ``nu = 1 / (s_i s_j)^2``,
whose upper ``alpha / pairs`` quantile (:func:`chi_square_quantile`) gives the pair's threshold
``sqrt(max(z^2, q_nu / sqrt(nu) + d_i d_j - sqrt(nu)) / samples)``: the one-channel one exactly
at ``d = s = 1`` (``q_1 = z^2``), Satterthwaite's ``chi2_h / sqrt(h)`` (``h = (d_i d_j)^2``)
where a location's channels weigh alike (``nu = h``). Where they weigh unequally, ``nu < h``
and the tail is heavier than Satterthwaite's, which let 13% of 100 samples of 32 mixed
channels (8x8, 1,000 samples) put a pair over it, against 7% with the third cumulant. The floor
``z^2`` keeps the threshold where one weight dominates, whose far tail is the one-channel one.
The graph carries each location's ``d_i^2`` and ``1 / s_i^2`` (``effective_channels`` and
``tail_channels``, both from 1 to ``C``). Measured on Gaussian noise of 1 to 64 channels,
independent, mixed and correlated (``bench.infer.channels``, docs/INFER.md, "Several
channels"). A pair's heavy-tailed and skewed thresholds (below) are raised by the same factor:
on 8x8 noise of 16 and 32 channels at 3,000 samples the higher of the two thresholds instead
still put a pair of 0/1 events (p = 0.1) or of Laplace values over it in 10% of 20 samples, the
product in 0-5%.

The threshold is not capped at 1, the largest weight: at ``z / sqrt(samples)`` above 1 the sample
is too small for any weight to be evidence (:func:`least_samples`). Capped, a perfect ``|r| = 1``
would count, and every pair of two samples has it: a task read from pure noise.

**Sparse and heavy-tailed locations.** ``sqrt(samples) * r`` is near normal out to ``z`` only
when many samples carry the correlation. Under independence ``r`` is the mean of the products
``y = z_i z_j`` of the two standardized locations, whose fourth moment is ``kappa_i kappa_j``
(each location's kurtosis): about ``samples / (kappa_i kappa_j)`` of the products are not
negligible (two 0/1 events of probability ``p`` are both 1 in ``samples p^2`` samples, and
``kappa ~ 1/p``). Where that count is under ``z^2`` the tail at ``z`` is a few large products',
not the normal one — independent events of probability 0.01 sharing one or two samples — and
the normal threshold flags pure noise (185 pairs of a 16x16 grid of such events at 1,000
samples). For those pairs the threshold has Bennett's form (Bennett 1962: a mean of
``samples`` independent terms of variance 1 bounded by ``b`` exceeds ``t`` in magnitude with
probability at most ``2 exp(-(samples / b^2) h(b t))``, ``h(u) = (1 + u) ln(1 + u) - u``): it
solves that bound at ``alpha`` over the grid's pairs with ``b = m_i m_j``, each location's
largest standardized deviation (:func:`pair_thresholds`). It is not Bennett's theorem applied:
``m`` is taken from the sample itself, and given each location's values (what the permutation
test of independence conditions on) the products are the terms of a permutation sum, not
independent ones. It is calibrated on the kinds of noise ``bench.infer.tails`` measures (sparse
0/1 events, Student-t, lognormal, exponential, Laplace: docs/INFER.md, "Sparse and heavy-tailed
values"), not proved for every distribution and sample size. It is loose where the normal tail
is right (``b`` grows with the sample), hence the switch; and a pair whose products are no
heavier than Gaussian ones (``kappa_i kappa_j <= 9``: Gaussian or uniform locations, ``kappa`` 3
and 1.8) never takes Bennett's form: below the switch it keeps the normal threshold, where that
is already conservative (the Bennett-form threshold is above 1 under 37 samples of a 16x16
grid, for any values), and past it too unless it is skewed (below). ``kappa`` is the sample's,
whose noise is large where the switch is reached (standard error ``sqrt(24 / samples)`` for
Gaussian values, and skewed to the right): read against 9 itself, half the Gaussian pairs of 200
samples took Bennett's form, and with channels (the heaviest channel's ``kappa``) nearly all.
So a pair is heavier than Gaussian ones only where its product exceeds the square of what
Gaussian values' sample kurtosis reaches with probability ``alpha`` over every feature of the
grid (:func:`_heavy_product`).

**Skewed locations.** Past the switch the normal tail is still off by terms of order
``1 / samples``, in which the products' skewness ``gamma_i gamma_j`` (each location's third
standardized moment) weighs as much as their kurtosis: independent exponential values
(``gamma`` 2, ``kappa`` 9) switch below about 1,870 samples of a 16x16 grid and above it put a
pair over the normal threshold twice as often as ``alpha``. Where the graph carries the
locations' skewness, each pair past the switch has the higher of the normal threshold and the
two-sided Cornish-Fisher quantile of ``sqrt(samples) r`` given each location's values (what
the permutation test conditions on): third cumulant ``gamma_i gamma_j / sqrt(samples)``, fourth
``((kappa_i - 3) (kappa_j - 3) - 6) / samples`` (:func:`_cornish_fisher`). Gaussian and uniform
locations (no skew, ``kappa <= 3``) have a negative shift and keep the normal threshold exactly;
exponential pairs get 4.5% more at 2,000 samples, 2.3% at 4,000 and 1.2% at 8,000 (the median
over a 16x16 graph's pairs).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "FAMILY_ALPHA",
    "chi_square_quantile",
    "independence_threshold",
    "least_samples",
    "pair_thresholds",
]

_Floats = npt.NDArray[np.float64]

FAMILY_ALPHA: Final = 0.05
"""The chance that independent locations put any edge of the grid above the threshold."""


def independence_threshold(samples: float, locations: int, alpha: float = FAMILY_ALPHA) -> float:
    """Return the least dependence weight that is evidence (module docstring), above 0.

    Independent locations put one edge or more of a grid of ``locations`` above it with
    probability ``alpha`` at most (asymptotically in ``samples``). Above 1 no weight reaches it:
    fewer than :func:`least_samples` samples cannot tell dependence from independence. A grid of
    one location has no pairs: 1.0. ``samples`` counts independent samples: for a sample with
    repeats, the effective size of its distinct ones
    (:attr:`~advisor.infer.graph.DependenceGraph.independent_samples`), which may be fractional
    and is at least 1.

    Examples
    --------
    >>> round(independence_threshold(3000, 256), 4), round(independence_threshold(3000, 2), 4)
    (0.0878, 0.0358)
    """
    if samples < 1 or not 0.0 < alpha < 1.0:
        raise ValueError(f"need samples >= 1 and 0 < alpha < 1, got {samples} and {alpha}")
    if locations < 2:  # no pairs
        return 1.0
    return _quantile(locations, alpha) / math.sqrt(samples)


def least_samples(locations: int, alpha: float = FAMILY_ALPHA) -> int:
    """Return the fewest samples whose :func:`independence_threshold` some weight can reach.

    The threshold ``z / sqrt(samples)`` is under 1, the largest weight, from ``samples > z^2``
    on: 18 for an 8x8 grid, 40 for 128x128.

    Examples
    --------
    >>> least_samples(64), least_samples(128 * 128)
    (18, 40)
    """
    return math.floor(_quantile(locations, alpha) ** 2) + 1


def pair_thresholds(
    samples: float,
    locations: int,
    kurtosis: _Floats,
    bound: _Floats,
    alpha: float = FAMILY_ALPHA,
    *,
    shape: tuple[_Floats, _Floats] | None = None,
    channels: int = 1,
    spread: tuple[_Floats, _Floats] | None = None,
) -> _Floats:
    """Return each pair's threshold: the normal one, or a higher one where the normal tail fails.

    ``kurtosis`` holds each pair's ``kappa_i kappa_j`` and ``bound`` its ``m_i m_j`` (module
    docstring; both at least 1; with ``channels`` per location, the heaviest channel's). Where
    ``kurtosis`` exceeds what Gaussian locations' products reach at this sample size
    (:func:`_heavy_product`: 9 plus their sampling noise) and ``samples / kurtosis`` is under
    ``z^2`` the pair's threshold is Bennett's. Where
    ``samples / kurtosis`` reaches ``z^2`` (past the switch), with ``shape`` (each pair's
    ``gamma_i gamma_j`` and ``(kappa_i - 3) (kappa_j - 3)``: skewness and excess kurtosis), it
    is the higher of :func:`independence_threshold` and the Cornish-Fisher one
    (:func:`_cornish_fisher`). Elsewhere, and without ``shape``, it is the normal one itself,
    exactly: below the switch too few products carry the sum for the expansion to hold (at 40
    samples of a 16x16 grid it raised a pair of 0/1 events of probability 0.25 by 8%).
    Bennett's is always the higher: its ``t`` is at least ``sqrt(2 L / samples)``, ``L`` the
    log of ``2 pairs / alpha`` (``h(u) <= u^2 / 2``), and ``z`` at most ``sqrt(2 L)`` (the
    normal tail is under ``exp(-z^2 / 2)``). ``samples`` counts independent samples, as there.

    ``spread`` holds each pair's products of its locations' effective and tail channels,
    ``e_i e_j`` and ``nu_i nu_j`` (module docstring, "Several channels"; None: one channel
    each). Where either is above 1 every form of the threshold is raised by
    :func:`_channel_factors`; elsewhere nothing is computed, so one channel's thresholds are
    the same to the bit.

    Examples
    --------
    A pair of Gaussian locations keeps the normal threshold; one of 0/1 events of probability
    0.01 (``kappa`` and ``m`` about 100 and 10) has Bennett's:

    >>> normal = independence_threshold(1000, 256)
    >>> kurtosis, bound = np.array([9.0, 1e4]), np.array([16.0, 99.0])
    >>> (pair_thresholds(1000, 256, kurtosis, bound) / normal).round(2).tolist()
    [1.0, 3.11]

    At 4,000 samples a pair of exponential locations (``gamma`` 2, ``kappa`` 9) is past the
    switch; with its shape it needs 2.4% more than the normal threshold:

    >>> normal = independence_threshold(4000, 256)
    >>> shape = np.array([0.0, 4.0]), np.array([0.0, 36.0])
    >>> kurtosis, bound = np.array([9.0, 81.0]), np.array([16.0, 40.0])
    >>> (pair_thresholds(4000, 256, kurtosis, bound, shape=shape) / normal).round(3).tolist()
    [1.0, 1.024]
    """
    normal = independence_threshold(samples, locations, alpha)
    thresholds = np.full(np.shape(kurtosis), normal)
    z = _quantile(locations, alpha)
    past = samples / kurtosis >= z * z  # enough products carry the sum for an expansion to hold
    if shape is not None and past.any():
        skewness, excess = shape[0][past], shape[1][past]
        thresholds[past] = np.maximum(_cornish_fisher(samples, z, skewness, excess), normal)
    heavy = (kurtosis > _heavy_product(samples, locations * channels, alpha)) & ~past
    if heavy.any():
        level = math.log(2.0 * _pairs(locations) / alpha)
        thresholds[heavy] = _bennett(samples, bound[heavy], level)
    if spread is not None:
        several = (spread[0] > 1.0) | (spread[1] > 1.0)
        if several.any():
            mean, dof = np.sqrt(spread[0][several]), spread[1][several]
            thresholds[several] *= _channel_factors(mean, dof, z, alpha / _pairs(locations))
    return thresholds


def _channel_factors(mean: _Floats, dof: _Floats, z: float, level: float) -> _Floats:
    """Return ``sqrt(max(1, x / z^2))``, ``x = q_nu / sqrt(nu) + mean - sqrt(nu)`` per pair.

    The ratio of the several-channel threshold (module docstring, "Several channels") to the
    one-channel ``z / sqrt(samples)``: ``x`` the upper ``level`` quantile of ``samples w^2``
    fitted with three cumulants, ``q_nu`` the chi-square one of ``nu = dof`` degrees of freedom.
    Computed at each distinct ``nu``, or where there are more than :data:`_MOST_KNOTS` at as
    many spaced evenly in ``ln nu``, between which ``ln(q_nu / sqrt(nu))`` is interpolated
    linearly: a quarter of a million pairs took 14 s one by one, and the interpolated factors are
    within 4e-7 of them (``nu`` up to 65,536, 256 independent channels).
    """
    knots = np.unique(dof)
    if knots.size > _MOST_KNOTS:
        knots = np.geomspace(knots[0], knots[-1], _MOST_KNOTS)
    at_knots = np.log(chi_square_quantile(level, knots) / np.sqrt(knots))
    fitted = np.exp(np.interp(np.log(dof), np.log(knots), at_knots))
    factors: _Floats = np.sqrt(np.maximum((fitted + mean - np.sqrt(dof)) / (z * z), 1.0))
    return factors


def chi_square_quantile(level: float, dof: npt.ArrayLike) -> _Floats:
    """Return the ``x`` at which ``P(chi2_dof > x) = level``, for each ``dof`` (not whole too).

    The regularized upper incomplete gamma function ``Q(dof / 2, x / 2)``
    (:func:`_log_upper_gamma`) solved by Newton's method on its logarithm, kept within a bracket
    (a step that leaves it bisects): from ``0`` to Laurent and Massart's bound (2000),
    ``dof + 2 sqrt(dof L) + 2 L`` with ``L = -ln level``, above which the tail is under
    ``level``. Exact to about 1e-12 relative: ``-2 ln(level)`` at 2 degrees of freedom (the
    exponential), the squared normal quantile of ``level / 2`` at 1.

    Examples
    --------
    >>> chi_square_quantile(0.05, [1.0, 2.0, 10.0]).round(4).tolist()
    [3.8415, 5.9915, 18.307]
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"need 0 < level < 1, got {level}")
    dof = np.asarray(dof, dtype=np.float64)
    if (dof <= 0.0).any():
        raise ValueError("degrees of freedom must be positive")
    a = dof / 2.0
    log_gamma = np.vectorize(math.lgamma, otypes=[np.float64])(a)
    log_level, lifted = math.log(level), -math.log(level)
    low = np.zeros_like(dof)
    high = dof + 2.0 * np.sqrt(dof * lifted) + 2.0 * lifted
    x = high.copy()
    for _ in range(_QUANTILE_STEPS):
        log_tail = _log_upper_gamma(a, x / 2.0, log_gamma)
        beyond = log_tail < log_level  # x is past the quantile
        high = np.where(beyond, x, high)
        low = np.where(beyond, low, x)
        log_density = (a - 1.0) * np.log(x / 2.0) - x / 2.0 - log_gamma - math.log(2.0)
        # A density that underflows, or a ratio that overflows, steps off the bracket: bisected.
        with np.errstate(divide="ignore", over="ignore"):
            newton = x + (log_tail - log_level) / np.exp(log_density - log_tail)
        inside = (newton > low) & (newton < high)
        moved = np.where(inside, newton, (low + high) / 2.0)
        if (np.abs(moved - x) <= _QUANTILE_TOLERANCE * x).all():
            return moved
        x = moved
    return x


def _log_upper_gamma(a: _Floats, x: _Floats, log_gamma: _Floats) -> _Floats:
    """Return ``ln Q(a, x)``, the regularized upper incomplete gamma function, elementwise.

    Numerical Recipes' two forms (Press et al., 6.2), each where it converges fast: below
    ``x = a + 1`` the series of ``P = 1 - Q``, above it the continued fraction of ``Q`` (modified
    Lentz), which keeps far tails (``Q`` of 1e-300) accurate. ``log_gamma`` is ``ln Gamma(a)``.
    """
    prefactor = a * np.log(x) - x - log_gamma
    result = np.empty_like(x)
    low = x < a + 1.0
    if low.any():
        result[low] = np.log1p(-np.exp(prefactor[low]) * _gamma_series(a[low], x[low]))
    high = ~low
    if high.any():
        result[high] = prefactor[high] + np.log(_gamma_fraction(a[high], x[high]))
    return result


def _gamma_series(a: _Floats, x: _Floats) -> _Floats:
    """Return ``sum_n x^n / (a (a + 1) ... (a + n))``, ``P(a, x)`` over ``e^-x x^a / Gamma(a)``."""
    term = 1.0 / a
    total = term.copy()
    for n in range(1, _GAMMA_TERMS):
        term = term * x / (a + n)
        total += term
        if (np.abs(term) <= _QUANTILE_TOLERANCE * np.abs(total)).all():
            break
    return total


def _gamma_fraction(a: _Floats, x: _Floats) -> _Floats:
    """Return ``Q(a, x)`` over ``e^-x x^a / Gamma(a)``: its continued fraction (modified Lentz)."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / b
    fraction = d.copy()
    for i in range(1, _GAMMA_TERMS):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        fraction *= delta
        if (np.abs(delta - 1.0) <= _QUANTILE_TOLERANCE).all():
            break
    return fraction


def _heavy_product(samples: float, features: int, alpha: float) -> float:
    """Return the kurtosis product above which a pair is heavier than Gaussian ones.

    ``K^2``, ``K`` what the sample kurtosis of Gaussian values reaches with probability
    ``alpha / features`` (:func:`_gaussian_kurtosis`), and at least 9, Gaussian products' own,
    which it tends to as ``samples`` grows. Why the square and why over the features: a
    location's kurtosis is its heaviest channel's, the largest of ``channels`` sample kurtoses,
    and the graph's pairs share locations; a product of two Gaussian locations' above ``K^2``
    needs one of the grid's ``features`` sample kurtoses above ``K``, which happens with
    probability ``alpha`` at most (Bonferroni), so every pair of Gaussian data keeps the normal
    threshold but with probability ``alpha``. A Gaussian pair read as heavy loses power; a heavy
    pair read as Gaussian counts noise as evidence, and where the margin is wide (few samples)
    sparse values hide in it: the kurtosis of 0/1 events of probability 0.1, about 8, is within
    Gaussian noise at 50 samples (``K`` 7.7 on a 16x16 grid), and with ``K^2`` alone 61% of
    such noise samples had a pair over the threshold. So the margin stops at
    ``samples / _LEAST_CARRIERS``: a pair whose products are carried by fewer than
    :data:`_LEAST_CARRIERS` of them is heavy whatever its noise (it does not bind from 100
    samples of a 16x16 grid on).
    """
    kurtosis = _gaussian_kurtosis(samples, alpha / features)
    return max(_GAUSSIAN_PRODUCT_KURTOSIS, min(kurtosis * kurtosis, samples / _LEAST_CARRIERS))


def _gaussian_kurtosis(samples: float, level: float) -> float:
    """Return the upper ``level`` quantile of the sample kurtosis of independent normal values.

    The sample kurtosis ``b_2`` (the fourth standardized moment, the streamed one) of ``n =
    samples`` normal values has mean ``3 (n - 1) / (n + 1)``, variance ``24 n (n - 2) (n - 3) /
    ((n + 1)^2 (n + 3) (n + 5))`` (standard error about ``sqrt(24 / n)``) and a long right tail,
    so the quantile is Anscombe and Glynn's (1983; D'Agostino's test of kurtosis): ``b_2``
    standardized by that mean and variance, ``x``, has ``(1 - 2 / A) / (1 + x sqrt(2 / (A -
    4)))`` near the cube of a normal variable (Wilson-Hilferty), ``A`` from the skewness of
    ``b_2``. Against 400,000 simulated samples at level 2e-4 it is 6.12 against 6.26 at 100
    samples, 4.98 against 5.03 at 200, 3.70 both at 1,000, and above it at fewer (8.75 against
    8.24 at 30). Three values or fewer have a kurtosis of 1.5 at most: 3, Gaussian values' own.
    Where the quantile is beyond every value the approximation reaches: infinite.
    """
    n = samples
    if n <= 3.0:
        return 3.0
    mean = 3.0 * (n - 1.0) / (n + 1.0)
    variance = 24.0 * n * (n - 2.0) * (n - 3.0) / ((n + 1.0) ** 2 * (n + 3.0) * (n + 5.0))
    skew = (
        6.0
        * (n * n - 5.0 * n + 2.0)
        / ((n + 7.0) * (n + 9.0))
        * math.sqrt(6.0 * (n + 3.0) * (n + 5.0) / (n * (n - 2.0) * (n - 3.0)))
    )
    a = 6.0 + 8.0 / skew * (2.0 / skew + math.sqrt(1.0 + 4.0 / (skew * skew)))
    z = -NormalDist().inv_cdf(level)  # the upper quantile, exact for tiny tails
    cube_root = 1.0 - 2.0 / (9.0 * a) - z * math.sqrt(2.0 / (9.0 * a))
    if cube_root <= 0.0:
        return math.inf
    x = ((1.0 - 2.0 / a) / cube_root**3 - 1.0) / math.sqrt(2.0 / (a - 4.0))
    return mean + x * math.sqrt(variance)


def _cornish_fisher(samples: float, z: float, skewness: _Floats, excess: _Floats) -> _Floats:
    """Return the two-sided Cornish-Fisher threshold of pairs of ``skewness`` and ``excess``.

    Given each location's values, ``sqrt(samples) r`` of independent locations has (to order
    ``1 / samples``) third cumulant ``gamma_i gamma_j / sqrt(samples)`` and fourth
    ``((kappa_i - 3) (kappa_j - 3) - 6) / samples``: the cumulants of the permutation
    distribution, ``-6 / samples`` for Gaussian locations, whose ``|r|`` is bounded (module
    docstring). The two tails' Edgeworth terms of order ``1 / sqrt(samples)`` cancel; those of
    order ``1 / samples`` add, and move the quantile ``z`` by ``kappa_4 He_3(z) / 24 + kappa_3^2
    He_5(z) / 72`` (``He`` the Hermite polynomials). Below ``z`` (light-tailed, symmetric
    locations) the caller keeps the normal threshold. One term of that order is left out: the
    permutation variance of ``sqrt(samples) r`` is ``samples / (samples - 1)``, whose
    ``z / (2 samples)`` (0.05% of a 16x16 threshold at 1,000 samples) would also lift unskewed
    Gaussian pairs of a grid of two locations (``z`` 1.96) above the normal threshold.
    """
    cubic, quintic = z**3 - 3.0 * z, z**5 - 10.0 * z**3 + 15.0 * z
    shift = ((excess - 6.0) * cubic / 24.0 + skewness * skewness * quintic / 72.0) / samples
    result: _Floats = (z + shift) / math.sqrt(samples)
    return result


def _bennett(samples: float, bound: _Floats, level: float) -> _Floats:
    """Return ``t`` solving ``(samples / bound^2) h(bound t) = level`` (``h`` of Bennett's bound).

    Newton's method on the convex, increasing ``h`` from above converges monotonically; the
    start is the root of Bernstein's lower bound ``h(u) >= u^2 / (2 (1 + u / 3))``, which is
    above ``h``'s, ``target / 3 + sqrt(target^2 / 9 + 2 target)``, computed without squaring
    ``target`` (largest deviations of 1e50 overflowed ``target^2``: NaN thresholds).
    """
    target = level * bound * (bound / samples)
    u = target / 3.0 + np.sqrt(target) * np.sqrt(target / 9.0 + 2.0)
    for _ in range(_NEWTON_STEPS):
        step = ((1.0 + u) * np.log1p(u) - u - target) / np.log1p(u)
        u = u - step
        if (step <= 1e-12 * u).all():
            break
    result: _Floats = u / bound
    return result


_GAUSSIAN_PRODUCT_KURTOSIS: Final = 9.0
"""Fourth moment of the product of two independent standard normals: pairs no heavier (beyond
their sample kurtosis's noise, :func:`_heavy_product`) never take Bennett's form, and unskewed
ones keep the normal threshold at any sample size (for Gaussian
locations it is within a few percent of the exact test's at 1,000 samples of a 16x16 grid, and
above it at fewer: 0.85 against 0.74 at 32)."""

_LEAST_CARRIERS: Final = 2.0
"""Fewest products (``samples / (kappa_i kappa_j)``) that must carry a pair's sum for the noise
of its kurtosis to keep it at the normal threshold (:func:`_heavy_product`). One is the sum being
a single product; one still left 16% of 200 noise samples of 0/1 events of probability 0.1 at 50
samples of a 16x16 grid with a pair over the threshold, and two 3.5% (5.0% of 300 in another run;
``bench.infer.tails``, docs/INFER.md)."""

_MOST_KNOTS: Final = 1024
"""Most chi-square quantiles :func:`_channel_factors` computes for a graph."""

_QUANTILE_STEPS: Final = 200
"""Most steps of :func:`chi_square_quantile` (Newton's converge in a handful, bisections in 60)."""

_QUANTILE_TOLERANCE: Final = 1e-14
"""Relative change at which :func:`chi_square_quantile` and its gamma sums stop."""

_GAMMA_TERMS: Final = 100_000
"""Most terms of the gamma series and fraction (some ``sqrt(a)`` reach float64 precision)."""

_NEWTON_STEPS: Final = 100
"""Most Newton steps of :func:`_bennett` (a handful reach float64 precision)."""


def _quantile(locations: int, alpha: float) -> float:
    """Return ``z``: the upper normal quantile of ``alpha`` over the grid's pairs, both tails."""
    # The upper quantile, exact for tiny tails.
    return -NormalDist().inv_cdf(alpha / (2.0 * _pairs(locations)))


def _pairs(locations: int) -> int:
    """Return the grid's pairs of locations, at least 1: the family ``alpha`` is shared over."""
    return max(1, locations * (locations - 1) // 2)
