"""Smoke version of the trained-outcome benchmark (bench/outcomes): one tiny pool, a few steps.

Skipped cleanly when the optional ``validate`` extra (torch, scikit-learn, scipy, matplotlib) is
not installed (the imports of torch and bench.outcomes follow the skips).
"""

from __future__ import annotations

import itertools
import json
import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("scipy")
pytest.importorskip("matplotlib")

import torch

from advisor.model.architecture import Architecture, Layer, parse_architecture
from advisor.model.grid import InputSpec
from advisor.search.recommend import score_architecture
from bench.outcomes import recheck, report, seeds, ties
from bench.outcomes import run as run_module
from bench.outcomes.data import (
    ALL_TASKS,
    BLOB_PERMUTATION_SEED,
    DIGITS_LOCAL_PERMUTATION_SEED,
    HELD_OUT,
    SYMMETRY_PERMUTATION_SEED,
    TASKS,
    TOP_BOTTOM_PERMUTATION_SEED,
    DataSizes,
    pixel_permutation,
)
from bench.outcomes.describe import (
    TASK_FILES,
    data_description,
    descriptions,
    load_description,
    locality_description,
)
from bench.outcomes.metrics import (
    PoolRuns,
    rank_correlation,
    resampled_mean_taus,
    seed_ceiling,
    split_concordance,
    task_metrics,
)
from bench.outcomes.pool import (
    BASELINE_TOLERANCE,
    build_pool,
    constant_baseline,
    doubling_baseline,
)
from bench.outcomes.proxies import log_abs_det, naswot, synflow
from bench.outcomes.run import (
    DESCRIPTION,
    LOCALITY,
    PROTOCOL,
    RESULTS,
    SMOKE,
    WITH_DATA,
    keep_stored_digits,
    pool_path,
    proxy_value,
    run_key,
    run_task,
    task_protocol,
    write_document,
)
from bench.outcomes.run import main as run_main
from bench.validate.nets import TreeNet, parameter_count
from bench.validate.training import Dataset


def test_kendall_and_spearman_on_a_hand_checked_list() -> None:
    # Pairs of (1,2,3,4) vs (1,3,2,4): 5 concordant, 1 discordant -> tau = 4/6;
    # rank differences (0,1,1,0) -> rho = 1 - 6*2/(4*15) = 0.8.
    figures = rank_correlation([1, 2, 3, 4], [0.1, 0.3, 0.2, 0.4])
    assert figures.kendall_tau == pytest.approx(4 / 6)
    assert figures.spearman_rho == pytest.approx(0.8)
    assert math.isnan(rank_correlation([1, 1, 1], [0.1, 0.2, 0.3]).kendall_tau)


def test_regret_and_baseline_gap() -> None:
    figures = task_metrics(
        ["random", "advisor #1", "baseline-doubling"],
        {"score": [0.1, 0.9, 0.5]},
        [0.8, 0.6, 0.7],
        [0.05, 0.1, 0.0],
        [[0.75, 0.85], [0.5, 0.7], [0.7, 0.7]],
    )
    assert figures.regret == pytest.approx(0.2)
    assert not figures.within_one_std
    assert figures.advisor_vs_baseline == pytest.approx(-0.1)
    assert figures.correlations["score"].kendall_tau == pytest.approx(-1.0)


def test_seed_ceiling_ranks_each_run_against_the_others() -> None:
    # Seed 0 orders the members (1, 2, 3), seed 1 (1, 3, 2): each against the other, tau = 1/3.
    assert seed_ceiling([[0.1, 0.1], [0.2, 0.3], [0.3, 0.2]]) == pytest.approx(1 / 3)
    # Three seeds: seed 2 alone disagrees; the mean of the other two keeps seed 0's order.
    runs = [[0.1, 0.1, 0.25], [0.2, 0.2, 0.2], [0.3, 0.3, 0.15]]
    taus = [1.0, 1.0, -1.0]  # seed 0 vs mean(1, 2), seed 1 vs mean(0, 2), seed 2 vs mean(0, 1)
    assert seed_ceiling(runs) == pytest.approx(sum(taus) / 3)
    assert math.isnan(seed_ceiling([[0.1], [0.2]]))
    assert math.isnan(seed_ceiling([[0.1, 0.2], [0.2]]))


