"""A worker process: runs advisor calls' work for the serving process, one call at a time.

:class:`~advisor.service.process_pool.ProcessWorkers` starts it as ``python -m
advisor.service.worker FD PID``, ``FD`` being its control block
(:mod:`advisor.service.worker_link`) and ``PID`` the serving process's id, and talks to it in
frames on its standard input and output. The worker loads the engines once, then runs each job with
the servicer, the same code as in the serving process (:func:`advisor.service.calls.run_call`). The
serving process holds the job's admission slot; here the servicer's stop signals read the control
block, so the end of the call (its client cancelled, its deadline passed) and the shutdown drain
stop the work at its next poll, as on a thread.

The same polls bound the worker's memory (``worker_max_memory_mib``, in the control block): at
most every :data:`MEMORY_CHECK_SECONDS` a poll reads the most the process has held at once, and
over the bound the call's work stops and the call ends ``RESOURCE_EXHAUSTED`` naming the bound;
the serving process then replaces the worker. Checked only once a call had ended, the bound let
one call take a worker to 1 GiB, where a container's memory limit could bring the OOM killer.

The worker lowers its own priority by the server's ``worker_niceness``, so that on a busy machine
the serving process (health, admission, refusals) gets a core before the searches do. It ignores
SIGINT, SIGTERM and SIGHUP (the server's ``DRAIN_SIGNALS``), which a terminal or a supervisor may
send to the whole process group: the serving process drains and then closes the worker's input,
and the worker exits once its job is done. It never outlives the serving process: the kernel
kills it once that process has exited (:func:`_die_with_parent`), idle or amid a call, even while
a child the serving process forked holds a copy of the worker's pipes.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import BinaryIO

from advisor.service.calls import Outcome, run_call
from advisor.service.limits import RequestLimits
from advisor.service.logs import configure_logging
from advisor.service.machine import peak_resident_bytes, resident_bytes
from advisor.service.request_ids import CALL_REQUEST_ID
from advisor.service.server import DRAIN_SIGNALS, freeze_long_lived_objects
from advisor.service.servicer import AdvisorServicer
from advisor.service.status import memory_status
from advisor.service.threads import ThreadContext
from advisor.service.worker_link import (
    Accepted,
    ControlBlock,
    Ended,
    Job,
    Ready,
    Response,
    Setup,
    Status,
    encode_frame,
    read_frame,
)
from advisor.stopping import Clock, StopCause, StopSignal

__all__ = ["MEMORY_CHECK_SECONDS", "CallEnd", "WorkerContext", "WorkerGate", "main"]

MEMORY_CHECK_SECONDS = 0.05
"""How often, at most, a poll of a call's stop signal reads the worker's memory (a read of
``/proc/self/status``, 16 microseconds; a search polls every few milliseconds)."""

# The modules the servicer imports when a call first needs them; a worker loads them before it
# reports ready, so no call waits for them.
_ENGINES = ("advisor.search.recommend", "advisor.seprank.analysis", "advisor.infer.task")
# The call id of no call: call ids start at 1, and a control block starts with 0 ended.
_NO_CALL = -1

_MIB = 2**20
"""Bytes in a MiB, the unit of ``--worker-max-memory``."""

# prctl(2)'s option that has the kernel signal this process once its parent has exited.
_PR_SET_PDEATHSIG = 1


class CallEnd(StopSignal):
    """The end of the worker's current call, as the serving process writes it in ``control``.

    Cancelled once the serving process marks the call ended, or once the worker has held more
    memory than the bound in ``control`` (read by ``peak_memory`` at a poll, at most every
    :data:`MEMORY_CHECK_SECONDS` on ``clock``). A serving process that is gone takes the worker
    with it (:func:`_die_with_parent`), amid a call or not. Its deadline
    is the end of the shutdown drain, once there is one, or the deadline the call was asked to
    finish by (``FinishSearch``), if earlier. Every call's stop signal follows it, as on a thread
    every call's signal follows the admission's drain and its own context's hurry.
    """

    def __init__(
        self,
        control: ControlBlock,
        peak_memory: Callable[[], int | None] = peak_resident_bytes,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self._control = control
        self._peak_memory = peak_memory
        self._next_check = -math.inf
        self.call_id = _NO_CALL
        self.over_bound: tuple[int, float] | None = None
        """What the worker held and its bound (bytes), once over it in this call; else None."""

    def begin(self, call_id: int) -> None:
        """Follow call ``call_id``: not ended, not over the memory bound."""
        self.call_id = call_id
        self.over_bound = None
        self._next_check = -math.inf

    @property
    def deadline(self) -> float | None:
        """The end of the shutdown drain, or the current call's hurry if earlier; None: neither."""
        deadline = min(self._control.drain_deadline, self._control.hurry_deadline(self.call_id))
        return deadline if math.isfinite(deadline) else None

    @property
    def cause(self) -> StopCause | None:
        """What set :attr:`deadline`: the server's shutdown or ``FinishSearch``; None: neither."""
        drain, hurry = self._control.drain_deadline, self._control.hurry_deadline(self.call_id)
        if not math.isfinite(min(drain, hurry)):
            return None
        return StopCause.SHUTDOWN if drain <= hurry else StopCause.FINISH

    @property
    def draining(self) -> bool:
        """Whether the serving process has begun its shutdown drain."""
        return math.isfinite(self._control.drain_deadline)

    @property
    def ended(self) -> bool:
        """Whether the serving process has marked the current call ended."""
        return self._control.ended_call == self.call_id

    @property
    def cancelled(self) -> bool:
        """Whether the call has ended or is over the bound."""
        return self.ended or self._over_bound()

    def _over_bound(self) -> bool:
        """Whether the worker has held more than its bound during the call (read now and then)."""
        if self.over_bound is not None:
            return True
        now = self.clock()
        if now < self._next_check:
            return False
        self._next_check = now + MEMORY_CHECK_SECONDS
        held, bound = self._peak_memory(), self._control.memory_bound
        if held is None or held <= bound:
            return False
        self.over_bound = held, bound
        return True


