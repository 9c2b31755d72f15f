"""What the serving process and a worker process exchange: frames on pipes, and a control block.

Frames go both ways on the worker's standard input and output: a 4-byte big-endian length, then a
pickled frame object. Pickle is safe here: both ends are this program, and a client's bytes travel
only as a ``bytes`` value inside a frame. The serving process sends the request limits and the
worker's niceness (:class:`Setup`), then one :class:`Job` at a time, and :class:`Exit` at the
end; the worker answers :class:`Ready` once it has loaded the engines, then for each job
:class:`Accepted` as soon as it has read it, its :class:`Response` messages, perhaps a
:class:`Status`, and :class:`Ended`.

The control block is 40 bytes of shared memory per worker (a memfd the worker inherits), written
by the serving process and read by the worker's stop signal at every poll, so stopping a call
costs no message and no wake-up: the end of the shutdown drain (a ``CLOCK_MONOTONIC`` moment,
which is system-wide on Linux; +inf before a shutdown), the id of the last call that ended
(cancelled, past its deadline, or done; only the largest is kept), and the id of the last call
asked to finish early (a named search, ``FinishSearch``) with the deadline it was given, and the
most memory the worker's calls may take it to (``worker_max_memory_mib`` in bytes; +inf: no
bound, as for a worker being replaced). Each is an aligned 8-byte word, written and read whole.
"""

from __future__ import annotations

import asyncio
import math
import mmap
import os
import pickle
import struct
from dataclasses import dataclass
from typing import BinaryIO

from advisor.service.threads import Metadata

__all__ = [
    "Accepted",
    "ControlBlock",
    "Ended",
    "Exit",
    "Job",
    "Ready",
    "Response",
    "Setup",
    "Status",
    "encode_frame",
    "read_frame",
    "receive_frame",
]

_LENGTH = struct.Struct("!I")
_DRAIN_DEADLINE = struct.Struct("=d")
_ENDED_CALL = struct.Struct("=q")
_HURRY_DEADLINE = struct.Struct("=d")
_HURRIED_CALL = struct.Struct("=q")
_MEMORY_BOUND = struct.Struct("=d")
_ENDED_AT = _DRAIN_DEADLINE.size
_HURRY_AT = _ENDED_AT + _ENDED_CALL.size
_HURRIED_AT = _HURRY_AT + _HURRY_DEADLINE.size
_BOUND_AT = _HURRIED_AT + _HURRIED_CALL.size
_BLOCK_BYTES = _BOUND_AT + _MEMORY_BOUND.size


@dataclass(frozen=True)
class Setup:
    """The first frame to a worker: the request limits (``RequestLimits`` JSON), its niceness."""

    limits_json: str
    niceness: int


@dataclass(frozen=True)
class Job:
    """One call's work: its id, the method, the request bytes, the deadline (monotonic; inf).

    ``request_id``: the call's request id (:mod:`advisor.service.request_ids`), which the
    worker's lines about the call and its ``INTERNAL`` error name.
    """

    call_id: int
    method: str
    payload: bytes
    deadline: float
    request_id: str | None = None


@dataclass(frozen=True)
class Exit:
    """The last frame to a worker: exit once the current job is done.

    Sent before its input is closed, as that close is no end of the input while another
    process holds a copy of the pipe (a child the serving process forked).
    """


@dataclass(frozen=True)
class Ready:
    """The worker has loaded the engines and waits for jobs."""


@dataclass(frozen=True)
class Accepted:
    """The worker has read the current job and starts its work.

    A worker that dies before sending it never started the job, so the job may go to another.
    """


@dataclass(frozen=True)
class Response:
    """One serialized response message of the current job."""

    message: bytes


@dataclass(frozen=True)
class Status:
    """The status the current job ends its call with (a ``grpc.StatusCode`` name)."""

    code: str
    details: str
    trailing_metadata: Metadata


@dataclass(frozen=True)
class Ended:
    """The current job's work has ended; the worker is free.

    ``resident_bytes``: the memory the worker holds now; ``peak_bytes``: the most it has held
    at once (None where the platform does not say). The serving process compares the larger
    with ``worker_max_memory_mib``.
    """

    resident_bytes: int | None = None
    peak_bytes: int | None = None


