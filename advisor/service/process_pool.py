"""Advisor calls' work in worker processes (``--executor processes``, the default of a server).

The serving process keeps the event loop (receiving, token checks, admission, health, reflection)
and nothing else: each call's work runs in one of ``workers`` processes
(:mod:`advisor.service.worker`), each with its own interpreter and GIL, started with the server
and each loading the engines once. So a search can never keep the event loop waiting for the GIL,
however busy the machine's cores are. A process is a fresh ``python -m advisor.service.worker``
(no ``fork`` of a process that runs gRPC threads), at a lower priority (``worker_niceness``): the
serving process needs little CPU, but needs it at once, and on a machine whose cores are taken it
otherwise waits its turn behind the searches (flood health p99 14-36 ms at niceness 0, 8.3-8.5 ms
at 10, alternating runs on the loaded 2-core machine).

Admission stays here and counts work: a call takes a slot on the event loop (or is refused there,
RESOURCE_EXHAUSTED / UNAVAILABLE) and an idle worker with it; the slot is released when the worker
reports the work ended, or when the worker dies. The call's request travels as its bytes, with its
id and deadline (``CLOCK_MONOTONIC`` is system-wide on Linux); its responses come back one by one
as they are produced, so a stream's progress events arrive as they happen. When the call ends
early (its client cancelled or went away, its deadline passed) the serving process writes its id
into the worker's control block, and the drain deadline too when a shutdown begins; the worker's
stop signals read both at every poll (:mod:`advisor.service.worker_link`).

A worker that dies mid-call (SIGKILL, the OOM killer) ends only that call, with an opaque
INTERNAL (the exit is logged under the request id); it is replaced at once, and health is not
affected while its replacement loads. Only while no worker can take calls and a new one has
failed to start (its spawn refused, or it exited before it was ready) does the pool report the
server not serving (``on_serving``) and refuse calls at once (``UNAVAILABLE``): new ones, and
those already waiting for a worker, and serve again once a worker is ready. A worker
acknowledges each job as it reads it (``Accepted``): one that died before (its death not yet
noticed when the call was handed to it) never started the job, which goes to the next idle
worker, the replacement if no other.

A worker's answer can reach the serving process later than the margin its call keeps for it
(:func:`~advisor.service.handoff.reply_margin`) where other programs take the cores: the pool
records how late each came after its work was to stop and gives the next calls' workers earlier
deadlines to match (:class:`~advisor.service.handoff.HandOffWatch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import math
import os
import signal
import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import grpc

from advisor.errors import ServerStartError
from advisor.service.admission import Admission, NotServingError
from advisor.service.calls import Outcomes, StartedCall, aborted_for
from advisor.service.handoff import HandOffWatch
from advisor.service.limits import RequestLimits
from advisor.service.logs import FIELDS
from advisor.service.machine import usable_memory
from advisor.service.request_ids import CALL_REQUEST_ID
from advisor.service.threads import AioContext, CallAbortedError
from advisor.service.worker_link import (
    Accepted,
    ControlBlock,
    Ended,
    Exit,
    Job,
    Ready,
    Response,
    Setup,
    Status,
    encode_frame,
    receive_frame,
)

__all__ = [
    "WORKER_PROCESS_BYTES",
    "WORKER_PEAK_BYTES",
    "SERVING_PROCESS_BYTES",
    "ProcessWorkers",
    "WorkerExitedError",
    "worker_bound_problem",
    "worker_memory_problem",
    "worker_processes_that_fit",
]

_LOGGER = logging.getLogger(__name__)

WORKER_PROCESS_BYTES = 95 * 2**20
"""About what one idle worker process holds resident: the interpreter and the engines (a
2-worker server, idle: 73 + 94 + 94 MB; docs/SERVICE.md, "Memory")."""

# How long a worker may take to load the engines when the server starts (tens of seconds on a
# machine whose cores are all taken; about half a second on a quiet one).
_START_SECONDS = 120.0
# How long the workers have to exit once their input is closed at the end; then they are killed.
_EXIT_SECONDS = 5.0
# How long to wait before replacing a worker that died before it was ready, so a worker that
# cannot start at all is not restarted in a tight loop.
_RESTART_DELAY_SECONDS = 1.0
# How long a worker may go on with a call that has ended (its client cancelled, its deadline
# passed) before it is taken for stuck and killed. Work stops at its next poll of its stop
# signal: tens of milliseconds, at most about 0.75 s measured (docs/SERVICE.md); a worker still
# on it this long after would hold its slot for good, and the server would refuse every call
# RESOURCE_EXHAUSTED once all its slots were held so, while health read SERVING.
_STUCK_SECONDS = 30.0

# Why a call is refused while no worker can take calls because a new one failed to start.
_NO_WORKER = (
    "no worker process can take calls: a new one could not be started (health NOT_SERVING); "
    "retry, on another server if there is one"
)
# Why a worker that exits during the shutdown drain is not replaced (_replacement_needed).
_NOT_REPLACED = "not replaced, as the server is shutting down"

_LIGHT_METHODS: Final = frozenset({"ListPresets"})
"""The calls a worker over its memory bound serves until its replacement is ready: their
memory is small and fixed (the presets' 9 kB answer), where every other call's grows with its
request, and would run without the bound the worker is over already."""


WORKER_PEAK_BYTES = 450 * 2**20
"""About the most one worker process holds while it serves the costliest call the default
request limits admit: 388-394 MiB at its peak for a ``Recommend`` of 256 correlations of 3,800
to 4,000 random locations a side on a 128 x 128 grid (a 4.1 MB request, just under
``max_message_bytes``; free widths, ``channel_choices`` 1-64, 60 s), 313 MiB for an
``InferTask`` of a 4.2 MB graph. Random index lists are the costliest regions (boxes of as many
locations peak far lower). Measured as the worker's ``VmHWM`` in ``/proc/PID/status``, reset
through ``/proc/PID/clear_refs`` before the call (docs/SERVICE.md, "Memory"); 1,054 MiB before
the width search's chunks were bounded by their work (:mod:`advisor.search.widths`)."""

SERVING_PROCESS_BYTES = 100 * 2**20
"""About the most the serving process holds: 65 MB idle, at most 99 MB after 100 analyses of
a 3.7 MB request (docs/SERVICE.md, "Memory")."""


def worker_processes_that_fit() -> int | None:
    """Return how many worker processes fit at their peak in the memory this process may use.

    What the default worker count is held to: each worker may serve the costliest call the
    default limits admit at once (:data:`WORKER_PEAK_BYTES`), beside the serving process.
    Held to the idle workers that fit, as it was, a ``MemoryMax=300M`` unit started 3 workers
    of 95 MiB, which left no memory for any of them to search with: the first large call
    brought the OOM killer. None where the platform does not report the memory; may be 0.
    """
    memory = usable_memory()
    return None if memory is None else max(0, memory - SERVING_PROCESS_BYTES) // WORKER_PEAK_BYTES


def worker_memory_problem(count: int) -> str | None:
    """Return why ``count`` worker processes cannot fit in this machine's memory, or None.

    Every worker is started with the server and holds :data:`WORKER_PROCESS_BYTES` before any
    search, so a count whose workers alone exceed the physical memory (a slip such as
    ``--workers 1000000``) can never serve: it would start processes until the OOM killer takes
    them, and whatever else runs on the machine with them. The memory is what this process may
    use (:func:`~advisor.service.machine.usable_memory`: a container's limit where it has one);
    None where the platform does not report it.
    """
    memory = usable_memory()
    needed = count * WORKER_PROCESS_BYTES
    if memory is None or needed <= memory:
        return None
    # In MiB, as the bound is: in GiB to one place, 1,045 MiB needed and 1,000 MiB there read
    # "need about 1.0 GiB, more than the 1.0 GiB".
    mib = 2**20
    each = WORKER_PROCESS_BYTES // mib
    fit = memory // WORKER_PROCESS_BYTES
    what = (
        f"1 worker process needs about {each} MiB (idle)"
        if count == 1
        else f"{count:,} worker processes need about {needed // mib:,} MiB ({each} MiB each, idle)"
    )
    advice = (
        f", which holds {fit:,}: serve fewer calls at once, or run them on threads"
        if fit
        else ": run the calls on threads"
    )
    return f"{what}, more than the {memory // mib:,} MiB of memory this process may use{advice}"


def worker_bound_problem(mib: int) -> str | None:
    """Return why a bound of ``mib`` MiB on a worker's memory cannot do its job, or None.

    Below what an idle worker holds, every call would replace its worker. Above the memory this
    process may use (:func:`~advisor.service.machine.usable_memory`), no worker can ever hold
    it and none would be replaced: a bound given in bytes (``2147483648`` for 2 GiB, 2 PiB in
    MiB) was taken without a word and never acted on. None where the platform does not report
    the memory.
    """
    least = math.ceil(WORKER_PROCESS_BYTES / 2**20)
    if mib < least:
        return f"is below the {least} MiB an idle worker holds: every call would replace its worker"
    memory = usable_memory()
    if memory is None or mib * 2**20 <= memory:
        return None
    return (
        f"is more than the {memory // 2**20:,} MiB of memory this process may use: no worker "
        "can hold that much, so none would ever be replaced (the bound is in MiB)"
    )


def _worker_environment() -> dict[str, str]:
    """Return a worker's environment: this process's, with this process's import path.

    A worker imports the code the serving process runs. ``python /srv/advisor/server.py``
    started in another directory finds ``advisor`` in its script's folder, where ``python -m``
    looks in the working directory: its workers imported whatever other version was installed,
    or none and never started. As ``PYTHONPATH`` (the worker runs with ``-P``) the path comes
    first and in its order; the entries Python adds after it are duplicates, which ``site``
    drops.
    """
    path = os.pathsep.join(entry for entry in sys.path if isinstance(entry, str))
    return {**os.environ, "PYTHONPATH": path}


def _worker_stderr() -> int | None:
    """Return where a worker's standard error goes: this process's, as a subprocess's stderr.

    Started with standard error closed (``advisor serve 2>&-``, a daemon's child), a worker
    had no descriptor 2 either (``advisor`` writes its own to ``/dev/null``, a descriptor
    children do not inherit), failed at its first look at it, and the server could not start
    (exit status 7, said nowhere). It now gets this process's standard error by its descriptor,
    or ``/dev/null`` when there is none; a stream with no descriptor of its own (a test's
    capture) leaves the worker descriptor 2 as it is (``None``).
    """
    if sys.stderr is None:
        return asyncio.subprocess.DEVNULL
    try:
        return sys.stderr.fileno()
    except (OSError, ValueError):
        return None


class WorkerExitedError(Exception):
    """A worker process exited while it worked on a call."""


@dataclass(eq=False)
class _Job:
    call_id: int
    method: str
    frame: bytes  # the encoded Job, sent again if its worker dies before reading it
    outcomes: Outcomes
    slot: contextlib.ExitStack
    worker: _Worker | None = None
    accepted: bool = False  # the worker has read it (its Accepted frame came)
    ended: bool = False  # the call has ended on the serving side
    hurry_seconds: float | None = None  # asked to finish within this of its work's start
    hurried: float | None = None  # the deadline written for its worker (monotonic)
    resend: asyncio.Task[None] | None = field(default=None, repr=False)
    request_id: str | None = None  # the call's (:mod:`advisor.service.request_ids`)
    stop: float = math.inf  # when its work is to stop for its deadline (monotonic)
    unstick: asyncio.TimerHandle | None = field(default=None, repr=False)
    """The check, :data:`_STUCK_SECONDS` after the call ended, that its worker has let it go."""

    def fail(self, error: Exception) -> None:
        """End the call with the status of ``error``, under its request id (unless it ended)."""
        self.finish(
            None if self.ended else aborted_for(error, self.method, request_id=self.request_id)
        )

    def finish(self, outcome: CallAbortedError | None = None) -> None:
        """End the call's outcomes (with ``outcome`` first, if any) and free its slot.

        The work has ended, so its stuck-worker check is cancelled: waiting, that check held the
        job, its request's frame among it, for the full :data:`_STUCK_SECONDS` after every call
        that ended before its work did (25 requests of 3.7 MB that missed their deadlines left
        87 MiB of frames held by the serving process).
        """
        if self.unstick is not None:
            self.unstick.cancel()
            self.unstick = None
        if outcome is not None:
            self.outcomes.put_nowait(outcome)
        self.slot.close()
        self.outcomes.put_nowait(None)


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    control: ControlBlock
    ready: asyncio.Future[None]
    job: _Job | None = None
    alive: bool = True
    superseded: bool = False  # over its memory bound: replaced once its replacement is ready
    retired: bool = False  # out of service (its replacement serves): its exit is expected
    replacing: _Worker | None = field(default=None, repr=False)  # superseded, until ready
    watch: asyncio.Task[None] | None = field(default=None, repr=False)
    doom: asyncio.TimerHandle | None = field(default=None, repr=False)  # see _expect_exit


class ProcessWorkers:
    """Runs the advisor calls' work in worker processes, admitted by ``admission``.

    Build it with :meth:`start` on the server's event loop, which starts one worker per slot.
    """

    def __init__(
        self,
        limits: RequestLimits,
        admission: Admission,
        niceness: int,
        max_worker_bytes: int | None = None,
        on_serving: Callable[[bool], None] | None = None,
        on_replaced: Callable[[], None] | None = None,
    ) -> None:
        self._setup = Setup(limits.model_dump_json(), niceness)
        self._admission = admission
        self._max_worker_bytes = max_worker_bytes
        # None wakes a call waiting for a worker to look whether the pool still serves.
        self._idle: asyncio.Queue[_Worker | None] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._call_ids = itertools.count(1)
        self._drain_deadline = math.inf
        self._closing = False
        self._resends: set[asyncio.Task[None]] = set()
        self._replacements: set[asyncio.Task[None]] = set()  # spawning, loading: close()'s
        self._waiting = 0  # calls waiting for an idle worker (new ones, and jobs to resend)
        self._on_serving = on_serving
        self._on_replaced = on_replaced
        self._serving = True  # what on_serving was told last (the server starts serving)
        self._handoffs = HandOffWatch()

    @classmethod
    async def start(
        cls,
        limits: RequestLimits,
        admission: Admission,
        count: int,
        niceness: int,
        max_worker_bytes: int | None = None,
        on_serving: Callable[[bool], None] | None = None,
        on_replaced: Callable[[], None] | None = None,
    ) -> ProcessWorkers:
        """Start ``count`` workers at ``niceness`` and wait until each has loaded the engines.

        A call that takes its worker over ``max_worker_bytes`` resident (None: no bound) is
        stopped there and ends ``RESOURCE_EXHAUSTED`` (:mod:`advisor.service.worker`); a worker
        that has held more once a call has ended is replaced, as one that died is, but gently:
        it serves on, unbounded, while its replacement loads the engines, then its input is
        closed and it exits.

        ``on_serving(False)`` is called (on the event loop) when no worker can take calls and a
        new one has failed to start, ``on_serving(True)`` once a worker is ready again: the
        server's health follows (:meth:`_start_failed`). ``on_replaced()`` is called (on the
        event loop) each time a new worker is ready in place of one that died or went over
        ``max_worker_bytes``: the server's metrics count them.

        Raises
        ------
        ServerStartError
            On setting ``executor`` if a worker cannot be spawned, exits or does not get ready
            in time (those started are stopped).
        """
        workers = cls(limits, admission, niceness, max_worker_bytes, on_serving, on_replaced)
        try:
            launched = [await workers._launch() for _ in range(count)]
            async with asyncio.timeout(_START_SECONDS):
                # Shielded: a timeout or an abandoned start must not cancel the futures
                # themselves, which say to close() which workers are still loading (to be
                # killed at once) and which a worker's ready frame later completes.
                await asyncio.gather(*(asyncio.shield(worker.ready) for worker in launched))
        except (TimeoutError, WorkerExitedError) as error:
            await workers.close()
            reason = str(error) or f"not ready within {_START_SECONDS:g} s"
            raise ServerStartError(
                ["executor"], f"a worker process did not start: {reason} (its log is on stderr)"
            ) from None
        except OSError as error:  # a spawn failed (fork's EAGAIN at a process limit, ENOMEM)
            await workers.close()
            raise ServerStartError(
                ["executor"], f"a worker process could not be spawned: {error}"
            ) from None
        except asyncio.CancelledError:  # the start was abandoned (a SIGTERM while starting)
            await workers.close()
            raise
        return workers

    @property
    def pids(self) -> list[int]:
        """The process ids of the live workers (safe from any thread: the copy is atomic)."""
        return [worker.process.pid for worker in tuple(self._workers) if worker.alive]

    async def begin(self, method: str, payload: bytes, context: AioContext) -> StartedCall:
        """Take a slot and an idle worker, and send it the call (see :class:`CallWorkers`).

        While the pool reports the server not serving (:meth:`_start_failed`) the call is
        refused at once, UNAVAILABLE, for its client to retry elsewhere: it waited for a worker
        until its deadline. One that comes while a replacement merely loads waits for it, and
        is refused so if that replacement fails to start (:meth:`_idle_worker`).
        """
        if not self._serving:
            raise NotServingError(_NO_WORKER)
        slot = contextlib.ExitStack()
        slot.enter_context(self._admission.admit())
        try:
            worker = await self._idle_worker(method)
        except BaseException:
            slot.close()
            raise
        call_id = next(self._call_ids)
        outcomes: Outcomes = asyncio.Queue()
        planned = self._handoffs.plan(context.time_remaining())
        request_id = CALL_REQUEST_ID.get()
        frame = encode_frame(Job(call_id, method, payload, planned.deadline, request_id))
        job = _Job(call_id, method, frame, outcomes, slot, request_id=request_id)
        job.stop = planned.stop
        self._dispatch(job, worker)
        # gRPC keeps a call's done callbacks after the call (its context stays referenced), so
        # the callback holds the job weakly: held by its closure, every job and its request's
        # frame outlived its call, 3.7 MB a call for an analysis of 115 large regions (the
        # serving process grew 65 -> 576 MB over 100 calls). While the work runs, its worker
        # (or the task resending it) and the call's handler hold the job.
        held = weakref.ref(job)

        def ended(_: AioContext) -> None:
            job = held()
            if job is None:  # its work ended and its handler returned: nothing left to end
                return
            job.ended = True
            if job.resend is not None:
                job.resend.cancel()
            elif job.worker is not None and job.worker.alive:
                job.worker.control.end_call(call_id)
                job.unstick = asyncio.get_running_loop().call_later(
                    _STUCK_SECONDS, self._unstick, job
                )

        # The stubs declare the callback type as a class, not a protocol a function could match.
        context.add_done_callback(ended)  # type: ignore[arg-type]
        return StartedCall(outcomes, functools.partial(self._hurry, job))

    def _hurry(self, job: _Job, seconds: float) -> None:
        """Ask ``job``'s work to finish within ``seconds`` (the first ask counts).

        Counted from now if its worker has it, written in that worker's control block; else
        from when a worker takes it (:meth:`_dispatch`), a new one if its worker died first.
        """
        if job.hurry_seconds is not None:
            return
        job.hurry_seconds = seconds
        worker = job.worker
        if worker is not None and worker.alive and worker.job is job:
            self._write_hurry(job, worker)

    @staticmethod
    def _write_hurry(job: _Job, worker: _Worker) -> None:
        """Write ``job``'s hurry, counted from now, in ``worker``'s control block."""
        assert job.hurry_seconds is not None
        job.hurried = time.monotonic() + job.hurry_seconds
        worker.control.hurry_call(job.call_id, job.hurried)

    async def drain(self, deadline: float) -> None:
        """Write the end of the drain into every worker's control block (and any later one's).

        The earliest deadline written stays: a drain brought forward is never put back.
        """
        self._drain_deadline = min(self._drain_deadline, deadline)
        for worker in self._workers:
            worker.control.drain_deadline = self._drain_deadline

    async def close(self) -> None:
        """Close the workers' input and wait for them to exit (killed if not in time).

        A worker still loading the engines has no call to finish: it is killed at once, rather
        than waited for until it has loaded them (seconds, tens of seconds on a busy machine)
        only to read the end of its input. A replacement still being spawned is cancelled, and
        waited for: asyncio kills a process whose spawn is cancelled and waits for its exit, so
        none outlives the close.
        """
        self._closing = True
        for task in (*self._resends, *self._replacements):
            task.cancel()
        if self._replacements:
            await asyncio.wait(self._replacements)
        workers = list(self._workers)
        for worker in workers:
            self._close_input(worker)
            if not worker.ready.done():
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
        watches = [worker.watch for worker in workers if worker.watch is not None]
        if watches:
            await asyncio.wait(watches)

    def _unstick(self, job: _Job) -> None:
        """Kill the worker of ``job``, ended :data:`_STUCK_SECONDS` ago, if it still works on it.

        Its death frees the slot and starts a replacement, as any worker's death does.
        """
        worker = job.worker
        if worker is None or not worker.alive or worker.job is not job:
            return
        _LOGGER.warning(
            "worker process %d still works on a %s call that ended %g s ago; killing it",
            worker.process.pid,
            job.method,
            _STUCK_SECONDS,
        )
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()

    def _dispatch(self, job: _Job, worker: _Worker) -> None:
        job.worker, worker.job = worker, job
        if job.hurry_seconds is not None:  # asked to finish while it waited for a worker
            self._write_hurry(job, worker)
        assert worker.process.stdin is not None
        worker.process.stdin.write(job.frame)

    def _resend_later(self, job: _Job) -> None:
        """Give ``job``, which its dead worker never read, to the next idle worker, on a task.

        The task is cancelled when the call ends, or the server closes, while it waits; it may
        be before the task has run at all (the call ended in the turn of the event loop the
        death was handled in), when no code of its own runs. So its done callback, not the
        task, ends the outcomes of a call cancelled so and frees its slot.
        """
        job.resend = asyncio.create_task(self._resend(job))
        self._resends.add(job.resend)
        job.resend.add_done_callback(functools.partial(self._resent, job))

    def _resent(self, job: _Job, resend: asyncio.Task[None]) -> None:
        """Forget the ended ``resend`` task; if it was cancelled, end ``job``'s call and slot."""
        self._resends.discard(resend)
        if resend.cancelled():
            job.resend = None
            closed = WorkerExitedError("the server closed before a worker took the call")
            job.fail(closed)

    async def _resend(self, job: _Job) -> None:
        """Give a job its dead worker never read to the next idle worker (unless the call ended).

        Refused UNAVAILABLE, as a new call is, if the pool stops serving meanwhile.
        """
        try:
            worker = await self._idle_worker(job.method)
        except NotServingError as error:
            job.resend = None
            job.fail(error)
            return
        job.resend = None  # the call's end now goes to the worker, as for any job it has
        if job.ended:
            self._idle.put_nowait(worker)
            job.finish()
            return
        self._dispatch(job, worker)

    async def _idle_worker(self, method: str) -> _Worker:
        """Wait for an idle worker for ``method``; raise ``NotServingError`` while not serving.

        A call already waiting when the pool stops serving is refused then too
        (:meth:`_report_serving` wakes it): admitted while the replacement of a dead worker was
        on its way, it waited on until its deadline, where a call that came a moment later was
        refused at once. A worker over its memory bound (superseded) takes only a call of
        :data:`_LIGHT_METHODS`; any other waits for its replacement, and the superseded worker
        is set aside until that replacement retires it (a call of a method that grows its
        memory, run on it, had no bound: the same search sent again at once took it from 125 to
        145 MiB over a bound of 110 and answered, where the first was refused).
        """
        self._waiting += 1
        try:
            while True:
                if not self._serving:
                    raise NotServingError(_NO_WORKER)
                worker = await self._idle.get()
                # Died or retired while idle: its replacement joins the queue when ready.
                if worker is None or not worker.alive or worker.retired:
                    continue
                if not worker.superseded or method in _LIGHT_METHODS:
                    return worker
        finally:
            self._waiting -= 1

    def _replacement_needed(self) -> bool:
        """Whether a worker that died, or one over its memory bound, should be replaced.

        Not once the server closes, nor while it drains, when no new call is admitted, unless a
        call admitted before waits for a worker: a replacement would only load the engines
        during the shutdown (and hold up the exit, as :meth:`close` waits for the workers).
        """
        if self._closing:
            return False
        return math.isinf(self._drain_deadline) or self._waiting > 0 or bool(self._resends)

    async def _launch(self) -> _Worker:
        """Spawn a worker and send it its setup; its watch then handles its frames and exit.

        Raises ``OSError`` if the process cannot be spawned (its control block closed).
        """
        control = ControlBlock.create()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-P",  # no working directory first on its path: this process's path, below
                "-m",
                "advisor.service.worker",
                str(control.fd),
                str(os.getpid()),  # the serving process, which the worker dies with
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=_worker_stderr(),
                pass_fds=(control.fd,),
                env=_worker_environment(),
            )
        except BaseException:  # no process: nobody else will close the block
            control.close()
            raise
        # Written once spawned, when the worker joins those drain() writes to: a drain begun
        # while the process was being spawned wrote only the workers listed then.
        control.drain_deadline = self._drain_deadline
        if self._max_worker_bytes is not None:
            control.memory_bound = self._max_worker_bytes
        assert process.stdin is not None
        process.stdin.write(encode_frame(self._setup))
        worker = _Worker(process, control, asyncio.get_running_loop().create_future())
        self._workers.add(worker)
        worker.watch = asyncio.create_task(self._watch(worker))
        return worker

    async def _watch(self, worker: _Worker) -> None:
        """Handle a worker's frames until its output ends, then its exit."""
        assert worker.process.stdout is not None
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                self._on_frame(worker, await receive_frame(worker.process.stdout))
        worker.alive = False  # no new call for it while its exit is collected
        self._expect_exit(worker, "its output ended")
        status = await worker.process.wait()
        self._on_exit(worker, status)

    def _expect_exit(self, worker: _Worker, why: str) -> None:
        """Kill ``worker`` unless it exits within :data:`_EXIT_SECONDS` (the first ask counts).

        ``why`` says why it has nothing left to do, for the log. A worker that hangs on its way
        out (stuck writing its log to a full pipe, say) is otherwise waited for with no bound:
        its call stays unanswered, its slot taken, and it is never replaced. Killed, its exit
        is handled as any worker's (:meth:`_on_exit`). Not SIGTERM first: workers ignore it.
        One already gone (a worker retired after it died) needs no watch.
        """
        if worker.doom is None and worker.process.returncode is None:
            worker.doom = asyncio.get_running_loop().call_later(
                _EXIT_SECONDS, self._kill_lingering, worker, why
            )

    @staticmethod
    def _kill_lingering(worker: _Worker, why: str) -> None:
        """Kill ``worker``, which has not exited :data:`_EXIT_SECONDS` after ``why``."""
        worker.doom = None
        if worker.process.returncode is not None:
            return
        _LOGGER.warning(
            "worker process %d did not exit within %g s after %s; killing it",
            worker.process.pid,
            _EXIT_SECONDS,
            why,
        )
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()

    def _on_frame(self, worker: _Worker, frame: object) -> None:
        if isinstance(frame, Ready):
            worker.ready.set_result(None)
            if worker.replacing is not None:  # it takes that one's place: one serves, not both
                self._retire(worker.replacing)
                worker.replacing = None
            self._idle.put_nowait(worker)
            self._report_serving(True)
            return
        job = worker.job
        assert job is not None, f"a worker sent {frame!r} without a job"
        if isinstance(frame, Accepted):
            job.accepted = True
        elif isinstance(frame, Response):
            job.outcomes.put_nowait(frame.message)
        elif isinstance(frame, Status):
            code = grpc.StatusCode[frame.code]
            job.outcomes.put_nowait(CallAbortedError(code, frame.details, frame.trailing_metadata))
        elif isinstance(frame, Ended):
            worker.job, job.worker = None, None
            if worker.retired:  # its replacement got ready during the call: it exits now
                self._retire(worker)
            elif not worker.superseded and self._holds_too_much(worker, frame, job):
                self._supersede(worker)
            else:
                self._idle.put_nowait(worker)
            self._handoffs.record(job.stop)
            # The slot is free before the call's answer goes out (answer() waits for the end).
            job.finish()

    def _holds_too_much(self, worker: _Worker, ended: Ended, job: _Job) -> bool:
        """Whether ``worker`` has held more memory by the end of ``job``'s call than it may.

        The log line that says so names the call's request id, which its client has.

        Its peak counts, not only what it holds at the end: a worker whose peak is over its
        bound would stop every later call at its first poll (:mod:`advisor.service.worker`).
        """
        most = self._max_worker_bytes
        held = max(
            (b for b in (ended.resident_bytes, ended.peak_bytes) if b is not None), default=0
        )
        if most is None or held <= most:
            return False
        # Once the server shuts down none is replaced, unless a call waits for a worker.
        fate = "replacing it" if self._replacement_needed() else f"letting it go, {_NOT_REPLACED}"
        _LOGGER.warning(  # as every other worker's replacement is
            # To a tenth: whole MiB read "held 100 MiB, over worker_max_memory_mib 100".
            "worker process %d held up to %.1f MiB by the end of a %s call (request %s), over "
            "worker_max_memory_mib %d; %s",
            worker.process.pid,
            held / 2**20,
            job.method,
            job.request_id,
            most // 2**20,
            fate,
            extra={FIELDS: {"request_id": job.request_id}},
        )
        return True

    def _supersede(self, worker: _Worker) -> None:
        """Replace ``worker``, idle and over its memory bound; it serves on until then.

        Let go at once, it left its slot without a worker while the replacement loaded the
        engines (about half a second, more on a busy machine): a call that came meanwhile
        waited that long, where an idle pool answers at once. It serves only calls of
        :data:`_LIGHT_METHODS` meanwhile, without the memory bound it is over already (any
        other waits for the replacement, :meth:`_idle_worker`). Once the replacement is ready
        it takes the worker's place (:meth:`_retire`); until then both run, but only the worker
        serves. Once the server shuts down, unless a call waits for a worker, no replacement is
        started and the worker is let go at once.

        So the pool holds more processes than it has slots for a while, by design: at most one
        loading replacement per superseded worker, and retired workers finishing the call they
        took meanwhile (each on one of the admission's slots) or exiting (killed after
        :data:`_EXIT_SECONDS`); those exiting aside, fewer than three per slot. Calls at once
        stay bounded by the admission. A worker that died is replaced only once its exit is
        handled.
        """
        if not self._replacement_needed():
            self._retire(worker)
            return
        worker.superseded = True
        worker.control.memory_bound = math.inf  # over it already: it would stop a ListPresets
        self._start_replacement(replacing=worker)
        self._idle.put_nowait(worker)

    def _retire(self, worker: _Worker) -> None:
        """Take ``worker`` out of service: no new call goes to it; idle, its input is closed."""
        worker.retired = True
        if worker.job is None:
            self._close_input(worker)

    def _close_input(self, worker: _Worker) -> None:
        """Send ``worker`` :class:`Exit` and close its input; kill it if it has not exited in time.

        It has :data:`_EXIT_SECONDS` (:meth:`_expect_exit`) to end the call it has, if any (only
        at the close, when the drain is over), and exit. A retired worker that never exited was
        left running for good beside its replacement, a process and its memory more for every
        such retirement.
        """
        stdin = worker.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.write(encode_frame(Exit()))
            stdin.close()
        self._expect_exit(worker, "its input was closed")

    def _on_exit(self, worker: _Worker, status: int) -> None:
        if worker.doom is not None:
            worker.doom.cancel()
            worker.doom = None
        self._workers.discard(worker)
        worker.control.close()
        description = _exit_description(worker.process.pid, status)
        started = worker.ready.done()
        if not started:
            worker.ready.set_exception(WorkerExitedError(description))
            # Retrieved by start() during start-up; later nobody waits for it.
            worker.ready.exception()
            self._start_failed()
        job, worker.job = worker.job, None
        if job is not None:
            job.worker = None
            if job.accepted or job.ended or self._closing:
                error = WorkerExitedError(f"{description} during {job.method}")
                job.fail(error)
            else:
                self._resend_later(job)
        if worker.superseded:  # let go for its memory, its replacement started then
            if status != 0 and not self._closing:
                _LOGGER.warning("%s; its replacement was started already", description)
            return
        if worker.retired and status == 0:  # let go for its memory during the shutdown
            return
        if not self._replacement_needed():
            if not self._closing:
                _LOGGER.warning("%s; %s", description, _NOT_REPLACED)
            return
        _LOGGER.warning("%s; starting another", description)
        # A replacement that died before it was ready passes on the worker it was to replace.
        self._start_replacement(worker.replacing, 0.0 if started else _RESTART_DELAY_SECONDS)

    def _start_replacement(self, replacing: _Worker | None = None, delay: float = 0.0) -> None:
        """Start a worker on a task, after ``delay`` seconds, in place of one that exited.

        Or in place of ``replacing``, which serves until the new worker is ready. The task is
        :meth:`close`'s to cancel: a spawn left to finish after the close would start a worker
        process that outlives the pool.
        """
        replacement = asyncio.create_task(self._replace(replacing, delay))
        self._replacements.add(replacement)
        replacement.add_done_callback(self._replacements.discard)

    async def _replace(self, replacing: _Worker | None, delay: float) -> None:
        """Start a worker after ``delay`` seconds, if still needed; a failed spawn is tried again.

        A spawn may fail for a moment (fork's EAGAIN at a container's process limit, ENOMEM
        under the memory pressure that retires workers); given up, the slot would have no
        worker for good, its calls waiting for one until their deadlines while health reads
        SERVING. Tried every :data:`_RESTART_DELAY_SECONDS` while a replacement is needed.
        For the same reason a worker not ready within :data:`_START_SECONDS`, as a worker
        starting with the server must be, is killed: hung while loading the engines, it held
        the slot with no worker for good. Its exit starts another, as any worker's does.
        """
        await asyncio.sleep(delay)
        while self._replacement_needed():
            try:
                replacement = await self._launch()
                replacement.replacing = replacing  # set before its Ready frame can be read
                # Cancelled by close(), which kills a worker still loading itself.
                await asyncio.wait([replacement.ready], timeout=_START_SECONDS)
                if not replacement.ready.done():
                    _LOGGER.warning(
                        "worker process %d was not ready within %g s; killing it",
                        replacement.process.pid,
                        _START_SECONDS,
                    )
                    with contextlib.suppress(ProcessLookupError):
                        replacement.process.kill()
                elif replacement.ready.exception() is None:
                    # The warning of the exit said "starting another": this closes it.
                    _LOGGER.info("worker process %d is ready in its place", replacement.process.pid)
                    if self._on_replaced is not None:
                        self._on_replaced()  # one that exited before it was ready starts another
                return
            except OSError as error:
                _LOGGER.warning(
                    "could not spawn a worker process (%s); trying again in %g s",
                    error,
                    _RESTART_DELAY_SECONDS,
                )
                self._start_failed()
            await asyncio.sleep(_RESTART_DELAY_SECONDS)

    def _start_failed(self) -> None:
        """Report the server not serving if no worker can take calls, now a start has failed.

        A worker loading the engines in place of one that died is on its way (the next call
        waits for it, about half a second), so a death alone leaves health as it is. But once
        a new worker could not be spawned (fork's EAGAIN at a process limit, ENOMEM) or exited
        before it was ready, a server with no worker left would wait every call out until its
        deadline while health read SERVING, and load balancers kept sending it calls.
        """
        if not any(w.alive and w.ready.done() and not w.retired for w in self._workers):
            self._report_serving(False)

    def _report_serving(self, serving: bool) -> None:
        """Tell ``on_serving`` whether a worker can take calls, when that changes."""
        if serving == self._serving or self._closing:
            return
        self._serving = serving
        if serving:
            _LOGGER.info("a worker process is ready again; health SERVING")
        else:
            _LOGGER.warning(
                "no worker process can take calls; health NOT_SERVING until one is ready"
            )
        if self._on_serving is not None:
            self._on_serving(serving)
        if not serving:  # each call waiting for a worker wakes, and is refused
            for _ in range(self._waiting):
                self._idle.put_nowait(None)


def _exit_description(pid: int, status: int) -> str:
    how = f"signal {signal.Signals(-status).name}" if status < 0 else f"status {status}"
    return f"worker process {pid} exited with {how}"
