"""The architecture model: file format, validation errors and parameter count."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given

from advisor.errors import InvalidRequestError
from advisor.geometry.layouts import pooling_structure
from advisor.model.architecture import (
    Architecture,
    ParameterCount,
    architecture_document,
    load_architecture,
    parameter_count,
    parse_architecture,
    ranked_architecture_argument,
)
from tests.support.strategies import boundary_architecture_documents, valid_architecture_documents

EXAMPLES = sorted((Path(__file__).parent.parent / "examples" / "architectures").glob("*.yaml"))


def _document(**changes: Any) -> dict[str, Any]:
    """A valid 8x8 document (pools 2x2 then a global 4x4), with top-level fields replaced."""
    document: dict[str, Any] = {
        "input": {"shape": [8, 8]},
        "representation": 4,
        "layers": [{"channels": 8, "pool": [2, 2]}, {"channels": 16, "pool": [4, 4]}],
    }
    document.update(changes)
    return document


def _layers(*layers: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"channels": 2, **layer} for layer in layers]


def _violation(document: Any) -> tuple[str, str]:
    with pytest.raises(InvalidRequestError) as exc:
        parse_architecture(document)
    (violation,) = exc.value.violations
    return violation.field, violation.description


# --- valid documents ------------------------------------------------------------------------


def test_numpy_integers_are_read_as_the_ints_they_equal() -> None:
    # The client is called from NumPy code; a budget took np.int64 where an architecture refused.
    arch = parse_architecture(
        _document(
            representation=np.int64(4),
            layers=[
                {"channels": np.int32(8), "pool": np.array([2, 2])},
                {"channels": 16, "pool": [np.uint8(4), 4]},
            ],
            geometry={"permutation": np.arange(64)},
            padding=[np.array([0, 0]), [0, 0]],
        )
    )
    assert (
        arch.geometry
        == parse_architecture(_document(geometry={"permutation": list(range(64))})).geometry
    )
    assert all(type(n) is int for n in (arch.representation, *arch.widths, *arch.layers[0].pool))


@pytest.mark.parametrize(
    ("number", "said"),
    [(np.True_, ""), (np.float64(4.0), ", not a float: got np.float64(4.0)")],
)
def test_numpy_booleans_and_floats_are_no_counts(number: Any, said: str) -> None:
    assert _violation(_document(representation=number)) == (
        "representation",
        "Input should be a valid integer" + said,
    )


def test_defaults_and_derived_properties() -> None:
    arch = parse_architecture(_document())
    assert arch.geometry == "contiguous"
    assert (arch.outputs, arch.representation_kernel, arch.family) == (1, 1, None)
    assert arch.widths == (8, 16)
    assert not arch.is_overlapping


def test_every_geometry_form_parses() -> None:
    one_d = {
        "input": {"shape": [8]},
        "layers": _layers({"pool": [2]}, {"pool": [2]}, {"pool": [2]}),
    }
    for geometry in ["contiguous", "mirror", "interleaved"]:
        assert parse_architecture(_document(**one_d, geometry=geometry)).geometry == geometry
    dilated = parse_architecture(_document(**one_d, geometry={"dilations": [4, 1, 2]}))
    assert dilated.geometry.dilations == (4, 1, 2)  # type: ignore[union-attr]
    permuted = parse_architecture(_document(**one_d, geometry={"permutation": [7, *range(7)]}))
    assert permuted.geometry.permutation == (7, 0, 1, 2, 3, 4, 5, 6)  # type: ignore[union-attr]


def test_a_dilation_order_on_a_sequence_with_axes_of_one_is_the_sequences_tree() -> None:
    # [1, 8] holds the locations of [8] id for id; its dilated stack was refused ("needs a 1-D
    # input") although the search now recommends it on such shapes.
    orders = {"geometry": {"dilations": [4, 1, 2]}}
    sequence = parse_architecture(_document(**_ONE_D, **orders))
    for shape, pool in (([1, 8], [1, 2]), ([8, 1, 1], [2, 1, 1])):
        layers = _layers({"pool": pool}, {"pool": pool}, {"pool": pool})
        written = parse_architecture(_document(input={"shape": shape}, layers=layers, **orders))
        np.testing.assert_array_equal(
            pooling_structure(written).leaf_order(), pooling_structure(sequence).leaf_order()
        )
    field, description = _violation(_document(geometry={"dilations": [1, 2]}))
    assert field == "geometry"
    assert description.endswith("as [1, 64]); the grid is 8x8")


def test_overlapping_windows_tile_with_their_stride() -> None:
    # 9x4 -> 4x2 ((9 - 3) / 2 + 1 rows) -> 3x1 (rows overlap, columns do not) -> 1x1.
    arch = parse_architecture(
        _document(
            input={"shape": [9, 4]},
            layers=_layers(
                {"pool": [3, 2], "stride": [2, 2]},
                {"pool": [2, 2], "stride": [1, 2]},
                {"pool": [3, 1]},
            ),
        )
    )
    assert arch.is_overlapping


# --- parameter count ------------------------------------------------------------------------


def test_parameter_count_2d_with_a_patch_representation() -> None:
    arch = parse_architecture(
        _document(
            input={"shape": [8, 8], "channels": 3},
            representation=16,
            representation_kernel=3,
            layers=[{"channels": 32, "pool": [2, 2]}, {"channels": 64, "pool": [4, 4]}],
            outputs=10,
        )
    )
    assert parameter_count(arch) == ParameterCount(
        representation=3 * 3 * 3 * 16,
        hidden=(16 * 32, 32 * 64),
        output=64 * 10,
        biases=16 + 32 + 64 + 10,
        total=432 + 512 + 2048 + 640 + 122,
    )
    assert arch.parameters == 3754


def test_parameter_count_1d_kernel_is_not_squared() -> None:
    arch = parse_architecture(
        {
            "input": {"shape": [4], "channels": 2},
            "representation": 3,
            "representation_kernel": 5,
            "layers": [{"channels": 7, "pool": [4]}],
            "outputs": 2,
        }
    )
    count = parameter_count(arch)
    assert (count.representation, count.hidden, count.output) == (5 * 2 * 3, (3 * 7,), 7 * 2)
    assert count.biases == 3 + 7 + 2
    assert arch.parameters == 30 + 21 + 14 + 12


def test_parameter_count_of_the_mirror_reference() -> None:
    # The mirror-4x4 case of test_seprank_reference.py: M = 2, widths (4, 2), Y = 2, 1 input channel
    arch = parse_architecture(
        {
            "input": {"shape": [4, 4]},
            "representation": 2,
            "outputs": 2,
            "geometry": "mirror",
            "layers": [{"channels": 4, "pool": [2, 2]}, {"channels": 2, "pool": [2, 2]}],
        }
    )
    assert arch.parameters == 2 + (2 * 4 + 4 * 2) + 2 * 2 + (2 + 4 + 2 + 2)


# --- validation errors: one test per rule, each naming the field -----------------------------


def _replace_layer(index: int, **changes: Any) -> dict[str, Any]:
    document = _document()
    document["layers"][index].update(changes)
    return document


_ONE_D = {"input": {"shape": [8]}, "layers": _layers({"pool": [2]}, {"pool": [2]}, {"pool": [2]})}

INVALID = {
    "zero channels": (_replace_layer(0, channels=0), "layers[0].channels", "greater than 0"),
    "negative channels": (_replace_layer(1, channels=-3), "layers[1].channels", "greater than 0"),
    "boolean channels": (_replace_layer(0, channels=True), "layers[0].channels", "integer"),
    "float channels": (_replace_layer(0, channels=2.0), "layers[0].channels", "integer"),
    "zero representation": (_document(representation=0), "representation", "greater than 0"),
    "zero outputs": (_document(outputs=0), "outputs", "greater than 0"),
    "zero kernel": (_document(representation_kernel=0), "representation_kernel", "greater"),
    "missing representation": (
        {k: v for k, v in _document().items() if k != "representation"},
        "representation",
        "required",
    ),
    "empty family": (_document(family=""), "family", "empty or blank"),
    "four axes": (_document(input={"shape": [2, 2, 2, 2]}), "input.shape", "1, 2 or 3"),
    "no layers": (_document(layers=[]), "layers", "at least 1"),
    "zero pool": (_replace_layer(0, pool=[0, 2]), "layers[0].pool[0]", "greater than 0"),
    "pool entries": (
        _replace_layer(0, pool=[2]),
        "layers[0].pool",
        "has 1 entry; the input [8, 8] has 2 axes",
    ),
    "stride entries": (
        _replace_layer(0, stride=[1, 1, 1]),
        "layers[0].stride",
        "has 3 entries; the input [8, 8] has 2 axes",
    ),
    "not tiling": (_replace_layer(0, pool=[3, 3]), "layers[0].pool", "grid at this layer is 8x8"),
    # A VGG or LeNet written with a conv's keys: told how the model writes them, not only "Extra
    # inputs are not permitted".
    "conv kernel": (
        _replace_layer(0, kernel=3),
        "layers[0].kernel",
        "a layer is a 1x1 conv then pooling (docs/THEORY.md §1): give the first conv's size as "
        "representation_kernel, and a wider conv's reach as overlapping windows",
    ),
    "conv kernel_size": (_replace_layer(1, kernel_size=[3, 3]), "layers[1].kernel_size", "stride"),
    "dilation": (_replace_layer(0, dilation=2), "layers[0].dilation", "{dilations: [...]}"),
    "pool too large": (
        _replace_layer(1, pool=[8, 8]),
        "layers[1].pool",
        "larger than the grid: the grid at this layer is 4x4",
    ),
    # One layer too many (a pool list a level too long): told that the network had ended.
    "layer after the global pooling": (
        _document(layers=_layers({"pool": [2, 2]}, {"pool": [4, 4]}, {"pool": [2, 2]})),
        "layers[2].pool",
        "larger than the grid: the grid at this layer is 1x1; the layers below pool the input "
        "to one location already, so this layer has nothing to pool: remove it and the layers "
        "after it",
    ),
    "not global": (
        _replace_layer(1, pool=[2, 2]),
        "layers[1].pool",
        "must be global, but pool [2, 2] leaves a 2x2 grid: the grid at this layer is 4x4",
    ),
    "stride above pool": (_replace_layer(0, stride=[3, 1]), "layers[0].stride", "exceeds pool"),
    # A strided conv without pooling (PyTorch's Conv2d(stride=2)) is told the nearest layer.
    "stride without pooling": (
        _replace_layer(0, pool=[1, 1], stride=[2, 2]),
        "layers[0].stride",
        "exceeds pool [1, 1]: the grid at this layer is 8x8; a stride without pooling subsamples, "
        "which no layer of this model does (each pools its windows): pool [2, 2] is the nearest",
    ),
    "pool written as global": (
        _replace_layer(1, pool="global"),
        "layers[1].pool",
        "'global' is no window: write its size per axis, the grid the layers below leave",
    ),
    "stride equal to pool": (_replace_layer(0, stride=[2, 2]), "layers[0].stride", "equals pool"),
    "overlap not tiling": (
        _replace_layer(0, pool=[3, 3], stride=[2, 2]),
        "layers[0].stride",
        "(n - pool) % stride",
    ),
    "stride on the global layer": (
        _replace_layer(1, stride=[1, 1]),
        "layers[1].stride",
        "single window, where it must equal the pool: the grid at this layer is 4x4",
    ),
    "permutation repeats": (
        _document(**_ONE_D, geometry={"permutation": [0, 1, 2, 3, 3, 4, 6, 7]}),
        "geometry.permutation",
        "repeated 3; missing 5",
    ),
    "permutation out of range": (
        _document(**_ONE_D, geometry={"permutation": [8, 1, 2, 3, 4, 5, 6, 7]}),
        "geometry.permutation",
        "invalid values 8; missing 0",
    ),
    "permutation length": (
        _document(**_ONE_D, geometry={"permutation": [0, 1]}),
        "geometry.permutation",
        "2 entries, the input has 8 locations",
    ),
    "permutation of one entry": (  # was "has 1 entries"
        _document(**_ONE_D, geometry={"permutation": [0]}),
        "geometry.permutation",
        "has 1 entry, the input has 8 locations",
    ),
    "permutation entry type": (
        _document(**_ONE_D, geometry={"permutation": [0, "1"]}),
        "geometry.permutation[1]",
        "integer",
    ),
    "dilations not powers": (
        _document(**_ONE_D, geometry={"dilations": [1, 3, 4]}),
        "geometry.dilations",
        "permutation of [1, 2, 4]: invalid values 3; missing 2",
    ),
    "dilations repeat": (
        _document(**_ONE_D, geometry={"dilations": [2, 2, 1]}),
        "geometry.dilations",
        "repeated 2; missing 4",
    ),
    "dilations length": (
        _document(**_ONE_D, geometry={"dilations": [1, 2]}),
        "geometry.dilations",
        "2 entries, the architecture has 3 layers",
    ),
    "dilations of one entry": (
        _document(**_ONE_D, geometry={"dilations": [1]}),
        "geometry.dilations",
        "has 1 entry, the architecture has 3 layers",
    ),
    "dilations on 2-D": (_document(geometry={"dilations": [1, 2]}), "geometry", "1-D input"),
    "dilations pool 4": (
        _document(
            input={"shape": [8]},
            layers=_layers({"pool": [4]}, {"pool": [2]}),
            geometry={"dilations": [1, 2]},
        ),
        "geometry",
        "pool [2] at layers[0]",
    ),
    "mirror pool 4": (
        _document(
            input={"shape": [16, 16]},
            layers=_layers({"pool": [4, 4]}, {"pool": [4, 4]}),
            geometry="mirror",
        ),
        "geometry",
        "pool 2 or 1 per axis (e.g. [2, 2]) at layers[0] (the grid there is 16x16), got [4, 4]",
    ),
    "mirror overlapping": (
        _document(
            input={"shape": [3]},
            layers=_layers({"pool": [2], "stride": [1]}, {"pool": [2]}),
            geometry="mirror",
        ),
        "geometry",
        "non-overlapping",
    ),
    # A stride under mirror was first refused on tiling, with a padding that, followed, met
    # this refusal: a geometry without overlaps refuses a stride before the windows' tiling.
    "mirror overlapping, windows that do not tile": (
        _document(
            input={"shape": [15]},
            layers=_layers({"pool": [3], "stride": [2]}, {"pool": [2]}, {"pool": [2]}),
            geometry="mirror",
        ),
        "geometry",
        "the mirror geometry needs non-overlapping windows, but layers[0] has a stride",
    ),
    "dilations overlapping, windows that do not tile": (
        _document(
            input={"shape": [9]},
            layers=_layers({"pool": [2], "stride": [1]}, {"pool": [2]}),
            geometry={"dilations": [1, 2]},
        ),
        "geometry",
        "the dilations geometry needs non-overlapping windows, but layers[0] has a stride",
    ),
    "interleaved overlapping": (
        _document(
            input={"shape": [3]},
            layers=_layers({"pool": [2], "stride": [1]}, {"pool": [2]}),
            geometry="interleaved",
        ),
        "geometry",
        "non-overlapping",
    ),
    "unknown geometry": (
        _document(geometry="spiral"),
        "geometry",
        "interleaved, {permutation: [...]}",
    ),
    "geometry without kind": (_document(geometry={"order": [1]}), "geometry", "{dilations: [...]}"),
    "geometry number": (_document(geometry=3), "geometry", "{permutation: [...]}"),
    "unknown key": (_document(colour="red"), "colour", "Extra inputs"),
    "unknown layer key": (_replace_layer(1, kernel=3), "layers[1].kernel", "Extra inputs"),
    "misspelt key": (_document(reprsentation=4), "reprsentation", "did you mean 'representation'?"),
    "misspelt layer key": (
        _replace_layer(1, chanels=3),
        "layers[1].chanels",
        "Extra inputs are not permitted; did you mean 'channels'?",
    ),
    "unknown geometry key": (
        _document(geometry={"dilations": [1], "bits": 2}),
        "geometry.bits",
        "Extra inputs",
    ),
    "unknown input key": (_document(input={"shape": [8, 8], "depth": 1}), "input.depth", "Extra"),
    "not a mapping": ([1, 2], "", "a mapping of field names to values, not a list"),
}


@pytest.mark.parametrize(("document", "field", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_documents_name_the_field(document: Any, field: str, message: str) -> None:
    found_field, description = _violation(copy.deepcopy(document))
    assert found_field == field
    assert message in description


def test_every_bad_pool_length_is_reported_at_once() -> None:
    document = _document(layers=_layers({"pool": [2]}, {"pool": [4, 4, 1]}))
    with pytest.raises(InvalidRequestError) as exc:
        parse_architecture(document)
    assert [v.field for v in exc.value.violations] == ["layers[0].pool", "layers[1].pool"]


def test_direct_construction_raises_the_same_error() -> None:
    with pytest.raises(InvalidRequestError) as exc:
        Architecture.model_validate(_replace_layer(0, pool=[3, 3]))
    assert exc.value.violations[0].field == "layers[0].pool"


# --- documents: files and round trips -------------------------------------------------------


def test_document_round_trip_leaves_out_unset_options() -> None:
    arch = parse_architecture(_document(family="mirror"))
    document = architecture_document(arch)
    assert document == {
        "input": {"shape": [8, 8], "channels": 1},
        "representation": 4,
        "layers": [{"channels": 8, "pool": [2, 2]}, {"channels": 16, "pool": [4, 4]}],
        "geometry": "contiguous",
        "outputs": 1,
        "family": "mirror",
        "representation_kernel": 1,
    }
    assert json.loads(json.dumps(document)) == document
    assert parse_architecture(document) == arch


@given(valid_architecture_documents())
def test_valid_documents_round_trip(document: dict[str, Any]) -> None:
    arch = parse_architecture(document)
    assert parse_architecture(architecture_document(arch)) == arch


@given(boundary_architecture_documents())
def test_boundary_documents_parse_or_raise_invalid_request(document: dict[str, Any]) -> None:
    try:
        arch = parse_architecture(document)
    except InvalidRequestError as exc:
        assert all(v.description for v in exc.violations)
        return
    assert parse_architecture(architecture_document(arch)) == arch


def test_load_yaml_and_json(tmp_path: Path) -> None:
    document = _document(geometry="mirror")
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    (tmp_path / "a.json").write_text(json.dumps(document), encoding="utf-8")
    assert load_architecture(tmp_path / "a.yaml") == load_architecture(str(tmp_path / "a.json"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read architecture file"),
        ("layers: [\n", "cannot read architecture file"),
        ("- 1\n- 2\n", "must hold a mapping"),
        (b"\xff\xfe", "cannot read architecture file"),
    ],
    ids=["missing", "bad yaml", "list", "not utf-8"],
)
def test_load_rejects_unreadable_files(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "arch.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidRequestError) as exc:
        load_architecture(path)
    (violation,) = exc.value.violations
    assert (violation.field, message in violation.description) == ("", True)


def test_load_reports_document_errors_with_their_field(tmp_path: Path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(_replace_layer(0, channels=0)), encoding="utf-8")
    with pytest.raises(InvalidRequestError) as exc:
        load_architecture(path)
    assert exc.value.violations[0].field == "layers[0].channels"


@pytest.mark.parametrize(
    ("first", "top", "cited"),
    [
        ({"pool": [4, 4]}, [2, 2], "needs pool 2 or 1 per axis (e.g. [2, 2]) at {}[0] "),
        ({"pool": [4, 4], "stride": [2, 2]}, [3, 3], "windows, but {}[0] has a stride"),
    ],
)
def test_a_geometry_refusal_cites_its_layer_where_the_file_is_placed(
    tmp_path: Path, first: dict[str, Any], top: list[int], cited: str
) -> None:
    # The command line places an architecture file's fields under ``architecture``: the layer
    # a geometry refusal cites is placed there too.
    path = tmp_path / "arch.yaml"
    document = {
        "input": {"shape": [8, 8]},
        "representation": 4,
        "geometry": "mirror",
        "layers": [{**first, "channels": 4}, {"pool": top, "channels": 4}],
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(InvalidRequestError) as exc:
        ranked_architecture_argument(path, None)
    (violation,) = exc.value.violations
    assert violation.field == "architecture.geometry"
    assert cited.format("architecture.layers") in violation.description


def test_a_mixture_members_geometry_refusal_cites_the_architectures_layer(tmp_path: Path) -> None:
    # A member's geometry is checked against the architecture's layers: the refusal cited
    # ``architecture.mixture.members[0].layers[0]``, a path the file does not have.
    path = tmp_path / "arch.yaml"
    document = {
        "input": {"shape": [8, 8]},
        "representation": 4,
        "geometry": "contiguous",
        "layers": [{"pool": [4, 4], "channels": 4}, {"pool": [2, 2], "channels": 4}],
        "mixture": {"members": [{"geometry": "mirror", "channels": [4, 4]}]},
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(InvalidRequestError) as exc:
        ranked_architecture_argument(path, None)
    (violation,) = exc.value.violations
    assert violation.field == "architecture.mixture.members[0].geometry"
    cited = "needs pool 2 or 1 per axis (e.g. [2, 2]) at architecture.layers[0] "
    assert cited in violation.description


def test_examples_cover_every_geometry() -> None:
    archs = [load_architecture(path) for path in EXAMPLES]
    kinds = {
        a.geometry if isinstance(a.geometry, str) else type(a.geometry).__name__ for a in archs
    }
    assert kinds == {
        "contiguous",
        "mirror",
        "interleaved",
        "DilationGeometry",
        "PermutationGeometry",
    }
    assert any(arch.is_overlapping for arch in archs)


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_files_load_and_round_trip(path: Path) -> None:
    arch = load_architecture(path)
    assert parse_architecture(architecture_document(arch)) == arch


@pytest.mark.parametrize(
    ("stride", "expected"),
    [
        ([0, 0], ["layers[0].stride[0]", "layers[0].stride[1]"]),
        ([], ["layers[0].stride"]),
        ([1], ["layers[0].stride"]),
    ],
)
def test_a_bad_stride_gets_one_violation_per_problem(
    stride: list[int], expected: list[str]
) -> None:
    document = {
        "input": {"shape": [8, 8]},
        "representation": 4,
        "layers": [
            {"channels": 4, "pool": [2, 2], "stride": stride},
            {"channels": 4, "pool": [7, 7]},
        ],
    }
    with pytest.raises(InvalidRequestError) as raised:
        parse_architecture(document)
    assert [v.field for v in raised.value.violations] == expected


def _violations(document: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequestError) as info:
        parse_architecture(document)
    return [(v.field, v.description) for v in info.value.violations]


def test_a_misspelt_key_in_the_only_layer_is_the_one_error() -> None:
    document = {
        "input": {"shape": [4, 4]},
        "representation": 4,
        "layers": [{"channels": 8, "pool": [4, 4], "strid": [1, 1]}],
    }
    assert _violations(document) == [
        ("layers[0].strid", "Extra inputs are not permitted; did you mean 'stride'?")
    ]
    document["layers"] = []
    assert [field for field, _ in _violations(document)] == ["layers"]  # truly too short


def test_a_misspelt_geometry_form_is_told_the_form_it_resembles() -> None:
    document = {
        "input": {"shape": [4, 4]},
        "representation": 4,
        "geometry": {"permutaton": list(range(16))},
        "layers": [{"channels": 8, "pool": [4, 4]}],
    }
    [(field, description)] = _violations(document)
    assert field == "geometry"
    assert description.endswith("; did you mean 'permutation'?")


@pytest.mark.parametrize("form", ["permutation", "dilations"])
def test_a_geometry_form_given_by_its_name_is_told_how_it_is_written(form: str) -> None:
    # `geometry: dilations` (a family `--geometries` names) was told "Input should be
    # 'contiguous', 'mirror' or 'interleaved'", as if no dilations geometry existed.
    document = {
        "input": {"shape": [4]},
        "representation": 4,
        "geometry": form,
        "layers": [{"channels": 4, "pool": [2]}, {"channels": 4, "pool": [2]}],
    }
    assert _violations(document) == [
        ("geometry", f"is '{form}', a geometry written as a mapping: {{{form}: [...]}}")
    ]


@pytest.mark.parametrize(
    ("geometry", "hint"), [("foo", ""), (5, ""), ("mirorr", "; did you mean 'mirror'?")]
)
def test_an_unknown_geometry_is_told_every_geometry_the_mapping_forms_included(
    geometry: object, hint: str
) -> None:
    # `geometry: foo` was told "Input should be 'contiguous', 'mirror' or 'interleaved'", as
    # if the forms `geometry: 5` is told of did not exist.
    document = {
        "input": {"shape": [4]},
        "representation": 4,
        "geometry": geometry,
        "layers": [{"channels": 4, "pool": [4]}],
    }
    kinds = "contiguous, mirror, interleaved, {permutation: [...]} or {dilations: [...]}"
    assert _violations(document) == [("geometry", f"must be {kinds}{hint}")]


@pytest.mark.parametrize("member", [False, True])
def test_a_geometry_of_two_forms_at_once_is_told_to_give_one(member: bool) -> None:
    both = {"permutation": [0, 1, 2, 3], "dilations": [1, 2]}
    document: dict[str, Any] = {
        "input": {"shape": [4]},
        "representation": 4,
        "layers": [{"channels": 4, "pool": [2]}, {"channels": 4, "pool": [2]}],
        "geometry": "contiguous" if member else both,
    }
    if member:
        document["mixture"] = {"members": [{"geometry": both, "channels": [4, 4]}], "mixing": [1]}
    [(field, description)] = _violations(document)
    assert field == ("mixture.members[0].geometry" if member else "geometry")
    assert description == "holds both permutation and dilations: give one of them"


@pytest.mark.parametrize(
    ("family", "said"),
    [
        ("a\x1b[31mb", "U+001B at position 1"),
        ("mirror\nrow", "U+000A at position 6"),
        ("left\u202eright", "U+202E at position 4"),
        ("   ", "must not be empty or blank"),
    ],
)
def test_a_family_a_terminal_would_act_on_is_refused_as_a_name_is(family: str, said: str) -> None:
    # Correlation names refused these; an architecture's family, from any file, took them.
    document = {
        "input": {"shape": [4]},
        "representation": 2,
        "layers": [{"channels": 2, "pool": [4]}],
        "family": family,
    }
    with pytest.raises(InvalidRequestError) as raised:
        parse_architecture(document)
    [violation] = raised.value.violations
    assert violation.field == "family" and said in violation.description
    assert parse_architecture({**document, "family": "mirror, by hand"}).family == "mirror, by hand"
