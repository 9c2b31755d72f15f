"""Mixtures [CTS18]: the file format, the bound against the exact engine, the hybrid trees."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError, LimitExceededError
from advisor.geometry.layouts import pooling_structure
from advisor.model import mixture as model_mixture
from advisor.model.architecture import (
    Architecture,
    Layer,
    architecture_document,
    load_architecture,
    parameter_count,
    parse_architecture,
)
from advisor.model.exact_bounds import EXACT_MAX_LOG2_SIZE
from advisor.model.task import Task, load_task, parse_task
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.seprank.analysis import analyze
from advisor.seprank.exact import exact_rank
from advisor.seprank.graph import log2_min_cut_graph
from advisor.seprank.labels import FREE, PADDED, SIDE_A, SIDE_B, label_regions
from advisor.seprank.mixture import (
    LadderBounds,
    hybrid_structures,
    log2_mixture_bound,
    mixture_structure,
)
from advisor.seprank.mixture_exact import MIXTURE_EXACT_MAX_LOG2_SIZE, mixture_exact_rank
from advisor.seprank.tree import log2_min_cut
from advisor.service.analysis_cost import check_analysis_cost
from advisor.service.limits import RequestLimits
from tests.support.mixtures import member_trees


def _document(
    orders: list[list[int]], widths: list[list[int]], mixing: list[int], m: int
) -> dict[str, Any]:
    depth = len(orders[0])
    return {
        "input": {"shape": [2**depth]},
        "representation": m,
        "layers": [{"channels": w, "pool": [2]} for w in widths[0]],
        "geometry": {"dilations": orders[0]},
        "mixture": {
            "members": [
                {"geometry": {"dilations": order}, "channels": own}
                for order, own in zip(orders[1:], widths[1:], strict=True)
            ],
            "mixing": mixing,
        },
    }


@st.composite
def _mixtures(draw: st.DrawFn, root_only: bool = False) -> Architecture:
    """A mixture of 2-3 dilated members, of 8 or 16 steps, or of 16 summed at the root only."""
    depth = 4 if root_only else draw(st.integers(3, 4))
    dilations = [2**level for level in range(depth)]
    orders = [draw(st.permutations(dilations)) for _ in range(draw(st.integers(2, 3)))]
    shared = [
        level
        for level in range(1, depth)
        if all(set(order[:level]) == set(orders[0][:level]) for order in orders)
    ]
    mixing = sorted(draw(st.sets(st.sampled_from(shared))) if shared and not root_only else [])
    widths = [draw(st.lists(st.integers(1, 4), min_size=depth, max_size=depth)) for _ in orders]
    for own in widths[1:]:
        for level in (*mixing, depth):
            own[level - 1] = widths[0][level - 1]
    return parse_architecture(_document(orders, widths, mixing, draw(st.sampled_from([2, 3]))))


@st.composite
def _labels(draw: st.DrawFn, size: int, most: int, balanced: bool = False) -> np.ndarray:
    """One correlation of at most ``most`` locations; ``balanced``: half of them a side, 6 up."""
    locations = draw(st.permutations(range(size)))
    count = draw(st.integers(6 if balanced else 2, most))
    split = count // 2 if balanced else draw(st.integers(1, count - 1))
    labels = np.zeros((1, size), dtype=np.int8)
    labels[0, locations[:split]] = SIDE_A
    labels[0, locations[split:count]] = SIDE_B
    return labels


def _most_region_locations(arch: Architecture) -> int:
    # The exact contraction holds M^(|A|+|B|) entries per channel: keep it within 2^12.
    return min(arch.input.num_locations, int(12 // math.log2(arch.representation)))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_bound_is_never_below_the_exact_rank_nor_below_any_hybrid(data: st.DataObject) -> None:
    arch = data.draw(_mixtures())
    labels = data.draw(_labels(arch.input.num_locations, _most_region_locations(arch)))
    structure = mixture_structure(arch)
    bound = float(log2_mixture_bound(structure, labels)[0])
    rank = mixture_exact_rank(structure, labels[0])
    assert math.log2(rank) <= bound + 1e-9
    ((a, b),) = label_regions(labels)
    log2_m = math.log2(arch.representation)
    for choice, hybrid, widths in hybrid_structures(structure):
        cut = float(log2_min_cut(hybrid, labels, np.log2(widths), log2_m)[0])
        assert cut <= bound + 1e-9, choice
        # [CTS18]: a mixture computes each hybrid tree (zero the other members' layers), so
        # its generic rank, with shared weights, is at least the hybrid's.
        assert exact_rank(hybrid, a, b, list(widths), arch.representation) <= rank, choice


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_ladders_sharing_their_bounds_get_the_figures_each_gets_alone(data: st.DataObject) -> None:
    # The search scores a pair's ladders through one LadderBounds, which reuses the levels (and
    # the window sums) a ladder shares with the one before. Each ladder here changes one width
    # (or M) of the one before, so they share prefixes as the search's do: the same floats.
    arch = data.draw(_mixtures())
    size = arch.input.num_locations
    labels = np.vstack([data.draw(_labels(size, size)) for _ in range(2)])
    structure = mixture_structure(arch)
    widths = [list(own) for own in structure.widths]
    representation = arch.representation
    shared = LadderBounds(structure, labels)
    for _ in range(data.draw(st.integers(2, 8))):
        if data.draw(st.booleans()):
            representation = data.draw(st.sampled_from([2, 3]))
        level = data.draw(st.integers(0, structure.depth - 1))
        width = data.draw(st.integers(1, 4))
        # Members agree at the mixing levels and the root (structure.mixing holds both).
        changed = (
            range(len(widths))
            if level + 1 in structure.mixing
            else [data.draw(st.integers(0, len(widths) - 1))]
        )
        for member in changed:
            widths[member][level] = width
        ladder = tuple(tuple(own) for own in widths)
        alone = dataclasses.replace(structure, widths=ladder, representation=representation)
        expected = log2_mixture_bound(alone, labels)
        assert np.array_equal(shared.bound(representation, ladder), expected)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_trees_summed_counts_are_the_counts_of_its_mixtures(data: st.DataObject) -> None:
    # The search filters a pair's ladders by these vectorised counts before it builds any
    # mixture. A mixture of K members of one width ladder has K trees' convs but one
    # representation conv (k^d C_in M weights, M biases, on every input location) and one
    # output layer (r_{L-1} Y weights, Y biases): counted from the tree's own figures here,
    # the activations too.
    depth = data.draw(st.integers(2, 4))
    members = data.draw(st.integers(2, 3))
    dilations = [2**level for level in range(depth)]
    orders = [data.draw(st.permutations(dilations)) for _ in range(members)]
    outputs = data.draw(st.integers(1, 12))
    kernel = data.draw(st.sampled_from([1, 3]))
    channels = data.draw(st.integers(1, 3))
    ladder = st.lists(st.integers(1, 64), min_size=depth + 1, max_size=depth + 1)
    rows = np.asarray(data.draw(st.lists(ladder, min_size=1, max_size=5)), dtype=np.int64)

    def parsed(row: list[int], count: int) -> Architecture:
        document = _document(orders[: max(count, 2)], [row[1:]] * max(count, 2), [], row[0])
        if count == 1:
            del document["mixture"]
        document["input"]["channels"] = channels
        return parse_architecture({**document, "outputs": outputs, "representation_kernel": kernel})

    counts = parsed(rows[0].tolist(), 1).summed_counts(rows, members)
    for row, count, cost, held in zip(rows.tolist(), *counts, strict=True):
        tree, mixture = parsed(row, 1), parsed(row, members)
        representation, last, locations = row[0], row[-1], 2**depth
        shared = kernel * channels * representation + representation + last * outputs + outputs
        shared_cost = locations * kernel * channels * representation + last * outputs
        # The representation's map and the logits, held once.
        shared_held = locations * representation + outputs
        expected = (
            members * tree.parameters - (members - 1) * shared,
            members * tree.multiply_adds - (members - 1) * shared_cost,
            members * tree.activations - (members - 1) * shared_held,
        )
        assert (int(count), int(cost), int(held)) == expected
        assert (mixture.parameters, mixture.multiply_adds, mixture.activations) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=12),
    st.data(),
)
def test_two_labellings_group_alike_exactly_when_their_groups_are_the_same_sets(
    first: list[int], data: st.DataObject
) -> None:
    # Members coincide at a level when their nodes there cover the same location sets.
    renamed = data.draw(st.permutations(range(6)))
    second = (
        [renamed[label] for label in first]
        if data.draw(st.booleans())
        else data.draw(st.lists(st.integers(0, 5), min_size=len(first), max_size=len(first)))
    )

    def groups(labels: list[int]) -> set[frozenset[int]]:
        return {frozenset(i for i, own in enumerate(labels) if own == label) for label in labels}

    same = model_mixture._same_partition(np.asarray(first), np.asarray(second))
    assert same == (groups(first) == groups(second))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_one_member_alone_is_the_tree_recurrence_and_the_graph_min_cut(
    data: st.DataObject,
) -> None:
    arch = data.draw(_mixtures())
    labels = data.draw(_labels(arch.input.num_locations, arch.input.num_locations))
    structure = mixture_structure(arch)
    for member in range(len(structure.members)):
        alone = dataclasses.replace(
            structure,
            members=structure.members[member : member + 1],
            widths=structure.widths[member : member + 1],
            canonical=structure.canonical[member : member + 1],
        )
        tree, widths = structure.members[member], structure.widths[member]
        expected = float(
            log2_min_cut(tree, labels, np.log2(widths), math.log2(arch.representation))[0]
        )
        ((a, b),) = label_regions(labels)
        graph = log2_min_cut_graph(tree, a, b, list(widths), arch.representation)
        assert float(log2_mixture_bound(alone, labels)[0]) == pytest.approx(expected, abs=1e-9)
        assert graph == pytest.approx(expected, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_members_figure_is_what_its_tree_alone_is_analysed_at(data: st.DataObject) -> None:
    # One rule decides `tight` for a tree, a member and a hybrid (MinCuts.tight): a member's
    # figure and certificate, where the mixture's figure does not cap it, are its tree's own.
    arch = data.draw(_mixtures())
    labels = data.draw(_labels(arch.input.num_locations, arch.input.num_locations))
    ((a, b),) = label_regions(labels)
    task = parse_task(
        {
            "input": {"shape": list(arch.input.shape)},
            "correlations": [
                {"name": "c", "a": {"indices": a.tolist()}, "b": {"indices": b.tolist()}}
            ],
        }
    )
    (mixed,) = analyze(task, arch, price_contiguous=False).correlations
    assert mixed.members is not None
    for member, tree in zip(mixed.members, member_trees(arch), strict=True):
        (alone,) = analyze(task, tree, price_contiguous=False).correlations
        if alone.log2_separation_rank <= mixed.log2_separation_rank:
            assert member.log2_separation_rank == alone.log2_separation_rank
            assert member.certificate == alone.certificate


def test_a_hybrid_of_one_member_throughout_is_that_member() -> None:
    arch = parse_architecture(
        _document([[1, 2, 4, 8], [2, 1, 8, 4]], [[4, 4, 4, 4], [2, 4, 4, 4]], [2], 2)
    )
    structure = mixture_structure(arch)
    hybrids = {choice: hybrid for choice, hybrid, _ in hybrid_structures(structure)}
    assert set(hybrids) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    for member in (0, 1):
        own = hybrids[(member, member)]
        assert all(
            np.array_equal(x, y)
            for x, y in zip(own.windows, structure.members[member].windows, strict=True)
        )
    # (1, 0): pairs (i, i+2) and blocks of 4 from member 1, then member 0's pairs of blocks.
    assert sorted(map(sorted, _leaves(hybrids[(1, 0)], 2))) == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 10, 11],
        [12, 13, 14, 15],
    ]
    assert sorted(map(sorted, _leaves(hybrids[(1, 0)], 3))) == [list(range(8)), list(range(8, 16))]


def _leaves(structure: Any, level: int) -> list[list[int]]:
    groups = [[x] for x in range(structure.num_locations)]
    for windows in structure.windows[:level]:
        groups = [[x for child in window for x in groups[child]] for window in windows]
    return groups


def test_cts18_a_mixture_outranks_both_members_at_twice_their_width() -> None:
    # [CTS18]: a mixture computes its hybrid trees with each member at its own (half the
    # mixture's) width. Members: dilations 1, 2, 4, 8 and 2, 1, 8, 4, width 2, summed after
    # level 2 (55 parameters); each member alone at width 4 has 81. On this partition (found by
    # a search over random ones) the mixture's exact rank is 2^6, each member's 36 < 2^5.2.
    orders = [[1, 2, 4, 8], [2, 1, 8, 4]]
    a, b = [0, 5, 7, 8, 12, 14], [2, 3, 6, 10, 11, 15]
    mixture = parse_architecture(_document(orders, [[2, 2, 2, 2]] * 2, [2], 2))
    labels = np.zeros(16, dtype=np.int8)
    labels[a], labels[b] = SIDE_A, SIDE_B
    structure = mixture_structure(mixture)
    assert mixture_exact_rank(structure, labels) == 64
    assert float(log2_mixture_bound(structure, labels[None, :])[0]) == pytest.approx(6.0)
    for order in orders:
        alone = parse_architecture(
            {
                "input": {"shape": [16]},
                "representation": 2,
                "layers": [{"channels": 4, "pool": [2]}] * 4,
                "geometry": {"dilations": order},
            }
        )
        assert alone.parameters > mixture.parameters
        assert exact_rank(pooling_structure(alone), np.array(a), np.array(b), [4] * 4, 2) == 36


def _task(mixture: Architecture, a: list[int], b: list[int]) -> Task:
    """A task of one correlation, ``a`` against ``b``, on ``mixture``'s input."""
    return parse_task(
        {
            "input": {"shape": list(mixture.input.shape)},
            "correlations": [{"name": "c", "a": {"indices": a}, "b": {"indices": b}}],
        }
    )


