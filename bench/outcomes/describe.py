"""Write the advisor's description of every benchmark task to ``tasks/<task>.yaml``.

Run once, before the advisor is queried (the files are committed; the benchmark reads them)::

    .venv/bin/python -m bench.outcomes.describe

Each description is what a user who knows the task, but not the answer, would write: a preset
where one names the structure, regions where the structure is specific. None names an
architecture, and ``digits-permuted`` is described through the task (which pixels were neighbours
before the shuffle), not through the permutation's inverse.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import yaml

from advisor.infer.combine import with_data
from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.task import infer_task
from advisor.model.documents import read_document
from advisor.model.task import Task, load_task, parse_task
from bench.outcomes.data import (
    ALL_TASKS,
    BLOB_PERMUTATION_SEED,
    DIGITS_LOCAL_PERMUTATION_SEED,
    IMAGE_SIDE,
    SEQUENCE_LENGTH,
    SYMMETRY_PERMUTATION_SEED,
    TOP_BOTTOM_PERMUTATION_SEED,
    pixel_permutation,
)
from bench.report import no_options
from bench.validate.advisor_pick import neighbourhood_halves, tile_symmetry

__all__ = [
    "LOCALITY_SHARE",
    "TASK_FILES",
    "data_description",
    "descriptions",
    "load_description",
    "locality_description",
    "main",
    "with_locality",
]

TASK_FILES: Final = Path(__file__).resolve().parent / "tasks"

_Document = dict[str, Any]
_IMAGE = [IMAGE_SIDE, IMAGE_SIDE]


def _at_new_pixels(document: _Document, permutation: npt.NDArray[np.intp]) -> list[_Document]:
    """The correlations of a task document on the original image, at the pixels they moved to.

    Every region (box, mask or preset member) becomes the ``indices`` of its pixels after the
    permutation (pixel ``j`` shows original pixel ``permutation[j]``).
    """
    new_position = np.argsort(permutation)

    def moved(ids: npt.NDArray[np.int64]) -> _Document:
        return {"indices": sorted(int(i) for i in new_position[ids])}

    correlations = []
    for correlation in parse_task(document).resolved():
        moved_correlation: _Document = {
            "name": correlation.name,
            "a": moved(correlation.a),
            "b": moved(correlation.b),
        }
        if correlation.weight != 1.0:
            moved_correlation["weight"] = correlation.weight
        correlations.append(moved_correlation)
    return correlations


def _permuted_neighbourhoods() -> list[_Document]:
    """Halves of the original image's 4x4, 8x8 and 16x16 neighbourhoods, at their new pixels."""
    shape = (IMAGE_SIDE, IMAGE_SIDE)
    original = [
        *neighbourhood_halves(shape, 4, 4),
        *neighbourhood_halves(shape, 8, 8),
        *neighbourhood_halves(shape, 16, 16),
    ]
    document = {"input": {"shape": _IMAGE}, "correlations": original}
    return _at_new_pixels(document, pixel_permutation())


def _row(index: int, first: int = 0, count: int = IMAGE_SIDE) -> _Document:
    """Row ``index`` of the image, columns ``first`` to ``first + count - 1``, as a box."""
    return {"box": {"start": [index, first], "stop": [index + 1, first + count]}}


def _columns(first: int, count: int = 1) -> _Document:
    """Columns ``first`` to ``first + count - 1`` of the image, every row, as a box."""
    return {"box": {"start": [0, first], "stop": [IMAGE_SIDE, first + count]}}


def _steps(start: int, size: int) -> _Document:
    """Steps ``start`` to ``start + size - 1`` of the sequence, as a box."""
    return {"box": {"start": [start], "stop": [start + size]}}


def _rows_apart(distance: int) -> list[_Document]:
    """Row ``r`` with row ``r + distance``, for every row that has one."""
    return [
        {"name": f"row {r}/row {r + distance}", "a": _row(r), "b": _row(r + distance)}
        for r in range(IMAGE_SIDE - distance)
    ]


def _columns_apart(distance: int) -> list[_Document]:
    """Column ``c`` with column ``c + distance``, for every column that has one."""
    return [
        {"name": f"column {c}/column {c + distance}", "a": _columns(c), "b": _columns(c + distance)}
        for c in range(IMAGE_SIDE - distance)
    ]


def _mirrored_quarters() -> list[_Document]:
    """In each half of the image, its left quarter with its right quarter, stated as mirrors."""
    quarter = IMAGE_SIDE // 4
    return [
        {
            "name": f"{side} half/mirrored",
            "a": _columns(start, quarter),
            "b": _columns(start + quarter, quarter),
            "relation": "mirror",
        }
        for side, start in (("left", 0), ("right", 2 * quarter))
    ]


