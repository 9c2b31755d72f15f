"""Pairs of locations of several channels need a threshold that grows with their channels.

The weight of ``C`` channels is ``sqrt(RV)``; under independence ``samples w^2`` has the mean
``d_i d_j``, up to ``C``, and a tail heavier than one channel's from some 12 independent
channels on (advisor.infer.significance, "Several channels"). Checked: the chi-square quantile
against closed forms and known values, and the threshold (one channel's to the bit; rising with
the effective and tail channels).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from advisor.infer.significance import (
    FAMILY_ALPHA,
    chi_square_quantile,
    independence_threshold,
    pair_thresholds,
)


@pytest.mark.parametrize("level", [0.9, 0.5, 0.05, 1e-4, 1e-9, 1e-15])
def test_the_chi_square_quantile_meets_its_closed_forms(level: float) -> None:
    # Two degrees of freedom: the exponential of mean 2; one: the square of a normal.
    two, one = chi_square_quantile(level, [2.0, 1.0])
    assert two == pytest.approx(-2.0 * math.log(level), rel=1e-12)
    assert one == pytest.approx(NormalDist().inv_cdf(level / 2.0) ** 2, rel=1e-12)


def test_the_chi_square_quantile_meets_known_values() -> None:
    # Abramowitz and Stegun, table 26.8 (upper quantiles of 5%, 1% and 0.1%).
    known = {(0.05, 10.0): 18.307038, (0.01, 100.0): 135.806723, (0.001, 3.0): 16.266236}
    for (level, degrees), value in known.items():
        assert chi_square_quantile(level, [degrees])[0] == pytest.approx(value, abs=1e-6)
    # Rising with the degrees of freedom, whole or not, and falling with the level.
    dof = np.array([1.0, 1.5, 2.0, 37.3, 1000.0, 65536.0])
    assert (np.diff(chi_square_quantile(1e-6, dof)) > 0).all()
    assert (chi_square_quantile(1e-7, dof) > chi_square_quantile(1e-6, dof)).all()
    with pytest.raises(ValueError, match="level"):
        chi_square_quantile(0.0, [2.0])
    with pytest.raises(ValueError, match="degrees of freedom"):
        chi_square_quantile(0.05, [0.0])


def test_one_channel_keeps_its_threshold_to_the_bit_and_more_channels_raise_it() -> None:
    samples, locations = 300.0, 64
    kurtosis = np.array([9.0, 9.0, 9.0, 9.0, 9.0, 1e4])  # the last of Bennett's form
    bound = np.array([16.0, 16.0, 16.0, 16.0, 16.0, 99.0])
    alone = pair_thresholds(samples, locations, kurtosis, bound)
    # Each pair's products of effective and tail channels: one channel; eight, twelve and 64
    # independent ones; 16 effective channels of unequal weights (tail 10); 16 independent.
    effective = np.array([1.0, 8.0**2, 12.0**2, 64.0**2, 16.0**2, 16.0**2])
    tail = np.array([1.0, 8.0**2, 12.0**2, 64.0**2, 100.0, 16.0**2])
    raised = pair_thresholds(samples, locations, kurtosis, bound, spread=(effective, tail))
    ones = np.ones(6)
    same = pair_thresholds(samples, locations, kurtosis, bound, spread=(ones, ones))
    assert same.tobytes() == alone.tobytes() and raised[0] == alone[0]
    # Eight independent channels stay at the one-channel floor; more rise with their count, and
    # unequal weights (fewer tail channels) rise further.
    assert raised[1] == alone[1] < raised[2] < raised[3]
    # Three cumulants fitted: samples w^2 as chi2_nu / sqrt(nu) + sqrt(e) - sqrt(nu), at alpha
    # over the grid's pairs (nu = e: Satterthwaite's chi2_e / sqrt(e)).
    pairs = locations * (locations - 1) // 2
    quantile = chi_square_quantile(FAMILY_ALPHA / pairs, tail[2:])
    fitted = quantile / np.sqrt(tail[2:]) + np.sqrt(effective[2:]) - np.sqrt(tail[2:])
    np.testing.assert_allclose(raised[2:5], np.sqrt(fitted[:3] / samples), rtol=1e-5)
    assert raised[4] > np.sqrt(fitted[3] / samples)  # above 16 independent channels'
    # A heavy pair's threshold (Bennett's) rises by the same factor.
    normal = independence_threshold(samples, locations)
    assert raised[5] / alone[5] == pytest.approx(np.sqrt(fitted[3] / samples) / normal, rel=1e-5)
