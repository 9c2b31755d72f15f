"""A search's sequence of designs, computed as far as the calls asked and kept between them.

``DesignSequence`` is one search's sequence: the ranking's pages, then the seeded draws of its space
past them, and what learning calls handed out by experiment. A :class:`SuggestionCache` keeps
the sequences of the searches asked for lately, so a call continues its search's sequence
instead of computing it from position 1 again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from advisor.errors import InvalidRequestError, StoppedError
from advisor.integrations.katib.experiment import DEFAULT_TIME_LIMIT, KatibSearch, Suggestion
from advisor.integrations.katib.records import (
    HandedOutFiles,
    search_digest,
    whole_search_digest,
)
from advisor.integrations.katib.trials import architecture_json
from advisor.integrations.learning import log2_ranks, rerank_ranks
from advisor.integrations.proposals import PAGE_SIZE
from advisor.model.architecture import Architecture
from advisor.stopping import StopSignal
from advisor.words import counted

if TYPE_CHECKING:
    # The search is imported where it runs: the service reads Katib's limits without loading it.
    from advisor.search.draws import SpaceDraws
    from advisor.search.scoring import DesignScorer

__all__ = ["MAX_CACHED_BYTES", "MAX_CACHED_EXPERIMENTS", "DesignSequence", "SuggestionCache"]

_LOGGER = logging.getLogger(__name__)

_FIRST_DRAW: Final = 8
"""Designs drawn first past the ranking; each further draw doubles (``DesignSequence._sample``)."""

MAX_CACHED_EXPERIMENTS: Final = 32
"""Sequences a :class:`SuggestionCache` keeps by default (its docstring says why)."""

MAX_CACHED_BYTES: Final = 256 * 2**20
"""Estimated bytes a :class:`SuggestionCache` keeps at most by default."""

_BYTES_PER_LOCATION: Final = 48
"""A ranked architecture's bytes per input location: its permutation as a tuple of ints (~40,
measured: 1,000 architectures on a 128 x 128 input hold 650 MB) and in its JSON (~5)."""
_BYTES_PER_DESIGN: Final = 2048
"""A kept architecture's bytes besides its permutation, rounded up."""
_BYTES_PER_CORRELATION: Final = 32
"""A ranked design's log2 separation rank on one correlation, kept to learn from (a float and
its place in a tuple)."""
_BYTES_PER_DRAW: Final = 256
"""A drawn design kept as its tree and widths, with its try, key and place."""
_BYTES_PER_HANDED_OUT: Final = 192
"""A suggestion a learning call handed out, kept as its place and its design's sha256 (a dict
entry of an int and a 64-character str)."""
_BYTES_PER_SEARCH: Final = 2**20
"""The search the draws keep (its candidates and width ladders: ~0.1-1 MiB measured)."""
_LOCK_POLL_SECONDS: Final = 0.05
"""How often a call waiting for another call's turn on its sequence polls its stop signal."""