def test_resampled_taus_follow_the_runs_and_repeat() -> None:
    # Runs that never vary: every draw keeps each member's accuracy, so a predictor equal to
    # it ranks at +1 (ties from duplicated members are ties on both sides) and its negation -1.
    steady = [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.4, 0.4]]
    exact = PoolRuns({"score": [1, 2, 3, 4], "parameters": [4, 3, 2, 1]}, steady)
    taus = resampled_mean_taus([exact, exact], replicates=50, seed=1)
    finite = ~np.isnan(taus["score"])
    assert finite.sum() > 40  # a draw of one member repeated four times has no tau
    assert np.all(taus["score"][finite] == 1.0)
    assert np.all(taus["parameters"][finite] == -1.0)
    # Noisy runs: the resamples spread around the pool's own tau, and a seed repeats them.
    rng = np.random.default_rng(0)
    noisy = PoolRuns(
        {"score": [1, 2, 3, 4, 5, 6]},
        [list(0.1 * k + rng.normal(0, 0.2, size=5)) for k in range(6)],
    )
    first = resampled_mean_taus([noisy], replicates=200, seed=3)["score"]
    assert np.array_equal(first, resampled_mean_taus([noisy], replicates=200, seed=3)["score"])
    assert np.nanstd(first) > 0.05
    point = rank_correlation(noisy.predictors["score"], [float(np.mean(m)) for m in noisy.per_seed])
    low, high = np.nanpercentile(first, [5, 95])
    assert low < point.kendall_tau < high


def test_split_concordance_counts_pairs_within_and_between_groups_apart() -> None:
    # Geometry a: accuracies follow the predictor; geometry b: reversed; across them the
    # predictor puts every b above every a, and b's nets train worse.
    predictor = [1, 2, 3, 10, 11, 12]
    accuracy = [0.7, 0.8, 0.9, 0.6, 0.5, 0.4]
    split = split_concordance(predictor, accuracy, ["a", "a", "a", "b", "b", "b"])
    assert (split.within_pairs, split.between_pairs) == (6, 9)
    assert split.within == pytest.approx((3 - 3) / 6)
    assert split.between == pytest.approx(-1.0)
    # Against the pool-wide tau-a: (concordant - discordant) over all 15 pairs.
    assert (6 * split.within + 9 * split.between) / 15 == pytest.approx((3 - 12) / 15)
    tied = split_concordance([1, 1, 2], [0.1, 0.2, 0.3], ["a", "a", "a"])
    assert tied.within == pytest.approx(2 / 3)  # the tied pair counts as neither
    assert math.isnan(tied.between) and tied.between_pairs == 0


def test_baselines_match_the_budget() -> None:
    doubling = doubling_baseline((16, 16), 2)
    assert doubling.widths == (8, 16, 32, 64) and doubling.representation == 8
    constant = constant_baseline((16, 16), 2, doubling.parameters)
    assert len(set(constant.widths)) == 1
    assert abs(constant.parameters - doubling.parameters) <= BASELINE_TOLERANCE * (
        doubling.parameters
    )


def test_multiply_adds_are_counted_per_level() -> None:
    arch = Architecture(
        input=InputSpec(shape=(4, 4)),
        representation=3,
        layers=(Layer(channels=5, pool=(2, 2)), Layer(channels=7, pool=(2, 2))),
        outputs=2,
    )
    # representation 1*3*16, level 0: 3*5*16, level 1: 5*7*4, output 7*2
    assert arch.multiply_adds == 48 + 240 + 140 + 14


def test_synflow_of_a_linear_chain_is_hand_checkable() -> None:
    arch = Architecture(
        input=InputSpec(shape=(2,)), representation=1, layers=(Layer(channels=1, pool=(2,)),)
    )
    model = TreeNet(arch, init="he")
    with torch.no_grad():
        for parameter, value in zip(
            model.parameters(), [2.0, 0.0, -3.0, 0.0, 5.0, 0.0], strict=True
        ):
            parameter.fill_(value)
    # R = 5 * 3 * 2 * 1: each of the three weights contributes |w dR/dw| = R, biases 0.
    assert synflow(model, (1, 2)) == pytest.approx(3 * 30.0)
    assert next(model.parameters()).item() == 2.0


def test_naswot_rewards_distinct_activation_codes() -> None:
    arch = Architecture(
        input=InputSpec(shape=(16,)), representation=4, layers=(Layer(channels=4, pool=(16,)),)
    )
    torch.manual_seed(0)
    model = TreeNet(arch, init="he")
    # Four inputs with distinct sign patterns get distinct codes: K_H is nonsingular. Repeated
    # inputs share one code: K_H has equal rows, log|det| = -inf.
    distinct = naswot(model, torch.randn(4, 1, 16))
    assert math.isfinite(distinct)
    assert naswot(model, torch.ones(4, 1, 16)) == -math.inf


