"""Numbers in task files: every YAML 1.2 float is a float; integers and quoted text stay so."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError
from advisor.model.strict_yaml import load_strict
from advisor.model.task import load_task

# YAML 1.2's core-schema float, as the YAML 1.2.2 specification writes it (§10.3.2).
_CORE_FLOAT = r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
# Its plain integers are integers in every schema; the rest must carry a dot or an exponent.
_FLOATS = st.from_regex(_CORE_FLOAT, fullmatch=True).filter(
    lambda text: any(c in text for c in ".eE")
)


@given(_FLOATS)
def test_every_core_schema_float_is_read_as_that_float(text: str) -> None:
    value = load_strict(f"value: {text}\n")["value"]
    assert type(value) is float
    assert value == float(text)


@given(st.integers())
def test_integers_stay_integers(number: int) -> None:
    value = load_strict(f"value: {number}\n")["value"]
    assert type(value) is int and value == number


@given(_FLOATS, st.sampled_from(["'", '"']))
def test_a_quoted_number_stays_text(text: str, quote: str) -> None:
    assert load_strict(f"value: {quote}{text}{quote}\n") == {"value": text}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.5e3", 1500.0), ("1.0e308", 1e308), ("-.5", -0.5), ("+.5e3", 500.0), ("1.5E-3", 0.0015)],
)
def test_the_reported_forms_are_floats(text: str, expected: float) -> None:
    assert load_strict(f"value: {text}") == {"value": expected}


def _task_file(tmp_path: Path, weight: str) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(
        "input: {shape: [4]}\n"
        f"correlations: [{{name: c, a: {{indices: [0]}}, weight: {weight}}}]\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("weight", "expected"), [("1.5e3", 1500.0), ("1.7e308", 1.7e308), ("100000", 100000.0)]
)
def test_a_finite_weight_in_any_notation_is_taken(
    tmp_path: Path, weight: str, expected: float
) -> None:
    assert load_task(_task_file(tmp_path, weight)).resolved()[0].weight == expected


@pytest.mark.parametrize("weight", ["1e309", "1.5e309", "'1.5e3'"])
def test_an_infinite_or_quoted_weight_is_refused_naming_the_field(
    tmp_path: Path, weight: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        load_task(_task_file(tmp_path, weight))
    assert [v.field for v in info.value.violations] == ["correlations[0].weight"]


@pytest.mark.parametrize(
    ("weight", "told"),
    [
        ("1e309", "not inf (a number written past about 1.8e308, such as 1e999, is read as "),
        ("-1e999", "not -inf (a number written past about 1.8e308, such as 1e999, is read as "),
        ("1e-999", "is 0: must be greater than 0 (a number written nearer 0 than about 4.9e-324"),
    ],
)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_weight_past_the_float_range_is_told_how_it_was_read(
    tmp_path: Path, weight: str, told: str, suffix: str
) -> None:
    # The file writes 1e999 and 1e-999, yet they were refused as "Input should be a finite
    # number" and "is 0.0: must be greater than 0", values the file does not hold.
    path = _task_file(tmp_path, weight)
    if suffix == ".json":
        path = path.with_suffix(".json")
        path.write_text(
            '{"input": {"shape": [4]}, "correlations": [{"name": "c", "a": {"indices": [0]}, '
            f'"weight": {weight}}}]}}'
        )
    with pytest.raises(InvalidRequestError) as info:
        load_task(path)
    [violation] = info.value.violations
    assert violation.field == "correlations[0].weight"
    assert told in violation.description


# YAML 1.2's core-schema integer: decimal (leading zeros too), 0o octal, 0x hexadecimal.
_CORE_INT = r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"


@given(st.from_regex(_CORE_INT, fullmatch=True))
def test_every_core_schema_integer_is_read_as_that_integer(text: str) -> None:
    value = load_strict(f"value: {text}\n")["value"]
    digits = text.lstrip("+-")
    base = {"0o": 8, "0x": 16}.get(digits[:2], 10)
    expected = int(digits[2:] if base != 10 else digits, base) * (-1 if text[0] == "-" else 1)
    assert type(value) is int and value == expected


@pytest.mark.parametrize(
    "text", ["1_000", "1:30", "0b11", "yes", "No", "off", "ON", "2024-01-01", "0x", "0o8", "y"]
)
def test_what_only_yaml_1_1_reads_as_a_value_stays_text(text: str) -> None:
    # YAML 1.1 read these as 1000, 90, 3, booleans and a date: a value the user did not write.
    assert load_strict(f"value: {text}\n") == {"value": text}


def test_a_shape_with_a_leading_zero_is_decimal(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("input: {shape: [010]}\npreset: local\n", encoding="utf-8")
    assert load_task(path).input.shape == (10,)


def test_merge_keys_merge_and_the_mapping_own_keys_override() -> None:
    text = "base: &b {x: 1, y: 2}\nc: {<<: *b, y: 3}\nd:\n  <<: [*b]\n  z: 4\n"
    document = load_strict(text)
    assert document["c"] == {"x": 1, "y": 3}
    assert document["d"] == {"x": 1, "y": 2, "z": 4}
    with pytest.raises(ValueError, match="key 'y' appears more than once"):
        load_strict("base: &b {x: 1}\nc: {<<: *b, y: 3, y: 4}\n")


def _nested_aliases(levels: int, fan: int) -> str:
    """A document of ``levels`` lists, each repeating the one before ``fan`` times by alias."""
    lines = ["l0: &l0 [1, 2]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fan)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_aliases_that_repeat_past_a_million_values_are_refused_at_once() -> None:
    # A Katib task of 60,000 aliases of one correlation (244 kB) made a server build 60,000
    # correlations, 575 MB and 17 s, before any limit was checked.
    assert load_strict(_nested_aliases(4, 10))["l3"][9][9][9] == [1, 2]  # 3,000 values: read
    region = "[" + ", ".join(map(str, range(512))) + "]"
    shared = f"r: &r {region}\nc: [{', '.join(['*r'] * 100)}]\n"  # a region shared by alias
    assert len(load_strict(shared)["c"]) == 100
    bombs = [
        _nested_aliases(9, 10),  # 10^8 values in 300 characters
        f"r: &r {region}\nc: [{', '.join(['*r'] * 2000)}]\n",
        "&a [*a]",  # holds itself: repeats for ever
    ]
    for text in bombs:
        with pytest.raises(ValueError, match=r"^its aliases \(\*name\) repeat values past "):
            load_strict(text)
    # Written out, the same values are read, however many: only repeats are bounded.
    written = "c: [" + ", ".join([region] * 2000) + "]\n"
    assert len(load_strict(written)["c"]) == 2000