def test_a_root_only_mixtures_figure_is_at_most_the_sum_of_its_members() -> None:
    # The CTS18 members above summed at the root only: the recurrence gives log2 48 = 5.58, the
    # members 2^4 each, and the mixture, the sum of the two trees, has rank at most 2^4 + 2^4:
    # the figure is the exact rank 2^5, and the efficiency is the exact analysis's (5.58 told
    # that no contiguous net reaches it; one of 81 parameters does).
    orders = [[1, 2, 4, 8], [2, 1, 8, 4]]
    a, b = [0, 5, 7, 8, 12, 14], [2, 3, 6, 10, 11, 15]
    mixture = parse_architecture(_document(orders, [[2, 2, 2, 2]] * 2, [], 2))
    task = _task(mixture, a, b)
    bound, exact = analyze(task, mixture), analyze(task, mixture, exact=True)
    (figures,), (certified,) = bound.correlations, exact.correlations
    assert figures.log2_min_cut == pytest.approx(math.log2(48), abs=1e-8)
    assert [member.log2_separation_rank for member in figures.members or ()] == [4.0, 4.0]
    assert (certified.certificate, certified.log2_separation_rank) == ("exact", 5.0)
    assert (figures.certificate, figures.log2_separation_rank) == ("upper_bound", 5.0)
    assert bound.efficiency == exact.efficiency
    assert bound.efficiency is not None and bound.efficiency.log2_contiguous_parameters


