"""The models as a Python caller builds them: keyword constructors and ``model_validate*``.

A library caller writes ``Task(...)`` or ``Architecture(...)`` as readily as ``parse_task``; every
way of building a model must refuse bad values with the library's documented error, naming the
field, not pydantic's ``ValidationError``.
"""

from __future__ import annotations

import inspect
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pydantic
import pytest
from pydantic import ConfigDict

from advisor import Architecture, Budget, InvalidRequestError, Task, parse_task, recommend
from advisor.errors import FieldViolation
from advisor.model.architecture import Layer
from advisor.model.documents import RequestModel
from advisor.model.geometries import PermutationGeometry
from advisor.model.grid import InputSpec
from advisor.model.regions import Box, IndicesRegion, MaskRegion
from advisor.model.task import Correlation

ENDS: dict[str, Any] = {"name": "ends", "a": {"indices": [0]}, "b": {"indices": [3]}}


def refused_fields(build: Callable[[], object]) -> list[str]:
    """Return the fields the InvalidRequestError ``build`` raises names."""
    with pytest.raises(InvalidRequestError) as raised:
        build()
    return [violation.field for violation in raised.value.violations]


@pytest.mark.parametrize(
    ("build", "fields"),
    [
        (lambda: Task(input={"shape": [0]}, correlations=[ENDS]), ["input.shape"]),
        (
            lambda: Task(input={"shape": [4]}, correlations=[{**ENDS, "weight": -1}]),
            ["correlations[0].weight"],
        ),
        (lambda: Task.model_validate({"input": {"shape": [4]}, "corelation": []}), ["corelation"]),
        (lambda: Task.model_validate_json('{"input": {"shape": [4, 0]}}'), ["input.shape"]),
        (
            lambda: Architecture(input={"shape": [4]}, representation=0, layers=[]),
            ["representation", "layers"],
        ),
        (
            lambda: Architecture.model_validate(
                {"input": {"shape": [4]}, "representation": 2, "layers": [{"channels": 2}]}
            ),
            ["layers[0].pool"],
        ),
        (lambda: Correlation(name="x", a={"indices": [0]}, weight=0), ["weight"]),
        (lambda: InputSpec(shape=(4, -1)), ["shape"]),
        (lambda: Layer(channels=0, pool=(2,)), ["channels"]),
        (lambda: IndicesRegion(indices=(True,)), ["indices[0]"]),
        (lambda: Box(start=(0,), stop="1"), ["stop"]),
        (lambda: PermutationGeometry(permutation="0123"), ["permutation"]),
        (lambda: Budget.model_validate_json('{"max_parameters": 0}'), ["budget.max_parameters"]),
    ],
)
def test_every_way_of_building_a_model_raises_the_library_error(
    build: Callable[[], object], fields: list[str]
) -> None:
    assert refused_fields(build) == fields


def test_a_part_built_alone_and_inside_a_task_names_its_field_from_where_it_is() -> None:
    # The part's own constructor converts; validated inside the task, its error is the task's.
    assert refused_fields(lambda: InputSpec(shape=(0,))) == ["shape"]
    assert refused_fields(lambda: Task(input={"shape": [0]}, correlations=[ENDS])) == [
        "input.shape"
    ]


def test_models_built_from_keywords_equal_the_parsed_ones_and_stay_frozen() -> None:
    task = Task(input=InputSpec(shape=(4,)), correlations=[Correlation(**ENDS)])
    assert task == Task.model_validate({"input": {"shape": [4]}, "correlations": [ENDS]})
    assert [(c.a.tolist(), c.b.tolist()) for c in task.resolved()] == [([0], [3])]
    # Assigning to a frozen field stays pydantic's error, as pydantic documents it.
    with pytest.raises(pydantic.ValidationError):
        task.preset = "local"  # type: ignore[misc]


def test_a_task_is_immutable_through_its_correlations_and_hashable() -> None:
    # A list could be appended to past the validation: the search would then read the resolved
    # correlations of the task as built, not the ones it shows (a silent wrong answer).
    task = Task(input={"shape": [4]}, correlations=[ENDS])
    assert isinstance(task.correlations, tuple)
    with pytest.raises(AttributeError):
        task.correlations.append(Correlation(**ENDS))  # type: ignore[attr-defined]
    assert hash(task) == hash(Task.model_validate(task.model_dump()))
    assert len({task, Task.model_validate_json(task.model_dump_json())}) == 1


