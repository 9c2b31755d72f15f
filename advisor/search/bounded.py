"""A cache bounded by the bytes its values hold, the least recently used dropped first.

A search's caches of per-level arrays (the subtree DAG's interned levels, the coherence's
inverted windows) are keyed by the levels' prefixes, which many trees share; unbounded, they
grow with every tree a search visits, a hundred dilation orders of twenty levels on a sequence of
a million steps.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

__all__ = ["BoundedCache"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class BoundedCache(Generic[_K, _V]):
    """Values by key, at most ``limit`` bytes of them (``size`` measures one), LRU dropped first.

    A value larger than ``limit`` by itself is kept alone until the next is put.
    """

    def __init__(self, limit: int, size: Callable[[_V], int]) -> None:
        self._limit = limit
        self._size = size
        self._values: OrderedDict[_K, _V] = OrderedDict()
        self.held = 0
        """The bytes the values hold."""

    def get(self, key: _K) -> _V | None:
        """Return the value of ``key`` (None if none), now the most recently used."""
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used past the limit."""
        replaced = self._values.pop(key, None)
        if replaced is not None:
            self.held -= self._size(replaced)
        self._values[key] = value
        self.held += self._size(value)
        while self.held > self._limit and len(self._values) > 1:
            _, dropped = self._values.popitem(last=False)
            self.held -= self._size(dropped)

    def __len__(self) -> int:
        return len(self._values)

    def values(self) -> Iterator[_V]:
        """Iterate over the values held, the least recently used first."""
        return iter(self._values.values())
