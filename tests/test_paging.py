"""Page tokens: a ranking continued across calls equals one call's ranking, without repeats."""

from __future__ import annotations

import base64
import pickle
import time
from dataclasses import replace
from typing import Any

import pytest
from advisor_client.client import AdvisorClient
from advisor_client.errors import InvalidArgumentError
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor import Budget, parse_search_result, parse_task, recommend, search_result_document
from advisor.errors import (
    InvalidRequestError,
    SearchFinishedError,
    StalePageTokenError,
    StoppedError,
)
from advisor.model.regions import IndicesRegion
from advisor.model.results import Recommendation
from advisor.model.task import Task
from advisor.protocol import wire
from advisor.search import page as page_module
from advisor.search import paging
from advisor.search.candidates import deepest_schedule, deepest_tree
from advisor.search.paging import next_page_token, page_offset
from advisor.search.run import SearchRun
from advisor.service.limits import LOCAL_LIMITS, RequestLimits
from advisor.service.server import ServerConfig, start_server
from advisor.stopping import StopCause, StopSignal
from advisor.version import RANKING_VERSION
from tests.support.page_tokens import of_ranking_version


def _mirrored_task(length: int) -> Task:
    """A 1-D task whose dilation orders give many distinct trees: mirrored blocks, odd vs even."""
    block = length // 8
    correlations: list[dict[str, object]] = [
        {
            "name": f"mirror{i}",
            "a": {"box": {"start": [i * block], "stop": [(i + 1) * block]}},
            "b": {"box": {"start": [length - (i + 1) * block], "stop": [length - i * block]}},
        }
        for i in range(3)
    ]
    correlations.append({"name": "odd", "a": {"indices": list(range(1, length, 2))}})
    return parse_task({"input": {"shape": [length]}, "correlations": correlations})


TASK = _mirrored_task(32)
OPTIONS = {"max_parameters": 20_000, "time_limit_seconds": None}


def _ranking(**options: object) -> list[Recommendation]:
    return recommend(TASK, Budget(**{**OPTIONS, "top_k": 500, **options})).recommendations


def _paged(page_size: int, **options: object) -> list[Recommendation]:
    pages: list[Recommendation] = []
    token = None
    while True:
        result = recommend(
            TASK, Budget(**{**OPTIONS, "top_k": page_size, "page_token": token, **options})
        )
        assert result.complete
        assert len(result.recommendations) <= page_size
        pages.extend(result.recommendations)
        token = result.next_page_token
        if token is None:
            return pages


FULL = _ranking()


def test_the_ranking_goes_on_past_the_services_top_k_limit() -> None:
    task = _mirrored_task(64)
    first = recommend(task, Budget(**OPTIONS, top_k=50))
    assert len(first.recommendations) == 50
    assert first.next_page_token is not None
    second = recommend(task, Budget(**OPTIONS, top_k=50, page_token=first.next_page_token))
    assert [r.rank for r in second.recommendations] == list(
        range(51, 51 + len(second.recommendations))
    )
    assert second.recommendations
    architectures = [r.architecture for r in (*first.recommendations, *second.recommendations)]
    assert len({a.model_dump_json() for a in architectures}) == len(architectures)


@settings(max_examples=6)
@given(st.integers(min_value=5, max_value=12))
def test_pages_join_into_the_single_call_ranking(page_size: int) -> None:
    paged = _paged(page_size)
    assert paged == FULL
    assert len({r.architecture.model_dump_json() for r in paged}) == len(paged)


def test_pages_follow_the_seed_of_their_request() -> None:
    assert _paged(4, seed=3) == _ranking(seed=3)


def test_a_token_of_another_request_is_refused() -> None:
    first = recommend(TASK, Budget(**OPTIONS, top_k=2))
    assert first.next_page_token is not None
    other = Budget(
        **{**OPTIONS, "max_parameters": 19_000}, top_k=2, page_token=first.next_page_token
    )
    with pytest.raises(InvalidRequestError) as raised:
        recommend(TASK, other)
    assert [v.field for v in raised.value.violations] == ["budget.page_token"]
    assert "another request" in raised.value.violations[0].description
    assert not isinstance(raised.value, StalePageTokenError)  # the request changed: no restart


