"""Time an action into the Katib draws' last, longest stretch (the stop tests of both layers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from advisor.model.results import SearchResult
from advisor.search.candidates import Candidate
from advisor.search.ladders import Ladders
from advisor.search.recommend import recommend


def into_the_draws(monkeypatch: pytest.MonkeyPatch, action: Callable[[], object]) -> list[float]:
    """Run ``action`` 0.2 s after the draws past the ranking made 3,000 tries; return when.

    A try is a call of ``Ladders.fitting`` once the ranking's search returned. The draws before
    the last take ~1,000 tries (fewer once they continue one another), so the action comes
    0.2 s into the last, the one that runs the space out (the returned list holds the moment).
    """
    ranked: list[bool] = []
    tries: list[int] = []
    fired: list[float] = []

    def ranking(*args: Any, **kwargs: Any) -> SearchResult:
        result = recommend(*args, **kwargs)
        ranked.append(True)
        return result

    def counted(ladders: Ladders, candidate: Candidate, scale: float = 1.0) -> Any:
        if ranked:
            tries.append(1)
            if len(tries) == 3_000:
                fired.append(time.monotonic() + 0.2)
                threading.Timer(0.2, action).start()
        return fitting(ladders, candidate, scale)

    fitting = Ladders.fitting
    monkeypatch.setattr("advisor.search.recommend.recommend", ranking)
    monkeypatch.setattr(Ladders, "fitting", counted)
    return fired
