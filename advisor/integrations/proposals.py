"""The advisor's ranking, fetched page by page in-process or from a server.

An integration asks the advisor once for as many ranked designs as it means to propose; past
``top_k`` it follows the page tokens (:mod:`advisor.search.paging`), so the designs come back in
one deterministic order without repeats. With ``target`` the calls go to a running service
(``advisor serve``) through :class:`advisor_client.AdvisorClient`; without, to the library.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from advisor.errors import (
    AdvisorError,
    BadRequestError,
    FieldViolation,
    InvalidRequestError,
    LimitExceededError,
    StalePageTokenError,
    StoppedError,
)
from advisor.model.architecture import Architecture
from advisor.model.arguments import checked_integer, require_instance
from advisor.model.budget import Budget
from advisor.model.results import Analysis, Recommendation, SearchResult
from advisor.model.task import Task
from advisor.protocol.metadata import DEFAULT_MAX_MESSAGE_BYTES
from advisor.stopping import StopSignal
from advisor.words import counted

if TYPE_CHECKING:
    # The client (and gRPC) is loaded when it is used, not by the Katib service's PAGE_SIZE.
    from advisor_client.client import AdvisorClient
    from advisor_client.connection import RetryPolicy, TlsConfig
    from advisor_client.conversions import BudgetLike, TaskLike

__all__ = ["PAGE_SIZE", "AdvisorSource", "fetch_ranking"]

_CONNECTION_SETTINGS: Final = ("token", "tls", "max_message_bytes", "retry")
"""The settings of a connection to a server, which an in-process source (no target) has no use
for: given without a target they are refused, not left unused."""

PAGE_SIZE: Final = 50
"""Designs asked per call: the service's default ``max_top_k``."""


@dataclass(frozen=True)
class AdvisorSource:
    """Where to ask: the library in-process (``target`` None) or a server at ``target``.

    The server is asked through :class:`advisor_client.AdvisorClient` with the connection
    settings given here, as that client takes them: ``token`` is the server's bearer token,
    ``tls`` its TLS settings (None: plaintext, which a TLS server refuses), ``max_message_bytes``
    the largest message either way (None: the client's default, 4 MiB; match the server's
    ``max_message_bytes`` when it allows larger). ``timeout`` is the deadline of each call
    (None: the client's default, at least the search's time limit plus a margin); in-process,
    each search's deadline, by which it returns the designs found so far, as a server's search
    does by its call's deadline (an analysis runs to its end).
    ``page_size`` is the most designs :func:`fetch_ranking` asks per call (None:
    :data:`PAGE_SIZE`, the service's default ``max_top_k``; match a server whose ``max_top_k``
    is lower, which refuses a larger ``top_k`` rather than paging). ``retry`` is the client's
    retry policy (None: its default): ``RetryPolicy(busy_wait_seconds=...)`` lets the trials of
    a study wait for a slot of a server with fewer workers than the study runs at once, rather
    than fail on its refusal.
    Its repr, as the client's, never shows the token.

    Raises
    ------
    InvalidRequestError
        When made, naming the setting, by the client's rules (:class:`advisor_client.AdvisorClient`,
        whose settings these are): ``target``, ``token``, ``tls``, ``max_message_bytes``,
        ``timeout``, ``retry``; and ``page_size`` (a whole number, at least 1). ``token``,
        ``tls``, ``max_message_bytes`` and ``retry`` without a ``target``, which in-process
        nothing would use, each named.
    """

    target: str | None = None
    token: str | None = field(default=None, repr=False)
    timeout: float | None = None
    tls: TlsConfig | None = None
    max_message_bytes: int | None = None
    page_size: int | None = None
    retry: RetryPolicy | None = None

    def __post_init__(self) -> None:
        from advisor_client.checks import checked_target, checked_timeout
        from advisor_client.connection import RetryPolicy, check_connection

        if self.target is not None:
            checked_target(self.target, plaintext=self.tls is None)
        limit = self.max_message_bytes
        check_connection(
            token=self.token,
            tls=self.tls,
            max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES if limit is None else limit,
        )
        if self.timeout is not None:  # as the client checks a call's, which it is for a server
            checked_timeout("timeout", self.timeout)
        if self.page_size is not None:
            checked_integer("page_size", self.page_size, 1)
        if self.retry is not None:
            require_instance(self.retry, RetryPolicy, "retry")
        if self.target is None:
            unused = [name for name in _CONNECTION_SETTINGS if getattr(self, name) is not None]
            if unused:
                raise InvalidRequestError(
                    [
                        FieldViolation(
                            name,
                            "applies only with a target: without one the library answers "
                            "in-process and no connection is made",
                        )
                        for name in unused
                    ]
                )

    @classmethod
    def of(cls, source: object) -> AdvisorSource:
        """Return ``source``, or the in-process source for None.

        Raises
        ------
        InvalidRequestError
            On ``source`` for anything else: a server address passed as is failed later with
            an ``AttributeError`` in the first call.
        """
        if source is None:
            return cls()
        if not isinstance(source, AdvisorSource):
            hint = ""
            if isinstance(source, str):
                hint = f" (for a server, AdvisorSource(target={source!r}))"
            raise InvalidRequestError.single(
                "source", f"must be an AdvisorSource{hint}, got {type(source).__name__}"
            )
        return source

    def recommend(self, task: Task, budget: Budget, stop: StopSignal | None = None) -> SearchResult:
        """Run one search (one page) where this source says.

        ``stop`` stops a search in-process, as does ``timeout``; a server's search ends by the
        call's timeout.
        """
        if self.target is None:
            from advisor.search.recommend import recommend

            if self.timeout is not None:
                stop = (stop or StopSignal()).limited(self.timeout)
            return recommend(task, budget, stop=stop)
        with self._client(self.target) as client:
            return client.recommend(task, budget, timeout=self.timeout)

    def analyze(self, task: Task, architecture: Architecture) -> Analysis:
        """Score one architecture against ``task`` where this source says.

        In-process the contiguous net is not priced (``contiguous_priced`` False): the callers
        read the figures, and the pricing is most of a small input's analysis.
        """
        if self.target is None:
            from advisor.seprank.analysis import analyze

            return analyze(task, architecture, price_contiguous=False)
        with self._client(self.target) as client:
            return client.analyze(task, architecture, timeout=self.timeout)

    def _client(self, target: str) -> AdvisorClient:
        """Open a client to ``target`` with this source's connection settings."""
        from advisor_client.client import AdvisorClient
        from advisor_client.connection import RetryPolicy

        limit = (
            DEFAULT_MAX_MESSAGE_BYTES if self.max_message_bytes is None else self.max_message_bytes
        )
        retry = RetryPolicy() if self.retry is None else self.retry
        return AdvisorClient(
            target, token=self.token, tls=self.tls, retry=retry, max_message_bytes=limit
        )