def test_a_token_another_version_of_the_ranking_wrote_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server upgraded between two pages ranks the designs in another order: continuing the
    # old ranking's offset in the new one would repeat or skip designs.
    first = recommend(TASK, Budget(**OPTIONS, top_k=2))
    assert first.next_page_token is not None
    again = Budget(**OPTIONS, top_k=2, page_token=first.next_page_token)
    assert recommend(TASK, again).recommendations  # the same version reads it
    written = RANKING_VERSION
    monkeypatch.setattr(paging, "RANKING_VERSION", written + 1)
    with pytest.raises(StalePageTokenError) as raised:
        recommend(TASK, again)
    assert [v.field for v in raised.value.violations] == ["budget.page_token"]
    # Told apart as data, not by its English: the versions a pipeline acts on.
    stale = raised.value
    assert (stale.token_ranking_version, stale.ranking_version) == (written, written + 1)
    # Not "belongs to another request ... keep the task and every budget field as they were":
    # the caller changed nothing, and only starting again helps.
    assert raised.value.violations[0].description == (
        f"was written by version {written} of the advisor's ranking, and this advisor ranks by "
        f"version {written + 1} (upgraded, or another one answered, between two pages), in "
        "another order: start again from the first page (without a page token)"
    )


def test_every_result_names_the_version_of_the_ranking_that_produced_it() -> None:
    # A pipeline caches results by request: the version tells it when an upgraded advisor's
    # ranking replaces the cached one, in the library, over the wire and in the saved document.
    budget = {**OPTIONS, "time_limit_seconds": 30.0, "top_k": 2}
    local = recommend(TASK, Budget(**budget))
    config = ServerConfig(workers=1, executor="threads")
    with start_server(config) as server, AdvisorClient(server.address) as client:
        served = client.recommend(TASK, budget)
    document = search_result_document(local)
    assert local.ranking_version == served.ranking_version == RANKING_VERSION
    assert document["ranking_version"] == RANKING_VERSION
    assert parse_search_result(document).ranking_version == RANKING_VERSION


@pytest.mark.parametrize("version", [0, -3])
def test_a_saved_result_of_no_ranking_version_is_refused(version: int) -> None:
    # The wire's 0 means "predates it"; a document says so with null, and read a 0 as version 0.
    document = search_result_document(recommend(TASK, Budget(**OPTIONS, top_k=1)))
    assert parse_search_result({**document, "ranking_version": None}).ranking_version is None
    with pytest.raises(InvalidRequestError) as raised:
        parse_search_result({**document, "ranking_version": version})
    assert [v.field for v in raised.value.violations] == ["ranking_version"]
    assert "null for a result that predates" in raised.value.violations[0].description


@pytest.mark.parametrize("token", ["garbage!", "MTA", "LTE6MGM4ZmUyYzczMzZmYWM0OQ"])
def test_a_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        recommend(TASK, Budget(**OPTIONS, top_k=2, page_token=token))
    assert [v.field for v in raised.value.violations] == ["budget.page_token"]
    assert not isinstance(raised.value, StalePageTokenError)  # no version wrote it


def test_an_empty_token_on_the_wire_is_refused_not_read_as_the_first_page() -> None:
    # advisor.proto's Budget.page_token: set, even to "", it must be a token a result wrote; a
    # caller copying an empty next_page_token leaves the field unset instead.
    message = wire.budget_to_proto(Budget(max_parameters=20_000, top_k=2))
    message.page_token = ""
    with pytest.raises(InvalidRequestError) as raised:
        wire.budget_from_proto(message)
    assert [v.field for v in raised.value.violations] == ["budget.page_token"]


