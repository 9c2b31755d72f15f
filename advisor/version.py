"""The advisor's versions, one source for ``advisor.__version__`` and every ``--version``.

Two versions: the code's (:data:`__version__`) and its ranking's (:data:`RANKING_VERSION`), which
``advisor --version`` and ``advisor-server --version`` print and every search result reports.
The version of the code that runs: the ``pyproject.toml`` of the checkout it runs from, where
there is one (a checkout run with ``PYTHONPATH`` or ``python -m advisor`` from its root, whose
project may not be installed at all, or an editable install whose metadata predates the last
version change), else the installed distribution's metadata (a wheel, which ships no
``pyproject.toml``). Standard library only, read when first asked for.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path
from typing import Final

__all__ = ["DISTRIBUTION", "RANKING_VERSION", "UNKNOWN_VERSION", "__version__", "package_version"]

DISTRIBUTION: Final = "architecture-advisor"
"""The distribution ``pip install .`` installs (``[project] name`` in ``pyproject.toml``)."""

UNKNOWN_VERSION: Final = "0+unknown"
"""The version of code neither in a checkout nor installed (copied by hand): a valid PEP 440
version, below every release, so a comparison with it does not raise."""

RANKING_VERSION: Final = 9
"""The version of the order the search ranks one request's designs in, written in every page
token and part of its digest (:mod:`advisor.search.paging`) and in every result
(``ranking_version``): raised whenever that order changes (the objective, its factors, its
tie-breaks), so a token of another version is refused, saying so, not read as an offset into
another ranking. 2: the arrangement a tree discards weighs at half its bits
(:data:`advisor.search.objective.ARRANGEMENT_WEIGHT`, 2026-12-05); 3: at all its bits again
(the same day, by the fourteenth held-out set); 4: an input written with axes of one location
(``[1, 64]``, ``[64, 1, 1]``) is ranked as the grid it extends along (its trees' coherence counts
those axes only, and a sequence so written takes its dilation orders), 2026-12-05; 5: the standard
CNN, whose multiply-adds set the default compute bound, pools each axis by its smallest prime
factor below the top, not 2 alone (44,100 steps: 2, 2, 3, 3, 5, 5, 7, global 7, not 2, 2, global
11,025), the dilation orders sampled past 720 always hold the ascending and descending ones
(128 steps), and the levels-apart tie key is rounded to 12 decimals (float noise ordered equal
trees), 2026-12-06; 6: a mixture summed at the root only scores its figure capped by the sum of
its members' (:func:`advisor.seprank.mixture.log2_mixture_figure`), the figure the analysis
reports, and grids whose axes' sizes have different factors are also pooled by the balanced list
of their primes (15x64x64: frames met in threes and fives between the spatial levels, not only
after them), 2026-12-06; 7: grids whose size has more than one prime are also pooled by their
primes taken in turn (:func:`advisor.search.candidates.interleaved_steps`; length 100 at depth 3:
mirror 2, 5, global 10, not only 2, 2, global 25 or 5, 5, global 4), 2026-12-07; 8: a
correlation's relation is read alike with its sides swapped (:meth:`advisor.model.maps.Sides.of`;
on 3 steps {0, 1} against {2} was a shift by 2, {2} against {0, 1} one by 1, and the #1 differed),
2026-12-08; 9: mixtures of equal score rank as trees do, by the score's other keys, then by fewer
parameters (they were left in the order their pairs were scored in), 2026-12-08."""

_PYPROJECT: Final = Path(__file__).resolve().parent.parent / "pyproject.toml"


def package_version(pyproject: Path = _PYPROJECT) -> str:
    """Return the version of the running code: its checkout's ``pyproject.toml``, else metadata.

    ``pyproject`` counts only when its ``[project] name`` is :data:`DISTRIBUTION` (a
    ``pyproject.toml`` that happens to sit beside ``site-packages`` is another project's).
    :data:`UNKNOWN_VERSION` when neither says: ``advisor --version`` then says so rather than
    fail with a traceback.
    """
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        project = None
    if isinstance(project, dict) and project.get("name") == DISTRIBUTION:
        version = project.get("version")
        if isinstance(version, str):
            return version
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION


__version__: Final = package_version()