def test_naswot_of_a_hand_checked_kernel() -> None:
    # Weights 1, biases 0: the representation's and the hidden layer's ReLUs are both active
    # where a step is positive, so the codes of (1, 1), (1, -1), (-1, -1) are 1111, 1010, 0000
    # (N_A = 4) and K_H = [[4, 2, 0], [2, 4, 2], [0, 2, 4]], det 32.
    arch = Architecture(
        input=InputSpec(shape=(2,)), representation=1, layers=(Layer(channels=1, pool=(2,)),)
    )
    model = TreeNet(arch, init="he")
    with torch.no_grad():
        for parameter, value in zip(
            model.parameters(), [1.0, 0.0, 1.0, 0.0, 1.0, 0.0], strict=True
        ):
            parameter.fill_(value)
    inputs = torch.tensor([[[1.0, 1.0]], [[1.0, -1.0]], [[-1.0, -1.0]]])
    assert naswot(model, inputs) == pytest.approx(math.log(32))


def test_log_abs_det_is_exact_on_integer_matrices() -> None:
    def by_permutations(matrix: list[list[int]]) -> int:
        # Leibniz's formula: the signed products over every permutation.
        total = 0
        for order in itertools.permutations(range(len(matrix))):
            inversions = sum(a > b for a, b in itertools.combinations(order, 2))
            total += (-1) ** inversions * math.prod(matrix[i][j] for i, j in enumerate(order))
        return total

    rng = np.random.default_rng(4)
    for size in range(1, 6):
        for _ in range(20):
            matrix = rng.integers(-3, 4, size=(size, size)).tolist()
            determinant = by_permutations(matrix)
            expected = math.log(abs(determinant)) if determinant else -math.inf
            assert log_abs_det(matrix) == pytest.approx(expected)
    # Two equal rows, and entries too large for a float LU to cancel them: exactly singular.
    assert log_abs_det([[10**17 + 1, 3, 5], [10**17 + 1, 3, 5], [2, 7, 1]]) == -math.inf


def test_naswot_is_minus_infinity_when_the_batch_repeats_an_image() -> None:
    # digits-global's first training inputs hold the same upscaled digit more than once (as the
    # benchmark's 64 do): every net gives them one code, K_H is singular, and the float LU used
    # to return rounding noise (a finite score) for it.
    train, _ = ALL_TASKS["digits-global"].data(DataSizes(train=100, test=10), 2026)
    inputs = train.inputs[:64]
    assert len(torch.unique(inputs.flatten(1), dim=0)) < len(inputs)
    torch.manual_seed(0)
    model = TreeNet(doubling_baseline((16, 16), 10), init="he")
    assert naswot(model, inputs) == -math.inf


def test_a_task_plan_replaces_the_default_plan_for_its_task_only() -> None:
    digits, blobs = task_protocol(PROTOCOL, "digits-local"), task_protocol(PROTOCOL, "symmetry")
    assert digits["plan"] == PROTOCOL["task_plans"]["digits-local"] != PROTOCOL["plan"]
    assert blobs["plan"] == PROTOCOL["plan"]
    assert "task_plans" not in blobs and {**blobs, "plan": digits["plan"]} == digits


def test_permuted_description_follows_the_pixels() -> None:
    document = dict(descriptions()["digits-permuted"][1])
    first = document["correlations"][0]
    new_position = np.argsort(pixel_permutation())
    # Original pixel (0, 0) is in the left half of the first 4x4 block.
    assert int(new_position[0]) in first["a"]["indices"]