@pytest.mark.parametrize(
    "doctor",
    [
        lambda token: token[:4] + "!!" + token[4:],
        lambda token: f" {token} ",
        lambda token: f"{token}\n",
        lambda token: token[:4] + "\n" + token[4:],
        lambda token: token + "=",
        lambda token: token + "=" * 4,
    ],
    ids=["junk", "spaces", "newline", "split", "padding", "more-padding"],
)
def test_a_doctored_token_is_refused_not_read_as_the_page(doctor: Any) -> None:
    # base64 decoding skipped what it could not read, so these gave the original page.
    first = recommend(TASK, Budget(**OPTIONS, top_k=2))
    assert first.next_page_token is not None
    token = doctor(first.next_page_token)
    assert token != first.next_page_token
    with pytest.raises(InvalidRequestError) as raised:
        recommend(TASK, Budget(**OPTIONS, top_k=2, page_token=token))
    (violation,) = raised.value.violations
    assert violation.field == "budget.page_token" and "is not a page token" in violation.description


def _edited(token: str, offset: int | str) -> str:
    """The token with its offset replaced, as a hand-edited token would be."""
    text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    edited = ":".join([str(offset), *text.split(":")[1:]])
    return base64.urlsafe_b64encode(edited.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("offset", "said"),
    [
        (0, "is not a page token"),
        (-5, "is not a page token"),
        ("+3", "is not a page token"),
        (" 3", "is not a page token"),
        ("\u0663", "is not a page token"),  # ARABIC-INDIC DIGIT THREE, which int() reads as 3
        ("05", "is not a page token"),  # int() reads it as 5; no search writes it
        (len(FULL), f"starts past the end of this request's ranking ({len(FULL)} designs)"),
        (len(FULL) + 1, f"starts past the end of this request's ranking ({len(FULL)} designs)"),
        (10**20, f"starts past the end of this request's ranking ({len(FULL)} designs)"),
    ],
)
def test_a_token_no_search_wrote_is_refused_for_what_it_is(offset: int | str, said: str) -> None:
    first = recommend(TASK, Budget(**OPTIONS, top_k=2))
    assert first.next_page_token is not None
    token = _edited(first.next_page_token, offset)
    with pytest.raises(InvalidRequestError) as raised:
        recommend(TASK, Budget(**OPTIONS, top_k=2, page_token=token))
    (violation,) = raised.value.violations
    assert violation.field == "budget.page_token" and said in violation.description
    # The pages a search may write are still served: one holding its last design.
    page = recommend(TASK, Budget(**OPTIONS, top_k=2, page_token=_edited(token, len(FULL) - 1)))
    assert len(page.recommendations) == 1 and page.next_page_token is None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("malformed", "said"),
    [
        (lambda token: of_ranking_version(token, None), "has no ranking version part"),
        (lambda token: token[:12], "is not a page token"),
        (lambda token: _b64("2:0000000000000000"), "has no ranking version part"),
        (lambda token: _b64("2:zz"), "is not a page token"),
        (lambda token: _b64("5:hello"), "is not a page token"),
        (lambda token: _b64(f"2:zz:{RANKING_VERSION - 1}"), "is not a page token"),
    ],
    ids=[
        "version-cut-off",
        "truncated",
        "another-tasks-versionless",
        "2:zz",
        "5:hello",
        "bad-digest",
    ],
)
def test_a_malformed_token_is_invalid_not_stale(malformed: Any, said: str) -> None:
    # Each was refused as written by another version (PAGE_TOKEN_STALE: "start again"), on
    # which a pipeline restarts its ranking rather than report the token it broke.
    first = recommend(TASK, Budget(**OPTIONS, top_k=2))
    assert first.next_page_token is not None
    with pytest.raises(InvalidRequestError) as raised:
        page_offset(TASK, Budget(**OPTIONS, top_k=2, page_token=malformed(first.next_page_token)))
    assert not isinstance(raised.value, StalePageTokenError)
    (violation,) = raised.value.violations
    assert violation.field == "budget.page_token" and said in violation.description


