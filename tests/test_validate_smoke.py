"""Smoke version of the validation experiments (bench/validate): tiny data, one seed, seconds.

Skipped cleanly when the optional ``validate`` extra (torch, scikit-learn, scipy, matplotlib) is
not installed (the imports of torch and bench.validate follow the skips).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("scipy")
pytest.importorskip("matplotlib")

import torch
from torch import nn

import bench.report
from advisor.export.document import torch_module
from advisor.geometry.layouts import input_permutation
from advisor.model.architecture import parse_architecture
from advisor.seprank.analysis import analyze
from bench.validate import advisor_pick, report
from bench.validate.advisor_pick import (
    advisor_queries,
    describe,
    neighbourhood_halves,
    score,
    tile_symmetry,
)
from bench.validate.blobs import (
    BlobTask,
    closedness,
    extreme_labels,
    generate_blobs,
    symmetry,
)
from bench.validate.canvases import CANVAS_SIZE, DIGIT_SIZES, digit_pools, place_digits
from bench.validate.experiment import RESULTS, run_experiment
from bench.validate.nets import PoolKind, TreeNet, parameter_count
from bench.validate.pooling_geometry import (
    blob_architecture,
    blob_candidates,
    blob_tasks,
)
from bench.validate.training import Dataset, TrainingPlan, train_and_test
from bench.validate.width_allocation import (
    PROFILES,
    canvas_tasks,
    profile_architecture,
    profile_candidates,
)

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """One torch thread, as the experiments use: two would fight the other jobs for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- data -------------------------------------------------------------------------------------


def test_closedness_is_one_for_a_solid_blob_and_drops_with_a_hole() -> None:
    blob = np.zeros((32, 32), dtype=bool)
    blob[10:20, 10:20] = True
    assert closedness(blob) == 1.0
    blob[14, 14] = False
    assert closedness(blob) == pytest.approx(99 / 100)


def test_symmetry_is_measured_inside_the_tile() -> None:
    image = np.zeros((32, 32), dtype=bool)
    image[2:6, 3:13] = True  # columns 3..12 mirror onto 15-12..15-3 = 3..12 in a 16-wide tile
    assert symmetry(image, (0, 0, 16)) == 1.0
    # The same blob measured in the whole image is off-centre: no overlap with its mirror image.
    assert symmetry(image, (0, 0, 32)) == 0.0
    image[2, 3] = False
    assert symmetry(image, (0, 0, 16)) == pytest.approx(38 / 39)


def test_extreme_labels_take_forty_percent_each_side_with_stable_ties() -> None:
    scores = np.array([0.5, 0.1, 0.5, 0.9, 0.5, 0.2, 0.5, 0.5, 0.8, 0.5])
    index, labels = extreme_labels(scores)
    # Ascending (stable): 1, 5, 0, 2 | 4, 6 | 7, 9, 8, 3 -> the ties at 0.5 split by position.
    assert index.tolist() == [0, 1, 2, 3, 5, 7, 8, 9]
    assert labels.tolist() == [0, 0, 0, 1, 0, 1, 1, 1]


def test_blobs_have_the_papers_shape_scores_and_balanced_labels() -> None:
    blobs = generate_blobs(100, np.random.default_rng(0))
    assert blobs.images.shape == (100, 32, 32) and blobs.images.dtype == bool
    assert blobs.images.reshape(100, -1).any(axis=1).all()
    for scores in (blobs.closedness, blobs.symmetry):
        assert ((scores > 0) & (scores <= 1)).all()
    tasks: list[tuple[BlobTask, npt.NDArray[np.float64]]] = [
        ("closedness", blobs.closedness),
        ("symmetry", blobs.symmetry),
    ]
    for task, scores in tasks:
        images, labels = blobs.labelled(task)
        assert images.shape == (80, 32, 32)
        assert (labels == 1).sum() == (labels == 0).sum() == 40
        index, _ = extreme_labels(scores)
        assert scores[index][labels == 0].max() <= scores[index][labels == 1].min()


def test_canvases_hold_one_digit_of_the_tasks_size_from_disjoint_pools() -> None:
    rng = np.random.default_rng(0)
    pools = digit_pools(0.2, rng)
    train = {image.tobytes() for image in pools.train_images}
    assert not any(image.tobytes() in train for image in pools.test_images)
    assert len(pools.test_labels) == pytest.approx(0.2 * 1797, abs=10)
    assert set(pools.test_labels.tolist()) == set(range(10))
    for task, size in DIGIT_SIZES.items():
        canvases, labels = place_digits(pools.train_images, pools.train_labels, task, 20, rng)
        assert canvases.shape == (20, CANVAS_SIZE, CANVAS_SIZE) and labels.shape == (20,)
        for canvas in canvases:
            rows, cols = np.nonzero(canvas)
            assert rows.max() - rows.min() < size and cols.max() - cols.min() < size
            assert canvas.min() >= 0 and canvas.max() <= 1


