"""Task inference: data reading, the dependence graph, the arrangement, the inferred task."""

from __future__ import annotations

import copy
import dataclasses
import io
import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import networkx as nx
import numpy as np
import pytest
from advisor_client import AdvisorClient
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.infer import data as data_module
from advisor.infer import file_sizes, inference
from advisor.infer import partition as partition_module
from advisor.infer import task as task_module
from advisor.infer.arrangement import arrange, canonical_windows, surrogate_entanglement
from advisor.infer.class_labels import read_labels
from advisor.infer.combine import with_data
from advisor.infer.data import data_from_array, read_data
from advisor.infer.dependence import dependence_graph
from advisor.infer.graph import DependenceGraph, check_graph
from advisor.infer.report import InferenceReport, InferredCorrelation, dropped_reason, task_file
from advisor.infer.task import chance_density, chance_spread, infer_task
from advisor.model.budget import Budget
from advisor.model.grid import padded_ids, padded_shape
from advisor.model.task import parse_task
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.search.candidates import arranged_permutation
from advisor.search.recommend import recommend
from advisor.seprank.analysis import analyze
from advisor.service.server import ServerConfig, start_server
from tests.support.partitioners import PARTITIONERS

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


def _fields(error: pytest.ExceptionInfo[InvalidRequestError]) -> list[str]:
    return [v.field for v in error.value.violations]


def test_weights_are_the_absolute_pearson_correlations_of_the_kept_pairs() -> None:
    rng = np.random.default_rng(0)
    values = rng.standard_normal((300, 12))
    values[:, 5] = -values[:, 2] + 0.3 * rng.standard_normal(300)
    graph = dependence_graph(data_from_array(values), top_k=11)
    expected = np.abs(np.corrcoef(values.T))
    assert graph.weights.size == 12 * 11 // 2
    np.testing.assert_allclose(graph.weights, expected[graph.rows, graph.cols], rtol=1e-5)


def test_a_top_k_past_the_other_locations_is_reported_as_kept() -> None:
    values = np.random.default_rng(1).standard_normal((200, 4))
    graph = dependence_graph(data_from_array(values), top_k=8)
    assert graph.top_k == 3
    assert graph.weights.size == 4 * 3 // 2
    check_graph(graph, max_locations=4)


def test_sketch_keeps_exact_weights_and_finds_the_strong_pairs() -> None:
    rng = np.random.default_rng(1)
    values = rng.standard_normal((400, 40))
    values[:, 30] = values[:, 3] + 0.1 * rng.standard_normal(400)
    graph = dependence_graph(data_from_array(values), top_k=2, dense_features=1)
    assert graph.estimate == "sketch"
    expected = np.abs(np.corrcoef(values.T))
    np.testing.assert_allclose(graph.weights, expected[graph.rows, graph.cols], rtol=1e-5)
    assert (3, 30) in set(zip(graph.rows.tolist(), graph.cols.tolist(), strict=True))


def test_one_channel_of_several_gives_the_rv_coefficient_root() -> None:
    rng = np.random.default_rng(2)
    values = rng.standard_normal((500, 3, 2))
    values[:, 1, :] = values[:, 0, ::-1]  # location 1 holds location 0's channels swapped
    graph = dependence_graph(data_from_array(values, (3,)), top_k=2)
    ids = zip(graph.rows.tolist(), graph.cols.tolist(), strict=True)
    pairs = dict(zip(ids, graph.weights.tolist(), strict=True))
    assert pairs[(0, 1)] == pytest.approx(1.0, abs=1e-6)
    assert max(v for k, v in pairs.items() if k != (0, 1)) < 0.2


@pytest.mark.parametrize(
    ("values", "shape", "field", "words"),
    [
        (np.zeros((1, 4)), None, "data", "at least 2"),
        (np.array([[1.0, np.nan], [2.0, 3.0]]), None, "data", "sample 0, location 1"),
        (np.ones((5, 3)), None, "data", "never vary"),
        (np.zeros((5, 12)), (5, 5), "data.shape", "not the grid"),
        (
            np.zeros((5, 192)),
            (8, 8),
            "data.shape",
            "flattened form; its 192 values are 3 per location: save the array reshaped as "
            ".reshape(-1, 8, 8, 3) or .reshape(-1, 3, 8, 8), as its values are ordered",
        ),
        (np.zeros((5, 190)), (8, 8), "data.shape", "nor its flattened form"),
        # [256] is the flattened form of [16, 16]: "nor its flattened form" was untrue there.
        (
            np.zeros((5, 16, 16)),
            (256,),
            "data.shape",
            "samples of shape [16, 16]: as many values as the grid [256] has locations, on "
            "other axes. To read each sample's values in order (row-major) as the grid, save the "
            "array reshaped as .reshape(-1, 256)",
        ),
        (np.zeros((5, 8, 32)), (16, 16), "data.shape", "as .reshape(-1, 16, 16); else give"),
        (np.arange(10.0).reshape(5, 2), (1,), "data.shape", "[1] is one location"),
        (np.arange(10.0).reshape(5, 1, 2), (1,), "data.shape", "[1] is one location"),
        (np.arange(5.0).reshape(5, 1), None, "data", "[1] is one location: no pair"),
        (np.arange(5.0).reshape(5, 1, 1), None, "data", "[1, 1] is one location: no pair"),
        (np.zeros((5, 64)), (2,) * 6, "data.shape", "must have 1, 2 or 3 dimensions, got 6"),
        (np.zeros((5, 2, 2, 2, 8)), None, "data", "(every axis after the samples): must have"),
    ],
)
def test_bad_data_is_one_error_naming_the_problem(
    values: np.ndarray, shape: tuple[int, ...] | None, field: str, words: str
) -> None:
    with pytest.raises(InvalidRequestError) as error:
        dependence_graph(data_from_array(values, shape))
    assert _fields(error) == [field]
    assert words in str(error.value)


def test_data_on_a_large_offset_varies_and_keeps_its_pairs() -> None:
    # Spread 1 on an offset of 1e12 (float64 holds it to about 1e-4) read as "36 location(s)
    # never vary" under a floor of 1e-12 of the mean: a planted pair was lost with them.
    rng = np.random.default_rng(1)
    values = rng.standard_normal((2000, 64))
    values[:, 60] = 0.8 * values[:, 3] + 0.6 * values[:, 60]
    plain = dependence_graph(data_from_array(values), top_k=1)
    graph = dependence_graph(data_from_array(values + 1e12), top_k=1)
    assert graph.constant == ()
    strongest = int(np.argmax(graph.weights))
    assert {int(graph.rows[strongest]), int(graph.cols[strongest])} == {3, 60}
    np.testing.assert_allclose(graph.weights, plain.weights, atol=1e-3)


def test_values_a_few_ulps_apart_are_still_constant() -> None:
    # The floor is float rounding: a location whose values differ by a few ulps never varies.
    rng = np.random.default_rng(2)
    values = rng.standard_normal((50, 4))
    values[:, 2] = 0.3 * (1.0 + rng.integers(0, 8, size=50) * np.finfo(np.float64).eps)
    assert np.ptp(values[:, 2]) > 0
    graph = dependence_graph(data_from_array(values), allow_constant=True)
    assert graph.constant == (2,)


def test_constant_locations_of_a_grid_are_named_by_their_coordinates() -> None:
    values = np.random.default_rng(3).standard_normal((20, 4, 4))
    values[:, 0, 1:3] = 5.0
    with pytest.raises(
        InvalidRequestError,
        match=r"2 locations never vary in the sample, at "
        r"\(0, 1\), \(0, 2\): their correlation is undefined; pass allow_constant=True ",
    ):
        dependence_graph(data_from_array(values))


class _Unconvertible:
    """An array-like whose own conversion refuses, as a PyTorch tensor of bfloat16 does."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        raise self.error


# PyTorch tensors numpy cannot take (bfloat16: TypeError; requiring grad: RuntimeError) raised
# their own exception out of data_from_array, not the library's InvalidRequestError on data.
@pytest.mark.parametrize(
    "error",
    [
        TypeError("Got unsupported ScalarType BFloat16"),
        RuntimeError("Can't call numpy() on Tensor that requires grad."),
    ],
    ids=["type", "runtime"],
)
def test_an_array_like_that_does_not_convert_is_refused_on_data(error: Exception) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        data_from_array(_Unconvertible(error))
    assert _fields(raised) == ["data"]
    assert str(raised.value) == (
        f"data: _Unconvertible does not convert to a NumPy array ({error})"
    )


def _smooth_grid() -> np.ndarray:
    """400 samples of an 8 x 8 grid whose neighbours depend, location (3, 3) constant at 7."""
    rng = np.random.default_rng(5)
    values = rng.standard_normal((400, 8, 8))
    values[:, 1:] += values[:, :-1]
    values[:, :, 1:] += 0.5 * values[:, :, :-1]
    values[:, 3, 3] = 7.0
    return values


def _unwarned_graph(values: np.ndarray, dense_features: int) -> DependenceGraph:
    """The graph of ``values`` (constant locations allowed); a RuntimeWarning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return dependence_graph(
            data_from_array(values), allow_constant=True, dense_features=dense_features
        )