def test_a_member_carries_a_correlation_the_sum_of_the_members_caps() -> None:
    # The recurrence gave the mixture 11.157 bits where its members have 10.925 and 4 (their
    # sum 10.937): member 0 read 85% of the mixture's rank, carrying nothing. Capped by the sum
    # it reaches 99.2% of it, and carries the correlation.
    mixture = parse_architecture(
        {
            **_document([[4, 2, 1, 8], [8, 4, 1, 2]], [[7, 8, 4, 7], [2, 2, 4, 7]], [], 3),
            "outputs": 1,
        }
    )
    a, b = [3, 4, 5, 8, 11, 12, 13, 15], [0, 1, 2, 6, 7, 9, 10, 14]
    (figures,) = analyze(_task(mixture, a, b), mixture).correlations
    members = [member.log2_separation_rank for member in figures.members or ()]
    assert figures.log2_min_cut is not None and figures.log2_min_cut > 11.15
    assert figures.log2_separation_rank == pytest.approx(
        math.log2(sum(2.0**member for member in members)), abs=1e-8
    )
    assert figures.carried_by() == (0,)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_root_only_mixtures_figure_is_between_its_rank_and_its_members_sum(
    data: st.DataObject,
) -> None:
    # docs/THEORY.md §15: summed at the root only, the mixture is its members' sum, so its
    # figure is at most the members' figures summed, and it still bounds the exact rank. The
    # search scores the figure the analysis reports. The recurrence passes the sum on some 1.4%
    # of these (balanced correlations of 6 to 12 steps in 16), on too few smaller ones to test.
    arch = data.draw(_mixtures(root_only=True))
    labels = data.draw(_labels(arch.input.num_locations, _most_region_locations(arch), True))
    ((a, b),) = label_regions(labels)
    task = _task(arch, a.tolist(), b.tolist())
    (figures,) = analyze(task, arch, price_contiguous=False).correlations
    structure = mixture_structure(arch)
    members = [member.log2_separation_rank for member in figures.members or ()]
    rank = mixture_exact_rank(structure, labels[0])
    assert math.log2(rank) <= figures.log2_separation_rank + 1e-8
    assert figures.log2_separation_rank <= math.log2(sum(2.0**m for m in members)) + 1e-8
    scored = LadderBounds(structure, labels).figure(arch.representation, structure.widths)
    assert float(scored[0]) == pytest.approx(figures.log2_separation_rank, abs=1e-8)


