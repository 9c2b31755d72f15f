"""Width allocation: the branch and bound returns exactly what full enumeration finds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.geometry.layouts import structure_from_permutation
from advisor.geometry.structure import PoolingStructure
from advisor.model.parameters import ParameterModel
from advisor.search import widths as widths_module
from advisor.search.candidates import window_schedules
from advisor.search.objective import Objective, default_targets
from advisor.search.subtree_dag import DpValues, SubtreeDag, SubtreeDagBuilder
from advisor.search.widths import Allocation, Floor, allocate_widths, dominated_states
from advisor.seprank.tree import log2_min_cut
from advisor.stopping import StopSignal

SHAPES = [(4, 4), (16,), (2, 8), (32,), (4, 8)]
CHOICES = [1, 2, 3, 4, 6, 8, 16]


class Instance:
    """A small tree, labels, objective, parameter model and budget."""

    def __init__(
        self,
        structure: PoolingStructure,
        labels: npt.NDArray[np.int8],
        objective: Objective,
        choices: list[int],
        model: ParameterModel,
        budget: int,
    ) -> None:
        self.structure, self.labels, self.objective = structure, labels, objective
        self.choices, self.model, self.budget = choices, model, budget
        depth = structure.depth
        self.dag: SubtreeDag = SubtreeDagBuilder(labels).build(structure.windows, range(depth))

    def allocate(self, floor: Floor | None = None) -> Allocation | None:
        outcome = allocate_widths(
            self.dag, self.objective, self.choices, self.model, self.budget, floor=floor
        )
        assert outcome.complete
        return outcome.allocation

    def enumerate(self) -> Allocation | None:
        """The optimum by brute force, scored by the tree engine (not by the search's DP)."""
        depth = self.structure.depth
        points = np.array(list(itertools.product(sorted(self.choices), repeat=depth + 1)))
        cost = self.model.count(points)
        points, cost = points[cost <= self.budget], cost[cost <= self.budget]
        if points.size == 0:
            return None
        logs = np.log2(points.astype(float))
        figures = log2_min_cut(
            self.structure, self.labels, logs[:, 1:], logs[:, 0], shared_weights=True
        )
        keys = self.objective.keys(figures)
        order = np.lexsort(
            [*(points[:, i] for i in reversed(range(depth + 1))), cost]
            + [-keys[:, i] for i in reversed(range(keys.shape[1]))]
        )
        top = order[0]
        return Allocation(
            tuple(int(w) for w in points[top]),
            tuple(float(k) for k in keys[top]),
            int(cost[top]),
            tuple(float(f) for f in figures[top]),
        )


@st.composite
def label_rows(draw: st.DrawFn, n: int) -> list[int]:
    """Random labels, or a structured pair (halves, alternation) that pure subtrees serve."""
    kind = draw(st.sampled_from(["random", "halves", "alternate"]))
    if kind == "halves":
        return [1] * (n // 2) + [2] * (n - n // 2)
    if kind == "alternate":
        return [1 + i % 2 for i in range(n)]
    return draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n))


@st.composite
def instances(draw: st.DrawFn) -> Instance:
    shape = draw(st.sampled_from(SHAPES))
    pools = draw(st.sampled_from(window_schedules(shape, 1, 5)))
    n = math.prod(shape)
    order = draw(st.sampled_from(["identity", "random"]))
    permutation = np.arange(n) if order == "identity" else np.array(draw(st.permutations(range(n))))
    structure = structure_from_permutation(shape, pools, permutation)
    correlations = draw(st.integers(1, 3))
    labels = np.array([draw(label_rows(n)) for _ in range(correlations)], dtype=np.int8)
    labels[:, 0], labels[:, 1] = 1, 2  # both sides non-empty
    choices = draw(st.lists(st.sampled_from(CHOICES), min_size=2, max_size=5, unique=True))
    if max(choices) < 2:
        choices.append(2)
    sides = [min(int((row == 1).sum()), int((row == 2).sum())) for row in labels]
    cap = draw(st.none() | st.floats(0.5, 30.0))
    objective = Objective.create(
        default_targets(sides, max(choices), cap),
        draw(st.lists(st.floats(0.1, 3.0), min_size=correlations, max_size=correlations)),
        draw(st.sampled_from(["weighted", "maximin"])),
    )
    model = ParameterModel(draw(st.integers(1, 9)), draw(st.integers(1, 3)))
    budget = draw(st.integers(10, 3000))
    return Instance(structure, labels, objective, choices, model, budget)


