"""``advisor export``: a recommendation as standalone PyTorch source, equal to the torch export.

Without torch: the source is written (never importing torch), parses, spells out the layers and
the permutations (a mixture's: every member's layers and gathers), ruff finds nothing to report
in it, and the command refuses a rank the result lacks and an existing ``--output``. With torch:
the file, run where ``import advisor`` fails, computes what ``torch_module`` computes (a tree's
``ConvNet``, a mixture's ``MixtureNet``) from the same ``state_dict``, and its own weights load
back.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
import yaml
from advisor_client import AdvisorClient

from advisor.cli.options import POOLING_KINDS, ExitCode
from advisor.errors import InvalidRequestError
from advisor.export.document import (
    PoolingKind,
    parse_search_result,
    search_result_document,
    torch_module,
)
from advisor.export.margins import input_pads
from advisor.export.mixture_gathers import mixture_gathers
from advisor.export.torch_source import torch_source
from advisor.geometry.layouts import dilation_permutation, input_permutation
from advisor.model.architecture import (
    Architecture,
    Layer,
    PermutationGeometry,
    architecture_document,
    load_architecture,
    parse_architecture,
    with_task_outputs,
)
from advisor.model.budget import Budget
from advisor.model.grid import InputSpec
from advisor.model.mixture import member_widths
from advisor.model.task import parse_task
from advisor.search.recommend import recommend
from advisor.version import __version__
from tests.test_cli import advisor, assert_one_error_line

ROOT = Path(__file__).resolve().parent.parent
_RNG = np.random.default_rng(7)

PERMUTED = Architecture(
    input=InputSpec(shape=(8, 8), channels=3),
    representation=6,
    layers=[Layer(channels=5, pool=(2, 2)), Layer(channels=4, pool=(4, 4))],
    geometry=PermutationGeometry(permutation=tuple(int(p) for p in _RNG.permutation(64))),
    outputs=10,
    representation_kernel=3,
)
CONTIGUOUS = PERMUTED.model_copy(update={"geometry": "contiguous"})

CASES: dict[str, tuple[Architecture, PoolingKind]] = {
    "sequence, padded, interleaved": (
        Architecture(
            input=InputSpec(shape=(13,), channels=2),
            representation=4,
            layers=[Layer(channels=3, pool=(2,))] * 4,
            geometry="interleaved",
            padding=((1, 2),),
            outputs=2,
        ),
        "max",
    ),
    "image, permuted, avg": (PERMUTED, "avg"),
    "image, overlapping windows": (
        Architecture(
            input=InputSpec(shape=(8, 8)),
            representation=4,
            layers=[Layer(channels=3, pool=(4, 4), stride=(2, 2)), Layer(channels=2, pool=(3, 3))],
        ),
        "max",
    ),
    "image, mirror, even kernel": (
        Architecture(
            input=InputSpec(shape=(8, 8)),
            representation=4,
            layers=[Layer(channels=3, pool=(2, 2))] * 3,
            geometry="mirror",
            representation_kernel=2,
        ),
        "max",
    ),
    "volume, padded, mirror": (
        Architecture(
            input=InputSpec(shape=(2, 7, 7), channels=2),
            representation=4,
            layers=[Layer(channels=3, pool=(2, 2, 2)), Layer(channels=2, pool=(1, 4, 4))],
            geometry="mirror",
            padding=((0, 0), (0, 1), (1, 0)),
        ),
        "max",
    ),
}


def _image_mixture(geometry: str, member: str) -> Architecture:
    """A 2-D mixture of a tree of this ``geometry`` and one of the ``member`` geometry."""
    return parse_architecture(
        {
            "input": {"shape": [8, 8], "channels": 3},
            "representation": 4,
            "representation_kernel": 3,
            "layers": [{"channels": w, "pool": [2, 2]} for w in (3, 2, 2)],
            "geometry": geometry,
            "mixture": {"members": [{"geometry": member, "channels": [2, 3, 2]}]},
        }
    )


IMAGE_MIXTURE = _image_mixture("contiguous", "mirror")

MIXTURES: dict[str, tuple[Architecture, PoolingKind]] = {
    "sequence mixture, padded, with its mirror": (
        parse_architecture(
            {
                "input": {"shape": [7], "channels": 2},
                "representation": 2,
                "padding": [[0, 1]],
                "layers": [{"channels": 2, "pool": [2]}, {"channels": 3, "pool": [4]}],
                "mixture": {"members": [{"geometry": "mirror", "channels": [4, 3]}]},
            }
        ),
        "max",
    ),
    "sequence mixture of three, summed at level 2, avg": (
        parse_architecture(
            {
                "input": {"shape": [16]},
                "representation": 2,
                "layers": [{"channels": w, "pool": [2]} for w in (3, 4, 2, 5)],
                "geometry": {"dilations": [1, 2, 4, 8]},
                "mixture": {
                    "members": [
                        {"geometry": {"dilations": [2, 1, 8, 4]}, "channels": [2, 4, 6, 5]},
                        {"geometry": {"dilations": [2, 1, 4, 8]}, "channels": [1, 4, 2, 5]},
                    ],
                    "mixing": [2],
                },
            }
        ),
        "avg",
    ),
    "image mixture, contiguous and mirror": (IMAGE_MIXTURE, "max"),
}


def _tree(source: str) -> ast.Module:
    return ast.parse(source)


def _layer_calls(source: str) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """Return each layer ``nn.X(...)`` the source builds, in order, with its arguments."""
    calls = sorted(
        (
            node
            for node in ast.walk(_tree(source))
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "nn"
            and node.func.attr not in {"Sequential", "ModuleList"}
        ),
        key=lambda node: (node.lineno, node.col_offset),
    )
    return [
        (
            node.func.attr,
            tuple(ast.literal_eval(a) for a in node.args),
            {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg},
        )
        for node in calls
        if isinstance(node.func, ast.Attribute)
    ]


def _constant_in(source: str, name: str) -> Any:
    """Evaluate the display the source assigns to ``name`` alone (no torch needed)."""
    (value,) = (
        node.value
        for node in _tree(source).body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    )
    return eval(compile(ast.Expression(value), f"<{name}>", "eval"))


def _padding_layer(architecture: Architecture) -> str:
    """The representation's first layer: a pad where a margin is not 0, else ``Identity``."""
    return f"ConstantPad{architecture.input.ndim}d" if any(input_pads(architecture)) else "Identity"


