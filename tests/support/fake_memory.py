"""Worker processes that report the peak memory a test gives, not what they held.

A worker's memory bound (``--worker-max-memory``) is read from its peak memory; how high a real
search takes it depends on how far it gets, which a loaded machine decides. A test that needs
the bound crossed, or not, starts its workers through :func:`fake_peak_workers`.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

__all__ = ["fake_peak_workers"]

_FAKE_PEAK_WORKER = """
import sys
import advisor.service.machine as machine
machine.peak_resident_bytes = lambda: {peak}
from advisor.service.worker import main
sys.exit(main())
"""


def fake_peak_workers(monkeypatch: pytest.MonkeyPatch, launchers: Path, peak: int) -> None:
    """Make every worker started from now on report ``peak`` bytes as its peak memory.

    The worker is the real one, its peak reading replaced before it is imported; what it holds
    now (``Ended.resident_bytes``) is still read. ``launchers`` is a directory for the scripts.
    """
    body = launchers / "fake-peak-worker.py"
    body.write_text(_FAKE_PEAK_WORKER.format(peak=peak))
    launcher = launchers / "fake-peak-python"
    python = shlex.quote(sys.executable)
    # Called as "python -P -m advisor.service.worker FD": the control block's FD is passed on.
    launcher.write_text(f'#!/bin/sh\nshift 3\nexec {python} -P {shlex.quote(str(body))} "$@"\n')
    launcher.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(launcher))