def test_the_architecture_file_checks_the_mixing_levels_and_the_summed_widths() -> None:
    good = _document([[1, 2, 4, 8], [2, 1, 8, 4]], [[4, 4, 4, 4], [2, 4, 4, 4]], [2], 2)
    arch = parse_architecture(good)
    # Two members' convs, one representation and one output layer: 4 + 2 * 72 - 12 + ... by hand.
    rep, out = (1 + 1) * 2, (4 + 1) * 1
    own = (2 + 1) * 4 + 3 * (4 + 1) * 4
    other = (2 + 1) * 2 + (2 + 1) * 4 + 2 * (4 + 1) * 4
    assert arch.parameters == rep + own + other + out == parameter_count(arch).total
    cases: list[tuple[dict[str, Any], str]] = [
        ({"mixing": [1]}, "mixture.mixing[0]"),
        ({"mixing": [4]}, "mixture.mixing[0]"),
        (
            {"members": [{"geometry": {"dilations": [2, 1, 8, 4]}, "channels": [2, 3, 4, 4]}]},
            "mixture.members[0].channels[1]",
        ),
        (
            {"members": [{"geometry": {"dilations": [2, 1, 8, 4]}, "channels": [2, 4, 4]}]},
            "mixture.members[0].channels",
        ),
        (
            {"members": [{"geometry": {"dilations": [2, 1, 8, 9]}, "channels": [2, 4, 4, 4]}]},
            "mixture.members[0].geometry.dilations",
        ),
    ]
    for change, field in cases:
        document = {**good, "mixture": {**good["mixture"], **change}}
        with pytest.raises(InvalidRequestError) as error:
            parse_architecture(document)
        assert any(v.field.startswith(field) for v in error.value.violations), (
            field,
            error.value.violations,
        )


def test_exact_analysis_of_a_mixture_reports_its_exact_rank() -> None:
    arch = parse_architecture(_document([[1, 2, 4], [2, 1, 4]], [[2, 2, 2], [2, 2, 2]], [2], 2))
    task = parse_task(
        {"input": {"shape": [8]}, "correlations": [{"name": "oe", "a": {"indices": [0, 2, 4, 6]}}]}
    )
    certified = analyze(task, arch, exact=True).correlations[0]
    labels = np.zeros((1, 8), dtype=np.int8)
    labels[0, [0, 2, 4, 6]], labels[0, [1, 3, 5, 7]] = SIDE_A, SIDE_B
    rank = math.log2(mixture_exact_rank(mixture_structure(arch), labels[0]))
    assert certified.certificate == "exact"
    assert certified.log2_separation_rank == pytest.approx(rank)
    assert certified.log2_lower_bound is None


