"""Export: the architecture file round-trips, and the PyTorch module is the architecture."""

from __future__ import annotations

import json
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml

from advisor.errors import InvalidRequestError
from advisor.export.document import (
    architecture_yaml,
    recommendation_document,
    search_result_document,
    torch_module,
)
from advisor.export.margins import input_pads
from advisor.geometry.layouts import input_permutation, pooling_structure
from advisor.model.architecture import (
    Architecture,
    DilationGeometry,
    Layer,
    PermutationGeometry,
    load_architecture,
    parse_architecture,
)
from advisor.model.budget import Budget
from advisor.model.grid import InputSpec
from advisor.model.task import parse_task
from advisor.search.recommend import recommend

TASK = parse_task(
    {
        "input": {"shape": [8, 8]},
        "correlations": [
            {"name": "lr", "a": {"preset": "left_half"}, "b": {"preset": "right_half"}}
        ],
    }
)


@pytest.fixture(scope="module")
def recommendation_architectures() -> list[Architecture]:
    result = recommend(TASK, Budget(max_parameters=5_000, top_k=4, time_limit_seconds=None))
    return [r.architecture for r in result.recommendations]


def test_the_architecture_file_reads_back_to_the_same_architecture(
    recommendation_architectures: list[Architecture],
) -> None:
    for architecture in recommendation_architectures:
        document = yaml.safe_load(architecture_yaml(architecture))
        assert parse_architecture(document) == architecture
        assert isinstance(document["geometry"]["permutation"], list)


def test_the_architecture_file_writes_lists_of_numbers_inline(
    recommendation_architectures: list[Architecture],
) -> None:
    """As FORMATS.md writes the file: block style took a line per number (64 for this grid)."""
    text = architecture_yaml(recommendation_architectures[0])
    assert "  shape: [8, 8]\n" in text
    assert "pool: [" in text
    assert len(text.splitlines()) < 30


def test_the_recommendation_document_is_json_ready() -> None:
    result = recommend(TASK, Budget(max_parameters=5_000, top_k=1, time_limit_seconds=None))
    document = recommendation_document(result.recommendations[0])
    assert set(document) == {
        "rank",
        "score",
        "parameters",
        "multiply_adds",
        "activations",
        "dilations",
        "architecture",
        "analysis",
        "summary",
        "rationale",
        "efficiency",
    }
    assert json.loads(json.dumps(document))["analysis"][0]["name"] == "lr"
    assert document["efficiency"]["log2_shallow_channels"] >= 0.0


def test_a_result_the_command_saved_loads_for_the_export_by_rank(tmp_path: Path) -> None:
    """``advisor recommend --format yaml > result.yaml``, then ``load_architecture`` of it.

    ``advisor analyze --arch`` read a saved result; the library refused it with eight violations
    (``recommendations: Extra inputs are not permitted``, ``input: Field required``, ...).
    """
    result = recommend(TASK, Budget(max_parameters=5_000, top_k=2, time_limit_seconds=None))
    first, second = (r.architecture for r in result.recommendations)
    document = {"recommendations": [recommendation_document(r) for r in result.recommendations]}
    path = tmp_path / "result.yaml"
    path.write_text(yaml.safe_dump(document))
    assert load_architecture(path) == first
    assert load_architecture(path, rank=2) == second
    with pytest.raises(InvalidRequestError) as raised:
        load_architecture(path, rank=3)
    assert [v.field for v in raised.value.violations] == ["rank"]
    document["recommendations"][1]["architecture"]["representation"] = 0
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(InvalidRequestError) as raised:
        load_architecture(path, rank=2)
    fields = [v.field for v in raised.value.violations]
    assert fields == ["recommendations[1].architecture.representation"]
    architecture = tmp_path / "architecture.yaml"
    architecture.write_text(architecture_yaml(first))
    assert load_architecture(architecture) == first
    with pytest.raises(InvalidRequestError) as raised:
        load_architecture(architecture, rank=1)
    assert [v.field for v in raised.value.violations] == ["rank"]