@pytest.mark.parametrize(
    ("shape", "rows"),
    [((4,), ["#..#"]), ((2, 3), ["#..", ".#."]), ((2, 1, 2), ["#.", ".#"])],
)
def test_a_numpy_boolean_mask_reads_as_its_rows(shape: tuple[int, ...], rows: list[str]) -> None:
    # The form a Python caller holds a mask in; refused before ("Input should be a valid string").
    mask = np.array([[char == "#" for char in row] for row in rows]).reshape(shape)
    task = parse_task(
        {"input": {"shape": shape}, "correlations": [{"name": "m", "a": {"mask": mask}}]}
    )
    assert task.correlations[0].a == MaskRegion(mask=tuple(rows))
    assert task.resolved()[0].a.tolist() == np.flatnonzero(mask).tolist()
    assert parse_task(task.model_dump(mode="json")) == task


@pytest.mark.parametrize(
    ("shape", "array_shape"),
    [
        ((4, 6, 6), (24, 6)),  # the rows a document writes, slice after slice
        ((8,), (1, 8)),  # a sequence's one row
    ],
)
def test_a_numpy_mask_may_also_be_the_documents_rows(
    shape: tuple[int, ...], array_shape: tuple[int, ...]
) -> None:
    mask = np.zeros(array_shape, dtype=bool)
    mask[0, :3] = True
    task = parse_task(
        {"input": {"shape": shape}, "correlations": [{"name": "m", "a": {"mask": mask}}]}
    )
    assert task.resolved()[0].a.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("shape", "array_shape"),
    [
        ((6, 4, 6), (4, 6, 6)),  # a volume of another depth and height: same rows, same width
        ((24, 6), (4, 6, 6)),  # a volume for an image
        ((12, 12), (2, 6, 12)),
    ],
)
def test_a_numpy_mask_of_another_shape_is_refused_not_read_as_rows(
    shape: tuple[int, ...], array_shape: tuple[int, ...]
) -> None:
    # Its rows had the input's count and width, so it was read as the input's rows: a
    # (4, 6, 6) mask on a [6, 4, 6] volume silently selected other locations than it marks.
    mask = np.zeros(array_shape, dtype=bool)
    mask[-1, -1, :2] = True
    document = {"input": {"shape": shape}, "correlations": [{"name": "m", "a": {"mask": mask}}]}
    with pytest.raises(InvalidRequestError) as raised:
        parse_task(document)
    (violation,) = raised.value.violations
    assert violation.field == "correlations[0].a.mask"
    assert f"{array_shape}" in violation.description
    assert f"{list(shape)}" in violation.description
    # Both forms it takes are named: the input's shape and its rows', (D * H, W).
    rows = (math.prod(shape[:-1]), shape[-1])
    assert violation.description.endswith(f"shape {shape} or of its rows' {rows}")
    correlation = {"name": "m", "b": {"indices": [0]}, "a": {"mask": mask}}
    assert refused_fields(lambda: Task(input={"shape": shape}, correlations=[correlation])) == [
        "correlations[0].a.mask"
    ]


def test_a_numpy_mask_that_is_not_boolean_is_refused_once_on_its_field() -> None:
    # Refused before, but as one "Input should be a valid string" per row of the array.
    mask = np.zeros((4, 6, 6), dtype=np.uint8)
    with pytest.raises(InvalidRequestError) as raised:
        parse_task(
            {"input": {"shape": [4, 6, 6]}, "correlations": [{"name": "m", "a": {"mask": mask}}]}
        )
    (violation,) = raised.value.violations
    assert violation.field == "correlations[0].a.mask"
    assert "uint8" in violation.description and "boolean" in violation.description


def test_a_task_copied_with_an_update_is_validated_and_resolved_anew() -> None:
    # pydantic's copy takes an update unchecked: the copy showed the preset and the search read
    # the correlations of the original, without it.
    task = Task(input={"shape": [8]}, correlations=[ENDS])
    copied = task.model_copy(update={"preset": "symmetry"})
    assert copied == Task(input={"shape": [8]}, correlations=[ENDS], preset="symmetry")
    assert [c.name for c in copied.resolved()] == [c.name for c in copied.model_copy().resolved()]
    assert len(copied.resolved()) > len(task.resolved())
    assert refused_fields(lambda: task.model_copy(update={"input": {"shape": [2]}})) == [
        "correlations[0].b.indices"
    ]