def test_exact_analysis_of_a_mixture_over_the_limit_names_the_correlation() -> None:
    # 16 steps at M = 2 and width 2: the halves make (8 + 8) log2 2 + log2 2 = 17 > 16, the
    # small pair fits. The refusal said only the limit, not which of the task's correlations.
    arch = parse_architecture(
        _document([[1, 2, 4, 8], [2, 1, 8, 4]], [[2, 2, 2, 2], [2, 2, 2, 2]], [2], 2)
    )
    task = parse_task(
        {
            "input": {"shape": [16]},
            "correlations": [
                {"name": "pair", "a": {"indices": [0]}, "b": {"indices": [5]}},
                {"name": "halves", "a": {"preset": "left_half"}},
            ],
        }
    )
    with pytest.raises(LimitExceededError) as refused:
        analyze(task, arch, exact=True)
    [violation] = refused.value.violations
    assert violation.field == "exact"
    assert violation.description.startswith("certification of 'halves': ")


def test_a_mixture_far_over_its_fixed_exact_limit_is_told_its_size_in_bits() -> None:
    # 1,024 steps at M = 3: the size read "got 1624" (1,624.0), and past 10,000 bits "1.298e+04".
    orders = [[1 << bit for bit in range(10)], [1 << bit for bit in reversed(range(10))]]
    mixture = parse_architecture(_document(orders, [[2] * 10] * 2, [], 3))
    task = parse_task(
        {"input": {"shape": [1024]}, "correlations": [{"name": "h", "a": {"preset": "left_half"}}]}
    )
    with pytest.raises(LimitExceededError) as refused:
        analyze(task, mixture, exact=True)
    size = 1024 * math.log2(3) + 1
    assert refused.value.violations[0].description.endswith(f"got {size:,.1f}")


def test_a_mixture_over_its_fixed_exact_limit_is_told_no_server_setting_raises_it() -> None:
    # `advisor serve --limit max_exact_log2_size=24` certified a tree of size 16 but refused a
    # 2-member mixture on length 16 at M = 2 with "... <= 16 ..., got 18", which read as the
    # setting the server had just raised.
    document = _document([[1, 2, 4, 8], [8, 4, 2, 1]], [[4] * 4, [4] * 4], [], 2)
    mixture = parse_architecture(document)
    tree = parse_architecture({k: v for k, v in document.items() if k != "mixture"})
    task = parse_task(
        {
            "input": {"shape": [16]},
            "correlations": [{"name": "halves", "a": {"preset": "left_half"}}],
        }
    )
    raised = RequestLimits(max_exact_log2_size=EXACT_MAX_LOG2_SIZE)
    for arch in (tree, mixture):
        check_analysis_cost(task, arch, True, raised)  # the server admits both
    assert analyze(task, tree, exact=True).correlations[0].certificate == "exact"
    with pytest.raises(LimitExceededError) as refused:
        analyze(task, mixture, exact=True)
    [violation] = refused.value.violations
    assert violation.field == "exact"
    size = 16 * math.log2(2) + math.log2(4)
    assert size > MIXTURE_EXACT_MAX_LOG2_SIZE
    assert f"<= {MIXTURE_EXACT_MAX_LOG2_SIZE} " in violation.description
    assert "which no server setting raises" in violation.description
    assert violation.description.endswith("got 18")  # 16 log2 2 + log2 4, in bits
    assert refused.value.limits == {}


def test_a_mixture_refused_exact_for_its_m_quotes_m() -> None:
    # M = 32 is over the engine's 31 channels while the widths (2) and the size (2 log2 32 +
    # 1 = 11) are within its limits: the refusal quoted those two, "got 11.0 and 2".
    arch = parse_architecture(_document([[1, 2, 4], [4, 2, 1]], [[2, 2, 2], [2, 2, 2]], [], 32))
    task = parse_task(
        {
            "input": {"shape": [8]},
            "correlations": [{"name": "pair", "a": {"indices": [0]}, "b": {"indices": [1]}}],
        }
    )
    with pytest.raises(LimitExceededError) as refused:
        analyze(task, arch, exact=True)
    [violation] = refused.value.violations
    assert violation.field == "exact"
    assert violation.description.endswith(
        "of at most 31 (a fixed bound of the mixture engine, which no server setting raises), "
        "got 32"
    )


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_padded_locations_are_one_constant_input_never_a_mode(data: st.DataObject) -> None:
    # Any location outside A and B may be a margin: it then holds the one constant input every
    # margin holds, a particular value of a free input, so the rank stays within the dimension
    # bound, at most the rank with those locations free, and under the bound, which reads
    # them as free.
    arch = data.draw(_mixtures())
    labels = data.draw(_labels(arch.input.num_locations, _most_region_locations(arch)))
    outside = np.flatnonzero(labels[0] == FREE).tolist()
    assume(outside)
    margin = labels.copy()
    margin[0, sorted(data.draw(st.sets(st.sampled_from(outside), min_size=1)))] = PADDED
    structure = mixture_structure(arch)
    rank = mixture_exact_rank(structure, margin[0])
    ((a, b),) = label_regions(labels)
    assert rank <= arch.representation ** min(len(a), len(b))
    assert rank <= mixture_exact_rank(structure, labels[0])
    assert math.log2(rank) <= float(log2_mixture_bound(structure, margin)[0]) + 1e-9