@pytest.mark.slow
@settings(max_examples=200)
@given(instances())
def test_allocation_equals_the_enumerated_optimum(instance: Instance) -> None:
    found, expected = instance.allocate(), instance.enumerate()
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert (found.widths, found.parameters) == (expected.widths, expected.parameters)
    assert found.keys == pytest.approx(expected.keys, abs=1e-9)
    assert found.log2_ranks == pytest.approx(expected.log2_ranks, abs=1e-9)
    assert found.parameters <= instance.budget


def _best_row(
    keys: npt.NDArray[np.float64], cost: npt.NDArray[np.int64], points: npt.NDArray[np.int64]
) -> int:
    """Index of the best point: score tuple, then fewer parameters, then smaller widths."""
    order = np.lexsort(
        [*(points[:, i] for i in reversed(range(points.shape[1]))), cost]
        + [-keys[:, i] for i in reversed(range(keys.shape[1]))]
    )
    return int(order[0])


@pytest.mark.slow
@settings(max_examples=150)
@given(instances(), st.data())
def test_dropping_dominated_assignments_keeps_the_optimum(
    instance: Instance, data: st.DataObject
) -> None:
    """The dominance rule on its own: whole searches rarely reach the cases it decides."""
    dag, model = instance.dag, instance.model
    values = np.array(sorted(instance.choices))
    logs = np.log2(values.astype(float))
    height = data.draw(st.integers(0, dag.depth - 1))
    prefixes = np.array(list(itertools.product(range(values.size), repeat=height + 1)))
    rests = np.array(list(itertools.product(range(values.size), repeat=dag.depth - height)))
    state = dag.leaves(logs[prefixes[:, 0]])
    for level in range(1, height + 1):
        state = dag.step(level, state, logs[prefixes[:, level]])
    prefix_widths = values[prefixes]
    cost = (model.representation_weights + 1) * prefix_widths[:, 0]
    cost += ((prefix_widths[:, :-1] + 1) * prefix_widths[:, 1:]).sum(axis=1)
    pairs = np.array(list(itertools.product(range(len(prefixes)), range(len(rests)))))
    points = np.hstack([prefixes[pairs[:, 0]], rests[pairs[:, 1]]])
    total = model.count(values[points])
    feasible = total <= instance.budget
    figures = dag.propagate(state.take(pairs[:, 0]), height, logs[rests[pairs[:, 1]]])
    keys = instance.objective.keys(figures)
    usable = np.unique(pairs[feasible, 0])
    if usable.size == 0:
        return
    bounds = np.stack([figures[feasible & (pairs[:, 0] == p)].max(axis=0) for p in usable])
    dropped = dominated_states(
        prefixes[usable],
        cost[usable],
        state.take(usable),
        bounds,
        instance.objective.targets,
        dag.reach[height],
    )
    kept_prefixes = usable[~dropped]
    everywhere = np.flatnonzero(feasible)
    among_kept = everywhere[np.isin(pairs[everywhere, 0], kept_prefixes)]
    best = everywhere[_best_row(keys[everywhere], total[everywhere], points[everywhere])]
    best_kept = among_kept[_best_row(keys[among_kept], total[among_kept], points[among_kept])]
    assert best_kept == best


@settings(max_examples=40)
@given(instances())
def test_a_floor_only_lets_better_allocations_through(instance: Instance) -> None:
    best = instance.allocate()
    if best is None:
        return
    assert instance.allocate(Floor(best.keys, best.parameters, wins_ties=lambda: False)) is None
    assert instance.allocate(Floor(best.keys, best.parameters, wins_ties=lambda: True)) == best
    assert instance.allocate(Floor(best.keys, best.parameters + 1, wins_ties=lambda: False)) == best


