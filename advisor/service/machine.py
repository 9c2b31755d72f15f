"""What this process may use of the machine: its CPUs and memory, container limits included.

A server in a container (a Kubernetes pod of 2 CPUs and 4 GiB on a node of 64 cores) sees the
node's CPU count in ``os.cpu_count()`` and the node's memory in ``sysconf``: a default of one
worker process per CPU would start 64 of about 95 MB each, past the pod's memory, whose limit
the kernel enforces by killing them. The limits are those of the cgroup the process is in, read
from the cgroup filesystem (v2's ``cpu.max`` and ``memory.max``, v1's ``cpu.cfs_quota_us`` /
``cpu.cfs_period_us`` and ``memory.limit_in_bytes``), and the CPUs from the process's affinity.

The process's cgroup is the one ``/proc/self/cgroup`` names (v2: ``0::/system.slice/x.service``;
v1: a line per hierarchy, ``4:memory:/process_api/123``), found under the mount point
``/proc/self/mountinfo`` gives its hierarchy (``/sys/fs/cgroup`` for v2, ``/sys/fs/cgroup/memory``
for v1's memory controller, where mountinfo cannot be read). A systemd unit's ``CPUQuota=`` or
``MemoryMax=``, or a container sharing the host's cgroup namespace, sets its limit on such a
nested cgroup, and a parent's limit binds its children: the limit is the tightest of those of
the process's cgroup and each of its ancestors up to the mounted one. A file that is missing or
unreadable, or a cgroup not under the mount (a namespace boundary), sets no limit; the mounted
cgroup itself is always read, as a container with its own cgroup namespace mounts its own.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final, TypeVar

__all__ = [
    "FILESYSTEM_ROOT",
    "peak_resident_bytes",
    "resident_bytes",
    "usable_cpus",
    "usable_memory",
]

FILESYSTEM_ROOT: Final = Path("/")
"""Where ``proc`` and ``sys`` are looked for: a test passes a directory holding fake ones."""

_UNLIMITED_V1: Final = 2**62
"""cgroup v1 writes "no memory limit" as the largest page-aligned int64 (9223372036854771712)."""

_MOUNT_ESCAPE: Final = re.compile(r"\\([0-7]{3})")
r"""mountinfo writes a space, tab, newline or backslash in a path as an octal escape (``\040``)."""

_T = TypeVar("_T", int, float)


@dataclass(frozen=True)
class _Hierarchy:
    """A mounted cgroup hierarchy: where, which of its cgroups is mounted there, what it controls.

    ``top`` is ``/`` unless only a subtree is mounted (a container without its own cgroup
    namespace, given its own cgroup at ``/sys/fs/cgroup/memory``); ``controllers`` is None for
    v2's unified hierarchy, which holds every controller, and v1's controllers otherwise.
    """

    point: Path
    top: PurePosixPath
    controllers: frozenset[str] | None


def usable_cpus(root: Path = FILESYSTEM_ROOT) -> int:
    """Return the CPUs this process may run on: its affinity, bounded by a CPU quota (>= 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    quota = _tightest(_cgroup_directories(root, "cpu"), _cpu_quota)
    return max(1, min(cpus, math.ceil(quota))) if quota is not None else max(cpus, 1)


def usable_memory(root: Path = FILESYSTEM_ROOT) -> int | None:
    """Return the bytes of memory this process may use: physical, bounded by a cgroup limit.

    None where the platform reports neither.
    """
    try:
        physical: int | None = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf, or no such name here
        physical = None
    limit = _tightest(_cgroup_directories(root, "memory"), _memory_limit)
    limits = [m for m in (physical, limit) if m is not None and m > 0]
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


def peak_resident_bytes() -> int | None:
    """Return the most memory this process has held resident at once since it started.

    The kernel's high-water mark of this process's memory, ``VmHWM`` in ``/proc/self/status``,
    which counts the peaks between two readings: a search's chunk of arrays held for a moment
    and freed before the next reading of :func:`resident_bytes` (a worker read 250 MiB at every
    poll of a search whose peak was 1 GiB). Not ``getrusage``'s ``ru_maxrss``, which a process
    inherits from the one that started it, across ``exec``: a worker started by a test process
    of 1.1 GB read its peak as 1,109 MiB before its first call, over its bound of 1,024, and
    every call it took was stopped. None where not reported.
    """
    status = _read(Path("/proc/self/status"))
    found = _HIGH_WATER.search(status) if status is not None else None
    return None if found is None else int(found[1]) * 1024


_HIGH_WATER: Final = re.compile(r"^VmHWM:\s+(\d+) kB$", re.MULTILINE)
"""The high-water mark's line of ``/proc/PID/status``, in kB."""


def _tightest(directories: list[Path], limit: Callable[[Path], _T | None]) -> _T | None:
    """Return the smallest limit any of ``directories`` sets, or None where none sets one."""
    found = [value for value in map(limit, directories) if value is not None]
    return min(found, default=None)


def _cgroup_directories(root: Path, controller: str) -> list[Path]:
    """Return the cgroup directories whose ``controller`` limits bind this process.

    For each mounted hierarchy holding the controller: the directory of the process's cgroup,
    then each ancestor's up to the mount point. A cgroup that ``/proc/self/cgroup`` does not
    name, or that is not under the mounted one (``/..`` past a namespace boundary), leaves the
    mount point alone: what a container with its own cgroup namespace sees as its own.
    """
    memberships = _memberships(root)
    directories: list[Path] = []
    for hierarchy in _hierarchies(root):
        if hierarchy.controllers is not None and controller not in hierarchy.controllers:
            continue
        cgroup = memberships.get("" if hierarchy.controllers is None else controller)
        parts: tuple[str, ...] = ()
        if cgroup is not None and cgroup.is_relative_to(hierarchy.top):
            parts = cgroup.relative_to(hierarchy.top).parts
            if ".." in parts:
                parts = ()
        directories += [
            hierarchy.point.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)
        ]
    return directories


