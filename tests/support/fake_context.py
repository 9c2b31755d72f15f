"""A stand-in for grpc.ServicerContext, so servicer methods can be called directly."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import grpc

__all__ = ["AbortError", "FakeContext"]


class AbortError(Exception):
    """What grpc does on abort: end the handler with a status (here, one a test can read)."""

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        trailing_metadata: tuple[tuple[str, str | bytes], ...],
    ) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


class FakeContext:
    """The parts of grpc.ServicerContext the servicer uses: deadline, cancellation, abort.

    As in gRPC, the callbacks given to :meth:`add_callback` run when the call is cancelled.
    """

    def __init__(
        self, timeout: float | None = None, metadata: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self._deadline = math.inf if timeout is None else time.monotonic() + timeout
        self._cancelled = False
        self._metadata = metadata
        self.trailing_metadata: tuple[tuple[str, str | bytes], ...] = ()
        self._callbacks: list[Callable[[], object]] = []

    def cancel(self) -> None:
        self._cancelled = True
        for callback in self._callbacks:
            callback()

    def add_callback(self, callback: Callable[[], object]) -> bool:
        if self._cancelled:
            return False
        self._callbacks.append(callback)
        return True

    def is_active(self) -> bool:
        return not self._cancelled and time.monotonic() < self._deadline

    def time_remaining(self) -> float:
        return max(self._deadline - time.monotonic(), 0.0)

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def set_trailing_metadata(self, metadata: tuple[tuple[str, str | bytes], ...]) -> None:
        self.trailing_metadata = tuple(metadata)

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise AbortError(code, details, self.trailing_metadata)

    def abort_with_status(self, status: grpc.Status) -> None:
        raise AbortError(
            status.code, status.details, (*self.trailing_metadata, *status.trailing_metadata)
        )