def fetch_ranking(
    task: TaskLike,
    budget: BudgetLike,
    count: int,
    source: AdvisorSource | None = None,
    stop: StopSignal | None = None,
    *,
    asked_as: str | None = None,
) -> list[Recommendation]:
    """Return the first ``count`` designs of the advisor's ranking (fewer if it has fewer).

    ``task`` and ``budget`` are whatever :class:`advisor_client.AdvisorClient` takes (a model,
    its mapping, a task file). ``budget.top_k`` and ``budget.page_token`` are replaced: pages of
    the source's ``page_size`` (:data:`PAGE_SIZE` by default) are asked until ``count`` designs
    have come, the ranking ends or ``stop`` stops (then the last page may be a stopped search's
    partial one). A page whose search ended otherwise before it was complete (the budget's time
    limit, the call's deadline) is warned of: its ranking depends on the machine's speed, so
    an AutoML study resumed elsewhere, or another worker, may get other designs. A later page
    whose search a stop cut before it scored every tree is refused (its ranks would not be the
    ranking's): the pages before it are returned, warned of as cut. A page refused
    as written by another version of the ranking (a server upgraded between two pages) starts
    the ranking again from its first page, once. With ``asked_as``, the name of the caller's
    argument ``count`` comes from, a whole ranking of fewer designs is warned of too, naming it
    (the caller gets fewer designs than it asked for, which the list's length alone shows).

    Raises
    ------
    InvalidRequestError
        Naming ``task``, ``budget``, ``count`` (a whole number, at least 0) or ``source`` (no
        :class:`AdvisorSource`), before any search.
    StalePageTokenError
        When the pages asked again meet another version of the ranking too (a fleet of two
        versions): a server's is the client's ``ServerStalePageTokenError``.
    """
    from advisor_client.conversions import budget_model, task_model

    task, budget = task_model(task), budget_model(budget)
    count = checked_integer("count", count, 0)
    source = AdvisorSource.of(source)
    try:
        designs, cut = _ranking_pages(task, budget, count, source, stop)
    except StalePageTokenError:
        # A later page reached another version of the ranking (a server upgraded between two
        # pages, a fleet of two versions), whose order the pages so far are not of: the whole
        # ranking again, once. A fleet still mixed refuses it again, and that is raised.
        designs, cut = _ranking_pages(task, budget, count, source, stop)
    if stop is not None and stop.stopped():
        return designs
    if cut:
        warnings.warn(_cut_ranking(budget, source, len(designs)), stacklevel=2)
    elif asked_as is not None and len(designs) < count:
        warnings.warn(
            f"{asked_as}={count}, but the advisor's ranking at this budget holds only "
            f"{counted(len(designs), 'design')}: those are all it gives",
            stacklevel=2,
        )
    return designs