def test_a_token_of_an_earlier_version_is_a_stale_token_that_survives_its_placing() -> None:
    first = recommend(TASK, Budget(**OPTIONS, top_k=2))
    assert first.next_page_token is not None
    token = of_ranking_version(first.next_page_token, RANKING_VERSION - 1)
    with pytest.raises(StalePageTokenError) as raised:
        page_offset(TASK, Budget(**OPTIONS, top_k=2, page_token=token))
    stale = raised.value
    assert (stale.token_ranking_version, stale.ranking_version) == (
        RANKING_VERSION - 1,
        RANKING_VERSION,
    )
    # A front door places the library's paths under its own, a worker's error is pickled:
    # each keeps the class and the versions, so the refusal stays one to start again on.
    for kept in (
        stale.prefixed("request"),
        stale.renamed(lambda path: path.upper()),
        pickle.loads(pickle.dumps(stale)),
    ):
        assert type(kept) is StalePageTokenError
        assert (kept.token_ranking_version, kept.ranking_version) == (
            RANKING_VERSION - 1,
            RANKING_VERSION,
        )
    assert [v.field for v in stale.prefixed("request").violations] == ["request.budget.page_token"]
    assert str(pickle.loads(pickle.dumps(stale))) == str(stale)


def test_a_page_that_ends_with_the_ranking_has_no_token() -> None:
    whole = recommend(TASK, Budget(**OPTIONS, top_k=len(FULL)))
    assert whole.recommendations == FULL and whole.next_page_token is None
    # Pages of a size that divides the ranking: the last is full and the paging stops there.
    size = next(k for k in range(5, len(FULL)) if len(FULL) % k == 0)
    pages = [recommend(TASK, Budget(**OPTIONS, top_k=size))]
    while (token := pages[-1].next_page_token) is not None:
        pages.append(recommend(TASK, Budget(**OPTIONS, top_k=size, page_token=token)))
    assert [len(p.recommendations) for p in pages] == [size] * (len(FULL) // size)
    assert [r for p in pages for r in p.recommendations] == FULL


def test_the_service_pages_as_the_library_does() -> None:
    budget = {**OPTIONS, "time_limit_seconds": 30.0, "top_k": 5}
    with start_server(ServerConfig(workers=1)) as server, AdvisorClient(server.address) as client:
        first = client.recommend(TASK, budget)
        assert first.next_page_token is not None
        second = client.recommend(TASK, {**budget, "page_token": first.next_page_token})
        with pytest.raises(InvalidArgumentError) as raised:
            client.recommend(TASK, {**budget, "seed": 9, "page_token": first.next_page_token})
    assert [v.field for v in raised.value.violations] == ["budget.page_token"]
    # Timings differ between calls; everything else is the library's ranking, page by page.
    served = [*first.recommendations, *second.recommendations]
    assert served == FULL[:10]


def test_the_token_of_a_page_a_deadline_cut_short_starts_after_its_last_design(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = page_module.build_recommendation

    def two_then_stopped(*args: Any, **kwargs: Any) -> Recommendation:
        if args[1] > 2:  # the rank: the deadline cuts the page after its second design
            raise StoppedError("the deadline")
        return built(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(page_module, "build_recommendation", two_then_stopped)
        cut = recommend(TASK, Budget(**OPTIONS, top_k=5))
    assert [r.rank for r in cut.recommendations] == [1, 2] and not cut.complete
    said = "The search was stopped before the page's designs ranked 3 to 5 could be built;"
    assert all(said in r.rationale for r in cut.recommendations)  # a short page says why
    assert not any("could be built" in r.rationale for r in FULL)
    assert cut.next_page_token is not None
    rest = recommend(TASK, Budget(**OPTIONS, top_k=5, page_token=cut.next_page_token))
    assert rest.recommendations == FULL[2:7]


def test_every_page_of_a_practical_search_counts_the_same_candidates() -> None:
    # 8x8 symmetry counted 2978, 2978, 2978, 2982 on pages of 2 designs and 3004 on one of 5:
    # the ladders each page's rationales priced at 10% more budget were counted as scored.
    task = parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})
    counts = []
    for size in (2, 5):
        token = None
        while True:
            budget = Budget(**OPTIONS, top_k=size, page_token=token)
            page = recommend(task, budget)
            counts.append(page.candidates_evaluated)
            if (token := page.next_page_token) is None:
                break
    assert len(counts) > 3 and len(set(counts)) == 1


def _second_page(**options: object) -> Budget:
    """The budget of the ranking's second page of 3 designs, ``options`` changed."""
    first = recommend(TASK, Budget(**OPTIONS, top_k=3))
    return Budget(**{**OPTIONS, "top_k": 3, "page_token": first.next_page_token, **options})


def test_a_later_page_of_a_search_stopped_before_every_tree_is_refused() -> None:
    # It was ranked by the trees scored before the stop: a 4,096-long start_end search's second
    # page, cut at 0.3 s, labelled a contiguous net rank 4 where the whole ranking's 4th is a
    # mirror net, and the cut search's own first three were on no page.
    with pytest.raises(InvalidRequestError) as raised:
        recommend(TASK, _second_page(time_limit_seconds=1e-9))
    (violation,) = raised.value.violations
    assert violation.field == "budget.time_limit_seconds"
    assert "a page after the first (this one starts after rank 3)" in violation.description
    # A stop of the caller's (a call's deadline, a cancel) is no field of the request.
    cancelled = StopSignal()
    cancelled.cancel()
    for stop, by in ((cancelled, " by a cancel"), (StopSignal.after(0.0), "")):
        with pytest.raises(StoppedError, match=f"^the search was stopped{by} before it scored"):
            recommend(TASK, _second_page(time_limit_seconds=60.0), stop=stop)
    # A FinishSearch's is told apart (the service's reason SEARCH_FINISHED): a longer deadline,
    # which the call's own stop asks for, would not have helped.
    finished = StopSignal()
    finished.bring_forward(time.monotonic(), StopCause.FINISH)
    with pytest.raises(SearchFinishedError, match=r"^the search was stopped by a FinishSearch"):
        recommend(TASK, _second_page(time_limit_seconds=60.0), stop=finished)
    # The first page still answers with the best found so far, and no token.
    first = recommend(TASK, Budget(**{**OPTIONS, "top_k": 3, "time_limit_seconds": 1e-9}))
    assert not first.complete and first.recommendations and first.next_page_token is None


def test_a_short_page_of_a_search_stopped_before_every_tree_promises_no_next_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its rationales said "as does the next page (this page's token starts there)", and the
    # result carried no token.
    executed, built = SearchRun.execute, page_module.build_recommendation

    def two_then_stopped(*args: Any, **kwargs: Any) -> Recommendation:
        if args[1] > 2:  # the rank: the deadline cuts the page after its second design
            raise StoppedError("the deadline")
        return built(*args, **kwargs)

    with monkeypatch.context() as patch:
        # Every tree scored, and reported as a stop before the last: the ranking is cut.
        patch.setattr(SearchRun, "execute", lambda run: executed(run) and False)
        patch.setattr(page_module, "build_recommendation", two_then_stopped)
        cut = recommend(TASK, Budget(**OPTIONS, top_k=5))
    assert [r.rank for r in cut.recommendations] == [1, 2] and cut.next_page_token is None
    said = (
        "The search was stopped before the page's designs ranked 3 to 5 could be built; a "
        "longer time limit returns them."
    )
    assert all(said in r.rationale for r in cut.recommendations)


def test_one_requests_token_is_the_same_through_every_front_door() -> None:
    # A server brings an unset max_depth to its max_layers limit (16, the command's embedded
    # server 24), the library leaves it unset: the same search, whose tokens were digested
    # apart, so a token of the library was refused by a server as another request's. A limit
    # below the most levels a grid of the input's size could have (7 here) but at or past the
    # deepest tree of the input (5: a 128 x 128 grid's are 17 and 7, past the default 16) is
    # the same search too.
    budget = {**OPTIONS, "time_limit_seconds": 30.0, "top_k": 2}
    library = recommend(TASK, Budget(**budget))
    assert library.next_page_token is not None
    deepest = deepest_tree(TASK.input.shape)
    assert deepest < deepest_schedule(TASK.input)
    tokens = []
    for limits in (RequestLimits(), LOCAL_LIMITS, RequestLimits(max_layers=deepest)):
        config = ServerConfig(workers=1, executor="threads", limits=limits)
        with start_server(config) as server, AdvisorClient(server.address) as client:
            served = client.recommend(TASK, budget)
            tokens.append(served.next_page_token)
            second = client.recommend(TASK, {**budget, "page_token": library.next_page_token})
        assert second.recommendations == FULL[2:4]
    assert tokens == [library.next_page_token] * 3
    # A depth bound the input's trees never reach is none; one they reach names its request.
    bounded = recommend(TASK, Budget(**budget, max_depth=deepest))
    assert bounded.recommendations == library.recommendations
    assert bounded.next_page_token == library.next_page_token
    shallower = recommend(TASK, Budget(**budget, max_depth=deepest - 1))
    assert shallower.next_page_token != library.next_page_token


def _expanded(task: Task) -> Task:
    """Return ``task`` with its preset written out: every correlation by its ids, as resolved."""
    return Task(
        input=task.input,
        correlations=[
            {
                "name": correlation.name,
                "a": {"indices": correlation.a.tolist()},
                "b": {"indices": correlation.b.tolist()},
                "weight": correlation.weight,
                "relation": correlation.relation,
            }
            for correlation in task.resolved()
        ],
    )


_PRESET_TASK = parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})
_SPELLINGS: list[tuple[Task, dict[str, object], Task, dict[str, object]]] = [
    # A preset and its expansion.
    (_PRESET_TASK, {}, _expanded(_PRESET_TASK), {}),
    # A region as a box and as its ids; the widths in another order.
    (
        parse_task(
            {
                "input": {"shape": [16]},
                "correlations": [{"name": "ends", "a": {"box": {"start": [0], "stop": [4]}}}],
            }
        ),
        {"channel_choices": [32, 8, 16]},
        parse_task(
            {
                "input": {"shape": [16]},
                "correlations": [{"name": "ends", "a": {"indices": [0, 1, 2, 3]}}],
            }
        ),
        {"channel_choices": [8, 16, 32]},
    ),
    # The outputs given by the task or by the budget (which overrides the task's), or left at 1.
    (
        _PRESET_TASK.model_copy(update={"outputs": 10}),
        {},
        _PRESET_TASK,
        {"outputs": 10},
    ),
    (
        _PRESET_TASK.model_copy(update={"outputs": 3}),
        {"outputs": 10},
        _PRESET_TASK,
        {"outputs": 10},
    ),
    (_PRESET_TASK, {}, _PRESET_TASK, {"outputs": 1}),
    # The narrowest hidden width written as its default, max(outputs, 8), or left out.
    (_PRESET_TASK, {}, _PRESET_TASK, {"min_width": 8}),
    (_PRESET_TASK, {"outputs": 10}, _PRESET_TASK, {"outputs": 10, "min_width": 10}),
    # The families in another order (a set of them is listed as PYTHONHASHSEED orders it).
    (
        _PRESET_TASK,
        {"geometries": ["mirror", "mixture", "contiguous"]},
        _PRESET_TASK,
        {"geometries": ["contiguous", "mirror", "mixture"]},
    ),
]