def test_the_exact_rank_of_a_padded_mixture_holds_its_margin_constant() -> None:
    # A padded location is one constant input (docs/THEORY.md §3), never a mode of the matrix:
    # read as a B location, it made the rank of a = {0, 1} vs b = {2} on [3] padded to [4]
    # come out 4, above M^min(|A|, |B|) = 2, and the analysis printed it as a lower bound.
    arch = parse_architecture(
        {
            "input": {"shape": [3]},
            "representation": 2,
            "padding": [[0, 1]],
            "layers": [{"channels": 2, "pool": [2]}, {"channels": 1, "pool": [2]}],
            "mixture": {"members": [{"geometry": "interleaved", "channels": [2, 1]}]},
        }
    )
    task = parse_task(
        {
            "input": {"shape": [3]},
            "correlations": [{"name": "x", "a": {"indices": [0, 1]}, "b": {"indices": [2]}}],
        }
    )
    (certified,) = analyze(task, arch, exact=True, price_contiguous=False).correlations
    assert (certified.certificate, certified.log2_separation_rank) == ("exact", 1.0)
    assert certified.log2_lower_bound is None
    assert certified.log2_separation_rank <= certified.log2_max_rank


def test_a_padded_mixture_is_not_certified_exact_at_a_rank_it_does_not_reach() -> None:
    # Two shallow members of width 2 on [5] padded to [6]: with shared weights the two B
    # locations of every channel are interchangeable, so the B side spans Sym^2(R^2), 3
    # dimensions, and the rank is 3 under the bound 4. Read as a third B location, the margin
    # made the exact contraction reach 4, and the bound was certified `exact`; the rank the
    # contraction reaches, 3, is the figure (docs/THEORY.md §15).
    arch = parse_architecture(
        {
            "input": {"shape": [5]},
            "representation": 2,
            "padding": [[0, 1]],
            "layers": [{"channels": 2, "pool": [6]}],
            "mixture": {"members": [{"geometry": "contiguous", "channels": [2]}]},
        }
    )
    task = parse_task(
        {
            "input": {"shape": [5]},
            "correlations": [{"name": "x", "a": {"indices": [0, 1, 2]}, "b": {"indices": [3, 4]}}],
        }
    )
    (certified,) = analyze(task, arch, exact=True, price_contiguous=False).correlations
    assert certified.certificate == "exact"
    assert certified.log2_separation_rank == pytest.approx(math.log2(3))
    assert certified.log2_min_cut == 2.0
    assert certified.log2_lower_bound is None


def test_a_mixture_round_trips_through_the_file_format_and_the_wire() -> None:
    arch = parse_architecture(
        _document([[1, 2, 4, 8], [2, 1, 8, 4]], [[4, 4, 4, 4], [2, 4, 4, 4]], [2], 2)
    )
    assert parse_architecture(architecture_document(arch)) == arch
    message = pb.Architecture.FromString(wire.architecture_to_proto(arch).SerializeToString())
    assert wire.architecture_from_proto(message) == arch
    message.mixture.members[0].geometry.Clear()
    with pytest.raises(InvalidRequestError) as error:
        wire.architecture_from_proto(message)
    assert [v.field for v in error.value.violations] == ["architecture.mixture.members[0].geometry"]


@pytest.mark.parametrize("kept", [3, 0])
def test_a_members_channels_short_or_empty_on_the_wire_are_told_one_per_layer(kept: int) -> None:
    # A member's channels left empty (a repeated field not filled in) was told "has 0 items:
    # must have at least 1", where 3 of the 4 got the rule itself.
    arch = parse_architecture(_document([[1, 2, 4, 8], [2, 1, 8, 4]], [[2] * 4] * 2, [], 2))
    message = wire.architecture_to_proto(arch)
    del message.mixture.members[0].channels[kept:]
    with pytest.raises(InvalidRequestError) as refused:
        wire.architecture_from_proto(message)
    assert [(v.field, v.description) for v in refused.value.violations] == [
        (
            "architecture.mixture.members[0].channels",
            f"must give one channel count per layer (4), got {kept}",
        )
    ]


@pytest.mark.torch
def test_the_torch_mixture_has_the_parameters_and_sums_the_same_nodes() -> None:
    torch = pytest.importorskip("torch")
    from advisor.export.document import torch_module
    from advisor.export.torch_mixture import MixtureNet
    from advisor.geometry.layouts import input_permutation

    orders = [[1, 2, 4, 8], [2, 1, 8, 4], [2, 1, 4, 8]]
    arch = parse_architecture(_document(orders, [[3, 4, 2, 5], [2, 4, 6, 5], [1, 4, 2, 5]], [2], 2))
    module = torch_module(arch, pooling="avg")
    assert sum(p.numel() for p in module.parameters()) == arch.parameters
    assert module(torch.zeros((3, 1, 16))).shape == (3, 1)
    # One channel, identity weights, no biases, non-negative input: every ReLU is the identity
    # and every pooled value is the mean of the input over the node's locations.
    ones = parse_architecture(_document(orders, [[1, 1, 1, 1]] * 3, [2], 1))
    net = torch_module(ones, pooling="avg")
    assert isinstance(net, MixtureNet)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.fill_(0.0 if parameter.dim() == 1 else 1.0)
        values = torch.arange(16, dtype=torch.float32).reshape(1, 1, 16)
        maps = [values.flatten(2)[:, :, net.get_buffer(f"gather_{m}")] for m in range(3)]
        # torch types a ModuleList's items as Module: these are Sequential (as in MixtureNet).
        maps = [layers[1](layers[0](own)) for layers, own in zip(net.members, maps, strict=True)]  # type: ignore[index]
        summed = net._summed(0, maps)
    for member, order in enumerate(orders):
        geometry = {"input": {"shape": [16]}, "representation": 1, "geometry": {"dilations": order}}
        layers = [{"channels": 1, "pool": [2]}] * 4
        permutation = input_permutation(parse_architecture({**geometry, "layers": layers}))
        blocks = permutation.reshape(4, 4).mean(axis=1)  # the level-2 nodes, in member's order
        np.testing.assert_allclose(summed[member].reshape(-1).numpy(), 3 * blocks)


