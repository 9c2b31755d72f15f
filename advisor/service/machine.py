"""What this process may use of the machine: its CPUs and memory, container limits included.

A server in a container (a Kubernetes pod of 2 CPUs and 4 GiB on a node of 64 cores) sees the
node's CPU count in ``os.cpu_count()`` and the node's memory in ``sysconf``: a default of one
worker process per CPU would start 64 of about 95 MB each, past the pod's memory, whose limit
the kernel enforces by killing them. The container's limits are read from the cgroup filesystem
(v2's ``cpu.max`` and ``memory.max``, v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` and
``memory.limit_in_bytes``) and the CPUs from the process's affinity; a file that is missing or
unreadable sets no limit.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Final

__all__ = ["CGROUP_ROOT", "resident_bytes", "usable_cpus", "usable_memory"]

CGROUP_ROOT: Final = Path("/sys/fs/cgroup")

_UNLIMITED_V1: Final = 2**62
"""cgroup v1 writes "no memory limit" as the largest page-aligned int64 (9223372036854771712)."""


def usable_cpus(root: Path = CGROUP_ROOT) -> int:
    """Return the CPUs this process may run on: its affinity, bounded by a CPU quota (>= 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    quota = _cpu_quota(root)
    return max(1, min(cpus, math.ceil(quota))) if quota is not None else max(cpus, 1)


def usable_memory(root: Path = CGROUP_ROOT) -> int | None:
    """Return the bytes of memory this process may use: physical, bounded by a cgroup limit.

    None where the platform reports neither.
    """
    try:
        physical: int | None = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf, or no such name here
        physical = None
    limits = [m for m in (physical, _memory_limit(root)) if m is not None and m > 0]
    return min(limits, default=None)


def resident_bytes() -> int | None:
    """Return the bytes of memory this process holds resident now; None where not reported.

    Read from ``/proc/self/statm`` (resident pages), not the peak ``getrusage`` reports: a
    worker that freed a search's arrays but whose allocator kept the pages still holds them.
    """
    statm = _read(Path("/proc/self/statm"))
    fields = statm.split() if statm is not None else []
    if len(fields) < 2 or not fields[1].isdigit():
        return None
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def _cpu_quota(root: Path) -> float | None:
    """Return the CPUs a cgroup quota allows (2.5: 250 ms per 100 ms), or None without one."""
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        fields = v2.split()
        if len(fields) == 2 and fields[0] != "max":
            return _ratio(fields[0], fields[1])
        return None
    v1 = root / "cpu"
    quota, period = _read(v1 / "cpu.cfs_quota_us"), _read(v1 / "cpu.cfs_period_us")
    if quota is None or period is None:
        return None
    return _ratio(quota, period)


def _memory_limit(root: Path) -> int | None:
    """Return a cgroup's memory limit in bytes, or None without one."""
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        text = _read(path)
        if text is None:
            continue
        try:
            limit = int(text)
        except ValueError:  # "max": none
            return None
        return limit if 0 < limit < _UNLIMITED_V1 else None
    return None


def _ratio(quota: str, period: str) -> float | None:
    """Return quota / period, or None where the quota is no positive number (-1: none)."""
    try:
        share = int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
    return share if share > 0 else None


def _read(path: Path) -> str | None:
    """Return a control file's text, stripped; None when it cannot be read."""
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
