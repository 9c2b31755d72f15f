"""When a long computation must stop: one signal carrying a deadline and a cancellation.

A search or an analysis polls a :class:`StopSignal` between chunks of its work. The signal holds
an *absolute* deadline on its clock (``time.monotonic`` unless told otherwise), so the
computation can plan against it — reserve time for the work that must follow, stop early enough
to return a partial result before the deadline — instead of only noticing that it has passed.
Cancellation is an event any thread may set (gRPC's ``context.add_callback(signal.cancel)``, a
signal handler); a cancelled signal has no time left.

Signals form a chain: a signal made from a *parent* (:meth:`StopSignal.limited`,
:meth:`StopSignal.earlier`, :meth:`StopSignal.share`) stops when the parent stops, and its
deadline is never later than the parent's. The parent's deadline may move forward later
(:meth:`StopSignal.bring_forward`, e.g. when a server begins its shutdown drain), and every
signal made from it follows: a lead stays the same seconds, a share the same share of the time.

A deadline may say what set it (:class:`StopCause`: the caller's deadline, a server's shutdown,
a ``FinishSearch``), so a computation it stops can say what stopped it rather than advise a
longer time limit where the time limit was not the cause (:attr:`StopSignal.cause`).

Every bad argument is refused with :class:`~advisor.errors.InvalidRequestError` naming it, as
the library's other entry points do: :class:`StopSignal` is public (``advisor.StopSignal``).
This module imports nothing else of the advisor but :mod:`advisor.words` (the numbers those
refusals name), so every layer above the errors may use it.
"""

from __future__ import annotations

import enum
import math
import numbers
import threading
import time
from collections.abc import Callable
from typing import Final, NoReturn

from advisor.errors import InvalidRequestError
from advisor.words import number_text

__all__ = ["Clock", "StopCause", "StopSignal"]

Clock = Callable[[], float]
"""A monotonic clock in seconds, such as :func:`time.monotonic`."""


class StopCause(enum.Enum):
    """What set a deadline other than a computation's own time limit (its words name it)."""

    CALL_DEADLINE = "the call's deadline"
    SHUTDOWN = "the server's shutdown"
    FINISH = "a FinishSearch call"
    CANCEL = "a cancel"


