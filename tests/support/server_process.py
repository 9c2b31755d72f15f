"""Run ``server.py`` as a child process, for the benches and tests that need a real process.

Load figures are taken against a server with its own interpreter (so the clients' threads do not
share its GIL), and the SIGTERM drain can only be observed on a process. The child binds
127.0.0.1 port 0 and announces ``listening on HOST:PORT`` on stdout; its log (stderr) goes to a
temporary file so a chatty server can never block on a full pipe.
"""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["ServerProcess"]

ROOT = Path(__file__).resolve().parents[2]
_ANNOUNCEMENT = "listening on "


class ServerProcess:
    """``python server.py --port 0 *options`` in a child process, bound when constructed.

    Parameters
    ----------
    options
        Further ``server.py`` options, e.g. ``("--workers", "2", "--grace", "5")``.
    startup_seconds
        How long to wait for the ``listening on`` line before giving up.
    """

    def __init__(self, *options: str, startup_seconds: float = 60.0) -> None:
        # Append mode: reading the log moves the shared file offset, the child's writes must not.
        self._log = tempfile.TemporaryFile(mode="a+")  # noqa: SIM115 - closed in __exit__
        command = [sys.executable, str(ROOT / "server.py"), "--host", "127.0.0.1", "--port", "0"]
        self.process = subprocess.Popen(
            [*command, *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=ROOT,
        )
        try:
            self.address = self._read_address(startup_seconds)
        except BaseException:
            self.kill()
            raise

    def _read_address(self, timeout: float) -> str:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise TimeoutError(f"server.py did not start within {timeout} s: {self.log()}")
        line = self.process.stdout.readline()
        if not line.startswith(_ANNOUNCEMENT):
            raise RuntimeError(f"server.py did not start: {line!r} {self.log()}")
        return line[len(_ANNOUNCEMENT) :].strip()

    def terminate(self) -> None:
        """Send SIGTERM: the server drains its calls and exits."""
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        """Wait for the exit and return its status (``TimeoutExpired`` if still running)."""
        return self.process.wait(timeout)

    def kill(self) -> None:
        """Stop the child at once if it is still running (cleanup after a failure)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def rss_bytes(self) -> int:
        """The resident memory now (Linux ``/proc``) of the child and its worker processes.

        Summed over the processes, so pages they share (the interpreter, the loaded modules) count
        once per process: an upper bound on what the server occupies.
        """
        return sum(_rss_bytes(pid) for pid in (self.process.pid, *_children(self.process.pid)))

    def log(self) -> str:
        """Everything the server wrote to stderr so far."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


def _rss_bytes(pid: int) -> int:
    """``VmRSS`` of ``pid`` in bytes; 0 for a process that has exited meanwhile."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        return 0
    return 0  # a zombie has no VmRSS line


def _children(pid: int) -> list[int]:
    """The ids of the processes whose parent is ``pid``."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
        except (FileNotFoundError, ProcessLookupError):
            continue
        # The command name (in parentheses) may hold spaces; the parent id follows the state.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children