def _permutation_in(source: str) -> list[int]:
    """Evaluate the source's ``PERMUTATION`` display alone (no torch needed)."""
    permutation: list[int] = _constant_in(source, "PERMUTATION")
    return permutation


@pytest.mark.parametrize("case", list(CASES))
def test_the_source_parses_and_spells_out_every_layer(case: str) -> None:
    architecture, pooling = CASES[case]
    source = torch_source(architecture, pooling)
    calls = _layer_calls(source)
    ndim = architecture.input.ndim
    assert [name for name, _, _ in calls] == [
        _padding_layer(architecture),
        f"Conv{ndim}d",
        "ReLU",
        *[
            name
            for _ in architecture.layers
            for name in (f"Conv{ndim}d", "ReLU", f"{pooling.capitalize()}Pool{ndim}d")
        ],
        "Linear",
    ]
    pools = [keywords for name, _, keywords in calls if "Pool" in name]
    assert pools == [
        {"kernel_size": layer.pool, "stride": layer.step} for layer in architecture.layers
    ]
    assert _permutation_in(source) == input_permutation(architecture).tolist()
    assert max(map(len, source.splitlines())) <= 100


@pytest.mark.parametrize("case", list(MIXTURES))
def test_a_mixtures_source_spells_out_every_members_layers_and_gathers(case: str) -> None:
    architecture, pooling = MIXTURES[case]
    mixture = architecture.mixture
    assert mixture is not None
    source = torch_source(architecture, pooling)
    calls = _layer_calls(source)
    ndim = architecture.input.ndim
    pool = f"{pooling.capitalize()}Pool{ndim}d"
    members = [
        [
            (f"Conv{ndim}d", (architecture.representation, *widths)[level], widths[level])
            for level in range(len(architecture.layers))
        ]
        for widths in member_widths(architecture.widths, mixture)
    ]
    assert [name for name, _, _ in calls] == [
        _padding_layer(architecture),
        f"Conv{ndim}d",
        "ReLU",
        *[name for member in members for _ in member for name in (f"Conv{ndim}d", "ReLU", pool)],
        "Linear",
    ]
    convs = [(name, *arguments) for name, arguments, _ in calls if name.startswith("Conv")]
    assert convs[1:] == [conv for member in members for conv in member]
    gathers = {name: gather.tolist() for name, gather in mixture_gathers(architecture).items()}
    assert _constant_in(source, "GATHERS") == gathers
    assert _constant_in(source, "MIXING") == (*mixture.mixing, len(architecture.layers))
    assert max(map(len, source.splitlines())) <= 100


def test_a_mixtures_header_names_its_members() -> None:
    source = torch_source(IMAGE_MIXTURE)
    words = " ".join("".join(line[1:] for line in source.splitlines() if line[:1] == "#").split())
    assert "mixture of 2 members, summed at the root only" in words
    assert "members: 0: contiguous tree, widths 3 2 2; 1: mirror tree, widths 2 3 2" in words
    assert f"parameters: {IMAGE_MIXTURE.parameters:,};" in words


def test_a_mixtures_header_names_written_out_members_by_their_family() -> None:
    # A result's members are written-out permutations: the header said "geometry permutation"
    # of each, where the summary names "the contiguous tree (member 0)".
    written = architecture_document(IMAGE_MIXTURE)
    for member, geometry in ((written, "contiguous"), (written["mixture"]["members"][0], "mirror")):
        laid = IMAGE_MIXTURE.model_copy(update={"geometry": geometry, "mixture": None})
        member["geometry"] = {"permutation": input_permutation(laid).tolist()}
    words = _header_words(torch_source(parse_architecture(written)))
    assert "members: 0: contiguous tree, widths 3 2 2; 1: mirror tree, widths 2 3 2" in words


def test_a_mixtures_header_says_a_dilated_members_order() -> None:
    # A member laid out as a dilated tree was "geometry permutation" alone, where the summary
    # named its order ("the dilated tree of dilations 2, 4, 8, 1").
    orders = [(4, 1, 8, 2), (2, 4, 8, 1)]
    mixture = {
        "members": [
            {
                "geometry": {"permutation": dilation_permutation(16, orders[1]).tolist()},
                "channels": [2, 2, 2, 2],
            },
            {"geometry": {"permutation": _RNG.permutation(16).tolist()}, "channels": [2, 2, 2, 2]},
        ]
    }
    architecture = parse_architecture(
        {
            "input": {"shape": [16]},
            "representation": 2,
            "layers": [{"channels": 2, "pool": [2]} for _ in range(4)],
            "geometry": {"permutation": dilation_permutation(16, orders[0]).tolist()},
            "mixture": mixture,
        }
    )
    words = _header_words(torch_source(architecture))
    assert "members: 0: dilated tree of dilations 4, 1, 8, 2, widths 2 2 2 2;" in words
    assert "1: dilated tree of dilations 2, 4, 8, 1, widths 2 2 2 2;" in words
    assert "2: geometry permutation, widths 2 2 2 2" in words