_Events = npt.NDArray[np.float32]
_UPPER_ROWS, _UPPER_COLUMNS = np.triu_indices(16, 1)  # the pixels above the main diagonal
_RELATIONS: dict[str, Callable[[_Events], tuple[_Events, _Events]]] = {
    "sequence-mirror": lambda e: (e[:, :32], e[:, :31:-1]),
    "sequence-local": lambda e: (e[:, :-1], e[:, 1:]),
    "sequence-shift": lambda e: (e[:, :32], e[:, 32:]),
    "grid-shift": lambda e: (e[:, :8], e[:, 8:]),
    "grid-local": lambda e: (e[:, :, :-1], e[:, :, 1:]),
    "sequence-quarter": lambda e: (e[:, :48], e[:, 16:]),
    "grid-periodic": lambda e: (e[:, :, :8], e[:, :, 8:]),
    "grid-diagonal": lambda e: (e[:, :-1, :-1], e[:, 1:, 1:]),
    "sequence-eighth": lambda e: (e[:, :56], e[:, 8:]),
    "grid-mirror": lambda e: (e[:, :, :8], e[:, :, :7:-1]),
    "grid-rows4": lambda e: (e[:, :-4], e[:, 4:]),
    "grid-knight": lambda e: (e[:, :-1, :-2], e[:, 1:, 2:]),
    "sequence-skip": lambda e: (e[:, :-2], e[:, 2:]),
    "grid-rotate": lambda e: (e[:, :8], e[:, :7:-1, ::-1]),
    "grid-corner": lambda e: (e[:, :8, :8], e[:, 8:, 8:]),
    "sequence-fold": lambda e: (e[:, :24], e[:, 47:23:-1]),
    "grid-transpose": lambda e: (
        e[:, _UPPER_ROWS, _UPPER_COLUMNS],
        e[:, _UPPER_COLUMNS, _UPPER_ROWS],
    ),
    "grid-five-three": lambda e: (e[:, :-5, :-3], e[:, 5:, 3:]),
    "sequence-forty": lambda e: (e[:, :24], e[:, 40:]),
    "sequence-ends": lambda e: (e[:, :8], e[:, 56:]),
    "sequence-mirrored-halves": lambda e: (
        np.concatenate([e[:, :16], e[:, 32:48]], axis=1),
        np.concatenate([e[:, 31:15:-1], e[:, 63:47:-1]], axis=1),
    ),
    "sequence-doubled": lambda e: (e[:, 1:32], e[:, 2::2]),
    "grid-flip": lambda e: (e[:, :8], e[:, :7:-1]),
    "grid-below": lambda e: (e[:, :-1], e[:, 1:]),
    "sequence-thirty": lambda e: (e[:, :34], e[:, 30:]),
    "grid-columns4": lambda e: (e[:, :, :-4], e[:, :, 4:]),
    "grid-mirrored-halves": lambda e: (
        np.concatenate([e[:, :, :4], e[:, :, 8:12]], axis=2),
        np.concatenate([e[:, :, 7:3:-1], e[:, :, 15:11:-1]], axis=2),
    ),
    "sequence-five": lambda e: (e[:, :-5], e[:, 5:]),
    "grid-columns2": lambda e: (e[:, :, :-2], e[:, :, 2:]),
    "grid-anti-diagonal": lambda e: (e[:, :-1, 1:], e[:, 1:, :-1]),
    "sequence-seven": lambda e: (e[:, :-7], e[:, 7:]),
    "grid-two-one": lambda e: (e[:, :-2, :-1], e[:, 2:, 1:]),
    "grid-three-six": lambda e: (e[:, :-3, :-6], e[:, 3:, 6:]),
}
"""Each event task's relation as two aligned numpy slices: step/pixel and its partner."""


@pytest.mark.parametrize("task", list(_RELATIONS))
def test_an_event_task_labels_whether_its_relation_holds_a_pair_of_equal_signs(task: str) -> None:
    spec = ALL_TASKS[task]
    train, test = spec.data(DataSizes(train=200, test=100), 7)
    for split in (train, test):
        events = split.inputs.numpy()[:, 0]
        labels = split.labels.numpy()
        assert events.shape[1:] == spec.shape
        assert set(np.unique(events)) <= {-1.0, 0.0, 1.0}
        assert labels.mean() == 0.5
        first, second = _RELATIONS[task](events)
        planted = ((first != 0) & (first == second)).reshape(len(events), -1).any(axis=1)
        np.testing.assert_array_equal(planted, labels == 1)


_PERMUTED = {
    "closedness-permuted": ("closedness", BLOB_PERMUTATION_SEED),
    "symmetry-permuted": ("symmetry", SYMMETRY_PERMUTATION_SEED),
    "digits-local-permuted": ("digits-local", DIGITS_LOCAL_PERMUTATION_SEED),
    "blobs-top-bottom-permuted": ("blobs-top-bottom", TOP_BOTTOM_PERMUTATION_SEED),
}
"""Each permuted image task: its unpermuted task and the seed of its pixel permutation."""


def test_the_image_held_out_tasks_are_the_blobs_transposed_and_permuted() -> None:
    sizes = DataSizes(train=40, test=20)
    pairs = [("blobs-top-bottom", "symmetry"), *((t, o) for t, (o, _) in _PERMUTED.items())]
    for task, original in pairs:
        changed, plain = ALL_TASKS[task].data(sizes, 3), ALL_TASKS[original].data(sizes, 3)
        for ours, theirs in zip(changed, plain, strict=True):
            np.testing.assert_array_equal(ours.labels.numpy(), theirs.labels.numpy())
            images, reference = ours.inputs.numpy()[:, 0], theirs.inputs.numpy()[:, 0]
            if task == "blobs-top-bottom":
                np.testing.assert_array_equal(images, reference.transpose(0, 2, 1))
            else:
                order = pixel_permutation(_PERMUTED[task][1])
                shown = reference.reshape(len(reference), -1)[:, order]
                np.testing.assert_array_equal(images.reshape(len(images), -1), shown)