@pytest.mark.parametrize("rank", [True, 1.5, "2", 0])
def test_a_rank_that_is_no_whole_number_from_1_is_refused(tmp_path: Path, rank: object) -> None:
    # True was taken for rank 1 (`rank in ranks`), as the client and the command line never
    # take it; a whole float is the rank it equals, as a budget's counts read it.
    result = recommend(TASK, Budget(max_parameters=5_000, top_k=2, time_limit_seconds=None))
    path = tmp_path / "result.json"
    path.write_text(json.dumps(search_result_document(result)))
    with pytest.raises(InvalidRequestError) as raised:
        load_architecture(path, rank=rank)  # type: ignore[arg-type]
    assert [(v.field, v.description.split(";")[0]) for v in raised.value.violations] == [
        ("rank", "must be a whole number from 1, a recommendation's rank")
    ]
    for second in (np.int64(2), 2.0):
        assert load_architecture(path, rank=second) == result.recommendations[1].architecture  # type: ignore[arg-type]


@pytest.mark.parametrize("geometries", [None, ["mixture"]], ids=["trees", "mixtures"])
def test_a_result_s_document_is_the_json_it_writes(geometries: list[str] | None) -> None:
    # A mixture's members came back a tuple (dataclasses.asdict) where --format json writes a
    # list: a pipeline comparing a cached document with a fresh one saw a change.
    budget = Budget(max_parameters=20_000, top_k=3, geometries=geometries)
    document = search_result_document(recommend(TASK, budget))
    assert json.loads(json.dumps(document)) == document
    members = [c["members"] for r in document["recommendations"] for c in r["analysis"]]
    assert all(isinstance(m, list) for m in members if m is not None)
    if geometries:
        assert any(members), "a mixture's figures hold its members"


def _padded_sequence(mixed: bool) -> Architecture:
    """A tiny padded 2-channel sequence net, or the mixture of it with its mirror pooling."""
    document: dict[str, object] = {
        "input": {"shape": [7], "channels": 2},
        "representation": 2,
        "padding": [[0, 1]],
        "layers": [{"channels": 2, "pool": [2]}, {"channels": 2, "pool": [4]}],
    }
    if mixed:
        document["mixture"] = {"members": [{"geometry": "mirror", "channels": [2, 2]}]}
    return parse_architecture(document)


def _architectures() -> list[Architecture]:
    image, sequence = InputSpec(shape=(8, 8), channels=3), InputSpec(shape=(16,), channels=2)
    volume = InputSpec(shape=(4, 6, 6), channels=2)
    rng = np.random.default_rng(0)
    return [
        Architecture(
            input=volume,
            representation=4,
            layers=[Layer(channels=3, pool=(2, 3, 3)), Layer(channels=5, pool=(2, 2, 2))],
            geometry=PermutationGeometry(permutation=tuple(int(p) for p in rng.permutation(144))),
            outputs=3,
            representation_kernel=3,
        ),
        Architecture(
            input=InputSpec(shape=(2, 7, 7)),
            representation=4,
            layers=[Layer(channels=3, pool=(2, 2, 2)), Layer(channels=2, pool=(1, 4, 4))],
            geometry="mirror",
            padding=((0, 0), (0, 1), (1, 0)),
        ),
        Architecture(  # a mirror level keeping an axis in order: 1x2, then 3x1 on the fold
            input=InputSpec(shape=(3, 8)),
            representation=4,
            layers=[
                Layer(channels=3, pool=(1, 2)),
                Layer(channels=3, pool=(3, 1)),
                Layer(channels=2, pool=(1, 4)),
            ],
            geometry="mirror",
        ),
        Architecture(
            input=InputSpec(shape=(13,)),
            representation=4,
            layers=[Layer(channels=3, pool=(2,))] * 4,
            geometry="interleaved",
            padding=((1, 2),),
        ),
        Architecture(
            input=image,
            representation=6,
            layers=[Layer(channels=5, pool=(2, 2)), Layer(channels=4, pool=(4, 4))],
            geometry=PermutationGeometry(permutation=tuple(int(p) for p in rng.permutation(64))),
            outputs=10,
            representation_kernel=3,
        ),
        Architecture(
            input=image,
            representation=4,
            layers=[Layer(channels=3, pool=(2, 2))] * 3,
            geometry="mirror",
            representation_kernel=2,
        ),
        Architecture(
            input=sequence,
            representation=4,
            layers=[Layer(channels=3, pool=(2,))] * 4,
            geometry="interleaved",
            outputs=2,
        ),
        Architecture(
            input=image,
            representation=4,
            layers=[Layer(channels=3, pool=(4, 4), stride=(2, 2)), Layer(channels=2, pool=(3, 3))],
        ),
        _padded_sequence(mixed=True),
        Architecture(  # a dilated conv stack: each level merges the steps one bit apart
            input=sequence,
            representation=4,
            layers=[Layer(channels=c, pool=(2,)) for c in (3, 2, 4, 2)],
            geometry=DilationGeometry(dilations=(8, 2, 1, 4)),
            outputs=2,
        ),
    ]