def encode_frame(frame: object) -> bytes:
    """Return ``frame`` as its length prefix and pickled body."""
    body = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(body)) + body


def read_frame(stream: BinaryIO) -> object | None:
    """Read one frame from a blocking ``stream``; None at the end of the stream."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(header)
    body = stream.read(length)
    if len(body) < length:
        return None
    frame: object = pickle.loads(body)
    return frame


async def receive_frame(reader: asyncio.StreamReader) -> object:
    """Read one frame on the event loop (``IncompleteReadError`` at the end of the stream)."""
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    frame: object = pickle.loads(await reader.readexactly(length))
    return frame


class ControlBlock:
    """One worker's control words in shared memory (see the module docstring).

    Parameters
    ----------
    fd
        A file descriptor of at least 40 bytes to map: :meth:`create` makes one in the serving
        process, the worker maps the one it inherited.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._memory = mmap.mmap(fd, _BLOCK_BYTES)

    @classmethod
    def create(cls) -> ControlBlock:
        """Make a block for a new worker: no call ended, no drain (its deadline +inf), no bound."""
        fd = os.memfd_create("advisor-worker-control")
        os.ftruncate(fd, _BLOCK_BYTES)
        block = cls(fd)
        block.drain_deadline = math.inf
        block.memory_bound = math.inf
        return block

    @property
    def drain_deadline(self) -> float:
        """The end of the shutdown drain on ``time.monotonic``'s clock; inf before a shutdown."""
        (deadline,) = _DRAIN_DEADLINE.unpack_from(self._memory, 0)
        return float(deadline)

    @drain_deadline.setter
    def drain_deadline(self, deadline: float) -> None:
        _DRAIN_DEADLINE.pack_into(self._memory, 0, deadline)

    @property
    def ended_call(self) -> int:
        """The id of the last call that ended (0: none yet)."""
        (call_id,) = _ENDED_CALL.unpack_from(self._memory, _ENDED_AT)
        return int(call_id)

    def end_call(self, call_id: int) -> None:
        """Record that call ``call_id`` ended, unless a later call already has.

        Call ids grow, and a worker takes its next call only once its current one has ended, so
        the largest id recorded is the only one that can be the worker's current call: an earlier
        call's end, reported late (its answer sent after the next call began, and that one
        cancelled), must not hide the current call's.
        """
        if call_id > self.ended_call:
            _ENDED_CALL.pack_into(self._memory, _ENDED_AT, call_id)

    def hurry_deadline(self, call_id: int) -> float:
        """Return the deadline call ``call_id`` was asked to finish by (monotonic); inf: none."""
        (hurried,) = _HURRIED_CALL.unpack_from(self._memory, _HURRIED_AT)
        if hurried != call_id:
            return math.inf
        (moment,) = _HURRY_DEADLINE.unpack_from(self._memory, _HURRY_AT)
        return float(moment)

    def hurry_call(self, call_id: int, deadline: float) -> None:
        """Record that call ``call_id`` was asked to finish by ``deadline`` (monotonic).

        The deadline is written before the id, so a worker that reads the id reads its
        deadline: the block holds one call's at a time, and the serving process writes only its
        worker's current call's.
        """
        _HURRY_DEADLINE.pack_into(self._memory, _HURRY_AT, deadline)
        _HURRIED_CALL.pack_into(self._memory, _HURRIED_AT, call_id)

    @property
    def memory_bound(self) -> float:
        """The most memory, in bytes, the worker's calls may take it to; inf for no bound."""
        (bound,) = _MEMORY_BOUND.unpack_from(self._memory, _BOUND_AT)
        return float(bound)

    @memory_bound.setter
    def memory_bound(self, bound: float) -> None:
        _MEMORY_BOUND.pack_into(self._memory, _BOUND_AT, bound)

    def close(self) -> None:
        """Unmap the block and close its descriptor."""
        self._memory.close()
        os.close(self.fd)
