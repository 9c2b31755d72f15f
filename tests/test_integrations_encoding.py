"""The flat parameter encoding: every design round-trips; what it cannot say is refused by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor import Budget, load_task, parse_architecture, parse_task
from advisor.errors import InvalidRequestError
from advisor.integrations.encoding import SCHEDULE, ArchitectureCodec, permutation_id
from advisor.integrations.learning import coupling_features, rerank
from advisor.integrations.space import (
    ArchitectureSpace,
    design_parameter,
    flat_budget,
    ladder_text,
)
from advisor.model.architecture import Architecture
from advisor.model.grid import InputSpec
from advisor.search.candidates import largest_window, widest_step
from advisor.search.recommend import recommend, sample_architectures
from advisor.stopping import StopSignal

SYMMETRY = load_task("examples/symmetry.yaml")
SEQUENCE = parse_task(
    {
        "input": {"shape": [16]},
        "correlations": [
            {"name": "ends", "a": {"box": {"start": [0], "stop": [4]}}, "b": {"indices": [12, 13]}},
            {"name": "odd", "a": {"indices": list(range(1, 16, 2))}},
        ],
    }
)
# Awkward sizes: the search pads 15x15 to 16x16 and 13 steps to 16 (and other friendly sizes).
AWKWARD = parse_task({"input": {"shape": [15, 15]}, "preset": "symmetry"})
AWKWARD_SEQUENCE = parse_task({"input": {"shape": [13]}, "preset": "start_end"})
BUDGETS = {
    "symmetry": (SYMMETRY, Budget(max_parameters=60_000, top_k=12, time_limit_seconds=None)),
    "sequence": (SEQUENCE, Budget(max_parameters=6_000, top_k=30, time_limit_seconds=None)),
    "awkward": (AWKWARD, Budget(max_parameters=30_000, top_k=8, time_limit_seconds=None)),
    "awkward-sequence": (
        AWKWARD_SEQUENCE,
        Budget(max_parameters=6_000, top_k=8, time_limit_seconds=None),
    ),
}
DESIGNS = {
    name: [r.architecture for r in recommend(task, budget).recommendations]
    + sample_architectures(task, budget, 20, seed=5)
    for name, (task, budget) in BUDGETS.items()
}


def _codec(architecture: Architecture) -> ArchitectureCodec:
    return ArchitectureCodec(
        architecture.input, architecture.outputs, architecture.representation_kernel
    )


@settings(max_examples=40)
@given(st.sampled_from(sorted(DESIGNS)), st.data())
def test_every_design_round_trips(name: str, data: st.DataObject) -> None:
    architecture = data.draw(st.sampled_from(DESIGNS[name]))
    codec = _codec(architecture)
    params = codec.encode(architecture)
    assert all(isinstance(v, int | str) for v in params.values())
    assert params["depth"] == len(architecture.layers)
    assert codec.decode(params) == architecture
    # A fresh codec knows the permutation only once told it (the trial's architecture JSON).
    fresh = _codec(architecture)
    if str(params["geometry"]).partition(":")[2]:
        with pytest.raises(InvalidRequestError) as raised:
            fresh.decode(params)
        assert raised.value.violations[0].field == "geometry"
        fresh.remember(tuple(architecture.geometry.permutation))  # type: ignore[union-attr]
    assert fresh.decode(params) == architecture


@pytest.mark.parametrize(
    "geometry", ["contiguous", "mirror", "interleaved", {"permutation": list(range(63, -1, -1))}]
)
def test_hand_written_geometries_round_trip(geometry: object) -> None:
    architecture = parse_architecture(
        {
            "input": {"shape": [8, 8]},
            "representation": 4,
            "layers": [{"channels": 8, "pool": [2, 2]}, {"channels": 16, "pool": [4, 4]}],
            "geometry": geometry,
            "outputs": 3,
        }
    )
    codec = _codec(architecture)
    params = codec.encode(architecture)
    assert params["schedule"] == "2x2/4x4"
    assert (params["width_0"], params["width_1"], params["representation"]) == (8, 16, 4)
    if isinstance(geometry, dict):
        assert params["geometry"] == f"permutation:{permutation_id(range(63, -1, -1))}"
    else:
        assert params["geometry"] == geometry
    assert codec.decode(params) == architecture


def test_a_padded_design_round_trips_with_its_padding_in_the_schedule() -> None:
    padded = [a for a in DESIGNS["awkward"] if a.padding is not None]
    assert padded, "the search pads 15x15"
    for architecture in padded:
        codec = _codec(architecture)
        params = codec.encode(architecture)
        windows = "/".join("x".join(str(n) for n in layer.pool) for layer in architecture.layers)
        margins = "x".join(f"{before}+{after}" for before, after in architecture.padding or ())
        assert params["schedule"] == f"{windows},pad={margins}"
        assert " " not in str(params["schedule"])
        assert codec.decode(params) == architecture


@pytest.mark.parametrize("name", ["awkward", "awkward-sequence"])
def test_the_space_holds_every_schedule_the_search_recommends_on_an_awkward_grid(
    name: str,
) -> None:
    # Without the designs: the padded schedules are the space's own, so a tool's sampler
    # explores them too, not only the advisor's proposals.
    task, budget = BUDGETS[name]
    space = ArchitectureSpace.for_search(task, budget)
    for recommendation in recommend(task, budget).recommendations:
        params = space.codec.encode(recommendation.architecture)
        assert params["schedule"] in space.schedules
        assert params["representation"] in space.representations


@pytest.mark.parametrize("name", ["symmetry", "awkward", "awkward-sequence"])
def test_the_space_pairs_each_geometry_with_exactly_the_schedules_it_pools(name: str) -> None:
    # A draw of the space is a design: every pairing decodes, and what is left out does not
    # (a permutation of the unpadded grid with a padded schedule, mirror on windows of 3).
    task, budget = BUDGETS[name]
    space = ArchitectureSpace.for_search(task, budget, recommend(task, budget).recommendations)
    width = {"representation": space.representations[0]} | {
        f"width_{level}": space.widths[0] for level in range(20)
    }
    for geometry in space.geometries:
        paired = space.choices(space.schedule_parameter(geometry))
        assert paired == space.pairings[geometry] and paired
        for schedule in space.schedules:
            params = width | {"geometry": geometry, "schedule": schedule}
            if schedule in paired:
                space.codec.decode(params)
            elif "/" in schedule:  # one global pool is one net, paired once (test below)
                with pytest.raises(InvalidRequestError):
                    space.codec.decode(params)
    assert space.schedule_parameter("contiguous") == "schedule"
    assert space.schedule_parameter("mirror") == "schedule[mirror]"
    if name != "symmetry":  # the padded grids' permutations pair with their own grid only
        assert any(space.schedule_parameter(g).startswith("schedule[") for g in space.geometries)


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_a_design_round_trips_through_the_parameters_a_trial_suggests(name: str) -> None:
    # A trial suggests M and the widths as one ladder of the tree (widths[WINDOWS]): the
    # advisor's designs go there and back, and the ladders of the search's own random designs
    # (sample_architectures) are the choices the space offers their trees, without the designs.
    task, budget = BUDGETS[name]
    ranked = recommend(task, budget).recommendations
    space = ArchitectureSpace.for_search(task, budget, ranked)
    for recommendation in ranked:
        params = space.codec.encode(recommendation.architecture)
        suggested = space.trial_parameters(params)
        schedule = space.schedule_parameter(str(params["geometry"]))
        ladder = space.ladder_parameter(str(params["schedule"]))
        assert set(suggested) == {"geometry", schedule, ladder}
        for parameter, value in suggested.items():
            assert value in space.choices(parameter)
        flat = space.flat_parameters(suggested)
        assert space.codec.decode(flat) == recommendation.architecture
    own = ArchitectureSpace.for_search(task, budget)
    for architecture in DESIGNS[name][len(ranked) :]:
        ladder = own.ladder_parameter(str(own.codec.encode(architecture)["schedule"]))
        assert ladder is not None and ladder.startswith("widths[")
        widths = [architecture.representation, *(layer.channels for layer in architecture.layers)]
        assert ladder_text(widths) in own.choices(ladder)


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_a_design_under_the_earlier_parameter_names_is_read_and_told_apart(name: str) -> None:
    # The earlier versions suggested the schedule as ``schedule`` for every geometry and M and
    # the widths one by one: such a trial's design is read as the same design, and flagged.
    task, budget = BUDGETS[name]
    ranked = recommend(task, budget).recommendations
    space = ArchitectureSpace.for_search(task, budget, ranked)
    # The objective's own parameter, a float: Any, as a trial's params are (FlatValue has none).
    lr: dict[str, Any] = {"lr": 0.1}
    for recommendation in ranked:
        params = space.codec.encode(recommendation.architecture)
        del params["depth"]
        own = f"schedule[{params['geometry']}]"
        restricted = {own if k == "schedule" else k: v for k, v in params.items()}
        for earlier in (params, restricted | lr):
            assert space.flat_parameters(earlier) == params
            assert space.renamed(earlier)
        current = space.trial_parameters(params)
        assert not space.renamed(current) and not space.renamed(current | lr)
    assert not space.renamed(lr)


def test_a_designs_parameters_are_told_from_the_objectives_own() -> None:
    for name in ("geometry", "schedule", "schedule[mirror]", "widths[2x2/8x8]"):
        assert design_parameter(name)
    for name in ("representation", "width_0", "width_12"):
        assert design_parameter(name)
    for name in ("lr", "depth", "width_multiplier", "width_", "schedules", "widths"):
        assert not design_parameter(name)


def test_dilations_round_trip() -> None:
    architecture = parse_architecture(
        {
            "input": {"shape": [8]},
            "representation": 4,
            "layers": [{"channels": 8, "pool": [2]}] * 3,
            "geometry": {"dilations": [4, 1, 2]},
        }
    )
    codec = _codec(architecture)
    assert codec.encode(architecture)["geometry"] == "dilations=4-1-2"
    assert codec.decode(codec.encode(architecture)) == architecture


def _params(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "geometry": "mirror",
        "schedule": "2x2/2x2/8x8",
        "representation": 8,
        "width_0": 16,
        "width_1": 32,
        "width_2": 64,
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"schedule": "2x2/3x3/8x8"}, "schedule"),
        ({"schedule": "2x2/two/8x8"}, "schedule"),
        ({"schedule": "2/2/8"}, "schedule"),
        ({"geometry": "mirror", "schedule": "4x4/4x4"}, "geometry"),
        ({"geometry": "dilations=1-x"}, "geometry"),
        ({"geometry": "spiral"}, "geometry"),
        ({"geometry": "mirror:0123456789ab"}, "geometry"),
        ({"width_1": 0}, "width_1"),
        ({"width_2": None}, "width_2"),
        ({"representation": "8"}, "representation"),
        ({"depth": 4}, "depth"),
        ({"schedule": "2x2/2x2/8x8,pad=0+1"}, "schedule"),
        ({"schedule": "2x2/2x2/8x8,pad=one+0x0+0"}, "schedule"),
        ({"schedule": "2x2/2x2/8x8,pad=0+1x0+1"}, "schedule"),
    ],
)
def test_invalid_parameters_are_named(changes: dict[str, object], field: str) -> None:
    codec = ArchitectureCodec(SYMMETRY.input)
    with pytest.raises(InvalidRequestError) as raised:
        codec.decode(_params(**changes))
    assert field in [v.field for v in raised.value.violations]


@pytest.mark.parametrize("missing", ["width_0", "width_2", "representation"])
def test_a_parameter_left_out_is_named_as_missing(missing: str) -> None:
    # Read as None, it was refused as "width_2: Input should be a valid integer".
    params = _params(schedule="2x2/2x2/4x4")  # a design of the input
    del params[missing]
    with pytest.raises(InvalidRequestError) as raised:
        ArchitectureCodec(SYMMETRY.input).decode(params)
    assert [str(v) for v in raised.value.violations] == [f"{missing}: Field required"]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        # Built before, refused only by the first decode; decode(None), ArchitectureCodec(None):
        # an AttributeError naming nothing.
        (lambda: ArchitectureCodec(SYMMETRY.input, outputs=0), "outputs"),
        (lambda: ArchitectureCodec(SYMMETRY.input, outputs=cast(Any, 2.5)), "outputs"),
        (
            lambda: ArchitectureCodec(SYMMETRY.input, representation_kernel=0),
            "representation_kernel",
        ),
        (lambda: ArchitectureCodec(cast(Any, None)), "input"),
        (lambda: ArchitectureCodec(SYMMETRY.input).decode(cast(Any, None)), "params"),
    ],
    ids=["outputs-zero", "outputs-fraction", "kernel-zero", "input-none", "decode-none"],
)
def test_a_bad_codec_argument_is_refused_naming_it(make: Callable[[], object], field: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        make()
    assert [v.field for v in raised.value.violations] == [field]


@pytest.mark.parametrize("outputs", [0, 2.5, True, 2**31])
def test_a_codecs_outputs_are_refused_in_the_architectures_words(outputs: object) -> None:
    design = ArchitectureCodec(SYMMETRY.input).decode(_params(schedule="2x2/2x2/4x4"))
    document = design.model_dump(mode="json")
    with pytest.raises(InvalidRequestError) as made:
        ArchitectureCodec(SYMMETRY.input, outputs=outputs)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError) as parsed:
        parse_architecture(document | {"outputs": outputs})
    assert str(made.value) == str(parsed.value)


def test_what_the_encoding_cannot_say_is_refused() -> None:
    base = {
        "input": {"shape": [8]},
        "representation": 4,
        "layers": [{"channels": 8, "pool": [3], "stride": [1]}, {"channels": 8, "pool": [6]}],
    }
    codec = ArchitectureCodec(InputSpec(shape=(8,)))
    with pytest.raises(InvalidRequestError) as raised:
        codec.encode(parse_architecture(base))
    assert raised.value.violations[0].field == "layers[0].stride"
    named = parse_architecture(
        {**base, "layers": [{"channels": 8, "pool": [8]}], "family": "contiguous"}
    )
    with pytest.raises(InvalidRequestError) as raised:
        codec.encode(named)
    assert raised.value.violations[0].field == "family"
    with pytest.raises(InvalidRequestError) as raised:
        ArchitectureCodec(named.input, outputs=2).encode(named.model_copy(update={"family": None}))
    assert raised.value.violations[0].field == "outputs"


def test_the_space_holds_every_proposal_and_the_search_schedules() -> None:
    task, budget = BUDGETS["symmetry"]
    designs = recommend(task, budget).recommendations
    space = ArchitectureSpace.for_search(task, budget, designs)
    for design in designs:
        params = space.codec.encode(design.architecture)
        for name, value in params.items():
            if name != "depth":
                assert value in space.choices(name)
    assert {"contiguous", "mirror", "interleaved"} <= set(space.geometries)
    assert "2x2/2x2/2x2/2x2" in space.schedules  # the standard CNN's schedule on 16x16


@pytest.mark.parametrize("families", [["mirror"], ["contiguous", "interleaved"]])
def test_the_space_offers_only_the_named_geometries_the_budget_allows(
    families: list[Any],
) -> None:
    # Before, every named geometry was offered whatever budget.geometries said: a study asking
    # for mirror designs alone had its fallback (TPE) draw contiguous and interleaved ones.
    budget = Budget(max_parameters=50_000, top_k=3, geometries=families)
    designs = recommend(SYMMETRY, budget).recommendations
    space = ArchitectureSpace.for_search(SYMMETRY, budget, designs)
    assert {g for g in space.geometries if ":" not in g} == set(families)
    assert {g.partition(":")[0] for g in space.geometries} == set(families)  # FAMILY:ID too


def test_a_budget_whose_families_leave_no_geometry_is_refused_naming_them() -> None:
    # Synthesized geometries come from the advisor's designs alone: without one, no geometry.
    budget = Budget(max_parameters=50_000, top_k=3, geometries=["synthesized"])
    with pytest.raises(InvalidRequestError) as raised:
        ArchitectureSpace.for_search(SYMMETRY, budget, ())
    assert [v.field for v in raised.value.violations] == ["budget.geometries"]
    designs = recommend(SYMMETRY, budget).recommendations
    assert ArchitectureSpace.for_search(SYMMETRY, budget, designs).geometries


@pytest.mark.parametrize(
    ("bound", "value", "measure"),
    [("max_window", 4, largest_window), ("max_step", 2, widest_step)],
)
def test_the_space_keeps_the_window_bounds_the_budget_states(
    bound: str, value: int, measure: Callable[[Any], int]
) -> None:
    # Before, the space offered every schedule of the grid: with max_window=4, TPE drew 2x2/8x8
    # and a 16x16 global pool, trees the search itself refuses to recommend.
    budget = Budget.model_validate({"max_parameters": 50_000, "top_k": 3, bound: value})
    designs = recommend(SYMMETRY, budget).recommendations
    space = ArchitectureSpace.for_search(SYMMETRY, budget, designs)
    windows = [space.codec.decode(_flat(space, s)).schedule.pools for s in space.schedules]
    assert windows and all(measure(pools) <= value for pools in windows)
    unbounded = ArchitectureSpace.for_search(SYMMETRY, Budget(max_parameters=50_000), designs)
    assert set(space.schedules) < set(unbounded.schedules)


def test_the_space_keeps_the_window_bounds_the_search_holds_by_default() -> None:
    # Before, only a bound the budget states bound the space: left at its default max_window of
    # 16, the space of a 16x16 input offered 16x16 and 2x2/8x8 windows (256 and 64 locations),
    # which no default search recommends.
    task, budget = BUDGETS["symmetry"]
    designs = recommend(task, budget).recommendations
    space = ArchitectureSpace.for_search(task, budget, designs)
    windows = [space.codec.decode(_flat(space, s)).schedule.pools for s in space.schedules]
    default = budget.max_window
    assert default is not None and windows
    assert all(largest_window(pools) <= default for pools in windows)
    stated = budget.model_copy(update={"max_window": default})
    assert "max_window" in stated.stated_bounds()
    bound = ArchitectureSpace.for_search(task, stated, designs)
    assert (bound.schedules, bound.pairings) == (space.schedules, space.pairings)


def test_the_space_holds_a_stopped_search_s_shallow_net_past_the_default_window_bound() -> None:
    # A search stopped before any tree returns its shallow baseline, one 16x16 window past the
    # default max_window of 16: the space dropped its schedule, then looked its ladders up and
    # failed (KeyError 'widths[16x16]'), so a sampler on a cut ranking raised.
    task, budget = BUDGETS["symmetry"]
    stopped = recommend(task, budget, stop=StopSignal(0.0))
    assert [r.architecture.family for r in stopped.recommendations] == ["shallow"]
    space = ArchitectureSpace.for_search(task, budget, stopped.recommendations)
    ((params, architecture),) = [
        (space.codec.encode(r.architecture), r.architecture) for r in stopped.recommendations
    ]
    assert params[SCHEDULE] in space.schedules
    assert space.codec.decode(params) == architecture


@pytest.mark.parametrize(
    ("name", "bounds", "family", "shallow"),
    [
        ("symmetry", {"max_window": 256}, "contiguous", "16x16"),
        ("awkward-sequence", {}, "contiguous", "13"),
        ("sequence", {}, "shallow", "16"),  # the ranking holds the shallow net: its geometry
    ],
)
def test_the_space_offers_the_shallow_net_once(
    name: str, bounds: dict[str, int], family: str, shallow: str
) -> None:
    # One global pool ignores the geometry: the space offered the one shallow net under every
    # geometry (7 on 16x16) and on every padding of an awkward grid (13 padded to 16, ...),
    # each with its own ladders. The search holds it once, on the input.
    task, budget = BUDGETS[name]
    budget = budget.model_copy(update=bounds)
    space = ArchitectureSpace.for_search(task, budget, recommend(task, budget).recommendations)
    assert len(space.geometries) > 1
    one_level = [
        (g.partition(":")[0], s)
        for g in space.geometries
        for s in space.pairings[g]
        if "/" not in s
    ]
    assert one_level == [(family, shallow)]


def _flat(space: ArchitectureSpace, schedule: str) -> dict[str, Any]:
    """Return flat parameters of a contiguous design of ``schedule`` (its first ladder)."""
    ladder = space.ladder_parameter(schedule)
    assert ladder is not None
    params = {"geometry": "contiguous", "schedule": schedule, ladder: space.choices(ladder)[0]}
    return space.flat_parameters(params)


def test_reranking_follows_the_correlation_the_values_reward() -> None:
    task, budget = BUDGETS["sequence"]
    designs = recommend(task, budget).recommendations
    features = coupling_features(designs)
    # The observed value is the coupling of correlation "odd" alone: after a few trials (every
    # third design, so the trials see that coupling vary) the remaining designs must come in
    # decreasing order of it.
    odd = [c.name for c in designs[0].analysis].index("odd")
    observed = {i: float(features[i, odd]) for i in range(0, len(designs), 3)}
    remaining = [i for i in range(len(designs)) if i not in observed]
    order = rerank(designs, remaining, observed)
    assert sorted(order) == remaining
    coupling = {i: float(features[i, odd]) for i in remaining}
    assert coupling[order[0]] == max(coupling.values())
    assert _inversions([coupling[i] for i in order]) < _inversions([coupling[i] for i in remaining])
    assert rerank(designs, remaining, {0: 1.0, 1: 1.0}) == remaining  # no information
    negated = {i: -value for i, value in observed.items()}
    assert rerank(designs, remaining, negated, maximize=False) == order


def _inversions(values: list[float]) -> int:
    """Count the pairs in increasing order (0: sorted best first)."""
    return sum(a < b for i, a in enumerate(values) for b in values[i + 1 :])


def test_a_mixture_is_refused_by_the_encoding_and_by_the_integrations_budgets() -> None:
    # Encoded before, it lost its second tree: a trial trained another, smaller design.
    mixture = parse_architecture(
        {
            "input": {"shape": [16]},
            "representation": 4,
            "layers": [{"channels": 4, "pool": [2]}] * 4,
            "geometry": {"dilations": [1, 2, 4, 8]},
            "mixture": {
                "members": [{"geometry": {"dilations": [2, 1, 8, 4]}, "channels": [4] * 4}],
                "mixing": [2],
            },
        }
    )
    with pytest.raises(InvalidRequestError) as raised:
        ArchitectureCodec(mixture.input).encode(mixture)
    assert [v.field for v in raised.value.violations] == ["mixture"]
    with pytest.raises(InvalidRequestError) as raised:
        flat_budget(Budget(max_parameters=30_000, geometries=["mirror", "mixture"]))
    assert [v.field for v in raised.value.violations] == ["budget.geometries"]
    plain = Budget(max_parameters=30_000, geometries=["mirror"])
    assert flat_budget(plain) is plain


def test_a_permutation_family_with_a_colon_round_trips_and_the_reserved_word_is_refused() -> None:
    document = {
        "input": {"shape": [4]},
        "representation": 2,
        "layers": [{"channels": 2, "pool": [2]}, {"channels": 2, "pool": [2]}],
        "geometry": {"permutation": [2, 0, 3, 1]},
    }
    codec = ArchitectureCodec(InputSpec(shape=(4,)))
    colon = parse_architecture({**document, "family": "data:arranged"})
    assert codec.decode(codec.encode(colon)) == colon
    with pytest.raises(InvalidRequestError) as raised:
        codec.encode(parse_architecture({**document, "family": "permutation"}))
    assert [v.field for v in raised.value.violations] == ["family"]