@pytest.mark.torch
@pytest.mark.parametrize("architecture", _architectures())
def test_the_torch_module_has_the_architectures_parameters_and_output(
    architecture: Architecture,
) -> None:
    torch = pytest.importorskip("torch")
    module = torch_module(architecture)
    assert sum(p.numel() for p in module.parameters()) == architecture.parameters
    batch = torch.zeros((2, architecture.input.channels, *architecture.input.shape))
    assert module(batch).shape == (2, architecture.outputs)
    if architecture.input.ndim == 3:
        assert any(isinstance(m, torch.nn.Conv3d) for m in module.modules())
        assert any(isinstance(m, torch.nn.MaxPool3d) for m in module.modules())


@pytest.mark.torch
@pytest.mark.parametrize("architecture", _architectures())
def test_the_torch_module_costs_the_architectures_multiply_adds(architecture: Architecture) -> None:
    """Every conv at every location it runs on, and the output layer, as FORMATS.md §3 counts."""
    torch = pytest.importorskip("torch")
    from torch import Tensor, nn

    module = torch_module(architecture)
    counted = []

    def count(
        layer: nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d, _: object, output: Tensor
    ) -> None:
        weights = layer.weight[0].numel()  # one output channel's multiply-adds per location
        counted.append(output[0].numel() * weights)

    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear | torch.nn.Conv1d | torch.nn.Conv2d | torch.nn.Conv3d):
            layer.register_forward_hook(count)
    module(torch.zeros((1, architecture.input.channels, *architecture.input.shape)))
    assert sum(counted) == architecture.multiply_adds


@pytest.mark.torch
@pytest.mark.parametrize("architecture", _architectures())
def test_the_torch_module_holds_the_architectures_activations(architecture: Architecture) -> None:
    """Every conv's, pool's and the output layer's output, as compute.activations counts."""
    torch = pytest.importorskip("torch")
    from torch import Tensor, nn

    module = torch_module(architecture)
    counted = []

    def count(_: nn.Module, __: object, output: Tensor) -> None:
        counted.append(output[0].numel())

    layers = tuple(
        getattr(nn, f"{kind}{ndim}d") for kind in ("Conv", "MaxPool") for ndim in (1, 2, 3)
    )
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, *layers)):
            layer.register_forward_hook(count)
    module(torch.zeros((1, architecture.input.channels, *architecture.input.shape)))
    assert sum(counted) == architecture.activations


@pytest.mark.torch
@pytest.mark.parametrize("architecture", [a for a in _architectures() if a.padding is not None])
def test_the_padded_margin_is_one_constant_input(architecture: Architecture) -> None:
    """The analysis models the padding as a constant input; the module must feed exactly that."""
    torch = pytest.importorskip("torch")
    from advisor.export.torch_mixture import MixtureNet
    from advisor.export.torch_net import ConvNet

    module = torch_module(architecture)
    assert isinstance(module, ConvNet | MixtureNet)
    spec = architecture.input
    features = module.representation(torch.randn((3, spec.channels, *spec.shape)))
    assert tuple(features.shape[2:]) == architecture.grid
    assert architecture.padding is not None
    inner = np.zeros(architecture.grid, dtype=bool)
    margins = zip(spec.shape, architecture.padding, strict=True)
    inner[tuple(slice(b, b + n) for n, (b, _) in margins)] = True
    margin = features.flatten(2)[:, :, torch.as_tensor(~inner.reshape(-1))]
    assert torch.equal(margin, margin[:1, :, :1].expand_as(margin))