def _memberships(root: Path) -> dict[str, PurePosixPath]:
    """Return the process's cgroup in each hierarchy, by v1 controller ("" for v2's).

    From ``/proc/self/cgroup``: ``0::/system.slice/x.service`` (v2), ``4:memory:/a/b`` or
    ``2:cpu,cpuacct:/a`` (v1, one entry per controller). Empty where it cannot be read.
    """
    memberships: dict[str, PurePosixPath] = {}
    for line in (_read(root / "proc" / "self" / "cgroup") or "").splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3 or not fields[2].startswith("/"):
            continue
        path = PurePosixPath(fields[2])
        for controller in fields[1].split(",") if fields[1] else [""]:
            memberships[controller] = path
    return memberships


def _hierarchies(root: Path) -> list[_Hierarchy]:
    """Return the cgroup hierarchies mounted here, from ``/proc/self/mountinfo``.

    Where mountinfo cannot be read or lists none, the usual places: v2 at ``/sys/fs/cgroup``
    and v1's cpu and memory controllers at ``/sys/fs/cgroup/cpu`` and ``/sys/fs/cgroup/memory``.
    """
    hierarchies: list[_Hierarchy] = []
    for line in (_read(root / "proc" / "self" / "mountinfo") or "").splitlines():
        # "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct": the
        # cgroup mounted, the mount point, then past "-" the file system and its options.
        fields = line.split()
        if "-" not in fields[5:]:
            continue
        rest = fields[fields.index("-", 5) + 1 :]
        if len(rest) < 3 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        controllers = None if rest[0] == "cgroup2" else frozenset(rest[2].split(","))
        point = root / _unescape(fields[4]).lstrip("/")
        hierarchies.append(_Hierarchy(point, PurePosixPath(_unescape(fields[3])), controllers))
    if hierarchies:
        return hierarchies
    usual = root / "sys" / "fs" / "cgroup"
    top = PurePosixPath("/")
    return [
        _Hierarchy(usual, top, None),
        _Hierarchy(usual / "cpu", top, frozenset({"cpu"})),
        _Hierarchy(usual / "memory", top, frozenset({"memory"})),
    ]


def _unescape(path: str) -> str:
    r"""Return a mountinfo path with its octal escapes (``\040`` for a space) decoded."""
    return _MOUNT_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), path)


def _cpu_quota(directory: Path) -> float | None:
    """Return the CPUs a cgroup's quota allows (2.5: 250 ms per 100 ms), or None without one."""
    v2 = _read(directory / "cpu.max")
    if v2 is not None:
        fields = v2.split()
        if len(fields) == 2 and fields[0] != "max":
            return _ratio(fields[0], fields[1])
        return None
    quota = _read(directory / "cpu.cfs_quota_us")
    period = _read(directory / "cpu.cfs_period_us")
    if quota is None or period is None:
        return None
    return _ratio(quota, period)


def _memory_limit(directory: Path) -> int | None:
    """Return a cgroup's memory limit in bytes, or None without one."""
    for path in (directory / "memory.max", directory / "memory.limit_in_bytes"):
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
