"""What ``/proc`` says about a process: its state, niceness and CPU time (Linux)."""

from __future__ import annotations


def stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (the state first).

    Raises ``FileNotFoundError`` when the process is gone (reaped).
    """
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def cpu_ticks(pid: int) -> int:
    """User plus system clock ticks the process has run (the stat line's 14th and 15th fields).

    A worker waiting for a job does not run, so ticks that grow after a call is handed to it
    say that it has read the job and works on it.
    """
    fields = stat_fields(pid)
    return int(fields[11]) + int(fields[12])