def test_the_command_analyses_a_mixture_file_through_the_service(tmp_path: Path) -> None:
    from tests.test_cli import advisor

    architecture = tmp_path / "mixture.yaml"
    architecture.write_text(
        yaml.safe_dump(
            _document([[1, 2, 4, 8], [2, 1, 8, 4]], [[4, 4, 4, 4], [4, 4, 4, 4]], [2], 2)
        )
    )
    task = tmp_path / "task.yaml"
    task.write_text(
        yaml.safe_dump(
            {
                "input": {"shape": [16]},
                "correlations": [{"name": "oe", "a": {"indices": list(range(0, 16, 2))}}],
            }
        )
    )
    run = advisor("analyze", task, "--arch", architecture, "--format", "json")
    assert run.status == 0, run.stderr
    document = json.loads(run.stdout)
    expected = analyze(load_task(task), load_architecture(architecture))
    assert document["parameters"] == expected.parameters
    figure = document["correlations"][0]["log2_separation_rank"]
    assert figure == expected.correlations[0].log2_separation_rank
    assert document["efficiency"]["log2_shallow_channels"] == pytest.approx(figure, abs=1e-6)


def test_a_sum_is_no_single_network_its_rank_can_exceed_the_summed_width() -> None:
    # Members with dilations (1, 2, 4) and (4, 2, 1), summed only at the root, whose width is 2.
    # Every root child of both members lies on one side of A = {4, 6}, B = {1} (or is free), so
    # a graph joining the members' root δs into one hyperedge of width 2 is cut by it alone, for
    # log2 2 = 1; but each member contributes a rank-2 term and the sum has rank 3. The
    # mixture's bound sums the ranks instead, and meets the exact rank.
    arch = parse_architecture(_document([[1, 2, 4], [4, 2, 1]], [[4, 4, 2], [4, 4, 2]], [], 3))
    labels = np.zeros(8, dtype=np.int8)
    labels[[4, 6]], labels[1] = SIDE_A, SIDE_B
    structure = mixture_structure(arch)
    assert mixture_exact_rank(structure, labels) == 3 > arch.widths[-1]
    assert float(log2_mixture_bound(structure, labels[None, :])[0]) == pytest.approx(math.log2(3))


def _closed_form_multiply_adds(m: int, widths: list[int]) -> int:
    """Multiply-adds of one member on 16 locations pooled by 2 (M = m, one output, kernel 1)."""
    locations = [16, 8, 4, 2]
    hidden = sum(a * b * n for a, b, n in zip([m, *widths], widths, locations, strict=False))
    return 16 * m + hidden + widths[-1]


def test_a_mixture_member_whose_counts_would_wrap_is_refused_on_its_channels() -> None:
    orders = [[1, 2, 4, 8], [2, 1, 8, 4]]
    # Layers 1 and 3 are summed (mixing level 2 and the root): equal widths there. Every width
    # within int32, as the wire carries it: the member's first layer, 16 x M x its width, wraps.
    m = 2**31 - 1
    huge = [m, 2, 2, 2]
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(_document(orders, [[2, 2, 2, 2], huge], [2], m))
    assert [v.field for v in refused.value.violations] == ["mixture.members[0].channels"]