def _mirrored_rows() -> list[_Document]:
    """Row ``r`` of the top half with row ``15 - r``, for every row of the top half."""
    last = IMAGE_SIDE - 1
    return [
        {"name": f"row {r}/row {last - r}", "a": _row(r), "b": _row(last - r)}
        for r in range(IMAGE_SIDE // 2)
    ]


def _quadrant_rows() -> list[_Document]:
    """Row ``r`` of the top-left quadrant with row ``r + 8`` of the bottom-right quadrant."""
    half = IMAGE_SIDE // 2
    return [
        {
            "name": f"row {r} left/row {r + half} right",
            "a": _row(r, 0, half),
            "b": _row(r + half, half, half),
        }
        for r in range(half)
    ]


def _mirrored_pairs(centre: int, first: int = 0) -> list[_Document]:
    """Steps ``k, k + 1`` with their reflection about ``centre - 0.5``, for even ``k`` from
    ``first`` up to ``centre``."""
    return [
        {
            "name": f"steps {k}-{k + 1}/{2 * centre - 2 - k}-{2 * centre - 1 - k}",
            "a": _steps(k, 2),
            "b": _steps(2 * centre - 2 - k, 2),
        }
        for k in range(first, centre, 2)
    ]


def _doubled_steps() -> list[_Document]:
    """Each step ``i`` from 1 to 31 with step ``2 i``."""
    return [
        {"name": f"step {i}/step {2 * i}", "a": _steps(i, 1), "b": _steps(2 * i, 1)}
        for i in range(1, SEQUENCE_LENGTH // 2)
    ]


def _transposed_rows() -> list[_Document]:
    """The part of row ``r`` right of the diagonal with the part of column ``r`` below it."""
    return [
        {
            "name": f"row {r} right/column {r} below",
            "a": _row(r, r + 1, IMAGE_SIDE - 1 - r),
            "b": {"box": {"start": [r + 1, r], "stop": [IMAGE_SIDE, r + 1]}},
        }
        for r in range(IMAGE_SIDE - 1)
    ]


def _moved_rows(down: int, right: int) -> list[_Document]:
    """Row ``r`` but its last ``right`` pixels with row ``r + down`` from its pixel ``right``."""
    count = IMAGE_SIDE - right
    return [
        {
            "name": f"row {r}/row {r + down} +{right}",
            "a": _row(r, 0, count),
            "b": _row(r + down, right, count),
        }
        for r in range(IMAGE_SIDE - down)
    ]


def _blocks_apart(size: int, distance: int) -> list[_Document]:
    """Each block of ``size`` steps with the block ``distance`` steps later."""

    def name(start: int) -> str:
        steps = f"step {start}" if size == 1 else f"steps {start}-{start + size - 1}"
        return f"{steps}/+{distance}"

    return [
        {"name": name(s), "a": _steps(s, size), "b": _steps(s + distance, size)}
        for s in range(0, SEQUENCE_LENGTH - distance - size + 1, size)
    ]


def _steps_apart(size: int, distance: int) -> tuple[str, _Document]:
    """An event sequence whose label couples each step with the step ``distance`` later.

    Described as each block of ``size`` steps with the block that far later, and said so.
    """
    blocks = {
        1: "",
        2: ": each pair of steps with the pair",
        4: ": each block of 4 steps with the block",
    }
    said = f" {distance} steps later" if size > 1 else ""
    return (
        f"The label couples each step with the step {distance} later{blocks[size]}{said}.",
        {"input": {"shape": [SEQUENCE_LENGTH]}, "correlations": _blocks_apart(size, distance)},
    )


def descriptions() -> dict[str, tuple[str, _Document]]:
    """Every task's header comment and task document."""
    image = {"shape": _IMAGE}
    sequence = {"shape": [SEQUENCE_LENGTH]}
    return {
        "symmetry": (
            "Is the blob left-right symmetric? A blob fills the whole image or one quadrant, so "
            "each of them is compared with its mirror image: left half vs right half.",
            {"input": image, "correlations": tile_symmetry((IMAGE_SIDE, IMAGE_SIDE))},
        ),
        "closedness": (
            "Is the blob closed (no gaps)? A property of small neighbourhoods: the local preset.",
            {"input": image, "preset": "local"},
        ),
        "digits-local": (
            "Which digit? An 8x8 digit sits anywhere on the canvas, so the evidence lies within "
            "8x8 neighbourhoods: left vs right and top vs bottom half of each, at stride 4.",
            {"input": image, "correlations": neighbourhood_halves((IMAGE_SIDE, IMAGE_SIDE), 8, 4)},
        ),
        "digits-global": (
            "Which digit? The digit fills the canvas, so its halves, quadrants and borders must "
            "be compared: the long_range preset.",
            {"input": image, "preset": "long_range"},
        ),
        "digits-permuted": (
            "Which digit? The digit fills the canvas but its pixels were shuffled by a fixed "
            "permutation; what was correlated before is correlated after, at the new places: "
            "the halves of every 4x4, 8x8 and 16x16 block of the original image.",
            {"input": image, "correlations": _permuted_neighbourhoods()},
        ),
        "sequence-mirror": (
            "The label couples each early step with its mirror step near the end (step i with "
            "step 63 - i): the symmetry preset.",
            {"input": sequence, "preset": "symmetry"},
        ),
        "sequence-local": (
            "The label depends on products of neighbouring steps: the local preset.",
            {"input": sequence, "preset": "local"},
        ),
        "sequence-shift": (
            "The label couples each step of the first half with the same step of the second "
            "half (step i with step i + 32): the periodic preset.",
            {"input": sequence, "preset": "periodic"},
        ),
        "grid-shift": (
            "The label couples each pixel of the top half with the pixel 8 rows below it: each "
            "row of the top half with the row 8 below.",
            {"input": image, "correlations": _rows_apart(IMAGE_SIDE // 2)},
        ),
        "grid-local": (
            "The label depends on products of horizontally neighbouring pixels: the local preset.",
            {"input": image, "preset": "local"},
        ),
        "sequence-quarter": _steps_apart(4, SEQUENCE_LENGTH // 4),
        "grid-periodic": (
            "The label couples each pixel of the left half with the pixel 8 columns to its "
            "right, i with i + n/2: the periodic preset.",
            {"input": image, "preset": "periodic"},
        ),
        "grid-diagonal": (
            "The label depends on products of diagonally neighbouring pixels: the local preset.",
            {"input": image, "preset": "local"},
        ),
        "blobs-top-bottom": (
            "Is the blob top-bottom symmetric? A property of the whole image: the top_bottom "
            "preset.",
            {"input": image, "preset": "top_bottom"},
        ),
        "closedness-permuted": (
            "Is the blob closed (no gaps)? A property of small neighbourhoods, but the pixels were "
            "shuffled by a fixed permutation: the local preset's correlations at the pixels they "
            "moved to.",
            {
                "input": image,
                "correlations": _at_new_pixels(
                    {"input": image, "preset": "local"},
                    pixel_permutation(BLOB_PERMUTATION_SEED),
                ),
            },
        ),
        "sequence-eighth": _steps_apart(2, SEQUENCE_LENGTH // 8),
        "grid-mirror": (
            "The label couples each pixel with its left-right mirror image (column c with column "
            "15 - c): the symmetry preset.",
            {"input": image, "preset": "symmetry"},
        ),
        "symmetry-permuted": (
            "Is the blob left-right symmetric? As for symmetry (each blob and quadrant against "
            "its mirror image), but the pixels were shuffled by a fixed permutation: those "
            "correlations at the pixels they moved to.",
            {
                "input": image,
                "correlations": _at_new_pixels(
                    {"input": image, "correlations": tile_symmetry((IMAGE_SIDE, IMAGE_SIDE))},
                    pixel_permutation(SYMMETRY_PERMUTATION_SEED),
                ),
            },
        ),
        "grid-rows4": (
            "The label couples each pixel with the pixel 4 rows below it: each row with the row 4 "
            "below.",
            {"input": image, "correlations": _rows_apart(4)},
        ),
        "grid-knight": (
            "The label depends on products of nearby pixels (one row down, two columns right): "
            "the local preset.",
            {"input": image, "preset": "local"},
        ),
        "sequence-skip": (
            "The label depends on products of steps two apart: the local preset.",
            {"input": sequence, "preset": "local"},
        ),
        "digits-local-permuted": (
            "Which digit? As for digits-local (left vs right and top vs bottom half of each 8x8 "
            "neighbourhood at stride 4), but the pixels were shuffled by a fixed permutation: "
            "those correlations at the pixels they moved to.",
            {
                "input": image,
                "correlations": _at_new_pixels(
                    {
                        "input": image,
                        "correlations": neighbourhood_halves((IMAGE_SIDE, IMAGE_SIDE), 8, 4),
                    },
                    pixel_permutation(DIGITS_LOCAL_PERMUTATION_SEED),
                ),
            },
        ),
        "sequence-fourth": _steps_apart(2, 4),
        "sequence-twelve": _steps_apart(4, 12),
        "sequence-three": _steps_apart(1, 3),
        "sequence-six": _steps_apart(2, 6),
        "sequence-twenty": _steps_apart(4, 20),
        "sequence-ten": _steps_apart(2, 10),
        "grid-rows2": (
            "The label couples each pixel with the pixel 2 rows below it: each row with the row 2 "
            "below.",
            {"input": image, "correlations": _rows_apart(2)},
        ),
        "digits-local-12": (
            "Which digit? A 12x12 digit sits anywhere on the canvas, so the evidence lies within "
            "12x12 neighbourhoods: left vs right and top vs bottom half of each, at stride 4.",
            {
                "input": image,
                "correlations": neighbourhood_halves((IMAGE_SIDE, IMAGE_SIDE), 12, 4),
            },
        ),
        "grid-rotate": (
            "The label couples each pixel of the top half with its reflection through the "
            "centre, (r, c) with (15 - r, 15 - c): each row of the top half with its mirror row.",
            {"input": image, "correlations": _mirrored_rows()},
        ),
        "grid-corner": (
            "The label couples each pixel of the top-left quadrant with the pixel 8 rows down and "
            "8 columns right: each row of the top-left quadrant with that row of the bottom-right.",
            {"input": image, "correlations": _quadrant_rows()},
        ),
        "sequence-fold": (
            "The label couples each of the first 24 steps with its reflection about step 23.5 "
            "(step i with step 47 - i): each pair of steps with its mirrored pair.",
            {"input": sequence, "correlations": _mirrored_pairs(24)},
        ),
        "grid-transpose": (
            "The label couples each pixel above the main diagonal with its transpose, (r, c) "
            "with (c, r): the part of each row right of the diagonal with the part of its column "
            "below it.",
            {"input": image, "correlations": _transposed_rows()},
        ),
        "grid-five-three": (
            "The label couples each pixel with the pixel 5 rows down and 3 columns right: the "
            "first 13 pixels of each row with the last 13 of the row 5 below.",
            {"input": image, "correlations": _moved_rows(5, 3)},
        ),
        "sequence-forty": _steps_apart(4, 40),
        "sequence-ends": _steps_apart(4, 56),
        "sequence-mirrored-halves": (
            "The label couples each step of the first quarter with its mirror step in the first "
            "half (step i with step 31 - i), and each step of the third quarter with its mirror "
            "step in the second half (step i with step 95 - i): each pair of steps with its "
            "mirrored pair in its own half.",
            {"input": sequence, "correlations": _mirrored_pairs(16) + _mirrored_pairs(48, 32)},
        ),
        "sequence-doubled": (
            "The label couples each step i from 1 to 31 with step 2i: each of those steps with "
            "the step at twice its index.",
            {"input": sequence, "correlations": _doubled_steps()},
        ),
        "grid-flip": (
            "The label couples each pixel with its top-bottom mirror, (r, c) with (15 - r, c): "
            "the top half against the bottom half, mirrored.",
            {"input": image, "preset": "top_bottom"},
        ),
        "grid-below": (
            "The label couples each pixel with the pixel below it: a local structure.",
            {"input": image, "preset": "local"},
        ),
        "sequence-thirty": _steps_apart(2, 30),
        "grid-columns4": (
            "The label couples each pixel with the pixel 4 columns to its right: each column "
            "with the column 4 to its right.",
            {"input": image, "correlations": _columns_apart(4)},
        ),
        "grid-mirrored-halves": (
            "The label couples each pixel with its mirror image in its own half of the image, "
            "(r, c) with (r, 7 - c) or (r, 23 - c): in each half, the left quarter against the "
            "right quarter, stated as mirrors.",
            {"input": image, "correlations": _mirrored_quarters()},
        ),
        "sequence-five": _steps_apart(1, 5),
        "grid-columns2": (
            "The label couples each pixel with the pixel 2 columns to its right: each column "
            "with the column 2 to its right.",
            {"input": image, "correlations": _columns_apart(2)},
        ),
        "grid-anti-diagonal": (
            "The label depends on products of nearby pixels (one row down, one column left): "
            "the local preset.",
            {"input": image, "preset": "local"},
        ),
        "sequence-seven": _steps_apart(1, 7),
        "digits-local-10": (
            "Which digit? A 10x10 digit sits anywhere on the canvas, so the evidence lies within "
            "10x10 neighbourhoods: left vs right and top vs bottom half of each, at stride 2.",
            {
                "input": image,
                "correlations": neighbourhood_halves((IMAGE_SIDE, IMAGE_SIDE), 10, 2),
            },
        ),
        "blobs-top-bottom-permuted": (
            "Is the blob top-bottom symmetric? As for blobs-top-bottom (the top_bottom preset), "
            "but the pixels were shuffled by a fixed permutation: those correlations at the "
            "pixels they moved to.",
            {
                "input": image,
                "correlations": _at_new_pixels(
                    {"input": image, "preset": "top_bottom"},
                    pixel_permutation(TOP_BOTTOM_PERMUTATION_SEED),
                ),
            },
        ),
        "grid-two-one": (
            "The label couples each pixel with the pixel 2 rows down and 1 column right: the "
            "first 15 pixels of each row with the last 15 of the row 2 below.",
            {"input": image, "correlations": _moved_rows(2, 1)},
        ),
        "grid-three-six": (
            "The label couples each pixel with the pixel 3 rows down and 6 columns right: the "
            "first 10 pixels of each row with the last 10 of the row 3 below.",
            {"input": image, "correlations": _moved_rows(3, 6)},
        ),
    }


def with_locality(task: Task, share: float) -> Task:
    """``task`` with the ``local`` preset's correlations of its input added, weighing ``share``
    of the description's weight in all (equal weights among them).

    A prior that the input's neighbouring locations correlate, as natural images' and signals'
    do, beside what the description states; every stated correlation keeps its weight and
    relation.
    """
    shape = list(task.input.shape)
    stated = task.resolved()
    local = parse_task({"input": {"shape": shape}, "preset": "local"}).resolved()
    each = share * sum(c.weight for c in stated) / len(local)
    correlations: list[dict[str, object]] = []
    for correlation, weight, prefix in [(c, c.weight, "") for c in stated] + [
        (c, each, "prior/") for c in local
    ]:
        entry: dict[str, object] = {
            "name": prefix + correlation.name,
            "a": {"indices": correlation.a.tolist()},
            "b": {"indices": correlation.b.tolist()},
            "weight": weight,
        }
        if correlation.relation is not None:
            entry["relation"] = correlation.relation
        correlations.append(entry)
    document: dict[str, object] = {"input": {"shape": shape}, "correlations": correlations}
    if task.outputs is not None:
        document["outputs"] = task.outputs
    return parse_task(document)


LOCALITY_SHARE: Final = 0.5
"""The part of a description's weight the locality arm's prior adds (docs/OUTCOMES.md, "A
locality prior")."""


def locality_description(task: Task) -> Task:
    """``task`` as the locality arm reads it: a 2-D input's description with the ``local``
    preset added at :data:`LOCALITY_SHARE` (:func:`with_locality`); other inputs as described.

    The variant the fifteenth held-out set tests: a prior that an image's neighbouring pixels
    correlate whatever the description states.
    """
    return with_locality(task, LOCALITY_SHARE) if len(task.input.shape) == 2 else task


def load_description(task: str) -> Task:
    """The committed description of ``task`` (``tasks/<task>.yaml``)."""
    return load_task(TASK_FILES / f"{task}.yaml")


def data_description(task: str, inputs: npt.NDArray[np.float32]) -> Task:
    """``task``'s description with what its training ``inputs`` show, as ``recommend --data``.

    ``inputs`` is ``(samples, 1, *shape)``; the dependence graph is built as ``recommend --data
    DATA --allow-constant`` builds it (the blob images' corners never vary), the inference as the
    ``InferTask`` RPC runs it (seed 0); its correlations are added, and its arrangement when the
    inference carries it (:func:`advisor.infer.combine.with_data`).
    """
    document = read_document(TASK_FILES / f"{task}.yaml", "task")
    grid = inputs.reshape(inputs.shape[0], *inputs.shape[2:])
    graph = dependence_graph(data_from_array(grid, grid.shape[1:]), allow_constant=True)
    return parse_task(with_data(document, infer_task(graph).report()))


def main() -> None:
    """Write ``tasks/<task>.yaml`` for every task."""
    TASK_FILES.mkdir(exist_ok=True)
    documents = descriptions()
    assert list(documents) == list(ALL_TASKS), "one description per task, in the task order"
    for name, (comment, document) in documents.items():
        text = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=100)
        header = "".join(f"# {line}\n" for line in textwrap.wrap(comment, 98))
        (TASK_FILES / f"{name}.yaml").write_text(header + text)


if __name__ == "__main__":
    no_options(__doc__)
    main()