@pytest.mark.torch
@pytest.mark.parametrize("architecture", _architectures())
def test_a_net_that_pads_nothing_has_no_pad_layer_and_the_same_keys(
    architecture: Architecture,
) -> None:
    """The representation's first layer pads only where a margin is not 0; the conv stays [1]."""
    pytest.importorskip("torch")
    from torch import nn

    module = torch_module(architecture)
    representation = module.representation
    assert isinstance(representation, nn.Sequential)
    padding, conv = representation[0], representation[1]
    padded = any(input_pads(architecture))
    assert isinstance(padding, nn.Identity) is not padded
    assert isinstance(conv, nn.Conv1d | nn.Conv2d | nn.Conv3d)
    keys = {key for key in module.state_dict() if key.startswith("representation.")}
    assert keys == {"representation.1.weight", "representation.1.bias"}


@pytest.mark.torch
@pytest.mark.parametrize("architecture", _architectures()[3:6])
def test_the_gather_realises_the_permutation(architecture: Architecture) -> None:
    torch = pytest.importorskip("torch")
    from advisor.export.torch_net import ConvNet

    module = torch_module(architecture, pooling="avg")
    assert isinstance(module, ConvNet)
    shape = architecture.grid
    locations = torch.arange(math.prod(shape), dtype=torch.float32).reshape(1, 1, *shape)
    permuted = module.permute(locations).reshape(-1).long().numpy()
    np.testing.assert_array_equal(permuted, input_permutation(architecture))
    # The first pooling windows of the permuted grid are the tree's level-0 windows.
    pool = architecture.layers[0].pool
    grid = permuted.reshape(shape)
    if len(shape) == 1:
        windows = grid.reshape(-1, pool[0])
    else:
        h, w = shape
        blocks = grid.reshape(h // pool[0], pool[0], w // pool[1], pool[1]).transpose(0, 2, 1, 3)
        windows = blocks.reshape(-1, pool[0] * pool[1])
    expected = pooling_structure(architecture).windows[0]
    assert sorted(map(sorted, windows.tolist())) == sorted(map(sorted, expected.tolist()))


@pytest.fixture(scope="module")
def padded_trees() -> list[Architecture]:
    """The mirror, interleaved and synthesized picks for a 2-channel 15x15 input (padded to 16)."""
    task = parse_task({"input": {"shape": [15, 15], "channels": 2}, "preset": "symmetry"})
    return [
        recommend(
            task,
            Budget(max_parameters=20_000, top_k=1, time_limit_seconds=None, geometries=(family,)),
        )
        .recommendations[0]
        .architecture
        for family in ("mirror", "interleaved", "synthesized")
    ]


@pytest.mark.torch
def test_one_first_level_window_of_the_input_reaches_only_its_pooled_unit(
    padded_trees: list[Architecture],
) -> None:
    """Input at one level-0 window's locations moves the first pooled unit of that window alone.

    All weights are made positive, so a positive input moves every unit it reaches: a gather
    that pooled other locations together would move several units, or another one.
    """
    torch = pytest.importorskip("torch")
    from torch import Tensor

    from advisor.export.torch_net import ConvNet

    for architecture in padded_trees:
        assert architecture.padding is not None
        module = torch_module(architecture, pooling="avg")
        assert isinstance(module, ConvNet)
        with torch.no_grad():
            for parameter in module.parameters():
                parameter.abs_()
        spec = architecture.input
        zeros = torch.zeros((1, spec.channels, *spec.shape))

        def first_pooled(inputs: Tensor, net: ConvNet = module) -> Tensor:
            pooled: Tensor = net.hidden[:3](net.permute(net.representation(inputs)))
            return pooled.flatten(2)[0]

        base = first_pooled(zeros)
        windows = pooling_structure(architecture).windows[0]
        reached = 0
        for unit, window in enumerate(windows):
            coordinates = np.array(np.unravel_index(window, architecture.grid)).T
            coordinates -= [before for before, _ in architecture.padding]
            inside = [c for c in coordinates if all(c >= 0) and all(c < spec.shape)]
            if not inside:
                continue  # a window of margin locations only
            inputs = zeros.clone()
            for location in inside:
                inputs[(0, slice(None), *location)] = 1.0
            changed = (first_pooled(inputs) != base).any(dim=0).nonzero().flatten()
            assert changed.tolist() == [unit], architecture.family
            reached += 1
        assert reached >= len(windows) // 2


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
def test_an_input_of_another_shape_is_refused_naming_the_shape_expected(mixed: bool) -> None:
    """A batch padded by hand, or without its batch axis, is refused before the gather."""
    torch = pytest.importorskip("torch")
    module = torch_module(_padded_sequence(mixed))
    assert module(torch.zeros((3, 2, 7))).shape == (3, 1)
    for shape in [(3, 2, 8), (2, 7), (3, 1, 7), (3, 2, 7, 1)]:
        with pytest.raises(ValueError, match=r"inputs: expected \(batch, 2, 7\)"):
            module(torch.zeros(shape))
    # A numpy batch failed on "'numpy.ndarray' object has no attribute 'dim'".
    with pytest.raises(TypeError, match=r"inputs: expected a torch.Tensor .*\(batch, 2, 7\)"):
        module(np.zeros((3, 2, 7), dtype=np.float32))


@pytest.mark.torch
@pytest.mark.parametrize(
    ("padding", "kernel", "top", "pads"),
    [([[1, 1]], 1, 4, True), (None, 3, 3, True), (None, 1, 3, False), ([[0, 0]], 1, 3, False)],
)
def test_the_shape_refusal_speaks_of_padding_only_when_the_module_adds_some(
    padding: list[list[int]] | None, kernel: int, top: int, pads: bool
) -> None:
    """The module pads by ``padding`` and by a conv wider than 1 ('same'); else not at all."""
    torch = pytest.importorskip("torch")
    module = torch_module(
        parse_architecture(
            {
                "input": {"shape": [6], "channels": 2},
                "representation": 2,
                "representation_kernel": kernel,
                "padding": padding,
                "layers": [
                    {"channels": 2, "pool": [2]},
                    {"channels": 2, "pool": [top]},
                ],
            }
        )
    )
    with pytest.raises(ValueError, match=r"inputs: expected \(batch, 2, 6\)") as refused:
        module(torch.zeros((3, 2, 8)))
    unpadded = "(batch, channels, *input.shape) without the padding the module adds; got"
    assert (unpadded in str(refused.value)) == pads


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
# torch 2.13 deprecates torch.jit.trace itself; the TracerWarnings the input check raised are
# what must not come back (tests turn warnings into errors, as a user's -W error would).
@pytest.mark.filterwarnings("ignore:`torch.jit.trace.*` is deprecated:DeprecationWarning")
def test_the_torch_module_traces_without_warnings_for_any_batch(mixed: bool) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch_module(_padded_sequence(mixed)).eval()
    traced = torch.jit.trace(module, torch.randn((2, 2, 7)))
    batch = torch.randn((5, 2, 7))
    torch.testing.assert_close(traced(batch), module(batch))


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
def test_the_torch_module_compiles_whole_for_any_batch(mixed: bool) -> None:
    """``torch.compile`` captures one graph (``fullgraph``) that serves every batch size.

    The ``eager`` backend runs the captured graph as it is: what the module decides is the
    capture (Dynamo), not the code generation behind it, which is torch's own. Compiled without
    ``fullgraph``, a batch of another shape is still refused in the input check's words; with
    it, Dynamo wraps the check's error in its own ``Unsupported: Observed exception``, quoting it
    (README, "Compiling").
    """
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch_module(_padded_sequence(mixed))
    compiled = torch.compile(module, fullgraph=True, dynamic=True, backend="eager")
    for size in (1, 3, 6):
        batch = torch.randn((size, 2, 7))
        torch.testing.assert_close(compiled(batch), module(batch))
    with pytest.raises(torch._dynamo.exc.Unsupported, match=r"inputs: expected \(batch, 2, 7\)"):
        compiled(torch.randn((3, 2, 8)))
    with pytest.raises(ValueError, match=r"inputs: expected \(batch, 2, 7\)"):
        torch.compile(module, backend="eager")(torch.randn((3, 2, 8)))


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torch_jit_script_is_refused_naming_the_compilers_that_work(mixed: bool) -> None:
    """It failed on "Unknown type annotation: 'torch.Tensor'", deep in TorchScript."""
    torch = pytest.importorskip("torch")
    module = torch_module(_padded_sequence(mixed))
    name = "MixtureNet" if mixed else "ConvNet"
    with pytest.raises(NotImplementedError, match=rf"torch.jit.script: {name} .*torch.compile"):
        torch.jit.script(module)


def test_a_missing_torch_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "advisor.export.torch_net", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"optional 'torch' extra") as raised:
        torch_module(_architectures()[0])
    # The extra's pin installs the CUDA build from PyPI: the CPU wheel of the pinned version is
    # named first, as the README's set-up says.
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    [pin] = pyproject["project"]["optional-dependencies"]["torch"]
    message = str(raised.value)
    cpu = message.index(f"pip install {pin} --index-url https://download.pytorch.org/whl/cpu")
    assert cpu < message.index('[torch]"')