@pytest.mark.parametrize("task", list(_PERMUTED))
def test_a_permuted_task_is_described_by_its_tuned_task_at_the_new_pixels(task: str) -> None:
    original, seed = _PERMUTED[task]
    unmoved = load_description(original).resolved()
    moved = load_description(task).resolved()
    position = np.argsort(pixel_permutation(seed))
    assert len(moved) == len(unmoved)
    for before, after in zip(unmoved, moved, strict=True):
        assert sorted(position[before.a]) == sorted(after.a)
        assert sorted(position[before.b]) == sorted(after.b)
        assert (after.name, after.weight) == (before.name, before.weight)


def test_every_task_has_its_committed_description() -> None:
    documents = descriptions()
    assert list(documents) == list(ALL_TASKS) == [n for tasks in (TASKS, *HELD_OUT) for n in tasks]
    for name, (_, document) in documents.items():
        # The committed file is what describe writes (regenerated only with the task).
        assert yaml.safe_load((TASK_FILES / f"{name}.yaml").read_text()) == document
    shifted = load_description("grid-shift").resolved()
    assert len(shifted) == 8
    for correlation in shifted:
        assert len(correlation.a) == len(correlation.b) == 16
        assert sorted(correlation.a + 128) == sorted(correlation.b)
    quarter = load_description("sequence-quarter").resolved()
    assert len(quarter) == 12
    assert all(sorted(c.a + 16) == sorted(c.b) and len(c.a) == 4 for c in quarter)