class WorkerGate:
    """The servicer's admission in a worker: the serving process holds the slot for the job."""

    def __init__(self, call_end: CallEnd) -> None:
        self._call_end = call_end

    def admit(self) -> AbstractContextManager[None]:
        """Nothing to take: the job was admitted before it was sent here."""
        return contextlib.nullcontext()

    @property
    def drain(self) -> StopSignal:
        """The current call's end and the drain deadline (:class:`CallEnd`)."""
        return self._call_end

    @property
    def shutting_down(self) -> bool:
        """Whether the serving process has begun its drain."""
        return self._call_end.draining


class WorkerContext(ThreadContext):
    """A job's context: its deadline, and active until the serving process marks it ended."""

    def __init__(self, call_end: CallEnd, deadline: float) -> None:
        super().__init__(deadline=deadline)
        self._call_end = call_end

    def is_active(self) -> bool:
        """Whether the call has neither ended nor passed its deadline."""
        return not self._call_end.ended and super().is_active()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve jobs from standard input until it closes; return the exit status."""
    control_fd, serving_pid = sys.argv[1:] if argv is None else argv
    if not _die_with_parent(int(serving_pid)):
        return 0
    frames_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Whatever a library prints goes to the log, never into the frames.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for signum in DRAIN_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    configure_logging(worker_pid=os.getpid())
    frames_in = sys.stdin.buffer
    setup = read_frame(frames_in)
    if not isinstance(setup, Setup):
        return 0
    os.nice(setup.niceness)
    for engine in _ENGINES:
        importlib.import_module(engine)
    freeze_long_lived_objects()
    call_end = CallEnd(ControlBlock(int(control_fd)))
    limits = RequestLimits.model_validate_json(setup.limits_json)
    servicer = AdvisorServicer(limits, WorkerGate(call_end))
    try:
        _send(frames_out, Ready())
        while _serve_next(servicer, call_end, frames_in, frames_out):
            pass
    except BrokenPipeError:  # the serving process is gone: nobody to answer
        pass
    return 0


def _serve_next(
    servicer: AdvisorServicer, call_end: CallEnd, frames_in: BinaryIO, frames_out: BinaryIO
) -> bool:
    """Read the next job and serve it; return False at :class:`Exit` or the end of the input.

    The job lives only in this call: a loop variable held the last one, the request's bytes
    included, for as long as the worker waited for the next.
    """
    job = read_frame(frames_in)
    if not isinstance(job, Job):
        return False
    _serve(servicer, call_end, job, frames_out)
    return True


def _serve(servicer: AdvisorServicer, call_end: CallEnd, job: Job, frames_out: BinaryIO) -> None:
    _send(frames_out, Accepted())
    call_end.begin(job.call_id)
    context = WorkerContext(call_end, job.deadline)
    request_id = CALL_REQUEST_ID.set(job.request_id)  # for the lines about the call
    try:
        for frame in _bounded(run_call(servicer, job.method, job.payload, context), call_end):
            _send(frames_out, frame)
    finally:
        CALL_REQUEST_ID.reset(request_id)
    call_end.call_id = _NO_CALL
    _send(frames_out, Ended(resident_bytes(), _peak_through(call_end)))


def _peak_through(call_end: CallEnd) -> int | None:
    """Return the worker's peak memory by the end of ``call_end``'s call, as its client was told.

    The kernel's high-water mark, or what the call was stopped over, if more: the mark is
    summed from per-thread counters the kernel folds in now and then, so a reading at the end
    came 0.2 MiB under the one a poll had stopped the call at, and the serving process logged a
    peak below the figure its client got (122.1 MiB told, 121.9 logged).
    """
    peak = peak_resident_bytes()
    if call_end.over_bound is None:
        return peak
    return max(peak or 0, call_end.over_bound[0])


def _bounded(outcomes: Iterator[Outcome], call_end: CallEnd) -> Iterator[Response | Status]:
    """Return the frames of a call's ``outcomes``, its end RESOURCE_EXHAUSTED once over its bound.

    What the work answers once the bound stopped it (a search's best so far, an analysis's
    stop) is not the call's answer: it would read as a time limit or a cancellation.
    """
    for outcome in outcomes:
        if call_end.over_bound is not None:
            continue
        if isinstance(outcome, bytes):
            yield Response(outcome)
        else:
            yield Status(outcome.code.name, outcome.details, outcome.trailing_metadata)
    if call_end.over_bound is not None:
        held, bound = call_end.over_bound
        status = memory_status(_over_bound_message(held, bound), held / _MIB, bound / _MIB)
        yield Status(status.code.name, status.details, tuple(status.trailing_metadata))


def _over_bound_message(held: int, bound: float) -> str:
    """Say that a call took its worker to ``held`` bytes, over its ``bound``, and what to do."""
    return (
        f"the call took its worker process to {held / _MIB:,.1f} MiB, over this server's bound of "
        f"{bound / _MIB:,.0f} MiB a worker (--worker-max-memory): send a smaller request (fewer "
        "or smaller regions, fewer widths), or send it to a server with a larger bound"
    )


def _die_with_parent(serving_pid: int) -> bool:
    """Have the kernel kill this process (SIGKILL) once its parent, the serving process, exits.

    Returns whether the serving process ``serving_pid`` is still this process's parent: if it
    exited before the kernel was asked (while the interpreter was importing the worker's modules,
    a second or more), no signal will come, and the worker must end by itself.

    The end of the worker's input is no sign of that end while another process holds a copy of
    the pipe (a child the serving process forked): an idle worker, or one still loading the
    engines, waited in its read for as long as that child lived, an orphan of init.

    SIGKILL, as the worker ignores SIGTERM (:data:`~advisor.service.server.DRAIN_SIGNALS`, which a
    supervisor sends the whole group) and a handler would run only between two of Python's
    bytecodes, not amid a long computation in C; and it skips nothing the worker must do: its
    control block (a memfd) and its pipes are the kernel's to free, it writes no files, and its
    answers have no reader left. The kernel signals on the exit of the thread that spawned the
    worker, the servers' event loop (:mod:`advisor.service.server`), which lasts as long as the
    serving process.

    Raises
    ------
    OSError
        If the kernel refuses (``prctl`` is Linux's, the product's platform).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl(PR_SET_PDEATHSIG): {os.strerror(error)}")
    return os.getppid() == serving_pid


def _send(frames_out: BinaryIO, frame: object) -> None:
    frames_out.write(encode_frame(frame))
    frames_out.flush()


if __name__ == "__main__":
    sys.exit(main())