@pytest.mark.parametrize(("task", "options", "same_task", "same_options"), _SPELLINGS)
def test_a_search_spelled_another_way_has_the_same_token(
    task: Task, options: dict[str, object], same_task: Task, same_options: dict[str, object]
) -> None:
    # The token digested the request as written: the same search, written with a preset or its
    # expansion, a box or its ids, widths or families in another order, got another token,
    # refused by the other spelling as another request's.
    assert task.resolved() == same_task.resolved()
    budget = Budget(**OPTIONS, **options)
    same_budget = Budget(**OPTIONS, **same_options)
    token = next_page_token(task, budget, 2)
    assert next_page_token(same_task, same_budget, 2) == token
    assert page_offset(same_task, same_budget.model_copy(update={"page_token": token})) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"preset": None, "correlations": [{"name": "x", "a": {"indices": [0]}}]},
        {"input": {"shape": [8, 8], "channels": 3}},
        {"outputs": 10},
        {"arrangement": list(range(63, -1, -1))},
    ],
)
def test_a_search_of_another_task_has_another_token(change: dict[str, object]) -> None:
    budget = Budget(**OPTIONS)
    other = _PRESET_TASK.model_copy(update=change)
    assert next_page_token(other, budget, 2) != next_page_token(_PRESET_TASK, budget, 2)