def _train_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Train the runs still to do in this process, one after another, for the rest of the test.

    Every call of ``trained`` spawns its own pool of workers, a fresh interpreter importing
    torch (3-4 s on the two-core machines, about 30 s of a test that trains through nine of
    them); once a pool has shown that its workers train, the same jobs run here.
    """

    def trained_here(
        task: str, data: tuple[Dataset, Dataset], jobs: int, todo: Sequence[run_module.Job]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        monkeypatch.setitem(run_module._DATA, task, data)
        for job in todo:
            yield run_module._train(job)

    monkeypatch.setattr(run_module, "trained", trained_here)
    monkeypatch.setattr(seeds, "trained", trained_here)
    monkeypatch.setattr(recheck, "trained", trained_here)


def test_a_tiny_pool_trains_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = TASKS["symmetry"]  # images: even a tiny sample shows their dependence (--data)
    task = load_description(spec.name)
    budget, members = build_pool(task, spec.classes, seed=0, random_draws=2)
    assert [m.source for m in members[:1]] == ["advisor #1"]
    assert sum(m.source == "random" for m in members) == 2
    for member in members:
        assert member.architecture.parameters <= budget.max_parameters * 1.05
        assert parameter_count(TreeNet(member.architecture)) == member.architecture.parameters

    tiny = {**SMOKE, "sizes": {"train": 32, "test": 16}}
    document = run_task(spec, 1, 1, tiny, tmp_path, random_draws=0)
    pool = document["pool"]
    assert len(pool) == len(members) - 2
    first = pool[0]
    assert first["score"] == score_architecture(task, budget, members[0].architecture)
    assert first["runs"] == [run_key(spec.name, members[0], 0, task_protocol(tiny, spec.name))]
    assert set(document["runs"]) == {key for record in pool for key in record["runs"]}
    for result in document["runs"].values():
        assert 0.0 <= result["test_accuracy"] <= 1.0
    _train_in_this_process(monkeypatch)  # the pool's workers trained the runs above

    again = run_task(spec, 1, 1, tiny, tmp_path, random_draws=0)
    stored = json.loads((tmp_path / f"{spec.name}.json").read_text())["runs"]
    assert again["runs"] == stored == json.loads(json.dumps(document["runs"]))

    # The advisor with the data: its own pool, scored on the description plus the data's
    # correlations; a member both pools hold is trained once.
    arm = run_task(spec, 1, 1, tiny, tmp_path, random_draws=0, reading=WITH_DATA)
    train, _ = spec.data(DataSizes(**tiny["sizes"]), tiny["data_seed"])
    data_task = data_description(spec.name, train.inputs.numpy())
    assert any(c.name.startswith("data: ") for c in data_task.resolved())
    arm_first = parse_architecture(json.loads(arm["pool"][0]["architecture"]))
    assert arm["pool"][0]["score"] == score_architecture(data_task, budget, arm_first)
    shared = set(arm["runs"]) & set(document["runs"])
    assert shared and all(arm["runs"][key] == stored[key] for key in shared)
    assert set(arm["runs"]) == {key for record in arm["pool"] for key in record["runs"]}
    assert all(r["score"] == r["score_description"] for r in document["pool"])
    assert all(r["score"] == r["score_with_data"] for r in arm["pool"])
    assert (tmp_path / "with-data" / f"{spec.name}.json").exists()

    # The locality prior on an image: its own pool, scored on the description with the local
    # preset added; every pool records every arm's score.
    local = run_task(spec, 1, 1, tiny, tmp_path, random_draws=0, reading=LOCALITY)
    prior = locality_description(task)
    assert len(prior.resolved()) > len(task.resolved())
    local_first = parse_architecture(json.loads(local["pool"][0]["architecture"]))
    assert local["pool"][0]["score"] == score_architecture(prior, budget, local_first)
    assert all(r["score"] == r["score_locality"] for r in local["pool"])
    assert all(
        r["score_locality"]
        == score_architecture(prior, budget, parse_architecture(json.loads(r["architecture"])))
        for r in document["pool"]
    )
    shared = set(local["runs"]) & set(document["runs"])
    assert shared and all(local["runs"][key] == stored[key] for key in shared)
    assert (tmp_path / "locality" / f"{spec.name}.json").exists()

    # A second draw: other random members, none of the first pools', in both arms; the members
    # the first pools hold keep their runs.
    first_members = {r["architecture"] for d in (document, arm, local) for r in d["pool"]}
    for reading in (DESCRIPTION, WITH_DATA):
        fresh = run_task(spec, 1, 1, tiny, tmp_path, 2, reading=reading, draw=1)
        drawn = [r["architecture"] for r in fresh["pool"] if r["source"] == "random"]
        assert len(drawn) == 2 and not set(drawn) & first_members
        shared = set(fresh["runs"]) & set(stored)
        assert shared and all(fresh["runs"][key] == stored[key] for key in shared)
        assert set(fresh["runs"]) == {key for record in fresh["pool"] for key in record["runs"]}
    assert (tmp_path / "draw-1" / "with-data" / f"{spec.name}.json").exists()
    held_out = HELD_OUT[0]["sequence-shift"]
    for reading in (DESCRIPTION, WITH_DATA):
        run_task(held_out, 1, 1, tiny, tmp_path, random_draws=0, reading=reading)

    # More seeds for the members near the best: their own file, the pool's left as it was.
    pool_file = (tmp_path / f"{spec.name}.json").read_text()
    near = seeds.more_seeds(spec.name, 1, 1, tiny, tmp_path)
    assert near[0].source == "advisor #1"
    assert all(
        len(f.protocol) == 1 and f.compared[:1] == f.protocol and len(f.compared) == 2 for f in near
    )
    assert len(near) == len(seeds.near_members(document))
    assert (tmp_path / "seeds" / f"{spec.name}.json").exists()
    assert (tmp_path / f"{spec.name}.json").read_text() == pool_file
    # Longer training: the protocol's seeds at two epochs, in their own folder and keys.
    longer = seeds.longer_training(spec.name, 2, 1, tiny, tmp_path)
    assert [f.source for f in longer] == [f.source for f in near]
    assert all(
        f.protocol == g.protocol and len(f.compared) == 1 for f, g in zip(longer, near, strict=True)
    )
    stored_longer = json.loads((tmp_path / "epochs-2" / f"{spec.name}.json").read_text())
    assert stored_longer["protocol"]["plan"]["epochs"] == 2
    assert not set(stored_longer["runs"]) & set(stored)
    assert (tmp_path / f"{spec.name}.json").read_text() == pool_file
    with monkeypatch.context() as cached:  # a rerun trains nothing
        cached.setattr(seeds, "trained", None)
        assert seeds.more_seeds(spec.name, 1, 1, tiny, tmp_path) == near
        assert seeds.longer_training(spec.name, 2, 1, tiny, tmp_path) == longer
    assert near[0].line(spec.name).startswith(f"| {spec.name} | advisor #1 | ")

    monkeypatch.setattr(report, "RESULTS", tmp_path)
    monkeypatch.setattr(report, "DOCS", tmp_path)
    monkeypatch.setattr("bench.report.DOCS", tmp_path)
    report.main()
    text = (tmp_path / report.REPORT).read_text()
    assert "<!-- begin outcomes-metrics -->" in text and f"| {spec.name} |" in text
    assert "<!-- begin outcomes-sureness -->" in text and "| advisor score |" in text
    assert "<!-- begin outcomes-data-metrics -->" in text
    assert "<!-- begin outcomes-data-paired -->" in text and f"| {spec.name} | " in text
    assert "<!-- begin outcomes-draw-paired -->" in text
    assert "<!-- begin outcomes-draws -->" in text and "| with the data, both | " in text

    # The held-out task has its own blocks and enters no figure of the tuned tasks.
    def block(name: str) -> str:
        return text.split(f"<!-- begin {name} -->")[1].split(f"<!-- end {name} -->")[0]

    held = block("outcomes-held-out-1")
    assert "| sequence-shift |" in held and f"| {spec.name} |" not in held
    assert held.count("| sequence-shift |") == 2  # its metrics, then both scores on both pools
    for tuned in ("outcomes-metrics", "outcomes-data-paired", "outcomes-draw-paired"):
        assert "sequence-shift" not in block(tuned)
    assert "| advisor #1 |" in block("outcomes-sequence-shift")
    overview = block("outcomes-overview")
    assert "| tuned | 1 |" in overview and "| held-out set 1 | 1 |" in overview
    assert "| all | 2 |" in overview
    # Each arm on its own pools.
    assert "| tuned | 1 |" in block("outcomes-overview-data")
    assert "| all | 2 |" in block("outcomes-overview-data")
    # Both draws as one pool: the first pool's members and the second draw's two, each once.
    first, second = report.read_arm(tmp_path), report.read_arm(tmp_path / "draw-1")
    both = report.union_arm(first, second).trained[spec.name]
    assert len(both) == len(first.trained[spec.name]) + 2
    assert {r.record["architecture"] for r in both} == {
        r.record["architecture"] for r in first.trained[spec.name] + second.trained[spec.name]
    }
    assert (tmp_path / f"outcomes-{spec.name}.png").stat().st_size > 0


def test_a_recheck_trains_stored_runs_again_and_compares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _train_in_this_process(monkeypatch)
    spec = TASKS["sequence-local"]
    tiny = {**SMOKE, "sizes": {"train": 32, "test": 16}}
    run_task(spec, 2, 1, tiny, tmp_path, random_draws=1)
    path = tmp_path / f"{spec.name}.json"
    document = json.loads(path.read_text())
    total = sum(len(record["runs"]) for record in document["pool"])
    assert all(run["machine"] == run_module.machine() for run in document["runs"].values())
    assert all(run["threads"] == 1 for run in document["runs"].values())

    # The machine that trained the pool trains every run again as it did.
    every = recheck.recheck(spec.name, None, 1, tiny, tmp_path)
    assert len(every.stored) == total and every.identical == total and max(every.moves) == 0
    assert every.metrics is not None and every.metrics[0] == every.metrics[1]
    assert every.line().startswith(f"| {spec.name} | {total} | {total} | 0.00 | 0.00 |")
    cache = tmp_path / recheck.FOLDER / f"{spec.name}.json"
    assert json.loads(cache.read_text())["machine"] == run_module.machine()

    # A stored run that reads otherwise is counted and measured; the figures follow the runs.
    first = document["pool"][0]["runs"][0]
    stored = document["runs"][first]["test_accuracy"]
    document["runs"][first]["test_accuracy"] = abs(stored - 0.25)
    path.write_text(json.dumps(document))
    with monkeypatch.context() as cached:  # the runs trained here are reused on this machine
        cached.setattr(recheck, "trained", None)
        moved = recheck.recheck(spec.name, None, 1, tiny, tmp_path)
    assert moved.identical == total - 1
    assert max(moved.moves) == pytest.approx(0.25)
    assert moved.metrics is not None and moved.metrics[1] == every.metrics[1]
    assert moved.metrics[0].advisor_accuracy != moved.metrics[1].advisor_accuracy
    text = recheck.markdown([moved], None)
    assert recheck.FIGURES_HEADER in text and moved.figures_line() in text
    assert f"{total - 1} of {total} runs identical" in text and "largest 25.00" in text

    # A draw of runs: the same runs every time, fewer than the pool's, and no figures.
    some = recheck.recheck(spec.name, 3, 1, tiny, tmp_path)
    assert len(some.here) == 3 and some.metrics is None
    assert some == recheck.recheck(spec.name, 3, 1, tiny, tmp_path)
    with pytest.raises(ValueError, match="only some runs"):
        some.figures_line()

    # Runs another machine trained are not reused: every chosen run is trained here again.
    written = json.loads(cache.read_text())
    written["machine"] = {**written["machine"], "cpu_capability": "another"}
    cache.write_text(json.dumps(written))
    with monkeypatch.context() as cached:
        cached.setattr(recheck, "trained", None)
        with pytest.raises(TypeError):  # it would have to train: ``trained`` is None
            recheck.recheck(spec.name, 3, 1, tiny, tmp_path)


def test_the_tree_net_builds_padded_and_3d_architectures() -> None:
    arch = Architecture(
        input=InputSpec(shape=(2, 7, 7)),
        representation=4,
        layers=(Layer(channels=3, pool=(2, 2, 2)), Layer(channels=2, pool=(1, 4, 4))),
        geometry="mirror",
        padding=((0, 0), (0, 1), (1, 0)),
    )
    model = TreeNet(arch)
    assert parameter_count(model) == arch.parameters
    assert model(torch.zeros(3, 1, 2, 7, 7)).shape == (3, arch.outputs)


@pytest.mark.parametrize("name", ["sequence-mirror", "grid-shift"])
def test_a_committed_pool_is_rebuilt_member_for_member(name: str) -> None:
    # The committed pools are what the code builds: the search's top 8, the baselines and the
    # draws of advisor.search.draws. A change to the picks or the draws must rebuild and train
    # them (python -m bench.outcomes.run), or the committed runs belong to other pools.
    spec = ALL_TASKS[name]
    committed = json.loads(pool_path(RESULTS, name, DESCRIPTION, 0).read_text())["pool"]
    _, members = build_pool(load_description(name), spec.classes, zlib.crc32(name.encode()))
    assert [(m.source, m.key) for m in members] == [
        (r["source"], r["architecture"]) for r in committed
    ]


@pytest.mark.parametrize(
    ("command", "argv", "option"),
    [
        ("run", ["--smoke", "--tasks", "sequence-local", "--jobs", "0"], "--jobs"),
        ("run", ["--smoke", "--tasks", "sequence-local", "--seeds", "0"], "--seeds"),
        ("seeds", ["--tasks", "sequence-local", "--extra", "2", "--jobs", "-1"], "--jobs"),
        ("seeds", ["--tasks", "sequence-local", "--epochs", "0"], "--epochs"),
        ("ties", ["--tasks", "sequence-local", "--seeds", "0"], "--seeds"),
        ("recheck", ["--tasks", "sequence-local", "--runs", "0"], "--runs"),
        ("ties", ["--tasks", "sequence-local", "--jobs", "0"], "--jobs"),
    ],
)
def test_counts_below_one_are_refused_by_name(
    command: str, argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before any pool is built or any file written: 0 workers used to fail deep in the
    # training pool, 0 seeds to write pools with no runs.
    main = {"run": run_main, "seeds": seeds.main, "ties": ties.main, "recheck": recheck.main}[
        command
    ]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}" in error and "at least 1" in error


def test_a_rerun_with_fewer_seeds_keeps_the_runs_of_the_others(tmp_path: Path) -> None:
    # The second draw's random members are trained in its file only: a quick rerun on one seed
    # used to rewrite that file without their second seed's runs.
    spec = TASKS["sequence-local"]
    tiny = {**SMOKE, "sizes": {"train": 32, "test": 16}}
    both = run_task(spec, 2, 1, tiny, tmp_path, 1, draw=1)
    one = run_task(spec, 1, 1, tiny, tmp_path, 1, draw=1)
    assert all(len(record["runs"]) == 1 for record in one["pool"])
    stored = json.loads(pool_path(tmp_path, spec.name, DESCRIPTION, 1).read_text())["runs"]
    assert set(stored) == set(both["runs"])


def _strict(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")


def test_every_committed_results_file_is_standard_json() -> None:
    # NASWOT's -inf was written as Python's -Infinity, which jq and most JSON readers refuse.
    files = sorted(RESULTS.rglob("*.json"))
    assert files
    for path in files:
        json.loads(path.read_text(), parse_constant=_strict)


def test_a_non_finite_proxy_is_held_as_a_string_float_reads_back(tmp_path: Path) -> None:
    assert [proxy_value(v) for v in (-math.inf, math.inf, 2.5)] == ["-inf", "inf", 2.5]
    assert float(proxy_value(-math.inf)) == -math.inf
    with pytest.raises(ValueError):  # a number JSON cannot hold is refused, not written
        write_document(tmp_path / "pool.json", {"pool": [{"naswot": -math.inf}]})


def test_a_rerun_keeps_the_stored_digits_of_a_figure_recomputed_equal_to_rounding(
    tmp_path: Path,
) -> None:
    # NASWOT recomputed on another machine differed in its last digit, and a rerun that trained
    # nothing rewrote the committed files for it.
    stored = {"architecture": "a", "naswot": 419.8426720283559, "synflow": 2.5, "score": 0.5}
    path = tmp_path / "pool.json"
    write_document(path, {"pool": [stored]})
    pool = [
        {"architecture": "a", "naswot": 419.84267202835593, "synflow": 2.6, "score": 0.5},
        {"architecture": "b", "naswot": 1.0000000000000002},
    ]
    keep_stored_digits(pool, path)
    assert pool == [
        {"architecture": "a", "naswot": 419.8426720283559, "synflow": 2.6, "score": 0.5},
        {"architecture": "b", "naswot": 1.0000000000000002},
    ]