@pytest.mark.parametrize("dense_features", [8192, 1], ids=["exact", "sketch"])
def test_the_graph_and_task_do_not_depend_on_the_data_s_units(dense_features: int) -> None:
    # The variance overflowed on x * 1e160 (a RuntimeWarning, then "64 location(s) never vary")
    # and fell under an absolute floor on x * 1e-13: the same data in other units. Values of
    # both signs up to the float64 maximum overflowed the deviation from the first sample
    # ("23 location(s) never vary"), and subnormal ones (x * 1e-310) 1 / spread (a crash).
    values = _smooth_grid()
    largest = np.finfo(np.float64).max
    graphs, tasks = [], []
    to_largest = values / np.abs(values).max() * largest
    assert to_largest.min() < -1e308 < 1e308 < to_largest.max() == largest
    for scaled in (values, values * 1e160, values * 1e-13, to_largest, values * 1e-310):
        graph = _unwarned_graph(scaled, dense_features)
        graphs.append(graph)
        tasks.append(infer_task(graph).task)
    for graph, task in zip(graphs[1:], tasks[1:], strict=True):
        assert graph.constant == graphs[0].constant == (27,)
        np.testing.assert_array_equal(graph.rows, graphs[0].rows)
        np.testing.assert_array_equal(graph.cols, graphs[0].cols)
        np.testing.assert_allclose(graph.weights, graphs[0].weights, rtol=1e-5)
        assert task == tasks[0]
    assert tasks[0] is not None


@pytest.mark.parametrize("dense_features", [8192, 1], ids=["exact", "sketch"])
def test_values_near_the_float64_maximum_beside_small_ones_keep_their_correlations(
    dense_features: int,
) -> None:
    # The even columns' locations reach -1.8e308 and +1.8e308, the odd ones' stay near 1 but
    # location 1 holds ±1.7e308 on a few samples, which location 3 follows.
    values = _smooth_grid()
    largest = np.finfo(np.float64).max
    extreme = values.copy()
    extreme[:, :, ::2] = values[:, :, ::2] / np.abs(values[:, :, ::2]).max(axis=0) * largest
    extreme[::40, 0, 1] = np.resize([1.7e308, -1.7e308], 10)
    extreme[:, 0, 3] += extreme[:, 0, 1] * 2.0**-1000
    assert extreme.min() < -1e308 < 1e308 < extreme.max() == largest
    graph = _unwarned_graph(extreme, dense_features)
    assert graph.constant == (27,)
    # The correlations of each location's values over its largest: squares that stay finite.
    flat = np.delete(extreme.reshape(400, 64), 27, axis=1)
    expected = np.abs(np.corrcoef((flat / np.abs(flat).max(axis=0)).T))
    kept = np.delete(np.arange(64), 27)
    index = {location: i for i, location in enumerate(kept.tolist())}
    rows = [index[row] for row in graph.rows.tolist()]
    cols = [index[col] for col in graph.cols.tolist()]
    np.testing.assert_allclose(graph.weights, expected[rows, cols], rtol=1e-5, atol=1e-6)
    (followed,) = graph.weights[(graph.rows == 1) & (graph.cols == 3)]
    assert followed > 0.99
    assert infer_task(graph).task is not None


def test_chunks_that_deviate_more_and_more_give_the_whole_sample_s_correlations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Chunks of 7 samples, each deviating more than the last: the scaled sums are rescaled as
    # the scale grows, and the weights stay the sample's own.
    monkeypatch.setattr(data_module, "_CHUNK_BYTES", 8 * 12 * 7)
    rng = np.random.default_rng(6)
    values = rng.standard_normal((300, 12)) * np.geomspace(1.0, 1e200, 300)[:, None]
    values[:, 5] = -values[:, 2] + 0.3 * rng.standard_normal(300) * values[:, 1]
    sample = data_from_array(values)
    assert sample.chunk_rows() == 7
    for dense_features in (8192, 1):
        graph = dependence_graph(sample, top_k=11, dense_features=dense_features)
        expected = np.abs(np.corrcoef((values / 1e200).T))
        np.testing.assert_allclose(graph.weights, expected[graph.rows, graph.cols], rtol=1e-5)


@pytest.mark.parametrize("dense_features", [8192, 1])
def test_the_passes_over_the_sample_report_their_progress(
    monkeypatch: pytest.MonkeyPatch, dense_features: int
) -> None:
    # The graph of the largest files takes a minute before any call; the CLI drew nothing.
    monkeypatch.setattr(data_module, "_CHUNK_BYTES", 8 * 12 * 40)
    values = np.random.default_rng(9).standard_normal((100, 12))
    seen: list[tuple[int, int]] = []
    sample = data_from_array(values)
    graph = dependence_graph(
        sample, dense_features=dense_features, progress=lambda *r: seen.append(r)
    )
    assert seen == [(40, 200), (80, 200), (100, 200), (140, 200), (180, 200), (200, 200)]
    quiet = dependence_graph(sample, dense_features=dense_features)
    np.testing.assert_array_equal(graph.weights, quiet.weights)


def test_a_masked_array_is_refused_unless_nothing_is_masked() -> None:
    values = np.random.default_rng(4).standard_normal((30, 6))
    masked = np.ma.masked_array(values, mask=values > 2.0)
    assert masked.mask.any()
    with pytest.raises(InvalidRequestError, match="masked value") as error:
        data_from_array(masked)
    assert _fields(error) == ["data"]
    unmasked = data_from_array(np.ma.masked_array(values, mask=False))
    np.testing.assert_array_equal(next(unmasked.chunks())[1], values)


def test_ragged_csv_rows_and_oversize_files_are_refused(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2,3\n4,5\n")
    with pytest.raises(InvalidRequestError, match="line 2 has 2 values"):
        read_data(ragged)
    unknown = tmp_path / "data.bin"
    unknown.write_bytes(b"x")
    with pytest.raises(InvalidRequestError, match="unknown format"):
        read_data(unknown)


def test_a_csv_of_quoted_numbers_reads_as_the_numbers(tmp_path: Path) -> None:
    # pandas' to_csv(quoting=csv.QUOTE_ALL) writes "0.125": refused as no number.
    values = np.random.default_rng(3).standard_normal((20, 4))
    quoted, plain = tmp_path / "quoted.csv", tmp_path / "plain.csv"
    quoted.write_text("".join(",".join(f'"{float(v)!r}"' for v in row) + "\n" for row in values))
    plain.write_text("".join(",".join(repr(float(v)) for v in row) + "\n" for row in values))
    np.testing.assert_array_equal(next(read_data(quoted).chunks())[1], values)
    np.testing.assert_array_equal(next(read_data(plain).chunks())[1], values)
    # The header pandas writes for a frame made from an array, quoted or not, is no sample:
    # quoted, it was read as one (51 samples of 50 rows).
    wide = np.random.default_rng(4).standard_normal((20, 8))
    rows = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in wide)
    for header in ('"0","1","2","3","4","5","6","7"', "0,1,2,3,4,5,6,7"):
        quoted.write_text(header + "\n" + rows)
        with pytest.raises(InvalidRequestError, match=r"the first row counts the columns"):
            read_data(quoted)
    # Fewer columns: a first sample of 0, 1, 2 is one a hand writes, read as a sample.
    quoted.write_text("0,1,2\n" + "".join(f"{i},{i},{i + 1}\n" for i in range(5)))
    assert next(read_data(quoted).chunks())[1].shape == (6, 3)
    # A line quoted in part is no such line: its quoted cell is told as no number.
    quoted.write_text('1,2,3,4\n"5",6,7,8\n')
    with pytest.raises(InvalidRequestError, match=r"line 2 holds a value that is not a number"):
        read_data(quoted)


def test_pandas_default_header_over_an_index_is_named(tmp_path: Path) -> None:
    # to_csv's default, a header (",0,1,...") over an index column, was told only as a value
    # that is no number, the empty cell: a header alone or an index alone was named.
    values = np.random.default_rng(5).standard_normal((12, 8))
    rows = "".join(
        f"{i}," + ",".join(repr(float(v)) for v in row) + "\n" for i, row in enumerate(values)
    )
    path = tmp_path / "frame.csv"
    for header in (",0,1,2,3,4,5,6,7", '"","0","1","2","3","4","5","6","7"'):
        path.write_text(header + "\n" + rows)
        with pytest.raises(InvalidRequestError) as error:
            read_data(path)
        assert str(error.value).endswith(
            "frame.csv: line 1 is a header over an index column (an empty cell, then 0, 1, ..., "
            "7), as to_csv writes a frame by default, not a sample: write it with "
            "to_csv(index=False, header=False), or drop that line and the first column"
        ), error.value
    # Named columns over an index too (they were told as "not a number ('', column 1)").
    path.write_text(",px0,px1,c,d,e,f,g,h\n" + rows)
    with pytest.raises(InvalidRequestError) as error:
        read_data(path)
    assert "line 1 is a header over an index column (an empty cell, then 'px0', 'px1', ...)" in (
        str(error.value)
    )
    # A first line with an empty cell and numbers is no header: the empty cell is told.
    path.write_text(",1.5,x,c,d,e,f,g,h\n" + rows)
    with pytest.raises(InvalidRequestError, match=r"line 1 holds a value that is not a number"):
        read_data(path)


def test_a_trailing_comma_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("0.5,1.5,\n2.5,3.5,\n")
    with pytest.raises(InvalidRequestError) as error:
        read_data(path)
    assert "line 1 holds a value that is not a number ('', column 3: a comma ends the line)" in (
        str(error.value)
    )
    path.write_text("0.5,1.5,x\n2.5,3.5,4\n")  # a last cell that is not empty: no such note
    with pytest.raises(InvalidRequestError) as error:
        read_data(path)
    assert "('x', column 3);" in str(error.value)