def _ranking_pages(
    task: Task, budget: Budget, count: int, source: AdvisorSource, stop: StopSignal | None
) -> tuple[list[Recommendation], bool]:
    """Return the first ``count`` designs as :func:`fetch_ranking` asks them, page by page.

    And whether a page's search ended before it was complete.
    """
    page_size = PAGE_SIZE if source.page_size is None else int(source.page_size)
    designs: list[Recommendation] = []
    token: str | None = None
    cut = False
    while len(designs) < count:
        page = budget.model_copy(
            update={"top_k": min(page_size, count - len(designs)), "page_token": token}
        )
        try:
            result = source.recommend(task, page, stop)
        except AdvisorError as error:
            if isinstance(error, LimitExceededError) and "max_top_k" in error.limits:
                # The caller set no top_k: the pages are the source's to size.
                error.add_note(
                    f"top_k {page.top_k} is the page asked: AdvisorSource's page_size "
                    f"({page_size}), or the designs left to ask for; pass "
                    "AdvisorSource(page_size=...) at most the server's max_top_k"
                )
            if token is None or not _cut_page(error):
                raise
            return designs, True  # the ranking as far as the whole searches got
        designs.extend(result.recommendations)
        cut |= not result.complete
        token = result.next_page_token
        if token is None or not result.recommendations or (stop is not None and stop.stopped()):
            break
    return designs, cut


def _cut_page(error: Exception) -> bool:
    """Whether ``error`` refuses a later page whose search a stop cut before it scored every tree.

    A later page is ranked by the whole search (:func:`~advisor.search.page.require_whole_ranking`):
    refused on ``budget.time_limit_seconds`` where the time limit cut it (the library's
    :class:`~advisor.errors.InvalidRequestError`, a server's ``INVALID_ARGUMENT``, which the
    client raises as its ``InvalidArgumentError``: both a
    :class:`~advisor.errors.BadRequestError`), else stopped (the library's
    :class:`~advisor.errors.StoppedError`, a server's ``DEADLINE_EXCEEDED``).
    """
    from advisor_client.errors import DeadlineExceededError

    if isinstance(error, (StoppedError, DeadlineExceededError)):
        return True
    return isinstance(error, BadRequestError) and [v.field for v in error.violations] == [
        "budget.time_limit_seconds"
    ]


def _cut_ranking(budget: Budget, source: AdvisorSource, count: int) -> str:
    """Say that a search of the ranking ended before it was complete.

    What ended it, why that matters to a study (a ranking as far as the machine got) and what
    ranks alike everywhere (a server needs a time limit, so there one every search completes
    within).
    """
    causes = []
    if budget.time_limit_seconds is not None:
        causes.append(f"its time limit, {budget.time_limit_seconds:g} s")
    if source.timeout is not None:
        causes.append(f"the call's deadline, {source.timeout:g} s")
    cause = " or ".join(causes) or "the call's deadline"
    remedy = (
        "a budget with time_limit_seconds=None and a source without a timeout ranks alike "
        "everywhere"
        if source.target is None
        else "a time limit every worker's search completes within ranks alike everywhere"
    )
    designs = counted(count, "design")
    return (
        f"the advisor's search ended before it was complete ({cause}): {designs} ranked as far "
        f"as the search got, so a resumed study or another worker may rank otherwise; {remedy}"
    )
