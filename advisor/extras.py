"""The import of an optional extra, whose absence says which extra to install and how.

A part that needs one of the project's extras (the PyTorch export: ``torch``; the Optuna
integration: ``optuna``) imports it under :func:`extra_needed`: Python's own "No module named
'optuna'" names neither the extra nor its install. Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

__all__ = ["extra_needed"]


_DISTRIBUTION: Final = "architecture-advisor"
"""The distribution, ``[project] name`` in ``pyproject.toml``, as ``advisor.version.DISTRIBUTION``
(a layer this one cannot import) says it; a test checks the message against ``pyproject.toml``."""


@contextmanager
def extra_needed(feature: str, extra: str, module: str, first: str = "") -> Iterator[None]:
    """Import an optional extra's ``module`` in this block; its absence names the extra.

    Python says only "No module named 'optuna'", which does not tell that the advisor has an
    extra for it, nor its name; the ``ModuleNotFoundError`` raised instead says that ``feature``
    needs the extra and the installs that add it, to a wheel's install and to a checkout's (its
    ``name`` still the missing module, its cause Python's error). The checkout's keeps ``-e``:
    without it pip replaced the editable install ``.ci/setup`` makes with a copy, which later
    edits no longer reached. ``first``: what to install before the extra, said before the
    installs (torch's CPU wheel: the extra's pin pulls the CUDA build from PyPI). A missing
    module other than ``module`` (one of the extra's own dependencies, say) passes unchanged.
    """
    try:
        yield
    except ModuleNotFoundError as missing:
        if (missing.name or "").partition(".")[0] != module:
            raise
        raise ModuleNotFoundError(
            f"{feature} needs the optional '{extra}' extra, which installs {module}: "
            f"{first}"
            f'pip install "{_DISTRIBUTION}[{extra}]" where the advisor was installed from its '
            f'wheel, pip install -e ".[{extra}]" in its checkout',
            name=missing.name,
        ) from missing