def test_the_header_says_what_the_file_is() -> None:
    architecture, pooling = CASES["image, permuted, avg"]
    source = torch_source(architecture, pooling, source="result.yaml", rank=3)
    header = "".join(line[1:] for line in source.splitlines() if line.startswith("#"))
    words = " ".join(header.split())
    for said in (
        f"architecture advisor {__version__}",
        "geometry permutation",
        "widths 5 4",
        "pools 2x2 4x4",
        "avg pooling",
        f"parameters: {architecture.parameters:,}",
        f"multiply-adds per input: {architecture.multiply_adds:,}; "
        f"{architecture.activations:,} activations per input",
        "source: result.yaml, its recommendation of rank 3",
        "The weights are untrained",
    ):
        assert said in words


def test_the_header_says_the_strides_of_overlapping_windows() -> None:
    """``pools 3x3 2x2`` alone reads as tiling windows; the strides are said where they differ."""
    overlapping = load_architecture(ROOT / "examples/architectures/overlapping.yaml")
    words = " ".join(torch_source(overlapping).split())
    assert "pools 3x3 2x2 2x2 2x2, strides 2x2 2x2 2x2 2x2, outputs 2" in words
    tiling = load_architecture(ROOT / "examples/architectures/mirror.yaml")
    assert "strides" not in torch_source(tiling).partition('"""')[0]


def test_runs_of_the_permutation_are_written_as_ranges() -> None:
    """A 32x32 contiguous grid's 1,024 locations are one range, not 1,024 numbers."""
    contiguous = Architecture(
        input=InputSpec(shape=(32, 32)),
        representation=4,
        layers=[Layer(channels=4, pool=(2, 2))] * 5,
    )
    assert "\nPERMUTATION = [*range(1024)]\n" in torch_source(contiguous)
    permutation = (*range(7, -1, -1), 8, 10, 9, *range(11, 16))
    runs = contiguous.model_copy(
        update={
            "input": InputSpec(shape=(16,)),
            "layers": [Layer(channels=4, pool=(2,))] * 4,
            "geometry": PermutationGeometry(permutation=permutation),
        }
    )
    source = torch_source(runs)
    assert "\nPERMUTATION = [*range(7, -1, -1), 8, 10, 9, *range(11, 16)]\n" in source
    assert _permutation_in(source) == list(permutation)


PADDED_PERMUTED = parse_architecture(
    {
        **architecture_document(PERMUTED),
        "input": {"shape": [7, 8], "channels": 3},
        "padding": [[0, 1], [0, 0]],
    }
)
"""A tree whose input is padded and whose permutation wraps over several lines."""

_RUFF = (
    "-m",
    "ruff",
    "check",
    "--no-cache",
    "--isolated",
    "--preview",
    "--config",
    "lint.explicit-preview-rules = true",
    "--select",
    "E,F,W,B,UP,PIE,E301,E302,E303,E304,E305,E306",
    "--line-length",
    "100",
    "-",
)
"""ruff's check of a source on standard input: pycodestyle, pyflakes, bugbear, pyupgrade and
flake8-pie (``range(0, n)``'s needless start), and pycodestyle's blank-line rules, which ruff
has in preview only, named one by one so a newer ruff's other preview rules do not join (E301:
a method of ``Net`` followed another without one).

Not ``ruff format --check``: the permutation's numbers are packed many to a line, where the
formatter puts one per line, and a mixture's members' list hugs ``nn.ModuleList([``."""