def test_correlations_that_differ_in_anything_have_another_token() -> None:
    expanded = _expanded(_PRESET_TASK)
    first, *rest = expanded.correlations
    assert isinstance(first.a, IndicesRegion)
    budget = Budget(**OPTIONS)
    token = next_page_token(expanded, budget, 2)
    others = [
        [first.model_copy(update={"name": "renamed"}), *rest],
        [first.model_copy(update={"a": IndicesRegion(indices=first.a.indices[1:])}), *rest],
        [first.model_copy(update={"weight": 2.0}), *rest],
        [*rest, first],  # the search reads them in order
        rest,
    ]
    for correlations in others:
        other = expanded.model_copy(update={"correlations": correlations})
        assert next_page_token(other, budget, 2) != token, correlations[0]
    assert next_page_token(expanded, Budget(**OPTIONS, min_width=16), 2) != token
    widths = Budget(**OPTIONS, channel_choices=[8, 16])
    assert next_page_token(expanded, widths, 2) != next_page_token(
        expanded, Budget(**OPTIONS, channel_choices=[8, 16, 32]), 2
    )


def test_a_default_servers_depth_bound_on_a_128_by_128_grid_keeps_the_librarys_token() -> None:
    # A grid of 128 x 128 could have 17 levels by its size, so a default server's max_depth of
    # 16 was digested as a bound; its trees have at most 7, and the search is the library's.
    task = parse_task({"input": {"shape": [128, 128]}, "preset": "local"})
    budget = Budget(max_parameters=20_000)
    served = Budget(max_parameters=20_000, max_depth=RequestLimits().max_layers)
    assert next_page_token(task, served, 1) == next_page_token(task, budget, 1)
    shallower = Budget(max_parameters=20_000, max_depth=deepest_tree(task.input.shape) - 1)
    assert next_page_token(task, shallower, 1) != next_page_token(task, budget, 1)