class StopSignal:
    """An optional absolute deadline and a cancellation, optionally under a parent signal.

    Parameters
    ----------
    deadline
        The moment, on ``clock``, the computation must be done by; None for no deadline of its
        own. A moment, not a duration: ``StopSignal(5.0)`` passed long ago on
        :func:`time.monotonic`, and a search under it returns its shallow baseline at once;
        :meth:`after` makes a signal that stops a number of seconds from now.
    parent
        A signal this one follows: cancelled when it is, never a deadline later than its
        deadline minus ``lead``. A signal with a parent reads the parent's clock.
    lead
        Seconds this signal's deadline runs ahead of the parent's (non-negative).
    share
        The share, in (0, 1], of the time from this signal's creation to the parent's deadline
        (less ``lead``) that this signal's deadline leaves: 0.75 stops when three quarters of
        it have passed, wherever the parent's deadline moves.
    clock
        The clock of ``deadline``, for a signal without a parent (one with a parent reads its
        parent's); None for :func:`time.monotonic`, looked up when the signal is made.
    cause
        What set ``deadline``, said by :attr:`cause` while it is the deadline in force; None
        for a computation's own time limit, or a deadline that says nothing of itself.

    Raises
    ------
    InvalidRequestError
        On the argument that is not what it must be: ``deadline`` no number or NaN, ``lead``
        negative, ``share`` outside (0, 1], ``parent`` no :class:`StopSignal`, ``clock`` not
        callable, ``cause`` no :class:`StopCause`. A bool is no number, Python's or NumPy's.

    Examples
    --------
    >>> signal = StopSignal.after(60.0)
    >>> signal.stopped(), 59.0 < signal.remaining() <= 60.0
    (False, True)
    >>> child = signal.limited(None)
    >>> signal.cancel()
    >>> child.stopped(), child.remaining()
    (True, 0.0)
    """

    def __init__(
        self,
        deadline: float | None = None,
        *,
        parent: StopSignal | None = None,
        lead: float = 0.0,
        share: float = 1.0,
        clock: Clock | None = None,
        cause: StopCause | None = None,
    ) -> None:
        if deadline is not None:
            _moment(deadline)
        if parent is not None and not isinstance(parent, StopSignal):
            _refuse("parent", "a StopSignal or None", type(parent).__name__)
        _cause(cause)
        self._deadline = deadline
        self._parent = parent
        self._lead = _lead(lead, "lead")
        self._share = _share(share, "share")
        self._cause = cause
        if parent is not None and clock is not None:
            # Ignored, the parent's read instead: a caller's own clock went unused, unsaid.
            _refuse("clock", "left out beside a parent, whose clock a signal reads", "a clock")
        self.clock: Clock = _clock(clock) if parent is None else parent.clock
        self._created = _reading(self.clock)
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    @classmethod
    def after(cls, seconds: float | None, *, clock: Clock | None = None) -> StopSignal:
        """Return a signal whose deadline is ``seconds`` from now (None: no deadline).

        Raises
        ------
        InvalidRequestError
            On ``seconds`` when it is no number (a string, a bool) or NaN; on ``clock`` when it
            is not callable.
        """
        own = _clock(clock)
        deadline = None if seconds is None else _reading(own) + _seconds(seconds)
        return cls(deadline, clock=own)

    def limited(self, seconds: float | None, cause: StopCause | None = None) -> StopSignal:
        """Return a signal that follows this one and also stops ``seconds`` from now.

        ``None`` adds no deadline: the new signal can then be cancelled on its own without
        cancelling this one. ``cause``: what the deadline is (see :attr:`cause`).

        Raises
        ------
        InvalidRequestError
            On ``seconds`` when it is no number or NaN, on ``cause`` when it is no
            :class:`StopCause`.
        """
        deadline = None if seconds is None else self.clock() + _seconds(seconds)
        return StopSignal(deadline, parent=self, cause=cause)

    def earlier(self, seconds: float) -> StopSignal:
        """Return a signal that follows this one with its deadline ``seconds`` earlier.

        Raises
        ------
        InvalidRequestError
            On ``seconds`` when it is no non-negative number.
        """
        return StopSignal(parent=self, lead=_lead(seconds, "seconds"))

    def share(self, fraction: float) -> StopSignal:
        """Return a signal that follows this one and leaves ``fraction`` of its time from now.

        Its deadline is ``now + fraction * (deadline - now)`` for this signal's deadline at
        any later moment: brought forward, the share shrinks with it (a lead of fixed seconds,
        :meth:`earlier`, could then pass at once). Without a deadline it has none.

        Raises
        ------
        InvalidRequestError
            On ``fraction`` when it is no number in (0, 1].
        """
        return StopSignal(parent=self, share=_share(fraction, "fraction"))

    @property
    def deadline(self) -> float | None:
        """The moment on :attr:`clock` to be done by, parents included; None when there is none."""
        own, inherited = self._deadline, self._inherited()
        if inherited is None:
            return own
        return inherited if own is None else min(own, inherited)

    @property
    def cause(self) -> StopCause | None:
        """What set the deadline in force, this signal's or a parent's; None where nothing did.

        None: a computation's own time limit (the signal a search makes of its budget's), a
        deadline made without a cause, or none at all. A parent's deadline earlier than this
        signal's own is the one in force, and its cause this one's. A cancel (:meth:`cancel`,
        this signal's or a parent's) stops at once, whatever the deadline: its cause is
        :attr:`StopCause.CANCEL`.
        """
        if self.cancelled:
            return StopCause.CANCEL
        inherited = self._inherited()
        if self._parent is None or inherited is None:
            return self._cause
        if self._deadline is None or inherited < self._deadline:
            return self._parent.cause
        return self._cause

    def _inherited(self) -> float | None:
        """Return the parent's deadline, less the lead and as the share leaves it (None: none)."""
        if self._parent is None:
            return None
        inherited = self._parent.deadline
        if inherited is None:
            return None
        inherited -= self._lead
        if self._share != 1.0:
            inherited = self._created + self._share * (inherited - self._created)
        return inherited

    @property
    def cancelled(self) -> bool:
        """Whether this signal or a parent was cancelled."""
        return self._cancelled.is_set() or (self._parent is not None and self._parent.cancelled)

    def remaining(self) -> float:
        """Return the seconds left before the deadline: 0 once stopped, ``inf`` without one."""
        if self.cancelled:
            return 0.0
        deadline = self.deadline
        return math.inf if deadline is None else max(deadline - self.clock(), 0.0)

    def stopped(self) -> bool:
        """Poll: True once the deadline has passed or the signal was cancelled."""
        return self.remaining() <= 0.0

    def cancel(self) -> None:
        """Stop now, and every signal that follows this one (safe from any thread)."""
        self._cancelled.set()

    def __repr__(self) -> str:
        """Show what a log or a debugger asks of a signal: why it stopped, or the time left."""
        remaining = self.remaining()
        if self.cancelled:
            state = "cancelled"
        elif remaining <= 0.0:
            state = "deadline passed"
        else:
            state = "no deadline" if math.isinf(remaining) else f"{remaining:.3f} s left"
        return f"<StopSignal: {state}>"

    def bring_forward(self, deadline: float, cause: StopCause | None = None) -> None:
        """Move this signal's own deadline to ``deadline`` unless it is already earlier.

        ``cause``: what brought it forward, the signal's :attr:`cause` from then on.

        Raises
        ------
        InvalidRequestError
            On ``deadline`` when it is no number (a string, a bool) or NaN, which compared below
            no deadline and made a child that never stopped; on ``cause`` when it is no
            :class:`StopCause`.
        """
        _moment(deadline)
        _cause(cause)
        with self._lock:
            if self._deadline is None or deadline < self._deadline:
                self._deadline = deadline
                self._cause = cause


