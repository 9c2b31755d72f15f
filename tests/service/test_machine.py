"""The CPUs and memory a server may use: its own cgroup's limits bound the machine's.

Each test builds a fake ``/proc`` and ``/sys`` in a temporary directory, passed as the root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.service.machine import (
    peak_resident_bytes,
    resident_bytes,
    usable_cpus,
    usable_memory,
)

AFFINITY = len(os.sched_getaffinity(0))
PHYSICAL = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


CGROUP = "sys/fs/cgroup"


def _root(tmp_path: Path, files: dict[str, str]) -> Path:
    """Return ``tmp_path`` holding ``files``: their paths from the root, their text."""
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="ascii")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({}, AFFINITY),  # no cgroup files: the affinity alone (no /proc either: the top is read)
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
    assert (
        usable_cpus(_root(tmp_path, {f"{CGROUP}/{name}": text for name, text in files.items()}))
        == cpus
    )


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
    root = _root(tmp_path, {f"{CGROUP}/{name}": text for name, text in files.items()})
    assert usable_memory(root) == memory


def test_resident_bytes_is_what_the_kernel_reports_as_resident() -> None:
    status = Path("/proc/self/status").read_text()
    reported = int(status.split("VmRSS:")[1].split()[0]) * 1024  # kB
    held = resident_bytes()
    assert held is not None
    # Both read the same counter moments apart; the test's own allocations move it a little.
    assert abs(held - reported) < 16 * 2**20


_PARENT_OF_A_WORKER = """
import subprocess, sys
held = bytearray(256 * 2**20)
held[::4096] = b"x" * len(held[::4096])  # every page touched: resident
child = "from advisor.service.machine import peak_resident_bytes; print(peak_resident_bytes())"
sys.stdout.write(subprocess.run([sys.executable, "-c", child], capture_output=True,
    text=True, check=True).stdout)
"""


def test_a_process_s_peak_is_its_own_not_that_of_the_process_that_started_it() -> None:
    # getrusage's ru_maxrss is kept across exec: a worker started by a test process of 1.1 GB
    # read its peak as 1,109 MiB before any call, over its bound of 1,024 MiB, and every call
    # it took was stopped RESOURCE_EXHAUSTED.
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", _PARENT_OF_A_WORKER],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        timeout=120,
    )
    peak = int(result.stdout)
    assert 0 < peak < 128 * 2**20, peak


def test_peak_resident_bytes_is_the_kernels_high_water_mark() -> None:
    # A search's chunk of arrays, freed before the next reading of what the process holds now,
    # is seen only in the peak: the worker's memory bound reads it.
    chunk = bytearray(64 * 2**20)
    chunk[::4096] = b"x" * len(chunk[::4096])  # every page touched: resident
    during = resident_bytes()
    del chunk  # a block this large goes back to the kernel at once
    after, held = peak_resident_bytes(), resident_bytes()
    assert during is not None and after is not None and held is not None
    assert held < during - 32 * 2**20  # what it holds now has dropped; its peak has not
    assert after > during - 16 * 2**20
    status = Path("/proc/self/status").read_text()
    reported = int(status.split("VmHWM:")[1].split()[0]) * 1024  # kB
    # Both read the same counter moments apart; the test's own allocations move it a little.
    assert abs(after - reported) < 16 * 2**20


def _mountinfo(*mounts: tuple[str, str, str, str]) -> str:
    """Return mountinfo lines for (cgroup mounted, mount point, file system, its options)."""
    return "\n".join(
        f"{30 + i} 23 0:{30 + i} {top} {point} rw,relatime - {fs} {fs} {options}"
        for i, (top, point, fs, options) in enumerate(mounts)
    )


V2_MOUNTS = _mountinfo(
    ("/", "/sys/fs/cgroup", "tmpfs", "rw,mode=755"), ("/", "/sys/fs/cgroup", "cgroup2", "rw")
)
V2_UNIT = "0::/system.slice/advisor.service"
"""A systemd unit's cgroup: where ``CPUQuota=`` and ``MemoryMax=`` put their limits."""


@pytest.mark.parametrize(
    ("files", "cpus", "memory"),
    [
        (  # the unit's own limits (CPUQuota=100%, MemoryMax=1G)
            {
                f"{CGROUP}/system.slice/advisor.service/cpu.max": "100000 100000",
                f"{CGROUP}/system.slice/advisor.service/memory.max": str(2**30),
            },
            1,
            2**30,
        ),
        (  # a parent's limits, tighter than the unit's, bind it
            {
                f"{CGROUP}/system.slice/cpu.max": "100000 100000",
                f"{CGROUP}/system.slice/memory.max": str(2**30),
                f"{CGROUP}/system.slice/advisor.service/cpu.max": "400000 100000",
                f"{CGROUP}/system.slice/advisor.service/memory.max": str(2**31),
            },
            1,
            2**30,
        ),
        (  # "max" at one level, a limit at another
            {
                f"{CGROUP}/system.slice/cpu.max": "100000 100000",
                f"{CGROUP}/system.slice/advisor.service/cpu.max": "max 100000",
                f"{CGROUP}/system.slice/memory.max": "max",
                f"{CGROUP}/system.slice/advisor.service/memory.max": str(2**30),
            },
            1,
            2**30,
        ),
        (  # "max" everywhere: the machine's
            {
                f"{CGROUP}/system.slice/advisor.service/cpu.max": "max 100000",
                f"{CGROUP}/system.slice/advisor.service/memory.max": "max",
            },
            AFFINITY,
            PHYSICAL,
        ),
        (  # files it cannot read (a directory in their place) set no limit; the others still do
            {
                f"{CGROUP}/system.slice/advisor.service/cpu.max/x": "",
                f"{CGROUP}/system.slice/advisor.service/memory.max/x": "",
                f"{CGROUP}/system.slice/cpu.max": "100000 100000",
                f"{CGROUP}/system.slice/memory.max": str(2**30),
            },
            1,
            2**30,
        ),
    ],
)
def test_a_nested_v2_cgroup_is_bound_by_its_own_and_its_parents_limits(
    tmp_path: Path, files: dict[str, str], cpus: int, memory: int
) -> None:
    root = _root(tmp_path, {"proc/self/cgroup": V2_UNIT, "proc/self/mountinfo": V2_MOUNTS, **files})
    assert usable_cpus(root) == min(cpus, AFFINITY)
    assert usable_memory(root) == min(memory, PHYSICAL)