@pytest.mark.parametrize(
    ("architecture", "pooling"),
    [
        (PADDED_PERMUTED, "max"),
        CASES["sequence, padded, interleaved"],
        *MIXTURES.values(),
    ],
    ids=["tree, padded, permuted", "tree, padded, interleaved", *MIXTURES],
)
def test_the_source_is_lint_clean(architecture: Architecture, pooling: PoolingKind) -> None:
    """The file is the user's to edit and lint: ruff finds nothing to report in it.

    Its lines are within the 96 columns its permutation and header wrap within (docs/CLI.md).
    """
    pytest.importorskip("ruff")
    source = torch_source(architecture, pooling, source="result.json", rank=1)
    assert max(map(len, source.splitlines())) <= 96
    run = subprocess.run(
        [sys.executable, *_RUFF],
        input=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_source_type_checks_and_formats_as_written(tmp_path: Path) -> None:
    """A tree's and a mixture's file pass mypy, and a formatter leaves its gathers' lists be.

    Undeclared, ``identities`` and ``found`` read to mypy as ``nn.Module.__getattr__``'s tensors
    or modules (six errors a file); and the trailing comma of ``PERMUTATION`` made ruff's and
    black's formatter write each of its numbers on a line of its own (16,384 for 16x32x32).
    """
    pytest.importorskip("torch")  # mypy reads the file's types through torch's
    files = []
    for name, (architecture, pooling) in {
        "tree.py": (PADDED_PERMUTED, "max"),
        "mixture.py": MIXTURES["sequence mixture of three, summed at level 2, avg"],
    }.items():
        files.append(tmp_path / name)
        files[-1].write_text(torch_source(architecture, pooling, source="result.json", rank=1))
    cache = ("--cache-dir", str(tmp_path / "mypy"))
    mypy = [sys.executable, "-m", "mypy", *cache, "--no-error-summary", *map(str, files)]
    checked = subprocess.run(  # in tmp_path: mypy's defaults, not this project's strict mode
        mypy, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    if importlib.util.find_spec("ruff") is None:
        return
    # At the file's own width (docs/CLI.md); at another a formatter rewraps its long lines.
    width = ("--line-length", "96")
    for file in files:
        formatted = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--isolated", *width, "--diff", str(file)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert formatted.returncode == 0, formatted.stdout[:2000]


@pytest.mark.parametrize(
    ("architecture", "pooling"),
    [CASES["image, permuted, avg"], MIXTURES["sequence mixture of three, summed at level 2, avg"]],
    ids=["tree", "mixture"],
)
def test_writing_the_source_never_imports_torch(
    tmp_path: Path, architecture: Architecture, pooling: PoolingKind
) -> None:
    """The command runs where torch cannot be imported, as the core never needs it."""
    arch = tmp_path / "arch.yaml"
    arch.write_text(yaml.safe_dump(architecture_document(architecture)))
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "from advisor.cli.main import main\n"
        f"sys.exit(main(['export', {str(arch)!r}, '--pooling', {pooling!r}, '--output', '-']))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == torch_source(architecture, pooling, source=str(arch))


@pytest.fixture(scope="module")
def saved_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """A recommend result saved as YAML, with its recommendations."""
    task = parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})
    result = recommend(task, Budget(max_parameters=5_000, top_k=2, time_limit_seconds=None))
    document = search_result_document(result)
    path = tmp_path_factory.mktemp("result") / "result.yaml"
    path.write_text(yaml.safe_dump(document))
    return path, list(result.recommendations)