def test_depth_bounds_that_leave_out_no_tree_are_digested_as_none() -> None:
    # A max_depth of exactly the deepest tree, and a min_depth of 1, bound nothing: the same
    # search as none, so the same token; one level tighter is another search.
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "local"})
    deepest = deepest_tree(task.input.shape)
    token = next_page_token(task, Budget(max_parameters=20_000), 1)
    for same in ({"max_depth": deepest}, {"min_depth": 1}, {"min_depth": 1, "max_depth": deepest}):
        assert next_page_token(task, Budget(max_parameters=20_000, **same), 1) == token, same
    for other in ({"max_depth": deepest - 1}, {"min_depth": 2}):
        assert next_page_token(task, Budget(max_parameters=20_000, **other), 1) != token, other


def test_a_token_is_its_offset_a_short_digest_and_its_ranking_version() -> None:
    # docs/INTERNALS.md (paging.py): base64url of the three, unpadded.
    token = next_page_token(TASK, Budget(**OPTIONS), 7)
    text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    offset, digest, version = text.split(":")
    assert (offset, version) == ("7", str(RANKING_VERSION))
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert "=" not in token


def test_a_request_without_an_activation_bound_keeps_the_token_it_had_before_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tokens written before budget.max_activations existed (recorded from that advisor, ranking
    # version 4) continue their request: the unset bound is left out of the digest, and a bound
    # set is another request. Written as version 4 writes them: the version is in the digest.
    monkeypatch.setattr(paging, "RANKING_VERSION", 4)
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=20_000, outputs=2)
    bounded = Budget(max_parameters=20_000, outputs=2, max_multiply_adds=10**6)
    assert next_page_token(task, budget, 3) == "Mzo4MDRjZTBiY2Y3ODNkYTJmOjQ"
    assert next_page_token(task, bounded, 3) == "MzpiZmM5NWFiYmQ4YWViNDNhOjQ"
    assert next_page_token(
        task, Budget(max_parameters=20_000, outputs=2, max_activations=None), 3
    ) == (next_page_token(task, budget, 3))
    tokens = {
        next_page_token(task, Budget(max_parameters=20_000, outputs=2, max_activations=bound), 3)
        for bound in (10_000, 20_000)
    }
    assert len(tokens) == 2 and next_page_token(task, budget, 3) not in tokens


