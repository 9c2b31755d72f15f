"""``--labels``: class labels set the inferred task's outputs; anything else is refused by name.

A label file sets ``outputs`` to its number of distinct values, so a NaN (one more "class") or
a regression target (a class per distinct value) would give a wrong task without a word.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from advisor.cli.options import ExitCode
from advisor.errors import InvalidRequestError
from advisor.infer import file_sizes
from advisor.infer.class_labels import read_labels
from advisor.infer.data import read_data
from advisor.model.task import load_task
from tests.test_cli import advisor, assert_one_error_line
from tests.test_infer_cli import _blocks


def _saved(tmp_path: Path, labels: npt.ArrayLike) -> Path:
    path = tmp_path / "labels.npy"
    np.save(path, np.asarray(labels))
    return path


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        ([0.0, 1.0, 2.0, np.nan], "sample 3's label is nan: a class label must be finite"),
        ([0.0, np.inf, 1.0, -np.inf], "sample 1's label is inf: a class label must be finite"),
        (
            [0.0, 1.0, 0.37, 1.0],
            "sample 2's label is 0.37: class labels must be integers (1 label(s) are "
            "fractional; a regression target is not a class count)",
        ),
    ],
    ids=["nan", "inf", "fraction"],
)
def test_labels_that_are_not_classes_are_refused_naming_the_first(
    tmp_path: Path, labels: list[float], problem: str
) -> None:
    path = _saved(tmp_path, labels)
    with pytest.raises(InvalidRequestError) as raised:
        read_labels(path, 4)
    (violation,) = raised.value.violations
    assert violation.field == "labels"
    assert violation.description.startswith(f"{path}: {problem}"), violation.description


def test_a_continuous_target_is_not_read_as_one_class_per_value(tmp_path: Path) -> None:
    # 200 distinct values were 200 classes; a CSV is parsed as floats, so it is checked too.
    path = tmp_path / "target.csv"
    target = np.random.default_rng(0).standard_normal(200)
    path.write_text("".join(f"{float(value)!r}\n" for value in target))
    with pytest.raises(InvalidRequestError, match="class labels must be integers"):
        read_labels(path, 200)


@pytest.mark.parametrize(
    ("labels", "classes"),
    [
        ([0, 1, 2, 1], 3),
        ([0.0, 1.0, 2.0, 1.0], 3),
        (["cat", "dog", "cat", "bird"], 3),
        ([True, False, True, True], 2),
    ],
    ids=["ints", "integral-floats", "strings", "bools"],
)
def test_class_labels_are_read_as_before(
    tmp_path: Path, labels: list[int] | list[float] | list[str] | list[bool], classes: int
) -> None:
    read = read_labels(_saved(tmp_path, labels), 4)
    assert np.unique(read).size == classes


def test_integral_labels_of_a_csv_are_classes(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("0\n1\n2.0\n1\n")
    assert np.unique(read_labels(path, 4)).size == 3


def test_infer_names_labels_and_the_sample_of_a_nan_label(tmp_path: Path) -> None:
    data = tmp_path / "data.npy"
    np.save(data, np.random.default_rng(1).standard_normal((40, 16)).astype(np.float32))
    labels = np.arange(40) % 3.0
    labels[7] = np.nan
    path = _saved(tmp_path, labels)
    line = assert_one_error_line(
        advisor("infer", data, "--labels", path), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith(f"advisor: error: --labels: {path}: sample 7's label is nan"), line


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("labels.npz", b"", "the file is empty (0 bytes)"),
        ("labels.npy", b"", "the file is empty (0 bytes)"),
        (
            "labels.npy",
            b"garbage" * 10,
            "not a readable .npy file (the magic string is not correct",
        ),
        ("labels.npz", b"garbage" * 10, "not a readable .npz (File is not a zip file)"),
        # Read as CSV before, and refused as "ragged rows".
        ("gen.py", b"import numpy as np\nnp.save('y.npy', [0, 1])\n", "unknown format '.py'"),
    ],
    ids=["empty-npz", "empty-npy", "garbage-npy", "garbage-npz", "unknown-extension"],
)
def test_an_empty_or_unreadable_label_file_is_named_with_a_true_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    # An empty .npz was numpy's EOFError (exit 1); garbage was read as a pickle, whose error
    # advised loading the file unsafely.
    data = tmp_path / "data.npy"
    np.save(data, np.random.default_rng(1).standard_normal((40, 16)))
    path = tmp_path / name
    path.write_bytes(content)
    line = assert_one_error_line(
        advisor("infer", data, "--labels", path), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith(f"advisor: error: --labels: {path}: {reason}"), line
    assert "pickle" not in line


def test_an_archive_of_no_array_says_so(tmp_path: Path) -> None:
    # np.savez(path) with nothing to save: "holds []; name the array 'data' or store only one"
    # advised naming an array the archive does not hold.
    path = tmp_path / "nothing.npz"
    np.savez(path)
    for read, field in (
        (lambda: read_data(path), "data"),
        (lambda: read_labels(path, 4), "labels"),
    ):
        with pytest.raises(InvalidRequestError) as raised:
            read()
        (violation,) = raised.value.violations
        assert (violation.field, violation.description) == (
            field,
            f"{path}: holds no array; store the {field} in it (np.savez(path, {field}=...))",
        )


def test_labels_of_python_objects_are_refused_without_unpickling(tmp_path: Path) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"class": 0}, {"class": 1}] * 2, dtype=object), allow_pickle=True)
    with pytest.raises(InvalidRequestError) as raised:
        read_labels(path, 4)
    (violation,) = raised.value.violations
    assert violation.description == (
        f"{path}: not a readable .npy file (it holds Python objects (dtype object), stored "
        "pickled, which are not read; store numbers or strings)"
    )


@pytest.mark.parametrize(
    ("names", "classes"),
    [(["cat", "dog", "bird"], 3), (["true", "false"], 2)],
    ids=["strings", "bools"],
)
def test_a_csv_of_names_is_read_as_classes(tmp_path: Path, names: list[str], classes: int) -> None:
    # docs/CLI.md says labels may be strings or booleans: a CSV's were "not a number".
    path = tmp_path / "labels.csv"
    path.write_text("".join(f"{names[i % classes]}\n" for i in range(400)))
    assert set(read_labels(path, 400).tolist()) == set(names)
    data, _ = _blocks(tmp_path)
    output = tmp_path / "task.yaml"
    run = advisor("infer", data, "--labels", path, "--output", output)
    assert run.status == 0, run.stderr
    assert load_task(output).outputs == classes


def test_names_are_stripped_of_surrounding_whitespace_in_every_format(tmp_path: Path) -> None:
    # A CSV's ' cat' was 'cat', an .npy's or .npz's ' cat' a class of its own: 3 outputs for the
    # same two classes, without a word.
    names = ["cat", " cat", "dog\t", "\u00a0dog "]
    csv = tmp_path / "labels.csv"
    csv.write_text(",".join(names) + "\r\n")
    npz = tmp_path / "labels.npz"
    np.savez(npz, labels=np.asarray(names))
    for path in (csv, _saved(tmp_path, names), npz):
        assert read_labels(path, 4).tolist() == ["cat", "cat", "dog", "dog"], path
    spaced = [b" cat", b"cat ", b"dog", b"\tdog"]
    assert read_labels(_saved(tmp_path, spaced), 4).tolist() == [b"cat", b"cat", b"dog", b"dog"]


def test_a_nan_in_a_csv_of_numbers_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("0\n1\nnan\n1\n")
    with pytest.raises(InvalidRequestError, match=r"sample 2's label \(line 3\) is nan"):
        read_labels(path, 4)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("\n0\n1\n2\nnan\n", "sample 3's label (line 5) is nan: a class label must be finite"),
        ("\n\n0\n1\n2\n0.5\n", "sample 3's label (line 6) is 0.5: class labels must be integers"),
        ("0,1,2,nan\n", "sample 3's label (line 1) is nan: a class label must be finite"),
    ],
    ids=["nan", "fraction", "one-line"],
)
def test_a_csv_label_that_is_no_class_is_told_with_its_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    # Samples count from 0 and a CSV's blank lines before its labels hold none: "sample 3's
    # label is nan" alone sent one to line 3 or 4 of a file that has it on line 5.
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(InvalidRequestError) as raised:
        read_labels(path, 4)
    (violation,) = raised.value.violations
    assert violation.description.startswith(f"{path}: {problem}"), violation.description


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1\ncat\n2\n", "line 2 holds the name 'cat' among numbers (line 1: '1')"),
        ("\ncat\n 1.0 \ndog\n", "line 3 holds the number '1.0' among names (line 2: 'cat')"),
        (
            "label\n0\n1\n",
            "line 2 holds the number '0' among names (line 1: 'label'): a CSV's labels must be "
            "all numbers or all names; if line 1 is a header, drop it",
        ),
        ("0.5\nnan\nx\n", "line 3 holds the name 'x' among numbers (line 1: '0.5')"),
    ],
    ids=["name-among-numbers", "number-among-names", "header", "checks-kept"],
)
def test_a_csv_mixing_numbers_and_names_is_refused_naming_the_first_odd_one(
    tmp_path: Path, text: str, problem: str
) -> None:
    # Read as names, '1' and '1.0' were two classes and a 'nan' or '0.5' among names no error:
    # which the file means is unclear, so it is refused rather than read either way.
    path = tmp_path / "labels.csv"
    rule = ": a CSV's labels must be all numbers or all names"
    assert _refusal(path, text) == f"{path}: {problem}{'' if rule in problem else rule}"


def _refusal(path: Path, text: str) -> str:
    """Write ``text`` as a CSV of 3 labels; return what reading it is refused with."""
    path.write_text(text)
    with pytest.raises(InvalidRequestError) as raised:
        read_labels(path, 3)
    (violation,) = raised.value.violations
    assert violation.field == "labels"
    return violation.description


# A file may hold its labels on one line: "cat,,dog" read three, the second a class named ''.
# Python's csv module (and pandas) writes a missing label as "", which was a class named '""'
# (among numbers, "the name '\"\"'"); a blank line was skipped, every label after it shifted.
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("cat,,dog\n", 1),
        ("1, ,0\n", 1),
        ('cat\n""\ndog\n', 2),
        ('0\n""\n1\n', 2),
        ("cat\n\ndog\ncat\n", 2),
    ],
    ids=["empty-cell", "blank-cell", "quoted-empty-name", "quoted-empty-number", "blank-line"],
)
def test_an_empty_label_is_refused_not_read_as_a_class(
    tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / "labels.csv"
    assert (
        _refusal(path, text) == f"{path}: line {line} holds an empty label; give every sample one"
    )


def test_names_whose_array_would_pass_the_size_limit_are_refused_before_it_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NumPy gives every name the room of the longest: a 220 kB CSV of one 200,000-character
    # name and 9,999 short ones asked for 7.45 GiB (MemoryError under a limit, the memory taken
    # without one), past the 512 MiB an array read whole may have.
    monkeypatch.setattr(file_sizes, "MAX_PARSED_BYTES", 3599)
    path = tmp_path / "labels.csv"
    path.write_text("cat\n" + "d" * 300 + "\ncat\n")  # 309 bytes, 3 x 300 x 4 as an array
    with pytest.raises(InvalidRequestError) as raised:
        read_labels(path, 3)
    assert [(v.field, v.description) for v in raised.value.violations] == [
        (
            "labels",
            f"{path}: its 3 names, each given the room of the longest (300 characters, line 2), "
            "are 3,600 bytes (3.52 KiB) as an array, over the limit of 3,599 bytes (3.51 KiB) for "
            "an array read whole; shorten the names or number the classes",
        )
    ]
    monkeypatch.setattr(file_sizes, "MAX_PARSED_BYTES", 3600)
    assert read_labels(path, 3).tolist() == ["cat", "d" * 300, "cat"]


# A missing name written as an empty string (pandas' fillna('')) was a class of its own, named
# '': outputs 3 for two classes, where a CSV's empty label is refused.
@pytest.mark.parametrize("blank", ["", "  ", b""], ids=["empty", "spaces", "bytes"])
def test_an_empty_name_label_in_an_array_is_refused_naming_its_sample(
    tmp_path: Path, blank: str | bytes
) -> None:
    named = ["cat", "dog", "cat"] if isinstance(blank, str) else [b"cat", b"dog", b"cat"]
    path = _saved(tmp_path, [*named, blank])
    with pytest.raises(InvalidRequestError) as raised:
        read_labels(path, 4)
    (violation,) = raised.value.violations
    assert violation.field == "labels"
    assert violation.description == (
        f"{path}: sample 3's label is empty (1 label(s) are): give every sample one"
    )


def test_a_byte_order_mark_is_no_part_of_a_csv_s_first_value(tmp_path: Path) -> None:
    # Spreadsheets save "CSV UTF-8" with a byte-order mark: it made '\ufeffcat' a third class
    # beside 'cat' and 'dog' (a wrong outputs count, silently), and a data file's first number
    # unreadable.
    labels = tmp_path / "labels.csv"
    labels.write_text("cat\ndog\ncat\ndog\n", encoding="utf-8-sig")
    assert sorted(read_labels(labels, 4).tolist()) == ["cat", "cat", "dog", "dog"]
    data = tmp_path / "data.csv"
    values = np.random.default_rng(1).standard_normal((4, 3))
    data.write_text(
        "".join(",".join(map(repr, row)) + "\n" for row in values.tolist()), "utf-8-sig"
    )
    np.testing.assert_array_equal(next(read_data(data).chunks())[1], values)


def test_a_csv_value_that_is_not_a_number_is_quoted_with_its_column(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("x,y,z\n1,2,3\n")
    with pytest.raises(InvalidRequestError) as raised:
        read_data(data)
    (violation,) = raised.value.violations
    assert violation.description == (
        f"{data}: line 1 holds a value that is not a number ('x', column 1); the file holds "
        "numbers only, comma-separated, no header"
    )


@pytest.mark.parametrize("value", ["1e400", "-1E+309", "9" * 400])
def test_a_csv_number_past_float64_is_quoted_not_told_as_inf(tmp_path: Path, value: str) -> None:
    # float() reads it as inf, and the error said "sample 1, location 2 is inf", a value the
    # file does not hold.
    data = tmp_path / "data.csv"
    data.write_text(f"0.5,1,2\n1.5,2,{value}\n2.5,3,1\n")
    with pytest.raises(InvalidRequestError) as raised:
        read_data(data)
    (violation,) = raised.value.violations
    quoted = repr(value) if len(value) <= 40 else f"{value[:40]!r}... of {len(value)} characters"
    assert violation.description == (
        f"{data}: line 2 holds {quoted} (column 3), past the float64 range (about 1.8e308): "
        "every value must be a finite number"
    )


@pytest.mark.parametrize("value", ["1e400", "-1E+309"])
def test_a_csv_label_past_float64_is_quoted_not_told_as_inf(tmp_path: Path, value: str) -> None:
    # float() reads it as inf, and the error said "sample 2's label is inf", a value the file
    # does not hold; the data's own CSV quoted it with its line and column.
    labels = tmp_path / "labels.csv"
    labels.write_text(f"\n0\n1\n{value}\n1\n")
    with pytest.raises(InvalidRequestError) as raised:
        read_labels(labels, 4)
    (violation,) = raised.value.violations
    assert violation.field == "labels"
    assert violation.description == (
        f"{labels}: line 4 holds {value!r} (column 1), past the float64 range (about 1.8e308): "
        "every value must be a finite number"
    )


@pytest.mark.parametrize("value", ["inf", "-Infinity", "nan", " NaN"])
def test_a_csv_s_own_nan_or_inf_is_told_by_its_line_and_column(tmp_path: Path, value: str) -> None:
    # Left to the passes, it was told as "sample 2, location 2 is nan": samples count from 0 and
    # skip blank lines, so the sample's number was not the line the file has it on (line 4).
    data = tmp_path / "data.csv"
    data.write_text(f"0.5,1,2\n\n1.5,2,1\n2.5,3,{value}\n3.5,4,1\n")
    with pytest.raises(InvalidRequestError) as raised:
        read_data(data)
    (violation,) = raised.value.violations
    assert (violation.field, violation.description) == (
        "data",
        f"{data}: line 4 holds {value.strip()!r} (column 3): every value must be a finite number "
        "(nothing is dropped; clean or remove that line)",
    )


@pytest.mark.parametrize("value", ["1_000", "\u0661\u0662", "\uff17"])
def test_a_csv_value_only_python_reads_as_a_number_is_no_number(tmp_path: Path, value: str) -> None:
    # float() reads 1_000 as 1000 and Arabic-Indic or full-width digits as numbers; no CSV writer
    # writes numbers so and other readers take them as text, yet the value was silently read as
    # a number, an id column becoming data.
    data = tmp_path / "data.csv"
    data.write_text(f"0.5,{value}\n1.5,2\n", "utf-8")
    with pytest.raises(InvalidRequestError) as raised:
        read_data(data)
    (violation,) = raised.value.violations
    assert violation.description.startswith(
        f"{data}: line 1 holds a value that is not a number ({value!r}, column 2)"
    )
    labels = tmp_path / "labels.csv"
    assert _refusal(labels, f"{value}\n0\n1\n") == (
        f"{labels}: line 2 holds the number '0' among names (line 1: {value!r}): a CSV's labels "
        "must be all numbers or all names; if line 1 is a header, drop it"
    )


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_csv_line_separated_otherwise_is_quoted_short_and_its_separator_named(
    tmp_path: Path, separator: str, name: str
) -> None:
    # Without commas a line is one value: quoted whole, 1,000 numbers made an error line of
    # over 5,000 characters, and it did not say why the numbers were no number.
    data = tmp_path / "data.csv"
    rows = np.random.default_rng(2).standard_normal((3, 1000)).round(3)
    data.write_text("".join(separator.join(map(str, row)) + "\n" for row in rows.tolist()))
    with pytest.raises(InvalidRequestError) as raised:
        read_data(data)
    (violation,) = raised.value.violations
    assert len(violation.description) < len(str(data)) + 300, violation.description
    assert "characters, column 1); the file holds numbers only, comma-separated" in (
        violation.description
    )
    assert violation.description.endswith(
        f"(the line's values are separated by {name}: separate them by commas)"
    )


def test_bad_labels_are_told_before_the_passes_over_the_data(tmp_path: Path) -> None:
    # The labels need only the sample count, which a .npy's header gives: read after the two
    # passes over the data (a minute on the largest files), a labels file of the wrong length
    # was told only then, and a value the passes refuse (here a NaN) hid it altogether.
    values = np.random.default_rng(4).standard_normal((40, 8, 8))
    values[30, 2, 2] = np.nan
    data = tmp_path / "data.npy"
    np.save(data, values)
    labels = _saved(tmp_path, np.arange(39) % 2)
    line = assert_one_error_line(
        advisor("infer", data, "--labels", labels), ExitCode.INVALID_ARGUMENT
    )
    assert line == (
        f"advisor: error: --labels: {labels}: holds (39,), expected one label for each of 40 "
        "samples"
    )


def test_labels_giving_every_sample_a_class_of_its_own_are_noted(tmp_path: Path) -> None:
    # Sample ids (or whole-number regression targets) passed as classes: outputs 400, silently.
    data, _ = _blocks(tmp_path)
    output = tmp_path / "task.yaml"
    ids = advisor("infer", data, "--labels", _saved(tmp_path, np.arange(400)), "--output", output)
    assert ids.status == 0, ids.stderr
    assert load_task(output).outputs == 400
    assert (
        "note: --labels gives each of the 400 samples a class of its own (outputs 400): if they "
        "are sample ids or a regression target, leave --labels out task written to "
    ) in " ".join(ids.stdout.split())  # as read, unwrapped
    classes = advisor("infer", data, "--labels", _saved(tmp_path, np.arange(400) % 3))
    assert "a class of its own" not in classes.stderr


# scikit-learn's -1 for an unlabelled sample (PyTorch's ignore_index -100 alike) was one class
# more, silently: 3 classes and some unlabelled samples wrote outputs 4. Labels -1 and 1 (an
# SVM's two classes) hold no class 0, and are not noted.
@pytest.mark.parametrize("marker", [-1, -100, -1.0])
def test_a_negative_label_beside_classes_from_0_is_noted_as_a_likely_unlabelled_mark(
    tmp_path: Path, marker: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    data, _ = _blocks(tmp_path)
    output = tmp_path / "task.yaml"
    labels = np.where(np.arange(400) % 8 == 0, marker, np.arange(400) % 3)
    run = advisor("infer", data, "--labels", _saved(tmp_path, labels), "--output", output)
    assert run.status == 0, run.stderr
    assert load_task(output).outputs == 4
    assert (
        f"note: --labels gives 50 samples the label {marker:g} beside classes 0 to 2, counted as "
        "a class of its own (outputs 4): if it marks unlabelled samples, the task's outputs is 3 "
        "task written to "
    ) in " ".join(run.stdout.split())  # as read, unwrapped
    # The note wraps within the terminal as the report does (it ran to 150 columns).
    report = run.stdout.rpartition("task written to ")[0]
    assert all(len(line) <= 80 for line in report.splitlines()), run.stdout
    signs = advisor("infer", data, "--labels", _saved(tmp_path, np.where(labels > 0, 1, -1)))
    assert signs.status == 0, signs.stderr
    assert "note: --labels" not in signs.stderr


@pytest.mark.parametrize(
    ("classes", "said"),
    [
        ([1, 2, 3], "are the labels 1 to 3, not 0 to 2: the task's outputs is 3"),
        ([0, 5], "are the labels 0, 5, not 0 to 1: the task's outputs is 2"),
        ([1.0, 2.0], "are the labels 1 to 2, not 0 to 1: the task's outputs is 2"),
    ],
)
def test_labels_numbered_otherwise_than_the_class_indices_are_noted(
    tmp_path: Path, classes: list[float], said: str
) -> None:
    # Labels 1 to 3 set outputs 3 silently, where a net trained with them as class indices
    # (cross-entropy) needs 4; labels 0 and 5 set 2.
    data, _ = _blocks(tmp_path)
    labels = np.asarray(classes)[np.arange(400) % len(classes)]
    run = advisor("infer", data, "--labels", _saved(tmp_path, labels))
    assert run.status == 0, run.stderr
    report = " ".join(run.stderr.split())  # as read, unwrapped
    assert f"note: --labels's {len(classes)} classes {said}" in report
    assert f"or outputs {max(classes) + 1:g}" in report
    indices = advisor("infer", data, "--labels", _saved(tmp_path, np.arange(400) % 3))
    assert "note: --labels" not in indices.stdout + indices.stderr


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_one_hot_labels_are_refused_with_the_fix(tmp_path: Path, dtype: type[np.generic]) -> None:
    one_hot = np.eye(3, dtype=dtype)[[0, 2, 1, 2]]
    with pytest.raises(InvalidRequestError) as refused:
        read_labels(_saved(tmp_path, one_hot), samples=4)
    assert str(refused.value).endswith(
        "holds (4, 3), expected one label for each of 4 samples; its rows are one-hot: pass the "
        "class of each, labels.argmax(axis=1)"
    )
    two_hot = one_hot.copy()
    two_hot[0, 1] = 1
    with pytest.raises(InvalidRequestError) as refused:
        read_labels(_saved(tmp_path, two_hot), samples=4)
    assert str(refused.value).endswith("expected one label for each of 4 samples")


def test_a_labels_file_that_cannot_be_opened_is_told_its_reason_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The OSError's own text named the file again, as Python writes it:
    # "not a readable .npy file ([Errno 13] Permission denied: '/tmp/.../labels.npy')".
    labels = _saved(tmp_path, np.arange(4) % 2)

    def refused(path: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "open", refused)
    with pytest.raises(InvalidRequestError) as info:
        read_labels(labels, 4)
    [violation] = info.value.violations
    assert violation.description == f"{labels}: not a readable .npy file (Permission denied)"


def test_recommend_data_takes_labels_as_infer_does(tmp_path: Path) -> None:
    # An archive of data and labels left recommend --data's task at outputs 1 without a word,
    # and --labels was an unrecognized argument there.
    values = np.load(_blocks(tmp_path)[0])
    archive = tmp_path / "both.npz"
    np.savez(archive, data=values, labels=np.arange(400) % 3)
    described = tmp_path / "local.yaml"
    described.write_text("input: {shape: [8, 8]}\npreset: local\n")
    saved = tmp_path / "saved.yaml"
    search = ("recommend", described, "--budget", "20000", "--data", archive)
    run = advisor(*search, "--labels", archive, "--save-task", saved)
    assert run.status == 0, run.stderr
    assert load_task(saved).outputs == 3
    unnamed = advisor(*search)
    assert unnamed.status == 0, unnamed.stderr
    assert f"note: {archive} also holds an array 'labels', read only when named: " in " ".join(
        unnamed.stderr.split()
    )
    # A description that states other outputs is not overruled, nor are the labels ignored.
    described.write_text("input: {shape: [8, 8]}\noutputs: 5\npreset: local\n")
    line = assert_one_error_line(advisor(*search, "--labels", archive), ExitCode.INVALID_ARGUMENT)
    assert line == (
        f"advisor: error: --labels: {archive} holds 3 classes, but the task states outputs 5: "
        "leave --labels out, or make the task's outputs 3"
    )
    line = assert_one_error_line(
        advisor("recommend", described, "--budget", "20000", "--labels", archive),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line == "advisor: error: --labels: needs --data DATA"
    # Nor does --outputs: the designs had 2 outputs while the saved task said 3.
    described.write_text("input: {shape: [8, 8]}\npreset: local\n")
    saved.unlink()
    other = advisor(*search, "--labels", archive, "--outputs", "2", "--save-task", saved)
    line = assert_one_error_line(other, ExitCode.INVALID_ARGUMENT)
    assert line == (
        f"advisor: error: --outputs: 2, but {archive} (--labels) holds 3 classes: leave "
        "--outputs out (the labels set the outputs), or make it 3"
    )
    assert not saved.exists()
    same = advisor(*search, "--labels", archive, "--outputs", "3", "--save-task", saved)
    assert same.status == 0, same.stderr
    assert load_task(saved).outputs == 3


def test_a_csv_label_is_read_as_the_csv_module_writes_it(tmp_path: Path) -> None:
    # A quoted name holding a comma was refused as "ragged rows: line 2 has 2 values".
    path = tmp_path / "labels.csv"
    path.write_text('cat\n"big, cat"\ncat\n\n\n')  # blank lines after the last label: none
    assert read_labels(path, 3).tolist() == ["cat", "big, cat", "cat"]