def test_the_command_writes_a_results_recommendation_by_rank(
    saved_result: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    path, recommendations = saved_result
    assert len(recommendations) == 2
    # A rank is written as every count of the command is: 2.0 and 2e0 are rank 2, as --top 5.0
    # is 5 recommendations (argparse's int refused them).
    for rank, written in ((None, None), (2, "2"), (2, "2.0"), (2, "2e0")):
        chosen = recommendations[0 if rank is None else 1]
        output = tmp_path / f"net_{written}.py"
        extra = () if written is None else ("--rank", written)
        run = advisor("export", path, *extra, "--output", output)
        assert run.status == ExitCode.OK, run.stderr
        assert run.stdout == f"PyTorch source written to {output}\n"
        assert output.read_text(encoding="utf-8") == torch_source(
            chosen.architecture, source=str(path), rank=chosen.rank
        )


@pytest.fixture(scope="module")
def dilations_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A result of the dilations family saved as JSON, with its first recommendation."""
    task = parse_task({"input": {"shape": [16]}, "preset": "long_range"})
    budget = Budget(
        max_parameters=20_000, top_k=1, geometries=("dilations",), time_limit_seconds=None
    )
    result = recommend(task, budget)
    path = tmp_path_factory.mktemp("dilations") / "result.json"
    path.write_text(json.dumps(search_result_document(result)))
    return path, result.recommendations[0]


def _header_words(source: str) -> str:
    """Return the header comment's text, its lines joined and its spaces collapsed."""
    return " ".join("".join(line[1:] for line in source.splitlines() if line[:1] == "#").split())


def test_the_header_says_a_dilations_designs_order(
    dilations_result: tuple[Path, Any], tmp_path: Path
) -> None:
    """The order the table says (``dilations 8 1 2 4``), which the permutation hides, is said."""
    path, chosen = dilations_result
    assert chosen.dilations is not None
    said = f"dilations {' '.join(map(str, chosen.dilations))}"
    assert said in chosen.as_table()
    run = advisor("export", path, "--output", "-")
    assert run.status == ExitCode.OK, run.stderr
    assert f"outputs 1, {said}; max pooling" in _header_words(run.stdout)
    # Its architecture saved alone, or the result with its order null, holds the order only in
    # its permutation: the header said none.
    arch = tmp_path / "arch.yaml"
    arch.write_text(yaml.safe_dump(architecture_document(chosen.architecture)))
    unordered = json.loads(path.read_text())
    unordered["recommendations"][0]["dilations"] = None
    null = tmp_path / "null.json"
    null.write_text(json.dumps(unordered))
    for saved in (arch, null):
        run = advisor("export", saved, "--output", "-")
        assert run.status == ExitCode.OK, run.stderr
        assert f"outputs 1, {said}; max pooling" in _header_words(run.stdout)
    # An architecture file written with the order as its geometry says it as its geometry.
    document = architecture_document(chosen.architecture)
    document["geometry"] = {"dilations": list(chosen.dilations)}
    arch.write_text(yaml.safe_dump(document))
    run = advisor("export", arch, "--output", "-")
    assert run.status == ExitCode.OK, run.stderr
    assert f"geometry {said}, input" in _header_words(run.stdout)


@pytest.mark.parametrize(
    ("dilations", "refusal"),
    [
        (["1"], "dilations[0]: Input should be a valid integer"),
        ([1, 2], "dilations: has 2 entries, the architecture has"),
        ([1, 2, 4, 16], "dilations: must be a permutation of [1, 2, 4, 8]"),
    ],
)
def test_a_results_dilation_order_is_read_strictly(
    dilations_result: tuple[Path, Any], tmp_path: Path, dilations: list[Any], refusal: str
) -> None:
    """A hand-edited order is refused naming it, not written into the header as the design's."""
    path, _ = dilations_result
    document = json.loads(path.read_text())
    document["recommendations"][0]["dilations"] = dilations
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    line = assert_one_error_line(
        advisor("export", edited, "--output", "-"), ExitCode.INVALID_ARGUMENT
    )
    assert f"architecture.recommendations[0].{refusal}" in line


@pytest.mark.parametrize("command", ["export", "analyze"])
def test_a_results_order_not_its_designs_is_refused_where_it_lies(
    dilations_result: tuple[Path, Any], tmp_path: Path, command: str
) -> None:
    # A valid order of another design was refused as "dilations: ...", with neither the
    # recommendation holding it nor the file, which an order that is no order was told; and
    # analyze --arch and parse_search_result read it without a word.
    path, chosen = dilations_result
    other = list(reversed(chosen.dilations))
    document = json.loads(path.read_text())
    document["recommendations"][0]["dilations"] = other
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    task = tmp_path / "task.yaml"
    task.write_text("input: {shape: [16]}\npreset: long_range\n")
    arguments: dict[str, tuple[str | Path, ...]] = {
        "export": ("export", edited, "--output", "-"),
        "analyze": ("analyze", task, "--arch", edited),
    }
    line = assert_one_error_line(advisor(*arguments[command]), ExitCode.INVALID_ARGUMENT)
    refusal = (
        f"recommendations[0].dilations: {tuple(other)} is not the dilation order of the "
        "architecture's geometry"
    )
    assert line.startswith(f"advisor: error: architecture.{refusal}")
    assert line.endswith(f"(from {edited})")
    with pytest.raises(InvalidRequestError) as raised:
        parse_search_result(document)
    assert str(raised.value).startswith(refusal)


def test_a_results_counts_not_its_designs_are_refused_as_parse_search_result_refuses_them(
    dilations_result: tuple[Path, Any], tmp_path: Path
) -> None:
    # A design edited by hand (a wider M), its parameters left, was exported with a header giving
    # the new count, where parse_search_result refuses the same document.
    path, chosen = dilations_result
    document = json.loads(path.read_text())
    design = document["recommendations"][0]["architecture"]
    design["representation"] += 1
    edited_architecture = parse_architecture(design)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    refusal = (
        f"recommendations[0].parameters: is {chosen.parameters:,}, but its architecture has "
        f"{edited_architecture.parameters:,}: the document was edited"
    )
    line = assert_one_error_line(
        advisor("export", edited, "--output", "-"), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith(f"advisor: error: architecture.{refusal}")
    with pytest.raises(InvalidRequestError) as raised:
        parse_search_result(document)
    assert str(raised.value).startswith(refusal)
    # A result that states no costs (written by hand) is exported with its design's own.
    for name in ("parameters", "multiply_adds", "activations"):
        del document["recommendations"][0][name]
    edited.write_text(json.dumps(document))
    run = advisor("export", edited, "--output", "-")
    assert run.status == ExitCode.OK, run.stderr
    assert f"parameters: {edited_architecture.parameters:,};" in _header_words(run.stdout)


def test_the_client_reads_a_results_design_as_analyze_arch_does(
    dilations_result: tuple[Path, Any], tmp_path: Path
) -> None:
    # The client's analyze said it read a path by the command's own reader, yet took a
    # recommendation whose order is another design's without a word, where the command refused.
    path, chosen = dilations_result
    document = json.loads(path.read_text())
    document["recommendations"][0]["dilations"] = list(reversed(chosen.dilations))
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    task = tmp_path / "task.yaml"
    task.write_text("input: {shape: [16]}\npreset: long_range\n")
    with AdvisorClient("127.0.0.1:9") as client, pytest.raises(InvalidRequestError) as raised:
        client.analyze(task, edited)  # refused as it is read, before any call
    assert [v.field for v in raised.value.violations] == [
        "architecture.recommendations[0].dilations"
    ]


def test_a_dilation_order_not_the_architectures_is_refused(
    dilations_result: tuple[Path, Any],
) -> None:
    _, chosen = dilations_result
    other = tuple(reversed(chosen.dilations))
    with pytest.raises(InvalidRequestError) as raised:
        torch_source(chosen.architecture, dilations=other)
    assert [v.field for v in raised.value.violations] == ["dilations"]
    assert "is not the dilation order of the architecture's geometry" in str(raised.value)
    with pytest.raises(InvalidRequestError, match="dilations"):
        torch_source(chosen.architecture, dilations=(1, 2))


@pytest.mark.parametrize("stated", [True, False], ids=["order stated", "order null"])
def test_a_permutation_ordering_a_windows_members_otherwise_is_the_same_dilated_tree(
    dilations_result: tuple[Path, Any], tmp_path: Path, stated: bool
) -> None:
    # Swapping the two members of a first-level window pools the same windows at every level,
    # the same net; it was refused as "not the dilation order of the architecture's geometry",
    # and with the order null the header left the order out.
    path, chosen = dilations_result
    document = json.loads(path.read_text())
    design = document["recommendations"][0]
    permutation = design["architecture"]["geometry"]["permutation"]
    permutation[0], permutation[1] = permutation[1], permutation[0]
    if not stated:
        design["dilations"] = None
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    run = advisor("export", edited, "--output", "-")
    assert run.status == ExitCode.OK, run.stderr
    assert f"dilations {' '.join(map(str, chosen.dilations))}" in _header_words(run.stdout)
    # Members of two windows exchanged make another tree: refused.
    permutation[1], permutation[2] = permutation[2], permutation[1]
    design["dilations"] = list(chosen.dilations)
    edited.write_text(json.dumps(document))
    line = assert_one_error_line(
        advisor("export", edited, "--output", "-"), ExitCode.INVALID_ARGUMENT
    )
    assert "is not the dilation order of the architecture's geometry" in line


def test_an_architecture_without_outputs_is_warned_of_or_given_them(tmp_path: Path) -> None:
    # A file without outputs was written with a 1-logit head without a word, where analyze
    # --arch gives it the task's outputs (72,310 parameters against 69,421 for a CIFAR net).
    document = architecture_document(CONTIGUOUS)
    del document["outputs"]
    arch = tmp_path / "arch.yaml"
    arch.write_text(yaml.safe_dump(document))
    unstated = parse_architecture(document)
    run = advisor("export", arch, "--output", "-")
    assert run.status == ExitCode.OK, run.stderr
    assert run.stderr.startswith(f"warning: outputs: {arch} states none: the net has 1 output")
    assert f"parameters: {unstated.parameters:,};" in _header_words(run.stdout)
    given = with_task_outputs(unstated, 7)
    run = advisor("export", arch, "--outputs", "7", "--output", "-")
    assert (run.status, run.stderr) == (ExitCode.OK, "")
    assert f"parameters: {given.parameters:,};" in _header_words(run.stdout)
    assert "nn.Linear(4, 7)" in run.stdout
    # A design that states its outputs keeps them, without a word; other outputs are refused.
    stated = tmp_path / "stated.yaml"
    stated.write_text(yaml.safe_dump(architecture_document(CONTIGUOUS)))
    for outputs in ((), ("--outputs", str(CONTIGUOUS.outputs))):
        run = advisor("export", stated, *outputs, "--output", "-")
        assert (run.status, run.stderr) == (ExitCode.OK, ""), outputs
    refused = advisor("export", stated, "--outputs", "3", "--output", "-")
    line = assert_one_error_line(refused, ExitCode.INVALID_ARGUMENT)
    assert line.endswith(
        f"--outputs: {stated} states outputs {CONTIGUOUS.outputs}: leave --outputs out (it gives "
        "outputs to a design that states none), or design for 3 outputs, which changes its "
        "parameters (recommend --outputs 3, or the task's outputs; in an architecture file, its "
        "outputs)"
    )
    one = advisor("export", stated, "--outputs", "1", "--output", "-")
    assert "or design for 1 output, which" in assert_one_error_line(one, ExitCode.INVALID_ARGUMENT)
    line = assert_one_error_line(
        advisor("export", arch, "--outputs", "0", "--output", "-"), ExitCode.INVALID_ARGUMENT
    )
    assert "--outputs: is 0: must be greater than 0" in line


def test_the_command_writes_standard_output_for_a_dash() -> None:
    arch = ROOT / "examples" / "architectures" / "mirror.yaml"
    run = advisor("export", arch, "--output", "-")
    assert run.status == ExitCode.OK, run.stderr
    assert "class Net(nn.Module):" in run.stdout
    assert "# architecture: family mirror, geometry mirror" in run.stdout


@pytest.mark.parametrize(
    ("rank", "refusal"),
    [
        ("3", "--rank: {path} holds the ranks [1, 2]"),
        ("0", "--rank: must be a whole number from 1, a recommendation's rank; got 0"),
    ],
)
def test_a_rank_the_result_lacks_is_refused(
    saved_result: tuple[Path, list[Any]], tmp_path: Path, rank: str, refusal: str
) -> None:
    path, _ = saved_result
    output = tmp_path / "net.py"
    line = assert_one_error_line(
        advisor("export", path, "--rank", rank, "--output", output), ExitCode.INVALID_ARGUMENT
    )
    assert line == f"advisor: error: {refusal.format(path=path)}"
    assert not output.exists()


def test_a_rank_of_an_architecture_file_is_refused(tmp_path: Path) -> None:
    arch = ROOT / "examples" / "architectures" / "mirror.yaml"
    line = assert_one_error_line(
        advisor("export", arch, "--rank", "1", "--output", tmp_path / "net.py"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line == f"advisor: error: --rank: {arch} is an architecture, not a result"


@pytest.mark.parametrize("command", ["export", "analyze"])
@pytest.mark.parametrize("result", [True, False], ids=["result", "architecture"])
def test_a_rank_refused_names_an_undecodable_file_escaped(
    saved_result: tuple[Path, list[Any]], tmp_path: Path, command: str, result: bool
) -> None:
    # A name the file system's encoding does not decode (Latin-1 é under UTF-8) crashed the
    # refusal: "unexpected UnicodeEncodeError ... surrogates not allowed", exit status 1.
    source = saved_result[0] if result else ROOT / "examples" / "architectures" / "mirror.yaml"
    path = tmp_path / os.fsdecode(b"caf\xe9.yaml")
    path.write_bytes(source.read_bytes())
    given = (
        ("export", path, "--output", tmp_path / "net.py")
        if command == "export"
        else ("analyze", ROOT / "examples" / "symmetry.yaml", "--arch", path)
    )
    line = assert_one_error_line(advisor(*given, "--rank", "9"), ExitCode.INVALID_ARGUMENT)
    named = f"{tmp_path}/caf\\xe9.yaml"
    why = "holds the ranks [1, 2]" if result else "is an architecture, not a result"
    assert line == f"advisor: error: --rank: {named} {why}"


def test_an_existing_output_is_replaced_only_with_force(tmp_path: Path) -> None:
    arch = ROOT / "examples" / "architectures" / "mirror.yaml"
    output = tmp_path / "net.py"
    output.write_text("# my edits\n")
    line = assert_one_error_line(
        advisor("export", arch, "--output", output), ExitCode.INVALID_ARGUMENT
    )
    assert line == f"advisor: error: --output: {output} exists: pass --force to replace it"
    assert output.read_text() == "# my edits\n"
    # A missing ARCH is said first: it was said only once --force or a new name was given.
    missing = assert_one_error_line(
        advisor("export", tmp_path / "none.yaml", "--output", output), ExitCode.INVALID_ARGUMENT
    )
    assert "none.yaml': No such file or directory" in missing, missing
    run = advisor("export", arch, "--output", output, "--force")
    assert run.status == ExitCode.OK, run.stderr
    assert "class Net(nn.Module):" in output.read_text()
    # To standard output there is no file to replace: --force was accepted and did nothing.
    idle = assert_one_error_line(
        advisor("export", arch, "--output", "-", "--force"), ExitCode.INVALID_ARGUMENT
    )
    assert idle == "advisor: error: --force: needs --output FILE (standard output replaces no file)"


def test_the_architecture_file_is_never_the_output(tmp_path: Path) -> None:
    arch = tmp_path / "arch.yaml"
    arch.write_text(yaml.safe_dump(architecture_document(CONTIGUOUS)))
    line = assert_one_error_line(
        advisor("export", arch, "--output", arch, "--force"), ExitCode.INVALID_ARGUMENT
    )
    assert line == (
        f"advisor: error: --output: {arch} is the ARCH file {arch}: writing the source would "
        "overwrite it; name another file"
    )
    assert yaml.safe_load(arch.read_text()) == architecture_document(CONTIGUOUS)


def test_the_file_standard_input_reads_is_never_the_output(tmp_path: Path) -> None:
    # `export - --output arch.yaml --force < arch.yaml` replaced the design with its source.
    arch = tmp_path / "arch.yaml"
    arch.write_text(yaml.safe_dump(architecture_document(CONTIGUOUS)))
    with arch.open() as design:
        run = subprocess.run(
            [sys.executable, "-m", "advisor", "export", "-", "--output", str(arch), "--force"],
            stdin=design,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert assert_one_error_line(run, ExitCode.INVALID_ARGUMENT) == (
        f"advisor: error: --output: {arch} is the file standard input reads (ARCH -): writing "
        "the source would overwrite it; name another file"
    )
    assert yaml.safe_load(arch.read_text()) == architecture_document(CONTIGUOUS)


def test_a_bad_pooling_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        torch_source(CONTIGUOUS, "sum")  # type: ignore[arg-type]
    assert raised.value.violations[0].field == "pooling"
    line = assert_one_error_line(
        advisor("export", "arch.yaml", "--pooling", "sum", "--output", "-"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line.startswith("advisor: error: --pooling: invalid value 'sum'")


def test_the_commands_pooling_choices_are_the_exports() -> None:
    assert get_args(PoolingKind) == POOLING_KINDS


def test_help_lists_the_command() -> None:
    run = advisor("--help")
    assert run.status == ExitCode.OK
    assert "export    write a recommendation as standalone PyTorch source" in run.stdout


# What the generated file computes, run in a process of its own where `import advisor` fails:
# one process for every case (torch takes seconds to import on a loaded machine).
_RUNNER = textwrap.dedent(
    """
    import importlib.util, json, sys
    from pathlib import Path

    sys.modules["advisor"] = None  # the file must not need the advisor
    import torch

    def refusal(call, *args):  # what call(*args) raises: its type and message
        try:
            call(*args)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    report = {}
    for folder in sorted(Path(sys.argv[1]).iterdir()):
        spec = importlib.util.spec_from_file_location(f"net_{folder.name}", folder / "net.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        torch.manual_seed(1)
        own = module.build()
        torch.save(own.state_dict(), folder / "own_state.pt")
        net = module.Net()
        net.load_state_dict(torch.load(folder / "state.pt"))
        batch = torch.load(folder / "batch.pt")
        with torch.no_grad():
            scores = net(batch)
        torch.save(scores, folder / "scores.pt")
        edited = {}  # the state's gathers assigned, or copied in place, after a load of the rest
        state = torch.load(folder / "state.pt")
        for edit in ("assigned", "copied"):
            other = module.Net()
            other.load_state_dict({**state, **dict(other.named_buffers())})
            other(batch)
            for name, _ in list(other.named_buffers()):
                if edit == "assigned":
                    setattr(other, name, state[name].clone())
                else:
                    other.get_buffer(name).copy_(state[name])
            with torch.no_grad():
                edited[edit] = torch.equal(other(batch), scores)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            autocast = refusal(net, batch.double())
        zeros = {}  # each gather of zeros, assigned and loaded: no permutation of its grid
        for name, buffer in module.Net().named_buffers():
            zero = torch.zeros_like(buffer)
            zeros[name] = [
                refusal(setattr, module.Net(), name, zero),
                refusal(module.Net().load_state_dict, {**state, name: zero}),
            ]
        report[folder.name] = {
            "parameters": sum(p.numel() for p in own.parameters()),
            "refusal": refusal(net, torch.zeros((1, 1))),
            "autocast": autocast,
            "script": refusal(torch.jit.script, net),
            "edited": edited,
            "zeros": zeros,
        }
    print(json.dumps(report))
    """
)


def _exported_cases() -> dict[str, tuple[Architecture, Architecture, PoolingKind]]:
    """Per case: the source's architecture, the state's (another geometry's) and the pooling.

    A contiguous source's identity gathers are skipped until a state that gathers loads.
    """
    cases = {name: (arch, arch, pooling) for name, (arch, pooling) in {**CASES, **MIXTURES}.items()}
    cases["contiguous source, permuted state"] = (CONTIGUOUS, PERMUTED, "max")
    cases["mixture: contiguous source, mirror state"] = (
        IMAGE_MIXTURE,
        _image_mixture("mirror", "contiguous"),
        "max",
    )
    return cases


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Run every case's file on the torch module's weights and batch; return the folder, report."""
    torch = pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("exported")
    for index, (source_arch, state_arch, pooling) in enumerate(_exported_cases().values()):
        folder = root / f"{index}"
        folder.mkdir()
        (folder / "net.py").write_text(torch_source(source_arch, pooling), encoding="utf-8")
        torch.manual_seed(index)
        module = torch_module(state_arch, pooling)
        with torch.no_grad():  # at PyTorch's initial scale these small nets barely see a gather
            for parameter in module.parameters():
                parameter.normal_()
        spec = state_arch.input
        torch.save(module.state_dict(), folder / "state.pt")
        torch.save(torch.randn((4, spec.channels, *spec.shape)), folder / "batch.pt")
    run = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return root, json.loads(run.stdout)


@pytest.mark.torch
@pytest.mark.parametrize(("index", "case"), list(enumerate(_exported_cases())))
def test_the_file_computes_what_the_torch_module_computes(
    exported: tuple[Path, dict[str, Any]], index: int, case: str
) -> None:
    torch = pytest.importorskip("torch")
    source_arch, state_arch, pooling = _exported_cases()[case]
    root, report = exported
    folder = root / f"{index}"
    module = torch_module(state_arch, pooling)
    module.load_state_dict(torch.load(folder / "state.pt"))
    with torch.no_grad():
        expected = module(torch.load(folder / "batch.pt"))
    torch.testing.assert_close(torch.load(folder / "scores.pt"), expected)
    assert report[f"{index}"]["parameters"] == source_arch.parameters
    # A gather assigned or copied in place by hand was held, yet skipped as the identity.
    assert report[f"{index}"]["edited"] == {"assigned": True, "copied": True}
    assert report[f"{index}"]["refusal"] == _refusal(ValueError, module, torch.zeros((1, 1)))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # which casts no float64
        autocast = _refusal(TypeError, module, torch.load(folder / "batch.pt").double())
    assert report[f"{index}"]["autocast"] == autocast
    # TorchScript failed deep in the file ("Unknown type annotation: 'torch.Tensor'").
    with warnings.catch_warnings():  # torch 2.13 deprecates torch.jit.script itself
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        script = _refusal(NotImplementedError, torch.jit.script, module)
    assert report[f"{index}"]["script"] == script.replace(f" {type(module).__name__} ", " Net ")
    # A gather of zeros loaded and ran every location as the first: both refuse it alike.
    zeros = {}
    for name, buffer in module.named_buffers():
        zero = torch.zeros_like(buffer)
        state = torch.load(folder / "state.pt")
        zeros[name] = [
            _refusal_or_none(setattr, torch_module(source_arch, pooling), name, zero),
            _refusal_or_none(
                torch_module(source_arch, pooling).load_state_dict, {**state, name: zero}
            ),
        ]
    assert report[f"{index}"]["zeros"] == zeros
    assert any(refused for refused, _ in zeros.values())


def _refusal_or_none(call: Callable[..., object], *args: object) -> str | None:
    """Return what ``call(*args)`` raises, as the runner reports it; None if nothing."""
    try:
        call(*args)
    except Exception as error:  # any refusal: compared with the file's
        return f"{type(error).__name__}: {error}"
    return None


def _refusal(kind: type[Exception], call: Callable[..., object], *args: object) -> str:
    """Return the refusal ``call(*args)`` raises, a ``kind``, as the runner reports it."""
    with pytest.raises(kind) as refused:
        call(*args)
    return f"{kind.__name__}: {refused.value}"


@pytest.mark.torch
@pytest.mark.parametrize(("index", "case"), list(enumerate({**CASES, **MIXTURES})))
def test_the_files_weights_load_into_the_torch_module(
    exported: tuple[Path, dict[str, Any]], index: int, case: str
) -> None:
    torch = pytest.importorskip("torch")
    architecture, pooling = {**CASES, **MIXTURES}[case]
    own = torch.load(exported[0] / f"{index}" / "own_state.pt")
    module = torch_module(architecture, pooling)
    expected = module.state_dict()
    assert {k: v.shape for k, v in own.items()} == {k: v.shape for k, v in expected.items()}
    module.load_state_dict(own)
    torch.testing.assert_close(module.state_dict(), own)