def test_a_part_copied_with_an_update_is_validated_too() -> None:
    # A layer copied with channels -5 (pydantic's unchecked copy) went into an architecture,
    # which takes a model instance as it is, and its analysis failed on a NaN.
    layer = Layer(channels=4, pool=(2, 2))
    assert refused_fields(lambda: layer.model_copy(update={"channels": -5})) == ["channels"]
    assert layer.model_copy(update={"channels": 7}) == Layer(channels=7, pool=(2, 2))
    box = Box(start=(0,), stop=(4,))
    assert refused_fields(lambda: box.model_copy(update={"start": ("x",)})) == ["start[0]"]


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"top_k": "3"}, "budget.top_k"),  # a TypeError inside the search
        ({"top_k": 0}, "budget.top_k"),  # an empty result
        ({"geometries": ["mirror", "mirror"]}, "budget.geometries[1]"),
        ({"channel_choices": [8, 16], "max_channels": 64}, "budget.max_channels"),
    ],
)
def test_a_budget_copied_with_an_update_is_validated(update: dict[str, Any], field: str) -> None:
    # pydantic's copy takes an update unchecked, and the search ran on what the budget refuses.
    budget = Budget(max_parameters=9_000, top_k=2, max_window=16)
    assert refused_fields(lambda: budget.model_copy(update=update)) == [field]
    copied = budget.model_copy(update={"channel_choices": [8, 16]})
    assert copied == Budget(max_parameters=9_000, top_k=2, max_window=16, channel_choices=(8, 16))
    assert copied.model_fields_set == {"max_parameters", "top_k", "max_window", "channel_choices"}
    assert hash(copied) == hash(copied.model_copy(update={"channel_choices": (16, 8)}))


def test_a_repeated_family_is_told_it_repeats_as_a_repeated_width_is() -> None:
    # "must be one of contiguous, mirror, ..., once each" did not say which family repeated.
    with pytest.raises(InvalidRequestError) as raised:
        Budget(max_parameters=9_000, geometries=["mirror", "contiguous", "mirror"])
    assert [(v.field, v.description) for v in raised.value.violations] == [
        ("budget.geometries[2]", "repeats mirror")
    ]


def test_a_models_signature_lists_its_fields_before_its_first_validation() -> None:
    # defer_build leaves pydantic's signature to the first validation: help(Task) and a
    # notebook's tooltip showed "()" until then.
    class Deferred(RequestModel):
        model_config = ConfigDict(defer_build=True)

        size: int
        name: str = "x"

    assert str(inspect.signature(Deferred)) == "(*, size: int, name: str = 'x') -> None"
    assert list(inspect.signature(Task).parameters) == list(Task.model_fields)


@pytest.mark.parametrize(
    ("model", "values", "message"),
    [
        (
            Budget,
            (1000,),
            r"^Budget\(\) takes its fields as keywords, as in Budget\(max_parameters=",
        ),
        (Task, (1, 2), r"as in Task\(input=\.\.\.\); got 2 positional arguments$"),
        (Layer, (8,), r"as in Layer\(channels=\.\.\., pool=\.\.\.\); got 1 positional argument$"),
    ],
)
def test_a_model_given_positional_values_names_itself_and_its_keywords(
    model: Callable[..., object], values: tuple[int, ...], message: str
) -> None:
    # Python's own message named the base class: "RequestModel.__init__() takes 1 positional
    # argument but 2 were given".
    with pytest.raises(TypeError, match=message):
        model(*values)


def test_a_long_permutation_is_abbreviated_in_reprs() -> None:
    # A 32x32 input's 1,024 ids were nine tenths of a recommendation's repr.
    ids = tuple(reversed(range(1024)))
    assert repr(PermutationGeometry(permutation=ids)) == (
        "PermutationGeometry(permutation=(1023, 1022, 1021, 1020, 1019, 1018, 1017, 1016, 1015, "
        "..., 1, 0; 1,024 ids))"
    )
    assert (
        repr(PermutationGeometry(permutation=(1, 0))) == "PermutationGeometry(permutation=(1, 0))"
    )
    net = Architecture(
        input={"shape": [32, 32]},
        representation=2,
        layers=[{"channels": 2, "pool": [32, 32]}],
        geometry={"permutation": ids},
    )
    assert len(repr(net)) < 400