def _moment(deadline: float) -> None:
    """Refuse a ``deadline`` that is no moment on the clock: no number (a string, a bool), NaN.

    The one check of a signal's own deadline, made and brought forward alike: NaN compares
    below no deadline, so a signal holding it never stopped.
    """
    _number(deadline, "deadline", "a moment on the clock")


def _seconds(seconds: float) -> float:
    """Return ``seconds``, a duration, or say what is wrong with it naming ``seconds``.

    Unchecked, ``"5"`` failed inside with "unsupported operand type(s) for +: 'float' and
    'str'", and NaN was refused as "deadline must be a moment on the clock".
    """
    return _number(seconds, "seconds", "a number of seconds or None")


def _lead(seconds: float, argument: str) -> float:
    """Return ``seconds`` a deadline runs ahead of its parent's; refuse a negative one."""
    what = "a non-negative number of seconds"
    lead = _number(seconds, argument, what)
    if lead < 0.0:
        _refuse(argument, what, str(seconds))
    return lead


def _share(fraction: float, argument: str) -> float:
    """Return ``fraction``, the share of its parent's time a signal leaves: in (0, 1]."""
    what = "a share of the time in (0, 1]"
    share = _number(fraction, argument, what)
    if not 0.0 < share <= 1.0:
        _refuse(argument, what, str(fraction))
    return share


def _clock(clock: Clock | None) -> Clock:
    """Return ``clock``, refused unless it is callable (it is called for every poll).

    None is :func:`time.monotonic` as it is now, looked up when a signal is made.
    """
    if clock is None:
        return time.monotonic
    if not callable(clock):
        _refuse("clock", _CLOCK, type(clock).__name__)
    return clock


_CLOCK: Final = "a function returning seconds, such as time.monotonic"
"""What a signal's ``clock`` must be, as its refusals say."""


def _reading(clock: Clock) -> float:
    """Return ``clock``'s reading, refused unless it is a number of seconds.

    Read once when a signal is made: a clock returning a string failed at the first poll, with
    Python's TypeError, far from where it was given.
    """
    reading = clock()
    given = _no_number(reading)
    if given is not None:
        _refuse("clock", _CLOCK, f"one returning {given}")
    return float(reading)


def _cause(cause: StopCause | None) -> None:
    """Refuse a ``cause`` that is no :class:`StopCause`: its words would be no cause's."""
    if cause is not None and not isinstance(cause, StopCause):
        _refuse("cause", "a StopCause or None", type(cause).__name__)


def _number(value: float, argument: str, what: str) -> float:
    """Return ``value`` as a float if it is a real number, not NaN; else refuse it as ``what``."""
    given = _no_number(value)
    if given is not None:
        _refuse(argument, what, given)
    return float(value)


def _no_number(value: object) -> str | None:
    """Say what ``value`` is where it is no real number a float holds, or NaN; else None.

    Its type (a text given could be anything, however long), the number past a float's range
    (10**400, which ``float`` refuses with an OverflowError), or ``NaN``. A bool is no number
    though Python counts it an ``int`` (``True`` seconds is no duration); NumPy's is no
    :class:`numbers.Real` at all.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return type(value).__name__
    try:
        number = float(value)
    except OverflowError:
        return number_text(value)
    return "NaN" if math.isnan(number) else None


def _refuse(argument: str, what: str, given: str) -> NoReturn:
    """Refuse what was ``given`` for ``argument`` (a number, else its type), which must be ``what``.

    A type, not the text of a string or an object given, which could be anything, however long.
    """
    raise InvalidRequestError.single(argument, f"must be {what}, not {given}")