_PAIR = parse_task(
    {
        "input": {"shape": [64]},
        "correlations": [{"name": "ends", "a": {"indices": [0]}, "b": {"indices": [63]}}],
    }
)
"""One pair of locations: every dilation order of a [64] sequence has the same ranks on it."""
_ENDED = "the search's ranking ends here"


def test_a_complete_page_short_of_top_k_says_the_ranking_ends_there() -> None:
    # --top 3 --geometries dilations returned 1 design from 94,302 candidates, and no word why.
    budget = Budget(
        max_parameters=20_000, top_k=3, geometries=["dilations"], time_limit_seconds=None
    )
    run = SearchRun(_PAIR, budget, StopSignal.after(None), None)
    assert run.execute()
    dilated = [s for s in run.visited if s.candidate.eligible]
    assert len(dilated) > 3 and len({s.dag.digest for s in dilated}) == 1  # what the words say
    result = recommend(_PAIR, budget)
    assert result.complete and result.next_page_token is None
    table = " ".join(result.as_table(top_k=3).split())
    assert f"(search complete) 1 of the 3 asked for: {_ENDED}." in table
    assert "only the best of trees with the same ranks at every width" in table
    assert _ENDED not in result.as_table()  # the result alone does not know what was asked
    assert _ENDED not in result.as_table(top_k=1)
    for other in (replace(result, complete=False), replace(result, next_page_token="more")):
        assert _ENDED not in other.as_table(top_k=3)  # a stop, or a ranking that goes on


def test_a_token_whose_version_part_alone_changed_is_no_token() -> None:
    # The digest holds the version that wrote it: this version's digest beside another version
    # is a token edited, not one another version wrote. A character added to a real token read
    # as version 71 ("upgraded, or another one answered, between two pages: start again").
    first = recommend(TASK, Budget(**OPTIONS, top_k=2))
    assert first.next_page_token is not None
    offset, digest, version = (
        base64.urlsafe_b64decode(first.next_page_token + "=" * (-len(first.next_page_token) % 4))
        .decode()
        .split(":")
    )
    assert version == str(RANKING_VERSION)
    for edited in (f"{RANKING_VERSION}1", str(RANKING_VERSION - 1), str(RANKING_VERSION + 1)):
        token = _b64(f"{offset}:{digest}:{edited}")
        with pytest.raises(InvalidRequestError) as raised:
            page_offset(TASK, Budget(**OPTIONS, top_k=2, page_token=token))
        assert not isinstance(raised.value, StalePageTokenError)
        (violation,) = raised.value.violations
        assert violation.description.startswith("is not a page token")