def test_a_nested_v1_cgroup_is_read_under_each_controllers_mount(tmp_path: Path) -> None:
    cpu, memory = "sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/memory"
    root = _root(
        tmp_path,
        {
            "proc/self/cgroup": "\n".join(
                [
                    "9:name=systemd:/",
                    "4:memory:/process_api/123",
                    "2:cpu,cpuacct:/process_api/123",
                    "0::/",
                ]
            ),
            "proc/self/mountinfo": _mountinfo(
                ("/", "/sys/fs/cgroup", "tmpfs", "rw,mode=755"),
                ("/", f"/{cpu}", "cgroup", "rw,cpu,cpuacct"),
                ("/", f"/{memory}", "cgroup", "rw,memory"),
                ("/", "/sys/fs/cgroup/systemd", "cgroup", "rw,name=systemd"),
                ("/", "/sys/fs/cgroup/unified", "cgroup2", "rw"),
            ),
            f"{cpu}/cpu.cfs_quota_us": "-1",  # the host: none
            f"{cpu}/cpu.cfs_period_us": "100000",
            f"{cpu}/process_api/123/cpu.cfs_quota_us": "100000",
            f"{cpu}/process_api/123/cpu.cfs_period_us": "100000",
            f"{memory}/memory.limit_in_bytes": "9223372036854771712",  # the host: none
            f"{memory}/process_api/memory.limit_in_bytes": str(2**30),  # the parent's
            f"{memory}/process_api/123/memory.limit_in_bytes": "9223372036854771712",
        },
    )
    assert usable_cpus(root) == 1
    assert usable_memory(root) == min(2**30, PHYSICAL)


def test_a_container_given_its_own_cgroup_reads_the_mount_point(tmp_path: Path) -> None:
    # Docker without a cgroup namespace: /proc/self/cgroup names the host's path, but the
    # mount holds only the container's own cgroup, which mountinfo says it is.
    root = _root(
        tmp_path,
        {
            "proc/self/cgroup": "4:memory:/docker/abc\n3:cpu:/docker/abc",
            "proc/self/mountinfo": _mountinfo(
                ("/docker/abc", "/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
                ("/docker/abc", "/sys/fs/cgroup/cpu", "cgroup", "rw,cpu"),
            ),
            f"{CGROUP}/memory/memory.limit_in_bytes": str(2**30),
            f"{CGROUP}/cpu/cpu.cfs_quota_us": "100000",
            f"{CGROUP}/cpu/cpu.cfs_period_us": "100000",
        },
    )
    assert usable_cpus(root) == 1
    assert usable_memory(root) == min(2**30, PHYSICAL)


@pytest.mark.parametrize(
    "cgroup",
    [
        "0::/system.slice/gone.service",  # not under the mount: its ancestors that are
        "0::/../../outside",  # past a cgroup namespace's boundary: the mounted cgroup alone
        "garbage",
    ],
)
def test_a_cgroup_not_under_the_mount_falls_back_to_the_mounted_one(
    tmp_path: Path, cgroup: str
) -> None:
    root = _root(
        tmp_path,
        {
            "proc/self/cgroup": cgroup,
            "proc/self/mountinfo": V2_MOUNTS,
            f"{CGROUP}/cpu.max": "100000 100000",
            f"{CGROUP}/memory.max": str(2**30),
        },
    )
    assert usable_cpus(root) == 1
    assert usable_memory(root) == min(2**30, PHYSICAL)


def test_without_mountinfo_the_cgroup_is_looked_for_in_the_usual_places(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        {
            "proc/self/cgroup": V2_UNIT,
            f"{CGROUP}/system.slice/advisor.service/cpu.max": "100000 100000",
            f"{CGROUP}/system.slice/advisor.service/memory.max": str(2**30),
        },
    )
    assert usable_cpus(root) == 1
    assert usable_memory(root) == min(2**30, PHYSICAL)


def test_a_mount_point_with_a_space_is_read(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        {
            "proc/self/cgroup": "0::/",
            "proc/self/mountinfo": _mountinfo(("/", r"/cg\040roup", "cgroup2", "rw")),
            "cg roup/memory.max": str(2**30),
        },
    )
    assert usable_memory(root) == min(2**30, PHYSICAL)