def test_members_within_the_limit_whose_sum_is_not_are_refused_on_the_mixture() -> None:
    orders = [[1, 2, 4, 8], [2, 1, 8, 4]]
    limit = 2**62
    # 16 m + m a 16 + a 2 8 + 2 2 4 + 2 2 2 + 2 = 16 m + (16 m + 16) a + 26 per member, every
    # number within int32.
    m = 2**31 - 1
    a = (limit - 16 * m - 26) // (16 * m + 16) * 2 // 3
    member = [a, 2, 2, 2]
    assert _closed_form_multiply_adds(m, member) == 16 * m + (16 * m + 16) * a + 26 <= limit
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(_document(orders, [member, member], [2], m))
    assert [v.field for v in refused.value.violations] == ["mixture"]
    # Just within the limit together (twice a member's count less the 16 m + 2 shared): counted
    # exactly.
    within = [(limit - 16 * m - 50) // (32 * m + 32), 2, 2, 2]
    mixture = parse_architecture(_document(orders, [within, within], [2], m))
    shared = 16 * m + 2
    assert mixture.multiply_adds == 2 * _closed_form_multiply_adds(m, within) - shared <= limit


def test_formats_md_quotes_the_refusal_of_a_ninth_member_network() -> None:
    """docs/FORMATS.md §2 quotes the error of too many members as the advisor words it.

    It quoted pydantic's own words, ``Tuple should have at most 7 items``, which the advisor
    rewrites (``has 8 items: must have at most 7``): a reader searching for it found nothing.
    """
    orders = [[1, 2, 4, 8]] * (model_mixture.MAX_MEMBERS + 1)
    widths = [[2, 2, 2, 2]] * len(orders)
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(_document(orders, widths, [], 2))
    [violation] = refused.value.violations
    assert violation.field == "mixture.members"
    formats = (Path(__file__).parent.parent / "docs" / "FORMATS.md").read_text(encoding="utf-8")
    assert f"error on `mixture.members`: `{violation.description}`" in " ".join(formats.split())


_ARCHITECTURE_KEYS: dict[str, Any] = {
    "layers": [{"channels": 2, "pool": [2]}] * 4,
    "representation": 2,
    "pool": [2],
    "stride": [1],
    "widths": [2] * 4,
    "outputs": 3,
    "input": {"shape": [16]},
    "padding": [[0, 0]],
    "representation_kernel": 3,
    "family": "dilations",
    "mixture": {"members": [{"geometry": "contiguous", "channels": [2] * 4}]},
}
"""A key of the architecture or of its layers, written in a member, and a value it may hold."""


@pytest.mark.parametrize("key", sorted(_ARCHITECTURE_KEYS))
def test_a_member_written_as_a_whole_architecture_is_told_what_a_member_gives(key: str) -> None:
    # A member written with its own layers was told only "Extra inputs are not permitted", and
    # one with its own input to upgrade, as if a newer advisor took it: none takes it.
    document = _document([[1, 2, 4, 8], [2, 1, 8, 4]], [[2] * 4, [2] * 4], [2], 2)
    document["mixture"]["members"][0][key] = _ARCHITECTURE_KEYS[key]
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(document)
    [violation] = refused.value.violations
    assert violation.field == f"mixture.members[0].{key}"
    assert violation.description == (
        "Extra inputs are not permitted; a member shares the rest of the architecture (its "
        "input, padding, pools, representation and outputs) and gives only its geometry and its "
        "channels, one width per layer (channels: [...], docs/FORMATS.md §2)"
    )


def test_every_key_of_an_architecture_a_member_does_not_take_is_told_so() -> None:
    # The keys told what a member gives are read from the architecture's models: one a newer
    # version adds to them is told so too, not to upgrade.
    models = (Architecture, Layer)
    keys = {name for model in models for name in model.model_fields} - {"geometry", "channels"}
    assert keys <= set(_ARCHITECTURE_KEYS)


def test_a_width_summed_at_the_root_is_told_so_not_at_a_level_outside_mixing() -> None:
    # "is summed at level 4" for a mixture summed after level 2: the root, in no mixing list.
    orders = [[1, 2, 4, 8], [2, 1, 8, 4]]
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(_document(orders, [[2] * 4, [3, 4, 4, 3]], [2], 2))
    assert [(v.field, v.description) for v in refused.value.violations] == [
        (
            "mixture.members[0].channels[1]",
            "is summed after level 2 with the architecture's layer of 2 channels and must equal it",
        ),
        (
            "mixture.members[0].channels[3]",
            "is summed at the root (level 4) with the architecture's layer of 2 channels and "
            "must equal it",
        ),
    ]


@pytest.mark.parametrize(
    ("second", "mixing", "advice"),
    [
        ([2, 1, 8, 4], [3], "mixing may list only the levels where they coincide: 2"),
        ([2, 1, 4, 8], [1], "mixing may list only the levels where they coincide: 2, 3"),
        ([8, 4, 2, 1], [1], "they coincide at the root only, so mixing must be empty"),
    ],
)
def test_a_mixing_level_where_the_members_differ_is_told_where_they_coincide(
    second: list[int], mixing: list[int], advice: str
) -> None:
    # A refused level named no level that would do: the user tried them one by one.
    document = _document([[1, 2, 4, 8], second], [[2] * 4, [2] * 4], mixing, 2)
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(document)
    [violation] = refused.value.violations
    assert violation.field == "mixture.mixing[0]"
    assert violation.description == (
        f"the members' nodes at level {mixing[0]} cover different sets; {advice}"
    )


def test_a_members_exact_rank_is_written_as_the_mixtures_exact_rank() -> None:
    # M = 7, one location a side: the mixture and each member reach the dimension bound, rank 7.
    # The mixture's exact rank is written as the bound is, 2.807354923; its members' exact ranks
    # were written to the nearest, 2.807354922, the same rank read below the bound.
    arch = parse_architecture(
        {
            "input": {"shape": [4]},
            "representation": 7,
            "layers": [{"channels": 8, "pool": [2]}, {"channels": 8, "pool": [2]}],
            "geometry": {"dilations": [1, 2]},
            "mixture": {"members": [{"geometry": {"dilations": [2, 1]}, "channels": [8, 8]}]},
        }
    )
    task = parse_task(
        {
            "input": {"shape": [4]},
            "correlations": [{"name": "c", "a": {"indices": [0]}, "b": {"indices": [1]}}],
        }
    )
    (figure,) = analyze(task, arch, exact=True, price_contiguous=False).correlations
    assert figure.certificate == "exact"
    assert figure.log2_separation_rank == figure.log2_max_rank == 2.807354923
    assert figure.members is not None
    assert [(m.log2_separation_rank, m.certificate) for m in figure.members] == [
        (2.807354923, "exact"),
        (2.807354923, "exact"),
    ]