class DesignSequence:
    """One search's sequence of designs as far as it was computed, extended on demand.

    The sequence of a search is its ranking (pages of a deterministic search, continued by
    their tokens), then the designs of ``sample_architectures`` past the ranked ones, in draw
    order, each draw of ``n`` the first ``n`` of any larger one. So a longer prefix continues a
    shorter one, and this keeps what it computed: the ranked designs (their JSON, which the
    trials are matched by, and their log2 ranks, to learn from) and the page token after them,
    the draws
    (:class:`~advisor.search.draws.SpaceDraws`, which keeps each design as its tree and widths
    and builds it when asked), the search's objective
    (:class:`~advisor.search.scoring.DesignScorer`) and the sampled designs' scores, each kept
    as soon as it is computed.
    A ranking search its time limit cuts ranks what it reached: a computation from position 1
    may rank otherwise, and the kept sequence continues the one its first call ranked (the
    trials skipped, as before, keep a round from repeating a trial either way).
    It also keeps, by experiment name, the designs learning calls handed out
    (:meth:`hand_out`), which Katib holds before their trials exist: each as a sha256 of its
    architecture JSON (:meth:`digest`), not its position, which a sequence computed anew (after
    a restart or an eviction, under another load) may give another design. With ``files``, in
    them too, and an experiment's record is read from them when the sequence first needs it.
    Every step is kept only once it is whole, so a stopped call leaves a sequence the next
    call continues. Not thread-safe: a caller holds :attr:`lock`.
    """

    def __init__(self, search: KatibSearch, files: HandedOutFiles | None = None) -> None:
        self.search = search
        self._files = files
        self.lock = threading.Lock()
        self.callers = 0
        """Calls holding or waiting for :attr:`lock`, counted under the cache's lock: a
        :class:`SuggestionCache` evicts the sequence only when there are none."""
        self.forgotten = False
        """Set, under the cache's lock, when an unforeseen error may have left a step half done:
        a call that was waiting for :attr:`lock` then takes the search's new sequence instead."""
        self.footprint = 0
        """Estimated bytes held, as of the last call (see :meth:`estimate_footprint`)."""
        self._ranked: list[Suggestion] = []
        self._log2_ranks: list[tuple[float, ...]] = []  # each ranked design's, to learn from
        self._texts: list[str] = []  # each ranked design's JSON, which trials and values match
        self._digests: list[str] = []  # each ranked design's JSON's sha256, which records match
        self._token: str | None = None
        self._ranking_ended = False
        self._ranking_cut = False  # a page's search ended before it was complete
        self._told_cut: set[str] = set()  # the experiments told so (tell_cut)
        self._seen: set[str] = set()  # the ranked designs' JSON, once the ranking ended
        self._draws: SpaceDraws | None = None
        self._draw = _FIRST_DRAW  # the count of the current draw
        self._filtered = 0  # designs of the draws compared with the ranked ones
        self._sampled: list[int] = []  # the draws' designs not ranked, in order
        self._scores: list[float] = []  # the scores of the first sampled designs
        self._scorer: DesignScorer | None = None  # the search's objective, once built
        self._handed: dict[str, dict[int, str]] = {}  # by experiment: place -> design digest

    def tell_cut(self, experiment: str) -> None:
        """Log at WARNING, once per experiment, that the time limit cut the ranking short.

        The designs past a cut ranking are the space's seeded random ones (``sampled``), for
        the rest of the experiment, and how far the search got depends on the machine's load:
        the operator is told once, not on every round (again for a sequence computed anew).
        """
        if not self._ranking_cut or experiment in self._told_cut:
            return
        self._told_cut.add(experiment)
        limit = self.search.budget.time_limit_seconds or DEFAULT_TIME_LIMIT
        count = len(self._ranked)
        _LOGGER.warning(
            "Katib experiment %r: the advisor's search ended before it was complete (its time "
            "limit, %g s): %s ranked as far as the search got, and the experiment's "
            "designs past them are seeded random designs of the space (advisor.source "
            "'sampled'); a larger time_limit setting ranks further",
            experiment,
            limit,
            counted(count, "design"),
        )

    def handed_out(self, experiment: str, start: int) -> set[str]:
        """Return the designs learning calls handed ``experiment`` at places before ``start``.

        Each as its :meth:`digest`.

        A place is a suggestion's 0-based index among all Katib asked for
        (``total_request_number - current_request_number`` is the call's first). Katib keeps
        every suggestion it got in its Suggestion resource and makes each one's trial later,
        so a call may come before the trials of the earlier ones: the request's trials do not
        say these were handed out, its count does, and this remembers which.
        """
        return {design for place, design in self._record(experiment).items() if place < start}

    def hand_out(self, experiment: str, start: int, picked: Sequence[Suggestion]) -> None:
        """Record ``picked`` as handed ``experiment`` at the places from ``start`` on.

        What an earlier call recorded from ``start`` on is replaced: Katib asks for those
        places again only when it did not keep that call's answer.
        """
        record = {p: q for p, q in self._record(experiment).items() if p < start}
        record.update((start + i, self.digest(s)) for i, s in enumerate(picked))
        self._handed[experiment] = record
        if self._files is not None:
            self._files.write(search_digest(self.search), experiment, record)

    def _record(self, experiment: str) -> dict[int, str]:
        """Return what was handed ``experiment``: as kept, else as its file holds it (once).

        A record an earlier advisor named by :func:`whole_search_digest` is read when there is
        none by :func:`search_digest`; the next one written goes under the latter.
        """
        record = self._handed.get(experiment)
        if record is None:
            record = {}
            if self._files is not None:
                record = self._files.read(search_digest(self.search), experiment)
                record = record or self._files.read(whole_search_digest(self.search), experiment)
            self._handed[experiment] = record
        return record

    def extend(self, length: int, stop: StopSignal) -> int:
        """Compute the first ``length`` designs; return how many there are (fewer: space ended).

        Raises
        ------
        StoppedError
            When ``stop`` stopped the work first (what was done whole is kept).
        """
        self.rank(length, stop)
        if len(self._ranked) >= length:
            return length
        need = length - len(self._ranked)
        self._sample(need, stop)
        return len(self._ranked) + min(need, len(self._scores))

    def window(self, start: int, end: int) -> list[Suggestion]:
        """Return the designs at 0-based positions ``start`` to ``end`` (computed already)."""
        ranked = len(self._ranked)
        window = self._ranked[start:end]
        for index in range(max(start, ranked), end):
            assert self._draws is not None, "sampled designs come from the draws"
            sampled = index - ranked
            architecture = self._draws.architecture(self._sampled[sampled])
            window.append(Suggestion(index + 1, architecture, self._scores[sampled], "sampled"))
        return window

    def text(self, suggestion: Suggestion) -> str:
        """Return a design's architecture JSON, what the trials hold: a ranked one's as kept.

        A learning call matches every ranked design of its pool (up to ``max_trial_count``) to
        the trials and their values: written anew each call, 1,000 designs on a 128 x 128 input
        took half a second.
        """
        if suggestion.source == "ranked":
            return self._texts[suggestion.position - 1]
        return architecture_json(suggestion.architecture)

    def digest(self, suggestion: Suggestion) -> str:
        """Return a sha256 of a design's :meth:`text`, what records it: a ranked one's as kept."""
        if suggestion.source == "ranked":
            return self._digests[suggestion.position - 1]
        return _digest(self.text(suggestion))

    def untried(
        self, suggestion: Suggestion, *, held: Collection[str], handed: Collection[str]
    ) -> bool:
        """Return whether a design is neither tried nor handed out: one a call may hand out.

        Tried: its :meth:`text` in ``held`` (the trials'); handed out: its :meth:`digest` in
        ``handed`` (:meth:`handed_out`; a sampled design is hashed only when there are any).
        """
        if self.text(suggestion) in held:
            return False
        return not handed or self.digest(suggestion) not in handed

    def reranked(
        self,
        length: int,
        untried: Callable[[Suggestion], bool],
        observed: Mapping[str, float],
        maximize: bool,
    ) -> list[Suggestion]:
        """Return the ranked designs of the first ``length`` positions ``untried``, re-ranked.

        Best-predicted first from the ``observed`` values of the ranked designs among them
        (:func:`~advisor.integrations.learning.rerank_ranks`; larger is better if
        ``maximize``). Only what :meth:`rank` computed is read.
        """
        ranked, texts = self._ranked[:length], self._texts[:length]
        index = {text: i for i, text in enumerate(texts)}
        tried = {index[text]: value for text, value in observed.items() if text in index}
        remaining = [i for i, suggestion in enumerate(ranked) if untried(suggestion)]
        order = rerank_ranks(self._log2_ranks[:length], remaining, tried, maximize=maximize)
        return [ranked[i] for i in order]

    def estimate_footprint(self) -> int:
        """Return the bytes this holds, estimated: ranked designs, draws, their search, scorer.

        A ranked architecture's permutation costs about :data:`_BYTES_PER_LOCATION` a location
        of the grid it pools (the input padded, where it is: up to ``2^ndim`` times more), its
        log2 ranks :data:`_BYTES_PER_CORRELATION` a correlation; each suggestion handed out
        :data:`_BYTES_PER_HANDED_OUT`.
        """
        ranked = sum(
            _BYTES_PER_LOCATION * math.prod(s.architecture.grid) + _BYTES_PER_DESIGN
            for s in self._ranked
        ) + _BYTES_PER_CORRELATION * sum(map(len, self._log2_ranks))
        handed = _BYTES_PER_HANDED_OUT * sum(map(len, self._handed.values()))
        if self._draws is None:
            return ranked + handed
        scorer = 0 if self._scorer is None else self._scorer.nbytes
        drawn = _BYTES_PER_SEARCH + _BYTES_PER_DRAW * len(self._draws) + scorer
        return ranked + handed + drawn

    def rank(self, length: int, stop: StopSignal) -> None:
        """Fetch the ranking's pages until it holds ``length`` designs or ends.

        The pages continue from the last page's token. As a computation from the start
        (:func:`~advisor.integrations.proposals.fetch_ranking` of ``length`` designs), each page
        asks at most :data:`PAGE_SIZE` designs and its search gets the time limit divided by
        the pages ``length`` takes. A page the call's ``stop`` cut (its deadline, a cancel, the
        server's shutdown) is not kept, even one its search returned before the deadline passed:
        it ranks what the search reached in the time the call left it, and the call that follows
        would continue that partial ranking instead of ranking the page whole. Only a page its
        own time limit cut is kept, and its cut told (:meth:`tell_cut`).

        Raises
        ------
        StoppedError
            When ``stop`` stopped a page's search (what was ranked whole before it is kept).
        """
        from advisor.search.recommend import recommend

        if self._ranking_ended or len(self._ranked) >= length:
            return
        task, budget = self.search.task, self.search.budget
        pages = math.ceil(length / PAGE_SIZE)
        limit = budget.time_limit_seconds or DEFAULT_TIME_LIMIT
        per_page = budget.model_copy(update={"time_limit_seconds": limit / pages})
        while len(self._ranked) < length and not self._ranking_ended:
            top_k = min(PAGE_SIZE, length - len(self._ranked))
            page = per_page.model_copy(update={"top_k": top_k, "page_token": self._token})
            own = stop.limited(page.time_limit_seconds)  # the page's time limit, as it ran
            result = recommend(task, page, stop=stop)
            _raise_if_stopped(stop)  # a stopped search's page is partial: the positions would shift
            if not result.complete and own.deadline == stop.deadline:
                raise _stopped(stop)  # the call's deadline, not the time limit, was in force
            for r in result.recommendations:
                self._ranked.append(Suggestion(r.rank, r.architecture, r.score, "ranked"))
                text = architecture_json(r.architecture)
                self._texts.append(text)
                self._digests.append(_digest(text))
            self._log2_ranks.extend(log2_ranks(result.recommendations))
            self._ranking_cut |= not result.complete
            self._token = result.next_page_token
            # A page its time limit cut ends the ranking: the next page's search, cut too,
            # would be refused (a later page is ranked by the whole search), which failed
            # the experiment's validation on a short time_limit.
            if self._token is None or not result.recommendations or not result.complete:
                self._ranking_ended = True
                self._seen = set(self._texts)

    def _sample(self, need: int, stop: StopSignal) -> None:
        """Draw and score the first ``need`` designs past the ranking (fewer: the space ended).

        Draw ever more designs (each draw of n is the first n of any larger one) until there
        are enough or a draw comes back short, the space exhausted: the work then follows the
        space's size rather than the count asked. The stop signal is polled between the draws'
        tries, in the objective's pass over the trees and before each design's scoring; every
        score is kept as soon as it is computed.
        """
        from advisor.search.draws import SpaceDraws
        from advisor.search.scoring import DesignScorer

        task, budget = self.search.task, self.search.budget
        if self._draws is None:
            self._draws = SpaceDraws(task, budget, seed=budget.seed)
        draws = self._draws
        # The designs this call scores, as the filter built them: an architecture on a large
        # grid takes milliseconds (and ~45 bytes a location), so the filter stops at the last
        # one this call needs and keeps only these, for this call.
        built: dict[int, Architecture] = {}
        while len(self._sampled) < need:
            _raise_if_stopped(stop)
            drawn = draws.draw(self._draw, stop)
            for index in range(self._filtered, drawn):
                _raise_if_stopped(stop)
                architecture = draws.architecture(index)
                if architecture_json(architecture) not in self._seen:
                    self._sampled.append(index)
                    built[index] = architecture
                self._filtered = index + 1
                if len(self._sampled) >= need:
                    break
            if len(self._sampled) >= need or drawn < self._draw:
                break
            self._draw *= 2
        left = self._sampled[len(self._scores) : need]
        if not left:
            return
        if self._scorer is None:
            self._scorer = DesignScorer(task, budget, stop)
        scorer = self._scorer
        for index in left:
            _raise_if_stopped(stop)
            architecture = built[index] if index in built else draws.architecture(index)
            self._scores.append(scorer.score(architecture))


