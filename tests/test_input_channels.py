"""Colour channels written as an axis of the shape: the error or the rationale gives the fix.

``input.shape`` lists locations only; channels go in ``input.channels``. A shape such as
``[32, 32, 3]`` (numpy's height, width, channels) is a valid 3-D grid, so it is searched as one,
but the rationale says how to give the channels instead; where the shape is refused (four axes, a
preset that does not fit the 3-long axis) the error says it.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.architecture import parse_architecture
from advisor.model.budget import Budget
from advisor.model.grid import channel_axis, channel_axis_hint
from advisor.model.task import parse_task
from advisor.search.recommend import recommend
from advisor.seprank.analysis import analyze

spatial = st.lists(st.integers(8, 40), min_size=1, max_size=2)
colours = st.sampled_from([3, 4])


def _advice(hint: str) -> tuple[list[int], int]:
    """Read the shape and channels a hint advises."""
    found = re.search(r"give the shape \[([\d, ]+)\] and channels (\d+)", hint)
    assert found is not None, hint
    return [int(n) for n in found.group(1).split(", ")], int(found.group(2))


@given(spatial, colours, st.booleans())
def test_a_channel_axis_at_either_end_is_named_with_the_shape_to_give(
    rest: list[int], channels: int, last: bool
) -> None:
    # Last: RGB or RGBA; first: RGB only (a first axis of 4 is as likely 4 frames).
    channels = channels if last else 3
    shape = [*rest, channels] if last else [channels, *rest]
    hint = channel_axis_hint(shape)
    assert hint is not None
    assert _advice(hint) == (rest, channels)
    found = channel_axis(shape)
    assert found is not None and found.last == last
    # The advice is a valid input, and with it the preset that needed the axis applies.
    task = parse_task({"input": {"shape": rest, "channels": channels}, "preset": "symmetry"})
    assert task.input.channels == channels


@given(st.lists(st.integers(5, 40), min_size=1, max_size=3))
def test_no_hint_without_a_3_or_4_long_end_axis(shape: list[int]) -> None:
    assert channel_axis_hint(shape) is None


@pytest.mark.parametrize(
    "shape",
    [
        [16, 64, 64],
        [32, 32, 32],
        [4, 16, 16],
        [3, 4, 32],
        [4, 6, 32],
        [3],
        [1, 1, 1, 1],
        [1, 1, 1, 3],
        [0, 3],
    ],
)
def test_volumes_and_small_grids_get_no_hint(shape: list[int]) -> None:
    assert channel_axis_hint(shape) is None


@given(st.lists(st.integers(-2, 40), min_size=0, max_size=6))
def test_any_shape_is_refused_or_accepted_never_crashed_on(shape: list[int]) -> None:
    try:
        parse_task({"input": {"shape": shape}, "preset": "symmetry"})
    except InvalidRequestError as error:
        assert error.violations[0].field in ("input.shape", "preset")


@pytest.mark.parametrize("shape", [[1, 32, 32, 3], [32, 32, 3, 1], [3, 32, 32, 1]])
def test_a_four_axis_shape_is_refused_with_the_advice(shape: list[int]) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_task({"input": {"shape": shape}, "preset": "symmetry"})
    (violation,) = caught.value.violations
    assert violation.field == "input.shape"
    assert "must have 1, 2 or 3 dimensions, got 4" in violation.description
    assert "give the shape [32, 32] and channels 3" in violation.description


@pytest.mark.parametrize("shape", [[8, 32, 32, 1], [1, 8, 32, 32]])
def test_a_four_axis_shape_with_one_channel_at_an_end_names_the_grid_to_give(
    shape: list[int],
) -> None:
    # A volume or a clip with its one channel, as Keras and Katib's [D, H, W, 1] write it (or
    # PyTorch's channels first): refused, saying which three axes are the grid.
    with pytest.raises(InvalidRequestError) as caught:
        parse_task({"input": {"shape": shape}, "preset": "front_back"})
    (violation,) = caught.value.violations
    assert violation.field == "input.shape"
    assert "(one channel), give the shape [8, 32, 32]" in violation.description
    assert parse_task({"input": {"shape": [8, 32, 32]}, "preset": "front_back"}).input.channels == 1


@pytest.mark.parametrize(("shape", "grid"), [([1, 1, 1, 64], [64]), ([1, 1, 32, 32], [32, 32])])
def test_a_four_axis_shape_with_one_channel_names_a_grid_without_axes_of_one_location(
    shape: list[int], grid: list[int]
) -> None:
    # [1, 1, 1, 64] was told "give the shape [1, 1, 64]", a grid whose axes of one location
    # pool nothing.
    with pytest.raises(InvalidRequestError) as caught:
        parse_task({"input": {"shape": shape}, "preset": "local"})
    (violation,) = caught.value.violations
    assert f"(one channel), give the shape {grid}:" in violation.description


def test_a_preset_refused_on_the_channel_axis_says_how_to_give_channels() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_task({"input": {"shape": [32, 32, 3]}, "preset": "symmetry"})
    (violation,) = caught.value.violations
    assert violation.field == "preset"
    assert "give the shape [32, 32] and channels 3" in violation.description


def test_one_channel_written_last_as_keras_does_is_named_with_the_shape_to_give() -> None:
    # [64, 64, 1] is a grey image as Keras writes it, read as a volume: symmetry was refused on
    # "axis 2" with no way out, and top_bottom was searched on the image's columns (axis 1, the
    # volume's rows) with no word that it mirrors left and right.
    one_channel = "if the axis of 1 location holds the one channel, give the shape [64, 64]"
    with pytest.raises(InvalidRequestError) as caught:
        parse_task({"input": {"shape": [64, 64, 1]}, "preset": "symmetry"})
    (violation,) = caught.value.violations
    assert violation.field == "preset"
    assert one_channel in violation.description
    task = parse_task({"input": {"shape": [64, 64, 1]}, "preset": "top_bottom"})
    budget = Budget(max_parameters=20_000, top_k=1, time_limit_seconds=None)
    [best] = recommend(task, budget).recommendations
    assert one_channel in " ".join(best.rationale.split())
    # A first axis of one moves no axis name; short axes beside it are no image's.
    for shape in ([1, 64, 64], [64, 1, 1], [5, 5, 1], [64, 1], [1, 1, 64]):
        assert channel_axis_hint(shape) is None, shape


@pytest.mark.parametrize("shape", [[2, 64], [64, 2], [2, 16, 16], [16, 16, 2]])
def test_a_pair_of_channels_written_as_an_axis_is_named_with_the_shape_to_give(
    shape: list[int],
) -> None:
    # Stereo audio as torchaudio holds it ([2, 16000], channels first) was refused by start_end
    # as "needs a 1-D input" alone, and searched under symmetry as a 2-row image with no word
    # of its channels, where advisor infer reads such a pair as channels.
    grid = [n for n in shape if n != 2]
    hint = channel_axis_hint(shape)
    assert hint is not None and "a pair of channels" in hint
    assert _advice(hint) == (grid, 2)
    if len(shape) == 2:
        with pytest.raises(InvalidRequestError) as caught:
            parse_task({"input": {"shape": shape}, "preset": "start_end"})
        assert _advice(caught.value.violations[0].description) == (grid, 2)
        assert parse_task({"input": {"shape": grid, "channels": 2}, "preset": "start_end"})
    task = parse_task({"input": {"shape": shape}, "preset": "local"})
    budget = Budget(max_parameters=5_000, top_k=1, time_limit_seconds=None)
    [best] = recommend(task, budget).recommendations
    assert _advice(" ".join(best.rationale.split())) == (grid, 2)


@pytest.mark.parametrize(("shape", "said"), [([32, 32, 3], True), ([32, 32], False)])
def test_the_summary_says_a_channel_like_axis_is_pooled_as_space(
    shape: list[int], said: bool
) -> None:
    # The table shows the summaries: the note was the rationale's last sentence, which only
    # --explain prints, so a [32, 32, 3] image was searched with its colours pooled, unsaid.
    half = [16, *shape[1:]]
    task = parse_task(
        {
            "input": {"shape": shape},
            "correlations": [
                {"name": "top/bottom", "a": {"box": {"start": [0] * len(shape), "stop": half}}}
            ],
        }
    )
    result = recommend(task, Budget(max_parameters=20_000, top_k=2, time_limit_seconds=None))
    assert result.recommendations
    note = f"The input {shape} is searched as a grid of 3 axes, each pooled like a spatial one"
    for recommendation in result.recommendations:
        for text in (recommendation.summary, recommendation.rationale):
            words = " ".join(text.split())
            assert words.count(note) == int(said)
            assert ("give the shape [32, 32] and channels 3" in words) == said


@pytest.mark.parametrize(("channels", "kernel"), [(1_000_000, 1), (10_000, 9)])
def test_a_budget_the_input_channels_exhaust_says_so(channels: int, kernel: int) -> None:
    # Narrower hidden layers or free widths cannot help: the representation conv over the
    # input's channels takes nearly all the smallest net's parameters.
    task = parse_task({"input": {"shape": [16, 16], "channels": channels}, "preset": "symmetry"})
    budget = Budget(max_parameters=100_000, representation_kernel=kernel)
    with pytest.raises(InvalidRequestError) as error:
        recommend(task, budget)
    [violation] = error.value.violations
    taps = kernel**2 * channels
    assert violation.field == "budget.max_parameters"
    said = re.search(
        r"needs ([\d,]+) parameters, ([\d,]+) of them in its representation conv",
        violation.description,
    )
    assert said is not None, violation.description
    total, conv = (int(group.replace(",", "")) for group in said.groups())
    assert conv == taps * 4 + 4  # M = 4 channels of taps weights and one bias each
    assert total > conv > total / 2
    assert f"({taps:,} weights per channel" in violation.description
    assert "min_width" not in violation.description


@pytest.mark.parametrize(("task_channels", "architecture_channels"), [(3, 1), (1, 3)])
def test_an_architecture_for_other_channels_than_the_task_is_refused_on_them(
    task_channels: int, architecture_channels: int
) -> None:
    # The analysis priced the architecture's channels, with nothing to say that the task's
    # differ: an RGB task with a file that left channels at 1 was counted for grey images.
    task = parse_task({"input": {"shape": [4, 4], "channels": task_channels}, "preset": "symmetry"})
    architecture = parse_architecture(
        {
            "input": {"shape": [4, 4], "channels": architecture_channels},
            "representation": 4,
            "layers": [{"channels": 4, "pool": [4, 4]}],
        }
    )
    with pytest.raises(InvalidRequestError) as raised:
        analyze(task, architecture)
    assert raised.value.violations == (
        FieldViolation(
            "architecture.input.channels",
            f"must equal the task's input channels {task_channels}, got {architecture_channels}",
        ),
    )


@pytest.mark.parametrize("last", [True, False])
def test_an_architecture_that_writes_the_tasks_channels_as_an_axis_is_told_how_to_give_them(
    last: bool,
) -> None:
    # A practitioner's RGB net written channels-last ([32, 32, 3]) for an RGB task was refused
    # as another shape, with nothing to say that its third axis is the task's channels.
    task = parse_task({"input": {"shape": [32, 32], "channels": 3}, "preset": "symmetry"})
    shape = [32, 32, 3] if last else [3, 32, 32]
    grey = {"representation": 4, "layers": [{"channels": 4, "pool": [32, 32]}]}
    architecture = parse_architecture(
        {"input": {"shape": shape}, "representation": 4, "layers": [{"channels": 4, "pool": shape}]}
    )
    with pytest.raises(InvalidRequestError) as raised:
        analyze(task, architecture)
    refusal = raised.value.violations[0]
    assert refusal.field == "architecture.input.shape"
    assert refusal.description.startswith(
        f"must equal the task's input shape [32, 32], got {shape}"
    )
    assert _advice(refusal.description) == ([32, 32], 3)
    pair = {"name": "pair", "a": {"indices": [0]}, "b": {"indices": [1]}}
    swapped = parse_task({"input": {"shape": shape}, "correlations": [pair]})
    with pytest.raises(InvalidRequestError) as other:  # the task the one written with the axis
        analyze(swapped, parse_architecture({**grey, "input": {"shape": [32, 32], "channels": 3}}))
    assert "in the task, if the axis of 3 locations" in other.value.violations[0].description
    unrelated = parse_task({"input": {"shape": [16, 16], "channels": 3}, "preset": "symmetry"})
    with pytest.raises(InvalidRequestError) as plain:  # not the task's grid with an axis more
        analyze(unrelated, architecture)
    assert "colour channels" not in plain.value.violations[0].description