# --- networks ---------------------------------------------------------------------------------


def _authors_mirror(n: int) -> torch.Tensor:
    """[CS17] QUAD2 rule per axis: position h takes h // 2 (h even) or n - 1 - h // 2 (h odd)."""
    h = np.arange(n)
    return torch.as_tensor(np.where(h % 2 == 0, h // 2, n - 1 - h // 2))


def _conv_pool_stack(net: TreeNet, images: torch.Tensor, gather: str, pool: str) -> torch.Tensor:
    """The same weights as a standard Conv2d/pooling stack (the reference the nets must equal).

    ``gather``: ``"input"`` permutes the locations once by
    ``advisor.geometry.layouts.input_permutation`` of the mirror architecture; ``"per-level"``
    applies the authors' rule before every pooling; ``"none"`` is contiguous pooling.
    """
    hidden = net.representation(images)
    side = hidden.shape[-1]
    if gather == "input":
        permutation = torch.as_tensor(input_permutation(blob_architecture("mirror")))
        hidden = hidden.flatten(2)[:, :, permutation].view(*hidden.shape)
    pooling = nn.functional.max_pool2d if pool == "max" else nn.functional.avg_pool2d
    for layer in net.hidden:
        assert isinstance(layer, nn.Linear)
        hidden = torch.relu(
            nn.functional.conv2d(hidden, layer.weight[:, :, None, None], layer.bias)
        )
        if gather == "per-level":
            rule = _authors_mirror(side)
            hidden = hidden[:, :, rule][:, :, :, rule]
        hidden = pooling(hidden, 2)
        side //= 2
    scores: torch.Tensor = net.output(hidden.flatten(1))
    return scores


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize(
    ("geometry", "gather"), [("contiguous", "none"), ("mirror", "input"), ("mirror", "per-level")]
)
def test_tree_net_is_the_conv_pool_stack_of_its_geometry(
    geometry: str, gather: str, pool: PoolKind
) -> None:
    torch.manual_seed(0)
    net = TreeNet(blob_architecture(geometry), pool)
    for name, parameter in net.named_parameters():
        nn.init.normal_(parameter, std=0.1 if name.endswith("bias") else 1.0)
    images = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        scores = net(images)
        assert scores.std(dim=0).min() > 0.1  # the images get different scores
        expected = _conv_pool_stack(net, images, gather, pool)
        assert torch.allclose(scores, expected, rtol=1e-4, atol=1e-3)
        if geometry == "mirror":  # and the geometry matters: contiguous pooling differs
            assert not torch.allclose(scores, _conv_pool_stack(net, images, "none", pool))


@pytest.mark.parametrize("kernel", [1, 2, 3])
@pytest.mark.parametrize("padding", [None, ((1, 2), (0, 1))])
def test_tree_net_is_the_exported_module_for_every_kernel_and_margin(
    kernel: int, padding: tuple[tuple[int, int], ...] | None
) -> None:
    # TreeNet padded an even kernel by kernel // 2 on both sides: a grid one larger, whose
    # gather then read the wrong locations without an error.
    architecture = parse_architecture(
        {
            "input": {"shape": [6 - sum(padding[0]) if padding else 6, 5 if padding else 6]},
            "representation": 3,
            "representation_kernel": kernel,
            "padding": padding,
            "geometry": "mirror",
            "layers": [{"channels": 4, "pool": [2, 2]}, {"channels": 3, "pool": [3, 3]}],
        }
    )
    torch.manual_seed(0)
    net = TreeNet(architecture)
    exported = torch_module(architecture)
    with torch.no_grad():
        for source, target in zip(net.parameters(), exported.parameters(), strict=True):
            target.copy_(source.reshape(target.shape))
        inputs = torch.randn(3, 1, *architecture.input.shape)
        assert torch.allclose(net(inputs), exported(inputs), atol=1e-6)


def test_tree_net_refuses_a_mixture_naming_the_export_that_builds_it() -> None:
    # It built the mixture's first tree alone, without a word: 63 parameters of the 114 the
    # architecture has, trained as if it were the mixture.
    architecture = parse_architecture(
        {
            "input": {"shape": [16]},
            "representation": 4,
            "geometry": "mirror",
            "layers": [{"channels": 3, "pool": [2]}] * 4,
            "mixture": {"members": [{"geometry": "contiguous", "channels": [3, 3, 3, 3]}]},
        }
    )
    with pytest.raises(ValueError, match=r"a mixture .*advisor.export.torch_module"):
        TreeNet(architecture)
    assert parameter_count(torch_module(architecture)) == architecture.parameters == 114


def test_candidates_have_equal_parameter_counts_matching_the_advisor() -> None:
    one_hot_saving = 2 * 1 + 2  # the learned 1x1 representation conv the one-hot code replaces
    blob = [parameter_count(c.build()) for c in blob_candidates("max")]
    assert blob == [blob_architecture("mirror").parameters - one_hot_saving] * 2
    for r in (1, 3, 4):
        counts = [parameter_count(c.build()) for c in profile_candidates(r)]
        archs = [profile_architecture(profile, r) for profile in PROFILES]
        assert counts[0] == counts[1] == archs[0].parameters == archs[1].parameters
        assert counts[0] == 9 * 10 + 10 + 31 * r * r + 50 * r + 14 * r + 10
    assert [a.widths for a in archs] == [(16, 16, 8, 8, 4, 4), (4, 4, 8, 8, 16, 16)]


# --- the advisor's task descriptions ----------------------------------------------------------


def _ids(region: dict[str, Any], width: int) -> set[int]:
    (top, left), (bottom, right) = region["box"]["start"], region["box"]["stop"]
    return {r * width + c for r in range(top, bottom) for c in range(left, right)}


def test_neighbourhood_halves_split_every_neighbourhood_in_two_adjacent_halves() -> None:
    correlations = neighbourhood_halves((32, 32), 4, 2)
    assert len(correlations) == 15 * 15 * 2
    assert len({c["name"] for c in correlations}) == len(correlations)
    for correlation in correlations:
        a, b = _ids(correlation["a"], 32), _ids(correlation["b"], 32)
        assert len(a) == len(b) == 8 and not a & b
        rows, cols = np.divmod(np.array(sorted(a | b)), 32)
        assert np.ptp(rows) == np.ptp(cols) == 3  # together: one 4x4 square


def test_tile_symmetry_pairs_the_halves_of_the_image_and_of_each_quadrant() -> None:
    correlations = tile_symmetry((32, 32))
    sizes = [len(_ids(c["a"], 32)) for c in correlations]
    assert sizes == [512, 128, 128, 128, 128]
    for correlation in correlations:
        rows_a, cols_a = np.divmod(np.array(sorted(_ids(correlation["a"], 32))), 32)
        rows_b, cols_b = np.divmod(np.array(sorted(_ids(correlation["b"], 32))), 32)
        # Same rows, a directly left of b, equal widths: the two halves of one square tile.
        assert set(rows_a) == set(rows_b) and cols_a.max() + 1 == cols_b.min()
        assert np.ptp(cols_a) == np.ptp(cols_b) and np.ptp(rows_a) + 1 == 2 * (np.ptp(cols_a) + 1)


@pytest.mark.parametrize(
    ("task", "shape", "regions"),
    [("closedness", 32, 450), ("symmetry", 32, 5), ("local", 64, 450), ("global", 64, 18)],
)
def test_every_task_is_described_by_regions_and_by_a_preset(
    task: str, shape: int, regions: int
) -> None:
    described = describe(task, (shape, shape))
    assert len(described["regions"].resolved()) == regions
    assert described["preset"].preset is not None and described["preset"].resolved()


def test_the_score_is_a_fraction_that_grows_with_the_widths() -> None:
    task = describe("symmetry", (32, 32))["preset"]
    narrow, wide = (
        score(task, analyze(task, blob_architecture("contiguous", 2))),
        score(task, analyze(task, blob_architecture("contiguous", 16))),
    )
    assert 0 < narrow < wide <= 1


# --- training and the pipeline ----------------------------------------------------------------


@pytest.mark.slow  # trains small networks
def test_training_reduces_the_loss_and_is_repeatable() -> None:
    blobs = generate_blobs(80, np.random.default_rng(0))
    data = Dataset.from_arrays(*blobs.labelled("closedness"))  # 64 images
    build = blob_candidates("max")[0].build
    plan = TrainingPlan(epochs=30, batch_size=16, learning_rate=1e-2)
    first = train_and_test(build, data, data, plan, seed=0)
    assert first.epoch_losses[0] == pytest.approx(np.log(2), abs=0.02)  # starts at chance
    assert first.epoch_losses[-1] < 0.8 * first.epoch_losses[0]
    assert first.train_accuracy >= 0.75  # fits the images it saw, well above chance (0.5)
    again = train_and_test(build, data, data, plan, seed=0)
    assert replace(again, seconds=0, cpu_seconds=0) == replace(first, seconds=0, cpu_seconds=0)


@pytest.mark.slow  # trains small networks
def test_both_experiments_run_end_to_end_and_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    plan = TrainingPlan(epochs=1)
    blob_doc = run_experiment(
        "pooling_geometry",
        blob_tasks(generate_blobs(150, rng), generate_blobs(50, rng)),
        blob_candidates("max", width=8),
        plan,
        seeds=(0,),
        protocol={"data": "tiny blobs", "network": "width 8"},
        output=tmp_path / "pooling_geometry.json",
    )
    canvas_doc = run_experiment(
        "width_allocation_r2",
        canvas_tasks(rng, train_count=64, test_count=32),
        profile_candidates(2),
        plan,
        seeds=(0,),
        protocol={"data": "tiny canvases", "network": "r = 2"},
        output=tmp_path / "width_allocation_r2.json",
    )
    stored = json.loads((tmp_path / "pooling_geometry.json").read_text())
    assert [r["test_accuracy"] for r in stored["runs"]] == [
        r["test_accuracy"] for r in blob_doc["runs"]
    ]
    for document, tasks, candidates in (
        (blob_doc, {"closedness", "symmetry"}, {"contiguous", "mirror"}),
        (canvas_doc, {"local", "global"}, {"wide-base", "wide-tip"}),
    ):
        assert {(r["task"], r["candidate"]) for r in document["runs"]} == {
            (t, c) for t in tasks for c in candidates
        }
        assert all(0 <= r["test_accuracy"] <= 1 for r in document["runs"])
        table = report.results_markdown(document)
        assert all(f"| {task} |" in table for task in tasks)
        png = report.plot_results(document, tmp_path / f"{document['experiment']}.png")
        assert png.read_bytes().startswith(b"\x89PNG")
    queries = advisor_queries(blob_doc) + advisor_queries(canvas_doc)
    assert {(q["task"], q["description"]) for q in queries} == {
        (t, d) for t in ("closedness", "symmetry", "local", "global") for d in ("regions", "preset")
    }
    assert all(q["pick"] in (*q["scores"], "tie") for q in queries)
    picks = report.advisor_markdown(
        {"method": "smoke", "queries": queries},
        {"pooling_geometry": blob_doc, "width_allocation_r2": canvas_doc},
    )
    assert picks.count("| pooling_geometry |") == 4 and picks.count("| width_allocation_r2 |") == 4
    assert blob_doc["protocol"]["train_sizes"] == {"closedness": 120, "symmetry": 120}
    assert canvas_doc["protocol"]["test_sizes"] == {"local": 32, "global": 32}


@pytest.fixture
def results_beside_others(tmp_path: Path) -> Path:
    """A results folder as committed: an experiment beside the AutoML study and the mixtures."""
    folder = tmp_path / "results"
    folder.mkdir()
    for name in ("automl_study", "mixtures", "pooling_geometry"):
        (folder / f"{name}.json").write_text((RESULTS / f"{name}.json").read_text())
    return folder


def test_the_report_reads_the_experiments_among_other_results(
    results_beside_others: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/VALIDATION.md's ``report`` stopped on the AutoML study, which is no experiment."""
    docs = tmp_path / "docs"
    monkeypatch.setattr(report, "RESULTS", results_beside_others)
    monkeypatch.setattr(report, "DOCS", docs)
    monkeypatch.setattr(bench.report, "DOCS", docs)
    report.main()
    written = (docs / report.REPORT).read_text()
    for experiment in ("mixtures", "pooling_geometry"):
        assert f"<!-- begin results-{experiment} -->" in written
        assert (docs / f"validation-{experiment}.png").exists()
    assert "automl_study" not in written


def test_the_advisor_is_asked_about_the_experiments_on_the_tasks_it_describes(
    results_beside_others: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``advisor_pick`` stopped on the AutoML study and on the mixtures' 1-D ``hidden`` task."""
    monkeypatch.setattr(advisor_pick, "RESULTS", results_beside_others)
    advisor_pick.main()
    picks = json.loads((results_beside_others / f"{report.ADVISOR_PICKS}.json").read_text())
    assert {(q["experiment"], q["task"]) for q in picks["queries"]} == {
        ("pooling_geometry", "closedness"),
        ("pooling_geometry", "symmetry"),
    }


def test_the_hidden_structure_sequences_carry_both_structures_in_their_label() -> None:
    from bench.validate.mixtures import LENGTH, hidden_structure

    inputs, labels = hidden_structure(400, seed=0)
    assert inputs.shape == (400, LENGTH) and set(np.unique(inputs)) == {-1.0, 1.0}
    neighbours = (inputs[:, 0::2] == inputs[:, 1::2]).mean(axis=1)
    mirrored = (inputs[:, : LENGTH // 2] == inputs[:, ::-1][:, : LENGTH // 2]).mean(axis=1)
    # Uncopied pairs agree half the time, so each fraction is about (1 + p) / 2.
    both = neighbours + mirrored
    assert both[labels == 1].mean() > both[labels == 0].mean() + 0.2
    assert 0.3 < labels.mean() < 0.7
