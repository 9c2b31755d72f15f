"""The CPUs and memory a server may use: container (cgroup) limits bound the machine's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from advisor.service.machine import resident_bytes, usable_cpus, usable_memory

AFFINITY = len(os.sched_getaffinity(0))
PHYSICAL = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _root(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="ascii")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({}, AFFINITY),  # no cgroup files: the affinity alone
        ({"cpu.max": "max 100000"}, AFFINITY),  # v2, no quota
        ({"cpu.max": "50000 100000"}, 1),  # half a CPU still runs one worker
        ({"cpu.max": "100000 100000"}, 1),
        ({"cpu.max": "100000000 100000"}, AFFINITY),  # a quota above the CPUs it may run on
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, AFFINITY),  # v1
        ({"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"}, 1),
        ({"cpu.max": "garbage"}, AFFINITY),
        ({"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "0"}, AFFINITY),
    ],
)
def test_the_cpus_are_the_affinity_bounded_by_a_quota(
    tmp_path: Path, files: dict[str, str], cpus: int
) -> None:
    assert usable_cpus(_root(tmp_path, files)) == cpus


@pytest.mark.parametrize(
    ("files", "memory"),
    [
        ({}, PHYSICAL),
        ({"memory.max": "max"}, PHYSICAL),
        ({"memory.max": str(2**30)}, min(2**30, PHYSICAL)),
        ({"memory/memory.limit_in_bytes": "9223372036854771712"}, PHYSICAL),  # v1, no limit
        ({"memory/memory.limit_in_bytes": str(2**31)}, min(2**31, PHYSICAL)),
        ({"memory.max": str(2**80)}, PHYSICAL),  # above the machine's: the machine's
    ],
)
def test_the_memory_is_the_machines_bounded_by_a_limit(
    tmp_path: Path, files: dict[str, str], memory: int
) -> None:
    assert usable_memory(_root(tmp_path, files)) == memory


def test_resident_bytes_is_what_the_kernel_reports_as_resident() -> None:
    status = Path("/proc/self/status").read_text()
    reported = int(status.split("VmRSS:")[1].split()[0]) * 1024  # kB
    held = resident_bytes()
    assert held is not None
    # Both read the same counter moments apart; the test's own allocations move it a little.
    assert abs(held - reported) < 16 * 2**20