def test_a_pooling_the_export_has_not_is_refused_naming_it() -> None:
    architecture = parse_architecture(
        {"input": {"shape": [4]}, "representation": 2, "layers": [{"channels": 2, "pool": [4]}]}
    )
    with pytest.raises(InvalidRequestError) as raised:
        torch_module(architecture, pooling="sum")  # type: ignore[arg-type]
    assert [v.field for v in raised.value.violations] == ["pooling"]


def test_what_is_no_architecture_is_refused_saying_what_to_pass() -> None:
    # A recommendation, or a document as read from a file, failed deep in the module's build
    # ("'Recommendation' object has no attribute 'mixture'").
    task = parse_task({"input": {"shape": [8]}, "preset": "symmetry"})
    best = recommend(task, Budget(max_parameters=2_000, top_k=1)).recommendations[0]
    document = {
        "input": {"shape": [4]},
        "representation": 2,
        "layers": [{"channels": 2, "pool": [4]}],
    }
    for given, hint in [(best, "pass its .architecture"), (document, "parse_architecture")]:
        with pytest.raises(InvalidRequestError) as raised:
            torch_module(given)  # type: ignore[arg-type]
        [violation] = raised.value.violations
        assert violation.field == "architecture"
        assert hint in violation.description


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
def test_the_torch_module_traces_symbolically_for_torch_fx(mixed: bool) -> None:
    """FX (torchvision's feature extractors, FX quantization) traces with shapeless Proxies."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch_module(_padded_sequence(mixed))
    graph = torch.fx.symbolic_trace(module)
    batch = torch.randn((3, 2, 7))
    torch.testing.assert_close(graph(batch), module(batch))


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
def test_the_torch_module_exports_moves_and_round_trips_as_the_readme_says(mixed: bool) -> None:
    """README "The PyTorch export": seeded builds, state_dict, .double(), torch.export."""
    torch = pytest.importorskip("torch")
    architecture = _padded_sequence(mixed)
    torch.manual_seed(1)
    batch = torch.randn((3, 2, 7))
    torch.manual_seed(0)
    module = torch_module(architecture)
    torch.manual_seed(0)
    torch.testing.assert_close(torch_module(architecture)(batch), module(batch), rtol=0, atol=0)
    other = torch_module(architecture)  # other weights, loaded below
    other.load_state_dict(module.state_dict())
    torch.testing.assert_close(other(batch), module(batch), rtol=0, atol=0)
    torch.testing.assert_close(
        other.double()(batch.double()), module(batch).double(), rtol=1e-5, atol=1e-6
    )
    exported = torch.export.export(
        module, (batch,), dynamic_shapes=({0: torch.export.Dim("batch")},)
    ).module()
    for size in (1, 5):
        inputs = torch.randn((size, 2, 7))
        torch.testing.assert_close(exported(inputs), module(inputs))


def _contiguous_and_mirror(mixed: bool) -> tuple[Architecture, Architecture]:
    """A tiny contiguous sequence net (or a mixture whose member 0 is) and its mirror twin."""
    contiguous = _padded_sequence(mixed)
    return contiguous, contiguous.model_copy(update={"geometry": "mirror"})


def _gathered_buffers(module: object) -> set[str]:
    """The buffers ``module``'s forward indexes by, as ``torch.fx`` records them."""
    torch = pytest.importorskip("torch")
    graph = torch.fx.symbolic_trace(module).graph
    return {str(node.target) for node in graph.nodes if node.op == "get_attr"}


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
def test_an_identity_gather_is_skipped_and_the_state_dict_keeps_its_keys(mixed: bool) -> None:
    """A contiguous pick copied its whole feature map through an identity gather every forward.

    Skipping it changes no output bit, and every buffer stays in the ``state_dict`` (an older
    export's loads, and the other way round); which gathers are skipped follows what loads.
    """
    torch = pytest.importorskip("torch")
    from advisor.export.torch_net import ConvNet, GatherNet

    contiguous, mirror = _contiguous_and_mirror(mixed)
    torch.manual_seed(0)
    module = torch_module(contiguous)
    assert isinstance(module, GatherNet)
    geometry = "gather_0" if mixed else "permutation"
    skipped = {geometry, "to_canonical_0_0", "from_canonical_0_0"} if mixed else {geometry}
    assert skipped <= module.identities  # the root's alignments are of one node
    assert not skipped & _gathered_buffers(module)
    buffers = {name for name, _ in module.named_buffers()}
    assert set(module.state_dict()) == buffers | {n for n, _ in module.named_parameters()}
    assert ("permutation" in buffers) != mixed
    batch = torch.randn((3, 2, 7))
    if isinstance(module, ConvNet):  # the gather it skips, written out: the same bits
        features = module.representation(batch)
        gathered = features.flatten(2)[:, :, module.permutation].reshape(features.shape)
        expected = module.output(module.hidden(gathered).flatten(1))
        torch.testing.assert_close(module(batch), expected, rtol=0, atol=0)
    torch.manual_seed(1)
    other = torch_module(mirror)
    assert isinstance(other, GatherNet)
    assert geometry not in other.identities
    for source, target in [(other, module), (module, other)]:
        target.load_state_dict(source.state_dict())
        torch.testing.assert_close(target(batch), source(batch), rtol=0, atol=0)
        assert target.identities == source.identities
    with torch.device("meta"):  # no values to compare: gathered until weights are assigned
        empty = torch_module(contiguous)
    assert isinstance(empty, GatherNet)
    assert not empty.identities
    empty.load_state_dict(module.state_dict(), assign=True)
    assert empty.identities == module.identities


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("edit", ["assigned", "copied"])
def test_a_gather_buffer_edited_by_hand_is_the_one_the_module_uses(mixed: bool, edit: str) -> None:
    """Only a load found the identities again: a contiguous module given a mirror's gathers by
    assignment or ``copy_`` held them, yet skipped them as identities (a silently wrong net)."""
    torch = pytest.importorskip("torch")
    contiguous, mirror = _contiguous_and_mirror(mixed)
    torch.manual_seed(0)
    reference = torch_module(mirror)
    with torch.no_grad():  # biases of 1: fewer ReLUs hide which locations pool together
        for name, parameter in reference.named_parameters():
            if name.endswith("weight"):
                parameter.normal_()
            else:
                parameter.fill_(1.0)
    module = torch_module(contiguous)
    module.load_state_dict({**reference.state_dict(), **dict(module.named_buffers())})
    batch = torch.randn((8, 2, 7))
    assert not torch.equal(module(batch), reference(batch))  # its own gathers: another net
    geometry = "gather_0" if mixed else "permutation"
    assert geometry not in _gathered_buffers(module)
    for name, gather in reference.named_buffers():
        if edit == "assigned":
            setattr(module, name, gather.clone())
        else:
            module.get_buffer(name).copy_(gather)
    assert geometry in _gathered_buffers(module)
    torch.testing.assert_close(module(batch), reference(batch), rtol=0, atol=0)


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
def test_a_gather_buffer_that_is_no_permutation_of_its_grid_is_refused(mixed: bool) -> None:
    """A checkpoint whose gather was all zeros loaded and ran every location as the first, an
    identity of another length (``arange(10)`` on 7 locations) skipped the gather, and a short
    gather failed at the next call in torch's words, naming no buffer."""
    torch = pytest.importorskip("torch")
    _, mirror = _contiguous_and_mirror(mixed)
    module = torch_module(mirror)
    name = "gather_0" if mixed else "permutation"
    size = len(module.get_buffer(name))
    state = module.state_dict()
    zeros = torch.zeros(size, dtype=torch.int64)
    repeated = f"{name}: is no permutation of 0..{size - 1}: location 1 is missing"
    with pytest.raises(ValueError, match=f"^{repeated}"):
        torch_module(mirror).load_state_dict({**state, name: zeros})
    refusals = [
        (torch.arange(10), f"{name}: holds shape (10,), not the {size} locations of its grid"),
        (torch.arange(size, dtype=torch.uint8), f"{name}: holds torch.uint8, not location ids"),
        (torch.arange(size) + 1, f"{name}: holds {size}, outside the locations 0..{size - 1}"),
        (zeros, repeated),
    ]
    for gather, refusal in refusals:
        fresh = torch_module(mirror)
        with pytest.raises(ValueError) as refused:
            setattr(fresh, name, gather)
        assert str(refused.value).startswith(refusal), refused.value
        assert torch.equal(fresh.get_buffer(name), state[name])  # left as it was
    copied = torch_module(mirror)
    copied.get_buffer(name).copy_(zeros)  # in place: seen at the next call
    with pytest.raises(ValueError, match=f"^{repeated}"):
        copied(torch.randn((1, 2, 7)))
    # Another permutation of the grid is taken, as the tests above take a mirror's.
    reversed_ = torch_module(mirror)
    setattr(reversed_, name, torch.arange(size - 1, -1, -1))
    assert reversed_(torch.randn((1, 2, 7))).shape == (1, mirror.outputs)


