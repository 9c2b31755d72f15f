"""Padding an awkward grid to a friendlier size: which sizes pool well, and what to pad to.

An axis whose size has a prime factor above :data:`FRIENDLY_PRIME` (13, 99 = 9 * 11), or is a
prime of 5 or more, pools only into large windows, or not at all; an odd axis (15, 9, 225) has no
window of 2, so mirror pooling, which folds an axis by windows of 2, cannot serve it. Such a grid
is also searched padded to friendlier sizes (:func:`friendly_paddings`): every awkward axis grown
to the next size that is not awkward and has no prime factor above 5, or to the next even such
size (which mirror can fold: 10,007 steps grow to 10,125 = 3^4 * 5^3 or 10,240 = 2^11 * 5; with
only the odd size a mirror net had to take 16,384, spending 60% more multiply-adds for the same
ranks), every other odd axis to the next even such size or left as it is (a clip of 3 frames of
32x31 is searched on 4x32x32 and on 3x32x32, which pools the frames by a window of 3: with
4x32x32 alone the ``local`` pick at 100,000 parameters took 72.1M multiply-adds, on 3x32x32 it
takes 56.5M and meets the neighbourhoods better), or any of them to the next power of two, the
margin split evenly before and after (one more after on an odd margin, where mirror
reflects about the input's centre). The padding is part of the candidate and of the architecture
it builds (the analysis models the margin as one constant input), so the choice is explicit and
reported, never silent.

A model-level rule (no engine): the service's response-size limit asks it too
(:func:`largest_grid`), and a server answering ``advisor presets`` loads no search.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Final

from advisor.model.grid import MAX_LOCATIONS, Padding, centred_margins, padded_shape

__all__ = ["FRIENDLY_PRIME", "factorise", "friendly_paddings", "largest_grid"]

FRIENDLY_PRIME: Final = 7
"""Largest prime factor a size may have without padding being considered: a 7x7 window is the
largest odd one common nets use, and 224 = 2^5 * 7 needs no padding."""

_PADDING_PRIMES: Final = ((2, 3, 5), (2,))
"""What an awkward axis is padded to: the next size with only these prime factors."""


def friendly_paddings(shape: Sequence[int]) -> list[Padding]:
    """Return the paddings of an awkward grid to friendlier sizes (module docstring), or [].

    A padding that would grow the grid past ``MAX_LOCATIONS`` is left out.

    Examples
    --------
    >>> friendly_paddings((13,))
    [((1, 1),), ((1, 2),)]
    >>> friendly_paddings((16, 16)), friendly_paddings((99, 16))
    ([], [((0, 1), (0, 0)), ((14, 15), (0, 0))])
    >>> friendly_paddings((9, 16))
    [((0, 1), (0, 0)), ((3, 4), (0, 0))]
    >>> friendly_paddings((10007,))
    [((59, 59),), ((116, 117),), ((3188, 3189),)]
    >>> friendly_paddings((3, 31))
    [((0, 1), (0, 1)), ((0, 0), (0, 1))]
    """
    if not any(_awkward(n) or _odd(n) for n in shape):
        return []
    paddings: list[Padding] = []
    for odd_too, primes, even in itertools.product((True, False), _PADDING_PRIMES, (False, True)):
        padding = []
        for n in shape:
            extra = 0
            if _awkward(n):
                extra = (_next_even_smooth(n - 1, primes) if even else _next_smooth(n, primes)) - n
            elif _odd(n) and odd_too:
                extra = _next_even_smooth(n, primes) - n
            padding.append(centred_margins(extra))
        grown = padded_shape(shape, tuple(padding))
        fresh = tuple(padding) not in paddings and grown != tuple(shape)
        if fresh and math.prod(grown) <= MAX_LOCATIONS:
            paddings.append(tuple(padding))
    return paddings


def largest_grid(shape: Sequence[int]) -> int:
    """Return the most locations a tree of the search on the grid ``shape`` pools.

    The input's own count, or its largest padded grid's (:func:`friendly_paddings`), up to
    ``2^ndim`` times more: a recommendation's permutation numbers that many locations at most,
    which bounds the size of its encoding (:mod:`advisor.service.answer_size`).

    Examples
    --------
    >>> largest_grid((16, 16)), largest_grid((129, 129))
    (256, 65536)
    """
    paddings = (None, *friendly_paddings(shape))
    return max(math.prod(padded_shape(shape, padding)) for padding in paddings)


def _awkward(n: int) -> bool:
    """Return whether an axis of size ``n`` pools badly (module docstring)."""
    factors = factorise(n)
    return max(factors, default=1) > FRIENDLY_PRIME or (n >= 5 and factors == {n: 1})


def _odd(n: int) -> bool:
    """Return whether an axis of size ``n`` has no window of 2 (mirror needs them to fold)."""
    return n % 2 == 1 and n > 1


def _next_even_smooth(n: int, primes: tuple[int, ...]) -> int:
    """Return the smallest even size ``> n``, not awkward, whose prime factors are in ``primes``."""
    size = _next_smooth(n + 1, primes)
    while size % 2:
        size = _next_smooth(size + 1, primes)
    return size


def _next_smooth(n: int, primes: tuple[int, ...]) -> int:
    """Return the smallest size ``>= n``, not awkward, whose prime factors are all in ``primes``.

    The products of ``primes`` up to ``2n`` are enumerated (a power of two lies below ``2n``),
    a few hundred at most, rather than every size from ``n`` up factorised.
    """
    sizes = {1}
    for prime in primes:
        grown = set(sizes)
        for size in sizes:
            while size * prime < 2 * n:
                size *= prime
                grown.add(size)
        sizes = grown
    return min(size for size in sizes if size >= n and not _awkward(size))


def factorise(n: int) -> dict[int, int]:
    """Return the prime factorisation of ``n >= 1`` as ``{prime: multiplicity}``."""
    factors: dict[int, int] = {}
    divisor = 2
    while divisor * divisor <= n:
        while n % divisor == 0:
            factors[divisor] = factors.get(divisor, 0) + 1
            n //= divisor
        divisor += 1
    if n > 1:
        factors[n] = factors.get(n, 0) + 1
    return factors