def test_data_saved_transposed_is_told_so_naming_the_file(tmp_path: Path) -> None:
    # Features as rows, samples as columns (64 lines of 30 values for 30 samples of 8x8) was told
    # only that [30] is not the grid [8, 8], which did not say what was wrong with the file.
    values = np.random.default_rng(2).standard_normal((30, 8, 8))
    features = values.reshape(30, 64).T
    csv, flat, grids = tmp_path / "t.csv", tmp_path / "t.npy", tmp_path / "t3.npy"
    np.savetxt(csv, features, delimiter=",")
    np.save(flat, features)
    np.save(grids, values.T)
    for path, transposed in ((csv, [30, 64]), (flat, [30, 64]), (grids, [30, 8, 8])):
        with pytest.raises(InvalidRequestError) as error:
            read_data(path, (8, 8))
        assert _fields(error) == ["data.shape"]
        message = str(error.value)
        assert message.startswith(f"data.shape: {path}: samples of shape "), message
        assert f"transpose, of shape {transposed}, holds 30 samples of it" in message
        assert message.endswith("save it transposed (array.T), samples first"), message
    # An array neither way round holds the grid has no such note.
    np.save(flat, np.zeros((30, 65)))
    with pytest.raises(InvalidRequestError) as error:
        read_data(flat, (8, 8))
    assert "array.T" not in str(error.value)


