"""What a refusal says of a mapping's place and keys: no class name, the right path.

pydantic said "Input should be a valid dictionary or instance of InputSpec" of ``input: [4, 4]``
(and ``Correlation``, ``Mixture``, ``Budget``): names a document's writer never sees. A key
that is no string was given as the path itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pydantic_core
import pytest
from advisor_client.client import AdvisorClient

from advisor.cli.options import ExitCode
from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.architecture import parse_architecture
from advisor.model.budget import Budget
from advisor.model.mixture import MAX_MEMBERS, Mixture
from advisor.model.task import parse_task
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.protocol.wire import budget_from_proto
from advisor.service.server import ServerConfig
from advisor.usage import EMPTY_PATH
from advisor.validation_messages import invalid_request_from_pydantic
from advisor.words import counted
from tests.test_cli import EXAMPLES, advisor, assert_one_error_line

_MAPPING = "Input should be a mapping of field names to values, not "
_LIST = "Input should be a list, not "
_LAYERS = [{"channels": 4, "pool": [4]}]
_ODD = {"preset": "odd"}
_POOL_FORM = "; pool is one window size per input axis, as [2, 2] on an image"
_PADDING_FORM = (
    "; padding is one [before, after] pair per input axis, as [[0, 1], [0, 1]] on an image"
)
_SHAPE_FORM = "; shape is one size per axis: [N], [H, W] or [D, H, W], as [32, 32]"


@pytest.mark.parametrize(
    ("parse", "document", "violation"),
    [
        (
            parse_task,
            {"input": {"shape": [4]}, "correlations": ["x"]},
            ("correlations[0]", "a string"),
        ),
        (
            parse_architecture,
            {"input": {"shape": [4]}, "representation": 4, "layers": _LAYERS, "mixture": 5},
            ("mixture", "a number"),
        ),
        (
            parse_architecture,
            {"input": {"shape": [4]}, "representation": 4, "layers": [True]},
            ("layers[0]", "a boolean"),
        ),
        (Budget.model_validate, None, ("budget", "null")),
    ],
)
def test_a_mapping_given_as_something_else_is_told_so_without_class_names(
    parse: Any, document: Any, violation: tuple[str, str]
) -> None:
    field, kind = violation
    assert _refused(parse, document) == (FieldViolation(field, _MAPPING + kind),)


def test_an_input_written_as_its_shape_is_told_the_mapping_to_write() -> None:
    # `input: [32, 32, 3]` was told only "Input should be a mapping of field names to values".
    assert _refused(parse_task, {"input": [32, 32, 3], "preset": "local"}) == (
        FieldViolation(
            "input",
            "is a list: write the input as a mapping, input: {shape: [32, 32, 3]}, with "
            "channels: N beside shape where an axis holds channels",
        ),
    )


def test_a_list_of_task_presets_and_a_quoted_count_are_told_what_they_are() -> None:
    # "task.preset: Input should be a valid string, not a list", "input.channels: Input should
    # be a valid integer": neither said what to write.
    [preset] = _refused(parse_task, {"input": {"shape": [8]}, "preset": ["local", "symmetry"]})
    assert (preset.field, preset.description.split(";")[0]) == (
        "preset",
        "is a list: a task takes one preset",
    )
    assert _refused(parse_task, {"input": {"shape": [8], "channels": "3"}, "preset": "local"}) == (
        FieldViolation("input.channels", "Input should be a valid integer, not a text: got '3'"),
    )


def _refused(parse: Any, document: Any) -> tuple[FieldViolation, ...]:
    """Return the violations ``parse`` refuses ``document`` with."""
    with pytest.raises(InvalidRequestError) as raised:
        parse(document)
    return raised.value.violations


@pytest.mark.parametrize(
    ("text", "field", "key"),
    [
        ("input: {shape: [4]}\npreset: symmetry\n~: 1\n", "task", "None"),
        ("input: {shape: [4]}\npreset: symmetry\n1: 1\n", "task", "1"),
        ("input: {shape: [4], 7: 1}\npreset: symmetry\n", "task.input", "7"),
        (
            "input: {shape: [4]}\ncorrelations: [{name: x, a: {indices: [0]}, true: 1}]\n",
            "task.correlations[0]",
            "True",
        ),
    ],
)
def test_a_key_that_is_no_string_is_named_in_the_mapping_that_holds_it(
    tmp_path: Path, text: str, field: str, key: str
) -> None:
    # The key was the path: `[1]` (read as a list index) for 1 or True, nothing at all for null.
    line = _analyze_error(tmp_path, text)
    assert line == (
        f"advisor: error: {field}: has the key {key}; a key is a field name, a string (from "
        f"{tmp_path / 'task.yaml'})"
    )


@pytest.mark.parametrize(
    "text",
    [
        "input: {shape: [4]}\npreset: " + "s" * 100_000 + "\n",
        "input: {shape: [4]}\npreset: symmetry\n? " + "k" * 100_000 + "\n: 1\n",
        "input: {shape: [4]}\ncorrelations:\n"
        + "".join(f"  - {{name: c{i}, a: {{indices: [{i + 9}]}}}}\n" for i in range(200)),
    ],
    ids=["long-value", "long-key", "many-violations"],
)
def test_an_error_echoing_a_long_input_is_cut_as_a_server_cuts_it(
    tmp_path: Path, text: str
) -> None:
    # The command checks files before any call; it printed the whole echo, a 100,000-character
    # line, where a server's answer to the same request cuts it.
    line = _analyze_error(tmp_path, text)
    assert len(line) < 2_000, len(line)
    assert "left out" in line


def test_a_library_error_of_many_violations_says_the_first_and_counts_the_rest() -> None:
    # A notebook prints an error's str in its traceback: 100,000 ids given as strings were as
    # many violations, all in the message (7 MB). It is cut as the command's line and a
    # server's answer are; the violations themselves are all kept.
    ids = ["1"] * 100_000
    with pytest.raises(InvalidRequestError) as raised:
        parse_task(
            {"input": {"shape": [100_000]}, "correlations": [{"name": "x", "a": {"indices": ids}}]}
        )
    error = raised.value
    assert len(error.violations) == 100_000
    message = str(error)
    assert len(message) < 2_000, len(message)
    assert message.startswith(
        "correlations[0].a.indices[0]: Input should be a valid integer, not a text: got '1'; "
    )
    assert message.endswith(" more violations left out")
    # A long echo is cut too, as a server cuts it.
    long_name = InvalidRequestError.single("preset", "unknown " + "s" * 100_000)
    assert len(str(long_name)) < 1_000
    assert str(long_name).endswith("more characters left out)")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"Input": {"shape": [4]}, "input": {"shape": [4]}, "preset": "symmetry"}, "Input"),
        ({"input": {"shape": [4], "Channels": 2}, "preset": "symmetry"}, "input.Channels"),
        (
            {"input": {"shape": [4]}, "correlations": [{"name": "x", "a": _ODD, "W": 1}]},
            "correlations[0].W",
        ),
    ],
)
def test_an_unknown_key_in_capitals_is_named(document: dict[str, Any], field: str) -> None:
    # A key starting with a capital was dropped from the path as if pydantic's union tag
    # (`: Extra inputs are not permitted`), leaving the field unnamed.
    with pytest.raises(InvalidRequestError) as raised:
        parse_task(document)
    assert [v.field for v in raised.value.violations] == [field]


def _analyze_error(tmp_path: Path, text: str) -> str:
    """Return the one error line ``advisor analyze`` prints for a task file holding ``text``."""
    task = tmp_path / "task.yaml"
    task.write_text(text)
    return assert_one_error_line(
        advisor("analyze", task, "--arch", EXAMPLES / "architectures" / "contiguous.yaml"),
        ExitCode.INVALID_ARGUMENT,
    )


@pytest.mark.parametrize(
    ("parse", "document", "field"),
    [
        (
            parse_architecture,
            {
                "input": {"shape": [13]},
                "representation": 4,
                "layers": [{"channels": 4, "pool": [13, 1]}],
            },
            "layers[0].pool",
        ),
        (
            parse_architecture,
            {
                "input": {"shape": [13]},
                "representation": 4,
                "padding": [[1, 2], [0, 0]],
                "layers": [{"channels": 4, "pool": [16]}],
            },
            "padding",
        ),
        (
            parse_task,
            {
                "input": {"shape": [13]},
                "correlations": [
                    {
                        "name": "c",
                        "a": {"box": {"start": [0, 0], "stop": [1, 1]}},
                        "b": {"indices": [5]},
                    }
                ],
            },
            "correlations[0].a.box.start",
        ),
    ],
)
def test_a_list_of_one_entry_per_axis_is_refused_in_counted_words(
    parse: Any, document: dict[str, Any], field: str
) -> None:
    # The three places refuse a list of the wrong length in one wording, singular where one
    # ("has 1 axes" and "1 entries" before, and the pool's without the input's shape).
    with pytest.raises(InvalidRequestError) as refused:
        parse(document)
    violation = refused.value.violations[0]
    assert violation.field == field
    assert violation.description == "has 2 entries; the input [13] has 1 axis"


@pytest.mark.parametrize(
    ("parse", "document", "violation"),
    [
        (
            parse_task,
            {"input": {"shape": 16}, "preset": "symmetry"},
            ("input.shape", f"a number{_SHAPE_FORM}"),
        ),
        (
            parse_task,
            {"input": {"shape": [4]}, "correlations": {"name": "x", "a": _ODD}},
            ("correlations", "a mapping"),
        ),
        (
            parse_task,
            {"input": {"shape": [4]}, "correlations": "symmetry"},
            ("correlations", "a string"),
        ),
        (
            parse_task,
            {"input": {"shape": [4]}, "correlations": [{"name": "x", "a": {"mask": "#..."}}]},
            ("correlations[0].a.mask", "a string"),
        ),
        (
            parse_architecture,
            {"input": {"shape": [4]}, "representation": 4, "layers": {"channels": 4}},
            ("layers", "a mapping"),
        ),
    ],
)
def test_a_list_given_as_something_else_is_told_so_in_the_documents_words(
    parse: Any, document: Any, violation: tuple[str, str]
) -> None:
    # pydantic said "Input should be a valid tuple" or "an instance of Sequence" (or "'str'
    # instances are not allowed as a Sequence value"): types a document's writer never sees,
    # who writes a list.
    field, kind = violation
    assert _refused(parse, document) == (FieldViolation(field, _LIST + kind),)


@pytest.mark.parametrize(
    ("written", "violations"),
    [
        ({"pool": 2}, [("layers[0].pool", _LIST + "a number" + _POOL_FORM)]),
        # A list inside a list, a common slip, was "pool[0]: Input should be a valid integer".
        (
            {"pool": [[2, 2]]},
            [("layers[0].pool[0]", "Input should be a valid integer, not a list" + _POOL_FORM)],
        ),
        (
            {"pool": [2, 2], "stride": 1},
            [
                (
                    "layers[0].stride",
                    _LIST + "a number; stride is one window step per input axis, as [1, 1] on an "
                    "image",
                )
            ],
        ),
        (
            {"pool": [2, 2], "padding": [1, 1]},
            [(f"padding[{axis}]", _LIST + "a number" + _PADDING_FORM) for axis in (0, 1)],
        ),
        (
            {"pool": [2, 2], "padding": [[[0, 1], 1], [0, 1]]},
            [("padding[0][0]", "Input should be a valid integer, not a list" + _PADDING_FORM)],
        ),
        (
            {"pool": [2, 2], "padding": [[1], [1]]},
            [(f"padding[{axis}][1]", "Field required" + _PADDING_FORM) for axis in (0, 1)],
        ),
        (
            {"pool": [2, 2], "padding": [[1, 1, 1], [0, 0]]},
            [("padding[0]", "has 3 items: must have at most 2" + _PADDING_FORM)],
        ),
    ],
)
def test_a_list_written_in_another_form_is_told_the_form_its_field_takes(
    written: dict[str, Any], violations: list[tuple[str, str]]
) -> None:
    # A file written by hand with `pool: 2` or `padding: [1, 1]` was told "Input should be a
    # list, not a number", with no word of the list the field takes.
    padding = {"padding": written.pop("padding")} if "padding" in written else {}
    layer = {"channels": 4, **written}
    document = {"input": {"shape": [4, 4]}, "representation": 4, "layers": [layer], **padding}
    assert _refused(parse_architecture, document) == tuple(
        FieldViolation(field, description) for field, description in violations
    )


@pytest.mark.parametrize(
    ("document", "violation"),
    [
        ({"layers": []}, ("layers", "has 0 items: must have at least 1")),
        (
            {"layers": [{"channels": 4, "pool": []}]},
            ("layers[0].pool", f"has 0 items: must have at least 1{_POOL_FORM}"),
        ),
    ],
)
def test_a_list_too_short_is_told_its_length_without_type_names(
    document: dict[str, Any], violation: tuple[str, str]
) -> None:
    # pydantic said "Tuple should have at least 1 item after validation, not 0".
    with pytest.raises(InvalidRequestError) as raised:
        parse_architecture({"input": {"shape": [4]}, "representation": 4, **document})
    assert raised.value.violations == (FieldViolation(*violation),)


def test_a_list_too_long_that_pydantic_did_not_count_is_told_it_has_more() -> None:
    # A generator is read one item past max_length and left uncounted (actual_length None):
    # formatting that None raised TypeError out of the library instead of the refusal.
    member = {"geometry": "contiguous", "channels": [4]}
    with pytest.raises(InvalidRequestError) as raised:
        Mixture(members=(member for _ in range(MAX_MEMBERS + 1)))
    most = MAX_MEMBERS - 1
    assert raised.value.violations == (
        FieldViolation("members", f"has more than {most} items: must have at most {most}"),
    )
    # A sized input left uncounted is counted.
    uncounted = pydantic_core.ValidationError.from_exception_data(
        "Mixture",
        [
            {
                "type": "too_long",
                "loc": ("members",),
                "input": [member] * 9,
                "ctx": {"field_type": "Tuple", "max_length": 7, "actual_length": None},
            }
        ],
    )
    assert invalid_request_from_pydantic(uncounted).violations == (
        FieldViolation("members", "has 9 items: must have at most 7"),
    )


@pytest.mark.parametrize("family", ["", "  "])
def test_an_empty_family_is_told_as_a_blank_one_is(family: str) -> None:
    # The family's min_length spoke first: "" was told "has 0 characters: must have at least
    # 1", "  " "must not be empty or blank" (printable_name, the rule of every printed name).
    with pytest.raises(InvalidRequestError) as raised:
        parse_architecture(
            {"input": {"shape": [4]}, "representation": 4, "layers": _LAYERS, "family": family}
        )
    assert raised.value.violations == (FieldViolation("family", "must not be empty or blank"),)


def _client_page() -> None:
    """Ask for a page of "" through the client library (refused before anything is sent)."""
    with AdvisorClient("127.0.0.1:1") as client:
        client.recommend(EXAMPLES / "symmetry.yaml", {"max_parameters": 1_000, "page_token": ""})


@pytest.mark.parametrize(
    ("build", "field"),
    [
        pytest.param(
            lambda: Budget(max_parameters=1_000, page_token=""), "budget.page_token", id="library"
        ),
        pytest.param(_client_page, "budget.page_token", id="client"),
        pytest.param(  # what the service builds of a request whose page_token is present, ""
            lambda: budget_from_proto(advisor_pb2.Budget(max_parameters=1_000, page_token="")),
            "budget.page_token",
            id="service",
        ),
        pytest.param(lambda: ServerConfig(host=""), "host", id="host"),
        pytest.param(lambda: ServerConfig(token=""), "token", id="token"),
    ],
)
def test_an_empty_string_is_told_it_must_not_be_empty(build: Any, field: str) -> None:
    # pydantic said "String should have at least 1 character", then "has 0 characters: must
    # have at least 1": a length rule, where the rule is that the string be given.
    with pytest.raises(InvalidRequestError) as raised:
        build()
    assert raised.value.violations == (FieldViolation(field, "must not be empty"),)


def test_a_string_short_of_a_longer_minimum_is_still_told_its_length() -> None:
    short = pydantic_core.ValidationError.from_exception_data(
        "Named",
        [{"type": "string_too_short", "loc": ("code",), "input": "ab", "ctx": {"min_length": 3}}],
    )
    assert invalid_request_from_pydantic(short).violations == (
        FieldViolation("code", "has 2 characters: must have at least 3"),
    )


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("serve", "--host", ""), "--host: must not be empty"),
        (
            ("recommend", EXAMPLES / "symmetry.yaml", "--budget", "1000", "--page-token", ""),
            "--page-token: must not be empty",
        ),
        # Path("") is the working directory: --katib-data-dir "" served Katib's state from
        # there, --token-file "" was told "cannot read .: Is a directory".
        (
            ("serve", "--katib-port", "0", "--katib-data-dir", ""),
            f"--katib-data-dir: {EMPTY_PATH}",
        ),
        (("serve", "--token-file", ""), f"--token-file: {EMPTY_PATH}"),
        (("serve", "--tls-cert", "", "--tls-key", "key.pem"), f"--tls-cert: {EMPTY_PATH}"),
        (("infer", ""), f"DATA: {EMPTY_PATH}"),
        (("infer", "data.npy", "--output", ""), f"--output: {EMPTY_PATH}"),
    ],
)
def test_an_empty_option_is_told_it_must_not_be_empty(
    arguments: tuple[str | Path, ...], said: str
) -> None:
    line = assert_one_error_line(advisor(*arguments), ExitCode.INVALID_ARGUMENT)
    assert line == f"advisor: error: {said}"


def test_an_empty_token_in_a_server_config_file_is_told_it_must_not_be_empty(
    tmp_path: Path,
) -> None:
    config = tmp_path / "server.yaml"
    config.write_text('token: ""\n')
    line = assert_one_error_line(advisor("serve", "--config", config), ExitCode.INVALID_ARGUMENT)
    assert line == "advisor: error: --config token: must not be empty"


@pytest.mark.parametrize("setting", ["katib_data_dir", "tls_cert", "tls_client_ca"])
def test_an_empty_path_setting_is_refused_naming_it(setting: str) -> None:
    # ServerConfig(katib_data_dir="") kept Katib's state in the working directory, unsaid.
    with pytest.raises(InvalidRequestError) as raised:
        ServerConfig(**{setting: ""})
    assert raised.value.violations == (FieldViolation(setting, EMPTY_PATH),)


_ROWS = [[4 * row + column for column in range(4)] for row in range(4)]
_GRID_ARCHITECTURE = {
    "input": {"shape": [4, 4]},
    "representation": 2,
    "layers": [{"channels": 2, "pool": [4, 4]}],
}


@pytest.mark.parametrize("ids", [_ROWS, np.arange(16).reshape(4, 4)], ids=["rows", "array"])
@pytest.mark.parametrize(
    ("parse", "document", "field"),
    [
        (
            parse_architecture,
            lambda ids: {**_GRID_ARCHITECTURE, "geometry": {"permutation": ids}},
            "geometry.permutation",
        ),
        (
            parse_task,
            lambda ids: {"input": {"shape": [4, 4]}, "preset": "symmetry", "arrangement": ids},
            "arrangement",
        ),
        (
            parse_task,
            lambda ids: {
                "input": {"shape": [4, 4]},
                "correlations": [{"name": "corner", "a": {"indices": ids[:1]}}],
            },
            "correlations[0].a.indices",
        ),
    ],
)
def test_location_ids_laid_out_as_the_grid_are_told_to_be_one_flat_list(
    ids: Any, parse: Any, document: Any, field: str
) -> None:
    # A 4x4 permutation written a row per line (or from NumPy, the grid's shape) was refused
    # as "Input should be a valid integer" once per row, which did not say what an id is.
    with pytest.raises(InvalidRequestError) as refused:
        parse(document(ids))
    [violation] = refused.value.violations
    assert violation.field == field
    assert "a location id is one number, row-major" in violation.description
    assert "one flat list" in violation.description
    parse(document(np.ravel(ids).tolist()))  # the same ids, flat, are read


_FLOAT = "Input should be a valid integer, not a float: got "


@pytest.mark.parametrize(
    ("parse", "document", "violation"),
    [
        (
            parse_architecture,
            {
                "input": {"shape": [4, 4]},
                "representation": 4,
                "layers": [{"channels": 4, "pool": [2.5, 2]}],
            },
            ("layers[0].pool[0]", _FLOAT + "2.5"),
        ),
        (
            parse_architecture,
            {"input": {"shape": [4]}, "representation": 4.0, "layers": _LAYERS},
            ("representation", _FLOAT + "4.0"),
        ),
        (
            parse_task,
            {"input": {"shape": [16, 8.5]}, "preset": "local"},
            ("input.shape[1]", _FLOAT + "8.5"),
        ),
        (
            parse_task,
            {
                "input": {"shape": [4]},
                "correlations": [{"name": "x", "a": {"indices": [np.float64(1)]}}],
            },
            ("correlations[0].a.indices[0]", _FLOAT + "np.float64(1.0)"),
        ),
    ],
)
def test_a_float_where_an_integer_goes_is_told_it_is_a_float(
    parse: Any, document: dict[str, Any], violation: tuple[str, str]
) -> None:
    # A hand-written `pool: [2.5, 2]` was told "Input should be a valid integer" alone, of a
    # number that looks like one; a server setting's float was told it is a float.
    assert _refused(parse, document) == (FieldViolation(*violation),)


@pytest.mark.parametrize(
    ("count", "noun", "plural", "said"),
    [
        (1, "design", "", "1 design"),
        (0, "design", "", "0 designs"),
        (2, "row", "", "2 rows"),
        (1, "entry", "entries", "1 entry"),
        (1024, "entry", "entries", "1,024 entries"),
        (3, "axis", "axes", "3 axes"),
    ],
)
def test_a_count_is_said_with_its_noun_singular_for_one(
    count: int, noun: str, plural: str, said: str
) -> None:
    assert counted(count, noun, plural) == said


_INLINE_PLURAL = re.compile(
    r"""['"]{2} if [^'"]+ == 1 else ['"]s['"]|['"]s['"] if [^'"]+ > 1 else"""
)


def test_every_message_says_its_counts_through_one_helper() -> None:
    # Sixteen messages wrote "N design{'' if N == 1 else 's'}" inline, each a little otherwise.
    root = Path(__file__).resolve().parent.parent
    sources = [
        path for folder in ("advisor", "client", "bench") for path in (root / folder).rglob("*.py")
    ] + [root / "server.py"]
    inline = [
        f"{path.relative_to(root)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _INLINE_PLURAL.search(line)
    ]
    assert inline == []