def _left_right(shape: tuple[int, int]) -> npt.NDArray[np.int8]:
    labels = np.full(shape, 2, dtype=np.int8)
    labels[:, : shape[1] // 2] = 1
    return labels.reshape(1, -1)


def test_nothing_is_returned_when_nothing_fits() -> None:
    structure = structure_from_permutation((4, 4), [(2, 2), (2, 2)], np.arange(16))
    labels = _left_right((4, 4))
    objective = Objective.create([8.0], [1.0], "weighted")
    instance = Instance(structure, labels, objective, [2, 4], ParameterModel(1, 1), budget=10)
    assert instance.allocate() is None
    assert instance.enumerate() is None


def test_a_stop_request_interrupts_the_search() -> None:
    structure = structure_from_permutation((16, 16), [(2, 2)] * 4, np.arange(256))
    instance = Instance(
        structure,
        _left_right((16, 16)),
        Objective.create([1152.0], [1.0], "weighted"),
        [2**i for i in range(10)],
        ParameterModel(1, 1),
        100_000,
    )
    stop = StopSignal()
    stop.cancel()
    outcome = allocate_widths(
        instance.dag,
        instance.objective,
        instance.choices,
        instance.model,
        instance.budget,
        stop=stop,
    )
    assert not outcome.complete


class _Recording:
    """A tree recurrence that records how many width vectors each ``step``/``propagate`` takes."""

    def __init__(self, dag: SubtreeDag) -> None:
        self.dag = dag
        self.batches: list[int] = []

    @property
    def depth(self) -> int:
        return self.dag.depth

    @property
    def size(self) -> int:
        return self.dag.size

    @property
    def reach(self) -> tuple[npt.NDArray[np.bool_], ...]:
        return self.dag.reach

    def leaves(self, log2_representation: npt.NDArray[np.float64]) -> DpValues:
        return self.dag.leaves(log2_representation)

    def step(self, height: int, below: DpValues, log2_width: npt.NDArray[np.float64]) -> DpValues:
        self.batches.append(below.log2_dim.size)
        return self.dag.step(height, below, log2_width)

    def propagate(
        self, state: DpValues, height: int, log2_widths: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        self.batches.append(state.log2_dim.size)
        return self.dag.propagate(state, height, log2_widths)

    def root_figures(self, root: DpValues) -> npt.NDArray[np.float64]:
        return self.dag.root_figures(root)


def test_a_chunk_holds_a_share_of_one_assignment_s_choices_where_that_is_its_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A chunk held at least one assignment with every choice of the next width: on a tree of
    # 145,166 (type, child) pairs, 64 choices ran 10 s between two polls of the stop signal
    # and took 800 MiB at once. With a chunk the size of one width vector's work, a step
    # takes one vector and a propagation its three completions, and the optimum is the same.
    structure = structure_from_permutation((8, 8), [(2, 2)] * 3, np.arange(64))
    instance = Instance(
        structure,
        _left_right((8, 8)),
        Objective.create([48.0], [1.0], "weighted"),
        [2**i for i in range(8)],
        ParameterModel(1, 1),
        20_000,
    )
    expected = instance.allocate()
    recording = _Recording(instance.dag)
    monkeypatch.setattr(widths_module, "_CHUNK_CELLS", instance.dag.size)
    outcome = allocate_widths(
        recording, instance.objective, instance.choices, instance.model, instance.budget
    )
    assert outcome.complete and outcome.allocation == expected
    assert recording.batches and max(recording.batches) <= 3


def test_left_right_under_contiguous_pooling_gets_a_wide_tip() -> None:
    """docs/THEORY.md §6: left vs right meet only at the root, so only the deep widths count."""
    structure = structure_from_permutation((16, 16), [(2, 2)] * 4, np.arange(256))
    instance = Instance(
        structure,
        _left_right((16, 16)),
        Objective.create([1152.0], [1.0], "weighted"),
        [2**i for i in range(10)],
        ParameterModel(1, 1),
        100_000,
    )
    found = instance.allocate()
    assert found is not None
    assert found.widths[-1] == 512 and found.log2_ranks == (9.0,)
    assert found.widths[1] < found.widths[-1]