def test_npy_files_stream_to_the_same_graph_as_the_array(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = rng.standard_normal((50, 4, 4)).astype(np.float32)
    order: Literal["C", "F"]
    for order, name in (("C", "c.npy"), ("F", "f.npy")):
        np.save(tmp_path / name, np.asarray(values, order=order))
        from_file = dependence_graph(read_data(tmp_path / name), top_k=3)
        in_memory = dependence_graph(data_from_array(values), top_k=3)
        np.testing.assert_array_equal(from_file.rows, in_memory.rows)
        np.testing.assert_allclose(from_file.weights, in_memory.weights, rtol=1e-6)


def _mapped(path: Path) -> bool:
    """Whether this process maps ``path`` into memory (Linux's ``/proc/self/maps``)."""
    return str(path.resolve()) in Path("/proc/self/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="reads /proc/self/maps")
@pytest.mark.parametrize(
    ("dims", "shape", "dtype"),
    [
        ((10, 6), None, "<f4"),
        ((10, 3, 5), None, ">f8"),
        ((10, 2, 3, 4), (3, 4), "<i2"),  # channels first
        ((10, 3, 4, 2), (3, 4), "<f4"),  # channels last
    ],
)
def test_a_column_major_npy_is_read_in_chunks_not_mapped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dims: tuple[int, ...],
    shape: tuple[int, ...] | None,
    dtype: str,
) -> None:
    # np.save of an F-contiguous array was memory-mapped, and every page the passes touched
    # stayed resident: a 500 MB file took 1.0 GB at the peak, its C-ordered copy 0.5.
    features = math.prod(dims[1:])
    monkeypatch.setattr(data_module, "_CHUNK_BYTES", 8 * features * 3)  # 3, 3, 3 and 1 samples
    values = np.arange(math.prod(dims)).reshape(dims).astype(dtype)
    path = tmp_path / "f.npy"
    np.save(path, np.asfortranarray(values))
    expected = list(data_from_array(values, shape).chunks())
    chunks = read_data(path, shape).chunks()
    read = [next(chunks)]
    assert not _mapped(path)
    read.extend(chunks)
    assert [start for start, _ in read] == [0, 3, 6, 9]
    for (_, chunk), (_, want) in zip(read, expected, strict=True):
        assert chunk.dtype == np.float64
        np.testing.assert_array_equal(chunk, want)


def test_a_column_major_npy_is_read_several_chunks_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each chunk was one read per feature: 128 bytes each of a uint8 file of 65,536 features,
    # 5 million reads a pass over 10,000 samples. A read now fills a float64 chunk's bytes as
    # stored, 8 chunks of uint8, and the chunks are those of the in-memory array all the same.
    monkeypatch.setattr(data_module, "_CHUNK_BYTES", 8 * 16 * 3)  # 3 samples, 24 as uint8
    values = np.random.default_rng(9).integers(0, 256, (50, 4, 4)).astype(np.uint8)
    path = tmp_path / "f.npy"
    np.save(path, np.asfortranarray(values))
    reads: list[int] = []  # the bytes of each read of the file

    class Counting(io.FileIO):
        def readinto(self, buffer: WriteableBuffer) -> int | None:
            reads.append(memoryview(buffer).nbytes)
            return super().readinto(buffer)

    opened = Path.open
    monkeypatch.setattr(
        Path,
        "open",
        lambda self, *a, **k: Counting(self) if self == path else opened(self, *a, **k),
    )
    read = list(read_data(path).chunks())
    assert reads == [24] * 32 + [2] * 16  # 24, 24 and 2 samples of 16 features
    expected = list(data_from_array(values).chunks())
    assert [start for start, _ in read] == [start for start, _ in expected] == list(range(0, 50, 3))
    for (_, chunk), (_, want) in zip(read, expected, strict=True):
        np.testing.assert_array_equal(chunk, want)


def _open_descriptors(path: Path) -> int:
    """Count this process's open file descriptors on ``path`` (Linux's ``/proc/self/fd``)."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path.resolve()))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_a_npy_file_is_closed_while_a_pass_is_suspended_or_stopped_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file was held open across a pass's yields: a reader that stopped early (a NaN found in
    # sample 20, kept in the error's traceback; an abandoned pass) kept it open until collected.
    monkeypatch.setattr(data_module, "_CHUNK_BYTES", 8 * 16 * 4)  # chunks of 4 samples
    path = tmp_path / "data.npy"
    values = np.random.default_rng(5).standard_normal((40, 4, 4)).astype(np.float32)
    np.save(path, values)
    sample = read_data(path)
    chunks = sample.chunks()
    first, rest = next(chunks), list(chunks)
    assert _open_descriptors(path) == 0
    read = np.concatenate([first[1], *(chunk for _, chunk in rest)])
    np.testing.assert_array_equal(read, values.reshape(40, 16))
    suspended = sample.chunks()
    next(suspended)
    assert _open_descriptors(path) == 0
    values[20, 0, 3] = np.nan
    np.save(path, values)
    with pytest.raises(InvalidRequestError, match=r"sample 20, location \(0, 3\) is nan") as error:
        dependence_graph(read_data(path))
    assert error.value.__traceback__ is not None  # held, as a caller that keeps the error holds it
    assert _open_descriptors(path) == 0


def test_channels_first_read_as_channels_last_with_the_grid_given(tmp_path: Path) -> None:
    # (samples, C, H, W), PyTorch's layout: `--shape 4 4` was refused ("not the grid [4, 4]"),
    # and without it the channels were read as a grid axis, with no note to say otherwise.
    rng = np.random.default_rng(12)
    last = rng.standard_normal((60, 4, 4, 3)).astype(np.float32)
    last[:, :, 1:, 1] += last[:, :, :-1, 2]  # channels differ: a wrong transpose shows
    first = np.moveaxis(last, -1, 1)
    expected = dependence_graph(data_from_array(last, (4, 4)), top_k=5)
    np.save(tmp_path / "c.npy", first)
    np.save(tmp_path / "f.npy", np.asfortranarray(first))
    for sample in (
        data_from_array(first, (4, 4)),
        read_data(tmp_path / "c.npy", (4, 4)),
        read_data(tmp_path / "f.npy", (4, 4)),
    ):
        assert (sample.shape, sample.channels) == ((4, 4), 3)
        graph = dependence_graph(sample, top_k=5)
        np.testing.assert_array_equal(graph.rows, expected.rows)
        np.testing.assert_array_equal(graph.cols, expected.cols)
        np.testing.assert_allclose(graph.weights, expected.weights, rtol=1e-6)
    first[7, 2, 1, 3] = np.nan  # sample 7, channel 2 of location (1, 3)
    with pytest.raises(InvalidRequestError, match=r"sample 7, location \(1, 3\), channel 2 is nan"):
        dependence_graph(data_from_array(first, (4, 4)))
    # Both readings fit a cube: the channels are last, as the layout says.
    cube = data_from_array(np.zeros((2, 4, 4, 4)), (4, 4))
    assert not cube.channels_first


@pytest.mark.skipif(
    bool(np.finfo(np.longdouble).max <= np.finfo(np.float64).max),
    reason="no float wider than float64",
)
def test_a_value_past_float64_in_a_wider_float_is_told_not_read_as_inf(tmp_path: Path) -> None:
    # A float128 .npy's 1e400 was cast to inf with NumPy's overflow warning printed, then told
    # as "sample 0, location 0 is inf", a value the file does not hold.
    values = np.ones((30, 3, 4, 4), dtype=np.longdouble)  # channels first on --shape 4 4
    values[:, 1] = np.arange(30).reshape(30, 1, 1)
    values[6, 2, 1, 3] = np.longdouble(1e200) * np.longdouble(1e200)
    np.save(tmp_path / "wide.npy", values)
    expected = (
        "sample 6, location (1, 3), channel 2 is 1.0e+400 (float128), past the float64 range "
        "(about 1.8e308): every value must be a finite number"
    )
    for sample, named in (
        (read_data(tmp_path / "wide.npy", (4, 4)), f"{tmp_path / 'wide.npy'}: {expected}"),
        (data_from_array(values, (4, 4)), expected),
    ):
        with pytest.raises(InvalidRequestError) as raised:
            dependence_graph(sample, allow_constant=True)
        (violation,) = raised.value.violations
        assert (violation.field, violation.description) == ("data", named)
    values[6, 2, 1, 3] = 1e300  # within float64's range a wider float is read as float64
    graph = dependence_graph(data_from_array(values, (4, 4)), allow_constant=True)
    assert graph.channels == 3


def test_a_signaling_nan_is_told_by_its_place_without_a_warning(tmp_path: Path) -> None:
    # Cast to float64, a float32 signaling NaN raised NumPy's "invalid value encountered in
    # cast", printed as two lines quoting advisor/infer/data.py before the error.
    values = np.random.default_rng(3).standard_normal((30, 4, 4)).astype(np.float32)
    values.view(np.uint32)[4, 2, 1] = 0x7F800001
    np.save(tmp_path / "snan.npy", values)
    for sample in (read_data(tmp_path / "snan.npy"), data_from_array(values)):
        with pytest.raises(InvalidRequestError, match=r"sample 4, location \(2, 1\) is nan"):
            dependence_graph(sample)


def _blocks_graph(shape: tuple[int, ...], block: int, seed: int) -> DependenceGraph:
    """Groups of ``block`` locations scattered over the grid, dependent only within a group.

    The last group is smaller where ``block`` does not divide the grid (97 steps in pairs).
    """
    n = int(np.prod(shape))
    order = np.random.default_rng(seed).permutation(n)
    rows, cols = [], []
    for start in range(0, n, block):
        members = np.sort(order[start : start + block])
        for i in range(members.size):
            for j in range(i + 1, members.size):
                rows.append(members[i])
                cols.append(members[j])
    return DependenceGraph(
        shape=shape,
        channels=1,
        samples=100,
        top_k=block,
        rows=np.asarray(rows, dtype=np.int64),
        cols=np.asarray(cols, dtype=np.int64),
        weights=np.full(len(rows), 0.9),
    )


@pytest.mark.parametrize(("shape", "block"), [((64,), 4), ((8, 8), 4), ((16, 16), 16)])
@pytest.mark.parametrize("partitioner", PARTITIONERS)
def test_arrangement_puts_scattered_groups_in_single_windows(
    shape: tuple[int, ...], block: int, partitioner: str
) -> None:
    graph = _blocks_graph(shape, block, seed=4)
    result = arrange(graph, partitioner=partitioner)  # type: ignore[arg-type]
    assert sorted(result.permutation.tolist()) == list(range(graph.num_locations))
    # Windows of `block` locations exist at some level; the best arrangement cuts no edge there
    # or above, and every level below cuts what a window of that size must.
    levels = canonical_windows(shape)
    sizes = [graph.num_locations // (int(w.max()) + 1) for w in levels[1:-1]]
    for size, figure in zip(sizes, result.after, strict=True):
        if size >= block:
            assert figure == pytest.approx(0.0)
    assert sum(result.after) <= sum(result.before)
    assert result.after == surrogate_entanglement(graph, result.permutation)


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.data())
def test_spectral_split_keeps_components_whole_and_finds_them_as_networkx_does(
    n: int, data: st.DataObject
) -> None:
    pairs = data.draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n)
    )
    edges = sorted({(min(p), max(p)) for p in pairs if p[0] != p[1]})
    rows = np.array([r for r, _ in edges], dtype=np.int64)
    cols = np.array([c for _, c in edges], dtype=np.int64)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    components = sorted(nx.connected_components(graph), key=min)
    labels = partition_module._components(n, rows, cols)
    assert [set(np.flatnonzero(labels == min(c)).tolist()) for c in components] == components
    if not edges:
        return
    # Parts of the components' sizes, in their order: every component lands in one part.
    sizes = [len(c) for c in components]
    parts = partition_module._spectral(n, (rows, cols, np.ones(len(edges))), sizes)
    for part, component in enumerate(components):
        assert set(parts[sorted(component)].tolist()) == {part}


@pytest.mark.parametrize("partitioner", PARTITIONERS)
def test_the_largest_seed_arranges_as_any_other(partitioner: str) -> None:
    # The improved arrangement tries the seeds after the given one: past 2^63 - 1 they wrap.
    graph = _blocks_graph((8, 8), 4, seed=4)
    result = arrange(graph, partitioner=partitioner, seed=2**63 - 1)  # type: ignore[arg-type]
    assert sorted(result.permutation.tolist()) == list(range(graph.num_locations))


def test_inferred_task_lists_planted_long_range_pairs_and_local_stripes() -> None:
    rng = np.random.default_rng(5)
    samples, n = 2000, 256
    noise = rng.standard_normal((samples, n))
    signal = np.cumsum(noise, axis=1) * 0.2 + noise  # local dependence along the sequence
    signal = signal - signal.mean(axis=0)
    planted = [(10, 200), (40, 230), (70, 180)]
    for i, j in planted:
        signal[:, j] = signal[:, i] * 3 + 0.1 * rng.standard_normal(samples)
    inferred = infer_task(dependence_graph(data_from_array(signal)))
    pairs = {(int(c.a[0]), int(c.b[0])) for c in inferred.pairs}
    assert set(planted) <= pairs
    assert inferred.task is not None
    names = [c.name for c in inferred.task.correlations]
    assert "positions 0,2,4,.. vs 1,3,5,.." in names


def test_pairs_across_the_short_axis_of_a_volume_are_long_range() -> None:
    # The first and last of 4 frames, at the same pixel: 3 apart on the depth, three quarters of
    # it, though under a quarter of the 16-pixel sides, which once ruled every such pair out.
    rng = np.random.default_rng(7)
    frames = rng.standard_normal((2000, 4, 16, 16))
    pixels = [(2, 3), (9, 12), (14, 5)]
    for h, w in pixels:
        frames[:, 3, h, w] = frames[:, 0, h, w] + 0.3 * rng.standard_normal(2000)
    inferred = infer_task(dependence_graph(data_from_array(frames)))
    names = {c.name for c in inferred.pairs}
    assert names == {f"locations (0, {h}, {w}) vs (3, {h}, {w})" for h, w in pixels}
    assert inferred.found().correlations[0].name in names


def test_strong_pairs_too_near_to_be_long_range_are_listed_with_the_reason() -> None:
    # Pairs 30 apart on a sequence of 200, under its quarter (50): no long-range pair, and the
    # report listed only stripes and halves, so nothing said why there was no task.
    rng = np.random.default_rng(9)
    values = rng.standard_normal((1000, 200))
    planted = [(10, 40), (100, 130), (150, 180)]
    for i, j in planted:
        values[:, j] = values[:, i] + 0.3 * rng.standard_normal(1000)
    inferred = infer_task(dependence_graph(data_from_array(values)))
    assert inferred.task is None and inferred.pairs == ()
    near = [c for c in inferred.candidates if c.a.size == 1]
    assert {(int(c.a[0]), int(c.b[0])) for c in near} == set(planted)
    reason = "too near for a long-range pair: 30 apart, under a quarter of the axis (50)"
    assert all(c.dropped == reason for c in near)
    shown = inferred.report().as_table()
    assert all(f"locations {i} vs {j}" in shown for i, j in planted)


@pytest.mark.parametrize("outputs", [0, -3])
def test_outputs_under_one_are_refused_before_any_work(outputs: int) -> None:
    # ``outputs`` is read only when a task is built: a graph without evidence builds none.
    bare = DependenceGraph(
        (4, 4), 1, 10, 1, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    )
    for graph in (bare, _blocks_graph((8, 8), 4, seed=6)):
        with pytest.raises(InvalidRequestError) as error:
            infer_task(graph, outputs=outputs)
        assert _fields(error) == ["outputs"]


def test_graph_survives_the_wire_and_bad_graphs_name_their_field() -> None:
    graph = _blocks_graph((8, 8), 4, seed=6)
    back = wire.dependence_graph_from_proto(wire.dependence_graph_to_proto(graph), 1024)
    np.testing.assert_array_equal(back.rows, graph.rows)
    np.testing.assert_allclose(back.weights, graph.weights, rtol=1e-6)
    flipped = DependenceGraph(
        (8, 8), 1, 100, 4, graph.cols.copy(), graph.rows.copy(), graph.weights.copy()
    )
    with pytest.raises(InvalidRequestError) as error:
        check_graph(flipped, 1024)
    assert _fields(error) == ["rows[0]"]
    with pytest.raises(InvalidRequestError) as error:
        check_graph(graph, 32)
    assert _fields(error) == ["input.shape"]


def test_a_graph_over_the_servers_limit_is_told_that_limit_not_the_librarys() -> None:
    # 4,000,000 locations pass the library's MAX_LOCATIONS (2^20) too; the server allows 16,384,
    # and was told "has more than 1048576 locations", as though a million were allowed.
    empty = np.zeros(0, np.int64)
    huge = DependenceGraph((2000, 2000), 1, 10, 1, empty, empty, np.zeros(0))
    with pytest.raises(InvalidRequestError) as error:
        check_graph(huge, 16_384)
    assert [(v.field, v.description) for v in error.value.violations] == [
        ("input.shape", "4,000,000 locations exceed the limit of 16,384")
    ]
    # A limit above the library's leaves its bound to say what no task can have.
    with pytest.raises(InvalidRequestError) as error:
        check_graph(huge, 10**7)
    assert "more than 1,048,576 locations" in error.value.violations[0].description


def _edited(graph: DependenceGraph, **arrays: object) -> DependenceGraph:
    """``graph`` with some of its edge arrays or constants replaced."""
    fields = {
        "rows": graph.rows.copy(),
        "cols": graph.cols.copy(),
        "weights": graph.weights.copy(),
        "constant": graph.constant,
    }
    fields.update(arrays)
    return DependenceGraph(graph.shape, graph.channels, graph.samples, graph.top_k, **fields)  # type: ignore[arg-type]


def test_a_bad_edge_or_constant_location_is_named_by_its_index() -> None:
    graph = _blocks_graph((8, 8), 4, seed=6)
    rows, cols, weights = graph.rows.copy(), graph.cols.copy(), graph.weights.copy()
    far, nan, twice = rows.copy(), weights.copy(), cols.copy()
    far[3] = 99
    nan[5] = np.nan
    twice[7], rows[7] = cols[2], rows[2]
    cases = [
        (_edited(graph, rows=far), "rows[3]", "(99, "),
        (_edited(graph, weights=nan), "weights[5]", "nan"),
        (_edited(graph, rows=rows, cols=twice), "rows[7]", "appears twice"),
        (_edited(graph, constant=(64,)), "constant[0]", "0..63"),
        (_edited(graph, constant=(int(rows[0]),)), "constant[0]", "has edges"),
        (_edited(graph, constant=(int(rows[0]),) * 2), "constant[1]", "repeats"),
    ]
    for bad, field, words in cases:
        with pytest.raises(InvalidRequestError) as error:
            check_graph(bad, 1024)
        assert _fields(error) == [field]
        assert words in error.value.violations[0].description


def test_a_bad_edge_is_named_by_a_field_of_the_dependence_graph_message() -> None:
    # A client of the proto (Go, Java) looks a violation's path up in DependenceGraph: the edges
    # were named `graph.edges[e]` and `graph.edges`, a field the message does not have.
    graph = _blocks_graph((8, 8), 4, seed=6)
    off_grid, low, short = graph.cols.copy(), graph.weights.copy(), graph.weights[:-1].copy()
    off_grid[2] = 64
    low[4] = 0.0
    cases = [
        (_edited(graph, cols=off_grid), "cols[2]"),
        (_edited(graph, weights=low), "weights[4]"),
        (_edited(graph, cols=graph.cols[:-1].copy()), "cols"),
        (_edited(graph, weights=short), "weights"),
        (dataclasses.replace(graph, top_k=1), "rows"),
    ]
    fields = advisor_pb2.DependenceGraph.DESCRIPTOR.fields_by_name
    for bad, field in cases:
        with pytest.raises(InvalidRequestError) as error:
            check_graph(bad, 1024)
        assert _fields(error) == [field]
        assert field.split("[")[0] in fields


def test_edge_lists_of_other_lengths_are_told_their_counts() -> None:
    graph = _blocks_graph((8, 8), 4, seed=6)
    one = _edited(graph, weights=graph.weights[:1].copy())  # was "has 1 entries"
    with pytest.raises(InvalidRequestError) as error:
        check_graph(one, 1024)
    assert error.value.violations[0] == FieldViolation(
        "weights",
        f"has 1 entry, rows has {graph.rows.size:,}: rows, cols and weights are parallel lists",
    )


def test_an_exact_graph_holds_the_pairs_one_end_ranks_in_its_top_k_and_the_wire_checks_it() -> None:
    # docs/INFER.md: each location's top_k strongest partners, an edge kept if either end keeps
    # it. A graph from outside was checked only against locations x top_k edges: the complete
    # graph of 24 locations (276 edges) passed as a top-12 graph.
    rng = np.random.default_rng(11)
    values = rng.standard_normal((200, 24))
    values[:, 1:] += values[:, :-1]
    full = np.abs(np.corrcoef(values.T))
    np.fill_diagonal(full, -1.0)
    ranked = np.argsort(full, axis=1)
    graph = dependence_graph(data_from_array(values), top_k=3)
    kept_by = {(min(i, j), max(i, j)) for i in range(24) for j in ranked[i, -3:].tolist()}
    assert set(zip(graph.rows.tolist(), graph.cols.tolist(), strict=True)) == kept_by
    check_graph(graph, 1024)
    rows, cols = np.triu_indices(24, 1)
    complete = DependenceGraph((24,), 1, 200, 12, rows, cols, full[rows, cols])
    with pytest.raises(InvalidRequestError) as error:
        wire.dependence_graph_from_proto(wire.dependence_graph_to_proto(complete), 1024)
    ((field, description),) = [(v.field, v.description) for v in error.value.violations]
    e = int(field.removeprefix("graph.weights[").removesuffix("]"))
    i, j = int(rows[e]), int(cols[e])
    assert j not in ranked[i, -12:] and i not in ranked[j, -12:]  # truly kept by neither end
    assert f"the pair {(i, j)} at weight" in description and "kept by neither end" in description
    # Pairs chosen on a sketch are ranked by the projection, not by their exact weights.
    check_graph(dataclasses.replace(complete, estimate="sketch"), 1024)


def test_search_pools_the_arrangement_as_the_data_arranged_family() -> None:
    graph = _blocks_graph((8, 8), 4, seed=7)
    inferred = infer_task(graph)
    assert inferred.task is not None
    assert inferred.task.arrangement is not None
    result = recommend(inferred.task, Budget(max_parameters=20_000, top_k=3))
    best = result.recommendations[0].architecture
    assert best.family == "data_arranged"
    # Every planted group of 4 lies in one first-level window of the recommended net.
    ph, pw = best.layers[0].pool
    permutation = np.asarray(best.geometry.permutation)  # type: ignore[union-attr]
    windows = permutation.reshape(8 // ph, ph, 8 // pw, pw).transpose(0, 2, 1, 3)
    window_of = np.empty(64, dtype=np.int64)
    window_of[windows.reshape(-1, ph * pw)] = np.arange(64 // (ph * pw))[:, None]
    order = np.random.default_rng(7).permutation(64)
    for start in range(0, 64, 4):
        assert np.unique(window_of[order[start : start + 4]]).size == 1


@pytest.mark.parametrize(("shape", "block"), [((97,), 2), ((15, 15), 4)])
def test_an_arrangement_on_a_grid_the_search_pads_is_pooled_on_the_padded_grid(
    shape: tuple[int, ...], block: int
) -> None:
    # 97 steps (prime) and 15x15 (odd) are pooled well only padded (to 100 or 128, to 16x16).
    # The task carries the arrangement, but data_arranged pooled the input's own grid only:
    # `--geometries data_arranged` was refused (`no data_arranged tree fits the input [97]`),
    # and a default search never used the arrangement on such grids.
    task = infer_task(_blocks_graph(shape, block, seed=11)).task
    assert task is not None
    assert task.arrangement is not None
    budget = Budget(max_parameters=20_000, top_k=3, geometries=["data_arranged"])
    result = recommend(task, budget)
    assert result.recommendations
    for recommendation in result.recommendations:
        architecture = recommendation.architecture
        assert architecture.family == "data_arranged"
        assert architecture.padding is not None
        # The analysis of the padded design confirms every figure the search reported.
        analysis = analyze(task, architecture)
        assert analysis.parameters == recommendation.parameters
        assert analysis.multiply_adds == recommendation.multiply_adds
        assert [(c.name, c.log2_separation_rank, c.certificate) for c in analysis.correlations] == [
            (c.name, c.log2_separation_rank, c.certificate) for c in recommendation.analysis
        ]
    # On the power-of-two padding every window of the halving tree the arrangement was cut for
    # is a window of the padded grid's halving tree, level by level; margins fill the gaps.
    padding = tuple((0, (1 << (n - 1).bit_length()) - n) for n in shape)
    grid = padded_shape(shape, padding)
    permutation = np.asarray(arranged_permutation(task.arrangement, shape, padding))
    real = padded_ids(np.arange(math.prod(shape)), shape, padding)
    assert sorted(permutation.tolist()) == list(range(math.prod(grid)))
    at = np.flatnonzero(np.isin(permutation, real))  # positions holding input locations
    np.testing.assert_array_equal(
        permutation[at], padded_ids(np.asarray(task.arrangement), shape, padding)
    )
    coordinates = np.stack(np.unravel_index(at, grid))
    bits = np.asarray([n.bit_length() - 1 for n in grid])[:, None]
    for depth, canonical in enumerate(canonical_windows(shape)):
        padded_window = np.ravel_multi_index(
            tuple(coordinates >> np.maximum(bits - depth, 0)), grid
        )
        pairs = set(zip(canonical.tolist(), padded_window.tolist(), strict=True))
        assert len(pairs) == len(set(canonical.tolist())) == len(set(padded_window.tolist()))


def test_row_top_keeps_the_largest_entries_of_every_row() -> None:
    from advisor.infer.dependence import _row_top

    rng = np.random.default_rng(8)
    for shape, keep in (((40, 2000), 16), ((5, 300), 7), ((3, 40), 5)):
        weights = rng.random(shape).astype(np.float32)
        weights[0] = 0.0  # ties: the selection falls back to a full partition
        got = np.sort(np.take_along_axis(weights, _row_top(weights, keep), axis=1), axis=1)
        expected = np.sort(weights, axis=1)[:, -keep:]
        np.testing.assert_array_equal(got, expected)


def test_the_service_bounds_the_graph_before_any_work() -> None:
    from advisor.errors import LimitExceededError
    from advisor.protocol._proto.advisor.v1 import advisor_pb2
    from advisor.service.limits import RequestLimits
    from advisor.service.request_checks import check_infer_request

    graph = wire.dependence_graph_to_proto(_blocks_graph((16, 16), 16, seed=9))  # 1,920 edges
    check_infer_request(advisor_pb2.InferTaskRequest(graph=graph), RequestLimits())
    with pytest.raises(LimitExceededError) as error:
        check_infer_request(
            advisor_pb2.InferTaskRequest(graph=graph), RequestLimits(max_locations=32)
        )
    assert _fields(error) == ["graph.input.shape"]
    bloated = advisor_pb2.DependenceGraph()
    bloated.CopyFrom(graph)
    bloated.input.shape[:] = [2, 2]  # at most 4 x MAX_TOP_K = 1,024 edges
    with pytest.raises(LimitExceededError) as error:
        check_infer_request(advisor_pb2.InferTaskRequest(graph=bloated), RequestLimits())
    assert _fields(error) == ["graph.rows"]
    # No setting bounds it (raising max_locations admits no more edges on this grid).
    assert error.value.violations[0].description == (
        "edge count 1,920 exceeds 1,024 (MAX_TOP_K, 256, per location)"
    )


def test_with_data_adds_the_inferred_parts_and_keeps_the_description() -> None:
    report = infer_task(_blocks_graph((8, 8), 4, seed=8)).report()
    described = {
        "input": {"shape": [8, 8]},
        "preset": "local",
        "correlations": [
            {
                "name": "halves",
                "a": {"box": {"start": [0, 0], "stop": [8, 4]}},
                "b": {"box": {"start": [0, 4], "stop": [8, 8]}},
                "weight": 3.0,
            }
        ],
    }
    before = copy.deepcopy(described)
    combined = parse_task(with_data(described, report))
    assert described == before
    assert report.task is not None
    inferred = {c.name: c for c in report.task.resolved()}
    own = parse_task(described).resolved()
    resolved = {c.name: c for c in combined.resolved()}
    assert set(resolved) == {c.name for c in own} | {f"data: {name}" for name in inferred}
    for name, found in inferred.items():
        added = resolved[f"data: {name}"]
        assert added.weight == found.weight
        np.testing.assert_array_equal(added.a, found.a)
        np.testing.assert_array_equal(added.b, found.b)
    for correlation in own:
        assert resolved[correlation.name].weight == correlation.weight
    assert combined.arrangement == report.arrangement
    only_order = parse_task(with_data(described, report, ["arrangement"]))
    assert {c.name for c in only_order.resolved()} == {c.name for c in own}
    assert parse_task(with_data(described, report, ["correlations"])).arrangement is None
    # Refused naming the argument, as the library's other refusals are: a string was split into
    # letters ("unknown part(s) ['a', 'c', 'e', ...]"), a dict for the report an AttributeError.
    for parts, said in (
        (["labels"], "parts: 1 unknown part ['labels']; known: correlations, arrangement"),
        (
            ["correlation"],
            "parts: 1 unknown part ['correlation']; known: correlations, arrangement; did you "
            "mean 'correlations'?",
        ),
        (
            "correlations",
            "parts: is the string 'correlations': give a collection of parts, as "
            "('correlations',), of correlations, arrangement",
        ),
    ):
        with pytest.raises(InvalidRequestError) as error:
            with_data(described, report, parts)
        assert str(error.value) == said
    with pytest.raises(InvalidRequestError) as error:
        with_data(described, {"task": None})  # type: ignore[call-overload]
    assert _fields(error) == ["report"]
    with pytest.raises(InvalidRequestError) as error:
        with_data(with_data(described, report, ["arrangement"]), report, ["arrangement"])
    assert _fields(error) == ["arrangement"]
    with pytest.raises(InvalidRequestError) as error:  # twice: every added name is taken too
        with_data(with_data(described, report), report)
    # Once, not once per added name and the arrangement, each pointing at another part.
    count = len(combined.correlations) - 1
    assert str(error.value) == (
        f"correlations: the task already holds {count} correlations of a data inference (their "
        "names start 'data: ', as --save-task writes them): use it without the data, or rename "
        "them to add the data's again"
    )


def test_with_data_refuses_what_is_no_task_saying_what_it_takes() -> None:
    # A list of pairs read "dictionary update sequence element #0 has length 1".
    report = infer_task(_blocks_graph((8, 8), 4, seed=8)).report()
    with pytest.raises(InvalidRequestError, match=r"a Task, a task document \(a mapping\) or a ta"):
        with_data([("input", {})], report)  # type: ignore[call-overload]
    # As every other argument: parts None or bytes raised TypeError or listed byte values.
    wrong: list[Any] = [None, 5, b"correlations"]
    for parts in wrong:
        with pytest.raises(InvalidRequestError) as error:
            with_data({"input": {"shape": [8, 8]}}, report, parts)
        assert _fields(error) == ["parts"]


def test_with_data_adds_no_arrangement_the_inference_does_not_carry() -> None:
    # Each location is the sum of a 3x3 patch of noise: the data's own order is already local.
    noise = np.random.default_rng(9).standard_normal((500, 10, 10))
    values = sum(noise[:, i : i + 8, j : j + 8] for i in range(3) for j in range(3))
    report = infer_task(dependence_graph(data_from_array(values))).report()
    assert report.task is not None
    assert report.task.arrangement is None
    described = {"input": {"shape": [8, 8]}, "preset": "local", "arrangement": list(range(64))}
    combined = parse_task(with_data(described, report))
    assert combined.arrangement == tuple(range(64))
    assert any(c.name.startswith("data: ") for c in combined.resolved())


def test_an_arrangement_that_lowers_no_crossing_dependence_is_not_carried() -> None:
    # On 2x2 the one pooling window holds every location: no dependence crosses a level below
    # the root in either order (0 and 0), and 0 <= 0.8 * 0 carried the arrangement (the
    # identity) while the report's rule asks it to lower the crossing dependence by 20%.
    rng = np.random.default_rng(11)
    values = rng.standard_normal((400, 2, 2))
    values[:, 1, 1] = values[:, 0, 0] + 0.3 * rng.standard_normal(400)
    inferred = infer_task(dependence_graph(data_from_array(values)))
    assert sum(inferred.arrangement.before) == 0.0
    assert not any(c.name.startswith("arranged: ") for c in inferred.candidates)
    # Two of the three splits of four locations cross the one pair: crossing it is within what
    # random splits do, so neither half is kept and there is no task to carry anything.
    halves = {c.name: c for c in inferred.candidates}
    for name in ("columns 0 vs columns 1", "rows 0 vs rows 1"):
        assert halves[name].entanglement > halves[name].chance
        assert (halves[name].dropped or "").startswith("within random splits' spread")
    assert inferred.task is None


def test_with_data_refuses_a_description_of_another_input() -> None:
    # A 4x6x6 video's ids on a 12x12 description (as many locations) would name other
    # locations; its 1 channel on a description of 3, a net that cannot take the data.
    report = infer_task(_blocks_graph((4, 6, 6), 4, seed=13)).report()
    assert report.task is not None
    for described, said in [
        ({"shape": [12, 12]}, "the data's grid [4, 6, 6] is not the task's [12, 12]"),
        ({"shape": [4, 6, 6], "channels": 3}, "the data holds 1 channel per location and "),
    ]:
        with pytest.raises(InvalidRequestError) as error:
            with_data({"input": described, "preset": "symmetry"}, report)
        assert _fields(error) == ["input"]
        assert error.value.violations[0].description.startswith(said)
    same = parse_task(with_data({"input": {"shape": [4, 6, 6]}, "preset": "symmetry"}, report))
    with pytest.raises(InvalidRequestError) as error:  # (N, 6, 6, 4) read without a grid
        with_data({"input": {"shape": [6, 6]}, "preset": "symmetry"}, report)
    assert error.value.violations[0].description == (
        "the data's grid [4, 6, 6] is not the task's [6, 6]; if its first axis holds channels, "
        "read the data on the task's grid (data_from_array(values, shape=[6, 6]), --shape 6 6)"
    )
    assert any(c.name.startswith("data: ") for c in same.resolved())


def test_the_client_recommends_from_a_task_and_data_as_the_readme_says() -> None:
    noise = np.random.default_rng(10).standard_normal((400, 10, 10))
    data = sum(noise[:, i : i + 8, j : j + 8] for i in range(3) for j in range(3))
    described = {"input": {"shape": [8, 8]}, "preset": "symmetry"}
    with start_server(ServerConfig(workers=1)) as server, AdvisorClient(server.address) as client:
        report = client.infer_task(data)
        result = client.recommend(with_data(described, report), {"max_parameters": 20_000})
    names = {c.name for c in result.recommendations[0].analysis}
    assert report.task is not None
    assert {f"data: {c.name}" for c in report.task.correlations} <= names
    assert any(name.startswith("symmetry/") for name in names)


def _random_split_densities(
    graph: DependenceGraph, rng: np.random.Generator, a: int, b: int
) -> list[float]:
    """The dependence densities of 4,000 random splits of ``a`` against ``b`` locations."""
    n = graph.num_locations
    densities = []
    for _ in range(4000):
        order = rng.permutation(n)
        side = np.zeros(n, dtype=np.int8)
        side[order[:a]], side[order[a : a + b]] = 1, 2
        ends = side[graph.rows] * side[graph.cols]
        densities.append(float(graph.weights[ends == 2].sum()) / min(a, b))
    return densities


def test_chance_density_is_the_mean_density_of_random_splits() -> None:
    graph = _blocks_graph((8, 8), 4, seed=11)
    rng = np.random.default_rng(12)
    total, n = graph.total(), graph.num_locations
    for a, b in [(32, 32), (16, 48), (5, 20)]:
        densities = _random_split_densities(graph, rng, a, b)
        expected = chance_density(total, n, a, b)
        assert np.mean(densities) == pytest.approx(expected, rel=0.03)


def test_partitions_at_chance_are_not_kept() -> None:
    # Each location the sum of a 3x3 patch of noise: the alternating stripes cut every neighbour
    # pair and are kept; the stripes 2 wide and the halves cut no more than a random split.
    noise = np.random.default_rng(11).standard_normal((600, 18, 18))
    values = sum(noise[:, i : i + 16, j : j + 16] for i in range(3) for j in range(3))
    graph = dependence_graph(data_from_array(values))
    inferred = infer_task(graph)
    # Chance is that of the evidence: the edges at the independence threshold or above.
    total = float(graph.weights[graph.weights >= inferred.threshold].sum())
    n = graph.num_locations
    kept = {c.name for c in inferred.candidates if c.kept}
    assert {"columns 0,2,4,.. vs 1,3,5,..", "rows 0,2,4,.. vs 1,3,5,.."} <= kept
    largest = max(c.entanglement for c in inferred.candidates)
    for candidate in inferred.candidates:
        at_chance = candidate.entanglement <= chance_density(
            total, n, candidate.a.size, candidate.b.size
        )
        if at_chance:
            assert candidate.name not in kept
        # The reason `advisor infer` prints is the rule the task was kept by.
        reason = dropped_reason(candidate.entanglement, candidate.chance, largest)
        assert (reason is None) == candidate.kept
        assert (reason == "not above chance") == at_chance
    assert "columns 0-7 vs columns 8-15" not in kept
    assert "columns 0-1,4-5,8-9,.. vs 2-3,6-7,10-11,.." not in kept
    # The report and the wire carry each partition's chance figure.
    report = inferred.report()
    back = wire.inference_report_from_proto(wire.inference_report_to_proto(report))
    for sent, received, candidate in zip(
        report.correlations, back.correlations, inferred.candidates, strict=True
    ):
        assert sent.chance == candidate.chance == pytest.approx(received.chance)
        assert candidate.chance == chance_density(total, n, candidate.a.size, candidate.b.size)


def test_a_partition_is_kept_from_a_tenth_of_the_largest_and_above_chance() -> None:
    assert dropped_reason(0.1, 0.01, 1.0) is None
    assert dropped_reason(0.099, 0.01, 1.0) == "under a tenth of the largest"
    assert dropped_reason(0.5, 0.5, 1.0) == "not above chance"
    assert dropped_reason(0.05, 0.2, 1.0) == "not above chance"
    assert dropped_reason(0.0, 0.0, 0.0) == "not above chance"
    # Above chance by no more than random splits' spread allows: noise.
    spread = "within random splits' spread: under 0.500"
    assert dropped_reason(0.5, 0.4, 1.0, margin=0.1) == spread
    assert dropped_reason(0.51, 0.4, 1.0, margin=0.1) is None
    # Stripes 1 wide along an axis of local dependence are kept at chance, not under a tenth.
    assert dropped_reason(0.4, 0.5, 1.0, margin=0.1, local=True) is None
    assert dropped_reason(0.05, 0.5, 1.0, local=True) == "under a tenth of the largest"


def test_chance_spread_is_the_spread_of_the_density_of_random_splits() -> None:
    graph = _blocks_graph((8, 8), 4, seed=11)
    rng = np.random.default_rng(13)
    for a, b in [(32, 32), (16, 48), (5, 20), (1, 1)]:
        densities = _random_split_densities(graph, rng, a, b)
        assert np.std(densities) == pytest.approx(chance_spread(graph, a, b), rel=0.05)


def _brightness(seed: int) -> np.ndarray:
    """Noise plus one value per sample: every pair of locations alike, no structure in space."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((1500, 16, 16)) + 0.5 * rng.standard_normal((1500, 1, 1))


def test_partitions_within_the_spread_of_random_splits_are_not_kept() -> None:
    # Every pair of locations depends alike (|r| about 0.2): which stripes and halves the top-k
    # graph's noise puts above chance changes with the draw. Until the margin every draw kept
    # several, each at a weight of about 1.
    for seed in (201, 202, 203):
        inferred = infer_task(dependence_graph(data_from_array(_brightness(seed))))
        assert inferred.evidence > 0
        above = [c for c in inferred.candidates if c.entanglement > c.chance]
        assert above
        assert all(
            (c.dropped or "").startswith("within random splits' spread")
            for c in above
            if c.entanglement <= c.chance + 2.5 * c.spread
        )
        assert inferred.task is None


def _local_volume(samples: int, shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """Each location the mean of a 3x3x3 block of noise: a texture of neighbours (CT-like)."""
    rng = np.random.default_rng(seed)
    depth, rows, cols = shape
    noise = rng.standard_normal((samples, depth + 2, rows + 2, cols + 2))
    windows = np.lib.stride_tricks.sliding_window_view(noise, (3, 3, 3), axis=(1, 2, 3))
    volume: np.ndarray = windows.mean(axis=(-3, -2, -1))
    return volume


def test_a_local_texture_of_a_volume_keeps_the_stripes_that_separate_neighbours() -> None:
    # A location of a volume has more neighbours along the other axes, on its own stripe, than
    # across it: the stripes 1 wide cut under half of the dependence, under chance, and until the
    # locality rule a 3-D texture had no task. Its halves, under chance by far, say it is local.
    inferred = infer_task(dependence_graph(data_from_array(_local_volume(1000, (6, 8, 8), 5))))
    task = inferred.found()
    kept = {c.name for c in task.correlations}
    for axis in ("depth", "rows", "columns"):
        alternating = [c for c in inferred.candidates if c.name.startswith(f"{axis} 0,2,4")]
        assert alternating and all(c.name in kept for c in alternating)
        half = next(c for c in inferred.candidates if c.name.startswith(f"{axis} 0-"))
        assert half.entanglement < half.chance - 3 * half.spread
        assert half.dropped == "not above chance"
    # Kept though under chance: the rule above chance alone kept none of them.
    assert any(c.entanglement <= c.chance for c in inferred.candidates if c.kept)
    # The alternating stripes and those mirrored at the centre, along each of the three axes.
    assert len(kept) == 6
    assert not any(" 0-1," in name for name in kept)  # the stripes 2 wide


def test_the_report_says_why_a_partition_under_chance_is_kept() -> None:
    # The table listed a stripe kept at 0.056 against chance 0.254 beside the rule "above
    # chance" with no reason, where every dropped row gives one: the locality rule keeps it.
    report = inference.infer_task(_local_volume(1000, (6, 8, 8), 5))
    under = [
        c
        for c in report.correlations
        if c.kept and c.chance is not None and c.entanglement <= c.chance
    ]
    assert under
    table = report.as_table()
    note = (
        "(kept under chance: the halves along its axis are further under, so neighbours along "
        "it depend)"
    )
    # Each kept row under chance says so, and no other row (a row whose name wraps interleaves
    # its lines with the note's: only its start is counted).
    assert table.count("(kept under") == len(under), table
    assert note in " ".join(table.split()), table


_AXIS_NAMES = {2: "columns", 1: "rows", 0: "depth"}


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_a_volume_is_inferred_with_its_axes_named_as_the_presets_name_them(axis: int) -> None:
    # 8x8x8 volumes whose second half along ``axis`` repeats the first: the halves of that axis
    # are the dependence, the other axes' halves are not.
    rng = np.random.default_rng(12 + axis)
    volumes = rng.standard_normal((400, 8, 8, 8))
    first = [slice(None)] * 4
    second = [slice(None)] * 4
    first[axis + 1], second[axis + 1] = slice(0, 4), slice(4, 8)
    copied = volumes[tuple(first)]
    volumes[tuple(second)] = copied + 0.1 * rng.standard_normal(copied.shape)
    inferred = infer_task(dependence_graph(data_from_array(volumes)))
    kept = {c.name for c in inferred.found().correlations}
    for other, name in _AXIS_NAMES.items():
        assert (f"{name} 0-3 vs {name} 4-7" in kept) == (other == axis)
    # Every stripe and half of the grid's own order is named by the one axis its sides vary
    # along (pairs name their locations; arranged stripes run on the arrangement's grid).
    for candidate in inferred.candidates:
        label = candidate.name.split(" ")[0]
        if label in ("locations", "arranged:"):
            continue
        mask = np.zeros(512, dtype=np.bool_)
        mask[candidate.a] = True
        varying = [k for k in range(3) if np.diff(mask.reshape(8, 8, 8), axis=k).any()]
        assert [_AXIS_NAMES[k] for k in varying] == [label], candidate.name


def test_a_volume_sample_is_inferred_and_recommended_from_through_the_service() -> None:
    rng = np.random.default_rng(13)
    frames = rng.standard_normal((300, 8, 8, 8))
    frames[:, 4:] = frames[:, :4] + 0.1 * rng.standard_normal((300, 4, 8, 8))
    described = {"input": {"shape": [8, 8, 8]}, "preset": "symmetry"}
    with start_server(ServerConfig(workers=1)) as server, AdvisorClient(server.address) as client:
        report = client.infer_task(frames)
        result = client.recommend(with_data(described, report), {"max_parameters": 20_000})
    assert report.task is not None
    names = {c.name for c in result.recommendations[0].analysis}
    assert "data: depth 0-3 vs depth 4-7" in names


def _read_runs(text: str) -> set[int]:
    read: set[int] = set()
    for run in text.split(","):
        first, _, last = run.partition("-")
        read.update(range(int(first), int(last or first) + 1))
    return read


@given(st.sets(st.integers(0, 40), min_size=1))
def test_a_partition_name_writes_its_indices_out_or_says_it_holds_more(indices: set[int]) -> None:
    written = task_module._runs(np.asarray(sorted(indices), dtype=np.int64))
    if written.endswith(",.."):
        shown = _read_runs(written.removesuffix(",.."))
        assert shown < indices and min(indices - shown) > max(shown) + 1
    else:
        assert _read_runs(written) == indices


def test_the_mirrored_stripes_of_an_eight_wide_axis_are_named_index_by_index() -> None:
    assert task_module._runs(np.asarray([0, 2, 5, 7])) == "0,2,5,7"
    assert task_module._runs(np.asarray([1, 3, 4, 6])) == "1,3-4,6"
    assert task_module._runs(np.arange(0, 16, 2)) == "0,2,4,.."


def test_an_array_read_whole_is_bounded_by_its_header_not_the_file_s_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A compressed archive's member, or a header claiming more values than the file holds, was
    # allocated whole before a byte was read: 80 bytes declaring 10^11 labels ended in an
    # "unexpected MemoryError", and gigabytes of zeros pack into a small .npz.
    liar = tmp_path / "labels.npy"
    with liar.open("wb") as stream:
        header = {"descr": "<f8", "fortran_order": False, "shape": (10**11,)}
        np.lib.format.write_array_header_1_0(stream, header)
        stream.write(bytes(80))
    with pytest.raises(
        InvalidRequestError,
        match=r"\[100000000000\] of float64 is 800,000,000,000 bytes \(745 GiB\), over the",
    ):
        read_labels(liar, 10)
    monkeypatch.setattr(file_sizes, "MAX_PARSED_BYTES", 1 << 20)
    packed = tmp_path / "packed.npz"
    np.savez_compressed(packed, data=np.zeros((2, 512, 257)))  # 2.1 MB in 4 kB
    assert packed.stat().st_size < 1 << 20
    with pytest.raises(InvalidRequestError) as error:
        read_data(packed)
    # Readable, only too large: it was "not a readable .npz (its array ...)", without the hint.
    assert error.value.violations[0].description == (
        f"{packed}: its array [2, 512, 257] of float64 is 2,105,344 bytes (2.01 MiB), over the "
        "limit of 1,048,576 bytes (1.00 MiB) for an array read whole; pass a sample of it (a few "
        "thousand samples estimate the dependence well)"
    )
    assert _fields(error) == ["data"]
    np.savez_compressed(packed, data=np.zeros((2, 256, 256)))  # 1 MB: within the limit
    assert read_data(packed).shape == (256, 256)


def test_a_csv_s_values_are_bounded_as_an_array_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A value of a CSV may be 2 bytes ("0,"), 8 as float64: a file within the size limit could
    # hold an array 4 times past the bound an .npz's array has, and took some 12 GB as the
    # Python floats it was read as. Sizes are in the unit they fill: in MiB alone, both sizes
    # read "(0.0 MiB)".
    monkeypatch.setattr(file_sizes, "MAX_PARSED_BYTES", 1024)
    csv = tmp_path / "zeros.csv"
    csv.write_text("0,0,0,0,0,0,0,0\n" * 17)  # 272 bytes; 136 values, 1,088 bytes as float64
    with pytest.raises(InvalidRequestError) as error:
        read_data(csv)
    assert error.value.violations[0].description == (
        f"{csv}: its values up to line 17 are 1,088 bytes (1.06 KiB) as float64, over the limit "
        "of 1,024 bytes (1.00 KiB) for an array read whole; pass a sample of it (a few thousand "
        "samples estimate the dependence well)"
    )
    assert _fields(error) == ["data"]
    csv.write_text("0,0,0,0,0,0,0,0\n" * 16)  # 1,024 bytes as float64: within the limit
    assert read_data(csv).samples == 16


def test_a_file_over_a_size_limit_is_told_apart_from_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both rounded to a tenth of a GB, a file just over its limit read as the limit itself:
    # 540 MB of CSV was "0.5 GB exceeds the 0.5 GB limit", 4.3 GB of .npy "4.3 GB exceeds the
    # 4.3 GB limit".
    monkeypatch.setattr(file_sizes, "MAX_PARSED_BYTES", 1 << 20)
    large = tmp_path / "large.csv"
    large.write_bytes(b"1\n" * (1 << 19) + b"1")
    with pytest.raises(InvalidRequestError) as error:
        read_data(large)
    assert error.value.violations[0].description == (
        f"{large}: 1,048,577 bytes (1.00 MiB) exceeds the limit of 1,048,576 bytes (1.00 MiB) for "
        "this format; pass a sample of it (a few thousand samples estimate the dependence well)"
    )


def test_the_task_file_of_a_task_keeps_its_stated_relations() -> None:
    # task_file writes an inferred task (infer --output; recommend --save-task did), and dropped
    # every `relation`: the halves of an 8x8 grid read as a shift and a mirror alike, so a search of
    # the saved file read them its own way and scored the designs otherwise.
    halves = {"a": {"box": {"start": [0, 0], "stop": [8, 4]}}, "b": {"preset": "right_half"}}
    task = parse_task(
        {
            "input": {"shape": [8, 8]},
            "correlations": [
                {"name": "shifted", **halves, "relation": "shift"},
                {"name": "mirrored", **halves, "relation": "mirror", "weight": 2.0},
                {"name": "unstated", **halves},
            ],
            "outputs": 3,
        }
    )
    saved = parse_task(task_file(task))
    assert saved.resolved() == task.resolved()
    assert [c.relation for c in saved.resolved()] == ["shift", "mirror", None]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"outputs": 2**40}, "outputs"),
        ({"outputs": 2.5}, "outputs"),
        ({"outputs": 0}, "outputs"),
    ],
)
def test_the_librarys_inference_refuses_what_the_service_refuses_whatever_the_data(
    arguments: dict[str, object], field: str
) -> None:
    # The service refused a negative seed (the partitioner would run it as another seed) and the
    # client outputs past int32; the library ran the seed quietly, failed inside METIS on a
    # float, and took such outputs into a report without a task when the data showed nothing.
    rng = np.random.default_rng(0)
    mirrored = rng.normal(size=(200, 8, 8))
    mirrored[:, :, 4:] = mirrored[:, :, 3::-1] + 0.1 * rng.normal(size=(200, 8, 4))
    noise = rng.normal(size=(200, 8, 8))
    for values in (mirrored, noise):
        graph = dependence_graph(data_from_array(values))
        with pytest.raises(InvalidRequestError) as error:
            infer_task(graph, **arguments)  # type: ignore[arg-type]
        assert _fields(error) == [field]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"top_k": 2.5}, "top_k"),
        ({"top_k": True}, "top_k"),
        ({"top_k": 0}, "top_k"),
        ({"allow_constant": "no"}, "allow_constant"),
        ({"seed": -1}, "seed"),
    ],
)
def test_the_librarys_dependence_graph_refuses_what_the_client_refuses(
    arguments: dict[str, object], field: str
) -> None:
    # The client's infer_task refused these naming them; the library's dependence_graph failed
    # inside NumPy on top_k 2.5 and seed -1, kept True as the graph's top_k and read "no" as
    # allowing constant locations.
    sample = data_from_array(np.random.default_rng(0).normal(size=(50, 8, 8)))
    with pytest.raises(InvalidRequestError) as error:
        dependence_graph(sample, **arguments)  # type: ignore[arg-type]
    assert _fields(error) == [field]


def test_a_reports_arrangement_is_abbreviated_in_its_repr() -> None:
    # The arrangement holds every location's id: a 128x128 grid's report printed 100 KB of
    # numbers in a notebook, where the task beside it prints its ids abbreviated.
    locations = 128 * 128
    arrangement = tuple(reversed(range(locations)))
    kept = InferredCorrelation("rows 0-63 vs rows 64-127", 0.5, True, 0.1)
    report = InferenceReport(None, arrangement, (0.5,), (0.25,), "spectral", (kept,), 0.2, 9)
    written = repr(report)
    assert len(written) < 500, len(written)
    assert written == (
        "InferenceReport(task=None, arrangement=(16383, 16382, 16381, 16380, 16379, 16378, "
        "16377, 16376, 16375, ..., 1, 0; 16,384 ids), entanglement_before=(0.5,), "
        f"entanglement_after=(0.25,), partitioner='spectral', correlations=({kept!r},), "
        "threshold=0.2, evidence=9, input=None, outputs=None)"
    )
    assert report == dataclasses.replace(report)
    assert "arrangement=(2, 0, 1)," in repr(dataclasses.replace(report, arrangement=(2, 0, 1)))