def test_a_large_tasks_regions_and_arrangement_are_abbreviated_in_reprs() -> None:
    # A 1024x1024 task's mask and indices were written whole: a repr of 5 MB, which a notebook
    # prints for the last value of a cell. Every field of location ids, and a mask's rows, is
    # abbreviated as a permutation is.
    side = 1024
    half = side * side // 2
    task = Task(
        input={"shape": [side, side]},
        correlations=[
            {
                "name": "halves",
                "a": {"mask": ["#" * side] * (side // 2) + ["." * side] * (side // 2)},
                "b": {"indices": list(range(half, 2 * half))},
            }
        ],
        arrangement=list(reversed(range(2 * half))),
    )
    assert len(repr(task)) < 1_000
    assert len(str(task)) < 1_000
    assert "; 1,024 rows)" in repr(task)
    assert f"..., 1048574, 1048575; {half:,} ids)" in repr(task)
    assert "arrangement=(1048575, 1048574, " in repr(task)
    assert "; 1,048,576 ids)" in repr(task)
    row = "'" + "#" * 24 + "'..."
    assert repr(MaskRegion(mask=["#" * 100])) == f"MaskRegion(mask=({row},))"
    assert repr(IndicesRegion(indices=[3, 1])) == "IndicesRegion(indices=(3, 1))"


def test_a_budget_hashes_with_its_lists_as_equal_budgets_do() -> None:
    # A budget naming channel_choices or geometries raised TypeError (unhashable list).
    options: dict[str, Any] = {
        "max_parameters": 9_000,
        "channel_choices": [8, 16],
        "geometries": ["mirror"],
    }
    budget = Budget(**options)
    assert hash(budget) == hash(Budget.model_validate(options))
    assert len({budget, Budget(**options), Budget(max_parameters=9_000)}) == 2
    assert budget.channel_choices == (8, 16)


def test_a_budget_that_states_its_default_window_bound_is_another_budget() -> None:
    # A stated max_window binds where the default gives way: on 32x32 at depth 2 no tree's
    # windows stay within 16, so the stated bound is refused and the default one searched. The
    # two compared and hashed equal, and a cache of results keyed by budget mixed them up.
    task = parse_task(
        {"input": {"shape": [32, 32]}, "correlations": [{"name": "corner", "a": {"indices": [0]}}]}
    )
    default = Budget(max_parameters=20_000, top_k=1, max_depth=2)
    stated = Budget(max_parameters=20_000, top_k=1, max_depth=2, max_window=16)
    assert recommend(task, default).recommendations
    assert refused_fields(lambda: recommend(task, stated)) == ["budget.max_window"]
    assert default != stated
    assert len({default, stated}) == 2
    assert pickle.loads(pickle.dumps(stated)) == stated
    assert hash(pickle.loads(pickle.dumps(stated))) == hash(stated)
    # Stated as None (no bound) or left at a default of None, a bound is the same budget.
    assert Budget(max_parameters=9_000, max_step=None) == Budget(max_parameters=9_000)


def test_a_budget_of_the_same_families_and_widths_in_another_order_is_the_same_budget() -> None:
    # The search reads both lists as sets (widths sorted, families asked about one by one) and
    # returns the same ranking, yet the budgets compared unequal and hashed apart, so a cache
    # of results keyed by budget searched again. What the caller wrote is still echoed as given.
    listed = Budget(
        max_parameters=9_000, geometries=("mirror", "contiguous"), channel_choices=(16, 8)
    )
    reordered = Budget(
        max_parameters=9_000, geometries=("contiguous", "mirror"), channel_choices=(8, 16)
    )
    assert listed == reordered
    assert hash(listed) == hash(reordered)
    assert listed.geometries == ("mirror", "contiguous")
    assert listed.channel_choices == (16, 8)
    assert listed != Budget(
        max_parameters=9_000, geometries=("contiguous",), channel_choices=(8, 16)
    )
    assert listed != Budget(max_parameters=9_000, channel_choices=(8, 16))


@pytest.mark.parametrize(
    ("field", "mutate"),
    [
        ("channel_choices", lambda widths: widths.append(0)),
        ("channel_choices", lambda widths: widths.__setitem__(0, 16)),
        ("geometries", lambda families: families.append("mirror")),
    ],
)
def test_a_budgets_lists_cannot_be_changed_past_validation(
    field: str, mutate: Callable[[Any], object]
) -> None:
    # They were lists: appending 0 or a repeat made a budget its own checks refuse, and the
    # search then ran on it (a zero width, a family twice), its hash changed in a set.
    budget = Budget(max_parameters=9_000, channel_choices=[8, 16], geometries=["mirror"])
    with pytest.raises((AttributeError, TypeError)):
        mutate(getattr(budget, field))
    assert budget == Budget(max_parameters=9_000, channel_choices=[8, 16], geometries=["mirror"])


def test_an_invalid_request_error_is_built_of_violations_or_refused_saying_how() -> None:
    # A message given as the violations was read letter by letter: AttributeError, 'str' object
    # has no attribute 'field'.
    for given in ("budget.top_k: bad", ["budget.top_k: bad"]):
        with pytest.raises(TypeError, match=r"InvalidRequestError\.single\(field, description\)"):
            InvalidRequestError(given)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one violation"):
        InvalidRequestError([])
    built = InvalidRequestError(FieldViolation(f, "bad") for f in ("a", "b"))  # type: ignore[arg-type]
    assert [v.field for v in built.violations] == ["a", "b"]
    assert pickle.loads(pickle.dumps(built)).violations == built.violations