@pytest.mark.torch
@pytest.mark.parametrize("mixed", [False, True])
def test_a_batch_of_another_dtype_is_refused_naming_both_dtypes(mixed: bool) -> None:
    """It failed in torch's words: "Input type (double) and bias type (float) should be the same".

    Torch modules do not cast; the module takes its own dtype after ``.to(dtype)``, and any
    floating batch but ``float64`` under ``torch.autocast``, which casts it itself.
    """
    torch = pytest.importorskip("torch")
    module = torch_module(_padded_sequence(mixed))
    refusals = [
        (
            torch.float64,
            r"inputs: expected dtype torch.float32, the module's; got torch.float64 "
            r"\(convert the batch with inputs.to\(torch.float32\), or the module with "
            r"module.to\(torch.float64\)\)",
        ),
        (torch.uint8, r"got torch.uint8 \(convert the batch with inputs.to\(torch.float32\)\)$"),
        (torch.int64, r"got torch.int64 "),
        (torch.bfloat16, r"got torch.bfloat16 "),
    ]
    for dtype, message in refusals:
        with pytest.raises(TypeError, match=message):
            module(torch.zeros((3, 2, 7), dtype=dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert module(torch.zeros((3, 2, 7), dtype=torch.bfloat16)).dtype == torch.bfloat16
        # Autocast casts no float64: it failed as "Input type (double) and bias type
        # (c10::BFloat16) should be the same". The module made float64 is not advised here:
        # it would run the whole net in float64.
        autocast = [
            (
                torch.float64,
                r"got torch.float64 \(convert the batch with "
                r"inputs.to\(torch.float32\)\)$",
            ),
            refusals[1],
        ]
        for dtype, message in autocast:
            with pytest.raises(TypeError, match=message):
                module(torch.zeros((3, 2, 7), dtype=dtype))
    double = module.to(dtype=torch.float64)
    assert double(torch.zeros((3, 2, 7), dtype=torch.float64)).dtype == torch.float64
    with pytest.raises(TypeError, match=r"expected dtype torch.float64, the module's; got torch.f"):
        double(torch.zeros((3, 2, 7)))
