"""A call's answer: the designs from its place in the sequence, and the trial count's check.

:func:`suggestions` answers ``GetSuggestions`` from the search's sequence (kept by a
:class:`~advisor.integrations.katib.sequence.SuggestionCache`, or computed alone), the trials
and what was handed out skipped, re-ranked with ``learn``; :func:`check_trial_count` refuses,
for ``ValidateAlgorithmSettings``, an experiment whose trials the space cannot fill.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial

from advisor.errors import FieldViolation, InvalidRequestError, LimitExceededError, RefusedLimit
from advisor.integrations.katib.experiment import KatibSearch, Suggestion, in_katib_terms
from advisor.integrations.katib.sequence import DesignSequence, SuggestionCache
from advisor.stopping import StopSignal
from advisor.words import counted

__all__ = ["check_trial_count", "suggestions"]


def suggestions(
    search: KatibSearch,
    start: int,
    count: int,
    held: Collection[str] = (),
    *,
    observed: Mapping[str, float] | None = None,
    stop: StopSignal | None = None,
    max_length: int | None = None,
    cache: SuggestionCache | None = None,
) -> list[Suggestion]:
    """Return ``count`` designs from position ``start`` (0-based) of the search's sequence.

    The sequence is the advisor's ranking, then distinct seeded random designs of the search's
    space. Designs whose architecture JSON is in ``held`` (the experiment's trials) are skipped,
    so a round never repeats a trial even if a cut search ranked differently before. With
    ``search.learning``, the ranked designs not held, of the first :attr:`Learning.pool`
    positions (at most ``max_length``) or as far as the call reads (wherever they are: the
    trials rather than ``start`` say which were tried), come first, best-predicted from
    ``observed`` (the objective value by architecture JSON, :func:`observations`), then the
    sampled designs from ``start``; with fewer than two distinct values observed, in the
    sequence's order. A learning call also skips the designs earlier calls handed
    ``search.experiment`` at places before ``start`` (which Katib holds, trial or not; with
    ``cache`` only: what the sequence remembers, or the cache's
    :attr:`~SuggestionCache.files` hold). At most ``max_length`` designs of the sequence are
    computed (None: no bound; the service's ``max_katib_designs``, which a refusal names as the
    setting to raise); ``stop`` ends the work (the ranking's searches, the draws and
    the scoring of the sampled designs). With ``cache`` the sequence continues from
    where an earlier call on the same search left it (the same designs a computation from the
    start gives); without, it is computed from the start.

    Raises
    ------
    InvalidRequestError
        On ``current_request_number`` when the space holds fewer distinct designs than asked;
        :class:`~advisor.errors.LimitExceededError` when skipping the held designs would need
        more than ``max_length`` (carrying ``max_katib_designs`` and the length needed).
    StoppedError
        When ``stop`` stopped the work first.
    """
    stop = stop or StopSignal()
    with _turn(search, stop, cache) as sequence:
        # Designs Katib holds from the experiment's earlier calls, trial or not: only learning
        # returns designs out of the sequence's order, so only it can hand one out twice.
        handed = set() if search.learning is None else sequence.handed_out(search.experiment, start)
        untried = partial(sequence.untried, held=held, handed=handed)
        pool = 0  # the positions whose ranked designs learning re-ranks, at least
        if search.learning is not None:
            pool = search.learning.pool
            pool = pool if max_length is None else min(pool, max_length)
            sequence.rank(pool, stop)  # before the loop's: one time limit for all its pages
        needed = start + count
        while True:
            if max_length is not None and needed > max_length:
                raise _over_designs(count, start, needed, max_length)
            length = sequence.extend(needed, stop)
            window = sequence.window(start, length)
            fresh = [s for s in window if untried(s)]
            if len(fresh) >= count or length < needed:
                break
            needed += count - len(fresh)
        if search.learning is not None:
            learnt = sequence.reranked(
                max(length, pool), untried, observed or {}, search.learning.maximize
            )
            fresh = learnt + [s for s in fresh if s.source == "sampled"]
            if len(fresh) >= count:
                sequence.hand_out(search.experiment, start, fresh[:count])
    if len(fresh) < count:
        raise InvalidRequestError.single(
            "current_request_number",
            f"asks for {counted(count, 'design')} from position {start + 1}; the design space "
            f"at this budget holds only {length} distinct ones",
        )
    return fresh[:count]


def _over_designs(count: int, start: int, needed: int, max_length: int) -> LimitExceededError:
    """Refuse ``count`` designs from ``start`` needing ``needed``, over ``max_length``.

    ``max_length`` is the server's ``max_katib_designs``; the refusal carries it as data, so the
    service's ``LIMIT_EXCEEDED`` detail names the setting and the length that admits the call.
    """
    refused = RefusedLimit("max_katib_designs", max_length, needed)
    description = (
        f"asks for {counted(count, 'design')} from position {start + 1}; with the experiment's "
        f"trials skipped that needs {needed:,} designs of the sequence, over the server's limit of "
        f"{refused.limit:,} ({refused.setting})"
    )
    return LimitExceededError(
        [FieldViolation("current_request_number", description, limit=refused)]
    )


def check_trial_count(
    search: KatibSearch,
    trials: int,
    *,
    stop: StopSignal | None = None,
    cache: SuggestionCache | None = None,
) -> None:
    """Refuse an experiment of ``trials`` trials (its ``max_trial_count``) the space cannot fill.

    GetSuggestions refuses a request past the distinct designs of the search's space, and
    Katib's controller retries a refused call without end: the experiment would stall at that
    trial, Running, its reason only in the controller's events. So ValidateAlgorithmSettings
    computes the first ``trials`` designs of the sequence (with ``cache``, kept for the calls
    that follow) and refuses the experiment up front. Katib asks for a design more for every
    failed trial, so this bounds the trials that complete, not all of them.

    Raises
    ------
    InvalidRequestError
        On ``experiment.spec.max_trial_count``, saying how many designs the space holds.
    StoppedError
        When ``stop`` stopped the work first.
    """
    stop = stop or StopSignal()
    with _turn(search, stop, cache) as sequence:
        length = sequence.extend(trials, stop)
    if length < trials:
        raise InvalidRequestError.single(
            "experiment.spec.max_trial_count",
            f"{trials:,} trials need as many designs; the design space at this budget holds "
            f"only {length:,} distinct ones (a larger num_layers, more num_filter widths or "
            "max_parameters widen it)",
        )


@contextmanager
def _turn(
    search: KatibSearch, stop: StopSignal, cache: SuggestionCache | None
) -> Iterator[DesignSequence]:
    """Hold ``search``'s sequence: ``cache``'s, or a new one computed alone.

    What the search refuses inside is refused in the experiment's terms (:func:`in_katib_terms`).
    A ranking its time limit cut is logged once the work is done
    (:meth:`DesignSequence.tell_cut`).
    """
    hold: AbstractContextManager[DesignSequence] = (
        nullcontext(DesignSequence(search)) if cache is None else cache.sequence(search, stop)
    )
    try:
        with hold as sequence:
            yield sequence
            sequence.tell_cut(search.experiment)
    except InvalidRequestError as error:
        raise in_katib_terms(error, search.sources, search.budget) from None