class SuggestionCache:
    """The design sequences of the searches asked for lately, each as far as it was computed.

    Katib's controller asks a few designs per call and the service is otherwise stateless, so
    each call would compute its experiment's sequence from position 1 again: n designs asked
    one at a time cost O(n^2). The cache keeps each search's sequence (keyed by a digest of the
    search, :func:`search_digest`: every field of the task and budget read from the
    experiment, so two experiments that read alike share one, and a changed setting is a new
    one) and each call continues it. A sequence holds its ranked architectures (an input
    permutation each, ~45 bytes a location) and its draws as trees and widths: about 1-2 MiB
    for a thousand designs on a 32 x 32 input, up to tens of MiB with a long ranking on the
    largest inputs the limits admit. Katib runs one suggestion service per experiment (or a
    few experiments per shared one), so ``max_experiments`` (32) sequences, the most recently
    used, cover every experiment in flight, and ``max_bytes`` (256 MiB) bounds the worst case;
    a sequence over it on its own is computed as without a cache. An evicted experiment is
    only slower (its next call computes from the start), except that with ``learn`` it forgets
    what it handed out: a design handed out whose trial is not made yet may come again. With
    ``files`` (:class:`HandedOutFiles`) that record is kept in them too, and read back by the
    next sequence of the experiment: neither an eviction nor a restart forgets it.

    Thread-safe: calls on different searches run in parallel; calls on one search take turns
    (the later one continues what the earlier computed), waiting while polling their stop. A
    sequence a call holds or waits for is not evicted (the cache may stay over its bounds until
    that call ends), so a search has one sequence, and an experiment one record, at a time.
    """

    def __init__(
        self,
        max_experiments: int = MAX_CACHED_EXPERIMENTS,
        max_bytes: int = MAX_CACHED_BYTES,
        files: HandedOutFiles | None = None,
    ) -> None:
        self.max_experiments = max_experiments
        self.max_bytes = max_bytes
        self.files = files
        self._lock = threading.Lock()
        self._sequences: OrderedDict[str, DesignSequence] = OrderedDict()

    def __len__(self) -> int:
        """Return how many sequences are kept."""
        with self._lock:
            return len(self._sequences)

    def __contains__(self, search: object) -> bool:
        """Return whether the sequence of ``search`` (a :class:`KatibSearch`) is kept."""
        if not isinstance(search, KatibSearch):
            return False
        key = search_digest(search)
        with self._lock:
            return key in self._sequences

    @contextmanager
    def sequence(self, search: KatibSearch, stop: StopSignal) -> Iterator[DesignSequence]:
        """Hold ``search``'s sequence (a new one if none is kept) for one call's work.

        Raises
        ------
        StoppedError
            When ``stop`` stops while another call holds the sequence.
        """
        key = search_digest(search)
        sequence = self._take(key, search, stop)
        try:
            try:
                yield sequence
            except (StoppedError, InvalidRequestError):
                raise  # what the sequence kept was computed whole
            except BaseException:
                self._forget(key, sequence)  # an unforeseen error may have left a step half done
                raise
            finally:
                sequence.footprint = sequence.estimate_footprint()
                sequence.lock.release()
        finally:
            self._leave(sequence)
            self._evict()

    def _take(self, key: str, search: KatibSearch, stop: StopSignal) -> DesignSequence:
        """Return ``search``'s kept sequence (a new one if none), its lock held, counted a caller.

        A sequence forgotten while this call waited for it is left for the search's new one.
        """
        while True:
            with self._lock:
                sequence = self._sequences.get(key)
                if sequence is None:
                    sequence = self._sequences[key] = DesignSequence(search, self.files)
                self._sequences.move_to_end(key)
                sequence.callers += 1
            try:
                while not sequence.lock.acquire(timeout=_LOCK_POLL_SECONDS):
                    _raise_if_stopped(stop)
            except BaseException:
                self._leave(sequence)
                raise
            if not sequence.forgotten:
                return sequence
            sequence.lock.release()
            self._leave(sequence)

    def _leave(self, sequence: DesignSequence) -> None:
        with self._lock:
            sequence.callers -= 1

    def _forget(self, key: str, sequence: DesignSequence) -> None:
        with self._lock:
            sequence.forgotten = True
            if self._sequences.get(key) is sequence:
                del self._sequences[key]

    def _evict(self) -> None:
        """Drop the least recently used sequences no call holds or waits for while over a bound.

        One a call holds (or waits for) stays until the last such call ends: a call on its
        search meanwhile takes its turn on it. Evicted, the next call would build a second
        sequence of the search, read the experiment's record before the holder wrote it and
        overwrite that afterwards.
        """
        with self._lock:
            held = sum(s.footprint for s in self._sequences.values())
            for key, sequence in list(self._sequences.items()):  # least recently used first
                if len(self._sequences) <= self.max_experiments and held <= self.max_bytes:
                    break
                if sequence.callers == 0:
                    del self._sequences[key]
                    held -= sequence.footprint


def _raise_if_stopped(stop: StopSignal) -> None:
    if stop.stopped():
        raise _stopped(stop)


def _stopped(stop: StopSignal) -> StoppedError:
    """Return the error of a call ``stop`` stopped, naming what stopped it where it says."""
    cause = stop.cause
    by = "deadline, cancellation or shutdown" if cause is None else cause.value
    return StoppedError(f"the suggestions were stopped ({by})")


def _digest(text: str) -> str:
    """Return the sha256 of a design's architecture JSON, as a record keeps the design."""
    return hashlib.sha256(text.encode()).hexdigest()
