"""The product's modules import one another without loops, and only down the layers.

A loop of imports (two modules that each need the other, even through an import deferred into a
function) ties them into one unit that can be neither read nor tested apart, and works only while
the deferred import stays deferred. Every ``import`` statement of the ``advisor`` package and the
client library (``client/``, installed as ``advisor_client``) is read, at any depth in the file,
and the graph of module to module must have no cycle. Its edges must also follow the layers
docs/INTERNALS.md lists: each layer imports only the layers listed above it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"advisor": ROOT / "advisor", "advisor_client": ROOT / "client"}
# The one import up the layers docs/INTERNALS.md states: integrations use the client's argument
# readers, and AdvisorClient when given a server.
_UPWARD_BY_CONTRACT = {("advisor.integrations", "advisor_client")}


def _modules() -> dict[str, Path]:
    """Map each module's dotted name to its file (``_proto``'s generated stubs left out)."""
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if "_proto" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def _imported(tree: ast.Module, name: str, known: dict[str, Path]) -> Iterator[str]:
    """Yield the known modules a module's import statements name (a name imported from a
    package counts as its submodule when it is one, else as the package)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name} line {node.lineno}: the product imports absolutely"
            base = node.module or ""
            targets = [f"{base}.{alias.name}" for alias in node.names]
            targets = [t if t in known else base for t in targets]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph() -> nx.DiGraph:
    """Return the graph of which product module imports which."""
    known = _modules()
    graph = nx.DiGraph()
    for name, path in known.items():
        graph.add_node(name)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph.add_edges_from((name, target) for target in _imported(tree, name, known))
    return graph


def test_the_graph_reads_the_packages_imports() -> None:
    graph = import_graph()
    assert graph.has_edge("advisor.model.strict_yaml", "advisor.model.integer_text")
    assert graph.has_edge("advisor.model.documents", "advisor.model.strict_yaml")  # deferred
    assert graph.has_edge("advisor_client.client", "advisor_client.errors")


def test_no_module_imports_itself_through_others() -> None:
    cycles = sorted(sorted(cycle) for cycle in nx.simple_cycles(import_graph()))
    assert cycles == [], f"import loops: {cycles}"


def _layers() -> list[str]:
    """Return the layers docs/INTERNALS.md lists, bottom up, as module names (``advisor.model``).

    Each is a line of the indented list under "The folders show the layers": a module
    (``advisor/files.py``), a folder (``advisor/seprank/``) or the client (``client/``); the
    entry point ``server.py`` is no module of the packages and is left out.
    """
    internals = (ROOT / "docs" / "INTERNALS.md").read_text(encoding="utf-8")
    listing = internals.partition("The folders show the layers")[2].partition("\n\n")[2]
    paths = re.findall(r"^ {4}(\S+)", listing.partition("\n\n")[0], re.MULTILINE)
    folders = {f"{folder.name}/": package for package, folder in PACKAGES.items()}
    return [
        folders.get(path, path.removesuffix(".py").strip("/").replace("/", "."))
        for path in paths
        if path != "server.py"
    ]


def _layer_of(module: str, layers: list[str]) -> int | None:
    """Return the index in ``layers`` of the layer ``module`` belongs to, or None."""
    return next(
        (
            index
            for index, layer in enumerate(layers)
            if module == layer or module.startswith(f"{layer}.")
        ),
        None,
    )


def test_internals_lists_the_layers_of_the_packages() -> None:
    layers = _layers()
    assert layers[:4] == ["advisor.files", "advisor.words", "advisor.errors", "advisor.stopping"]
    assert "advisor.seprank" in layers
    assert layers[-3:] == ["advisor.cli", "advisor.entry", "advisor.__main__"]
    # Every module but the curated API (``advisor``, which loads its names on first use) has one.
    unplaced = [
        name for name in import_graph() if name != "advisor" and _layer_of(name, layers) is None
    ]
    assert unplaced == [], f"modules in no layer of docs/INTERNALS.md: {unplaced}"


def test_every_import_goes_down_the_layers_internals_lists() -> None:
    layers = _layers()
    upward = sorted(
        f"{importer} -> {imported}"
        for importer, imported in import_graph().edges
        if (low := _layer_of(importer, layers)) is not None
        and (high := _layer_of(imported, layers)) is not None
        and high > low
        and (layers[low], layers[high]) not in _UPWARD_BY_CONTRACT
    )
    assert upward == [], f"imports of a layer docs/INTERNALS.md lists above: {upward}"


def test_the_client_imports_only_the_layers_internals_names_for_it() -> None:
    # "## client/, installed as `advisor_client` (imports advisor.errors, .model and ... only)":
    # what an AutoML worker loads with the client, kept to those layers.
    internals = (ROOT / "docs" / "INTERNALS.md").read_text(encoding="utf-8")
    heading = re.search(r"^## client/.*\(imports (.*) only\)$", internals, re.MULTILINE)
    assert heading is not None
    named = {f"advisor.{name}" for name in re.findall(r"(?:advisor)?\.(\w+)", heading[1])}
    assert {"advisor.errors", "advisor.model"} <= named
    beyond = sorted(
        f"{importer} -> {imported}"
        for importer, imported in import_graph().edges
        if importer.startswith("advisor_client")
        and not imported.startswith("advisor_client")
        and not any(imported == name or imported.startswith(f"{name}.") for name in named)
    )
    assert beyond == [], f"client imports docs/INTERNALS.md does not name: {beyond}"


def _declared_names(tree: ast.Module) -> list[str] | None:
    """Return the names a module's ``__all__`` lists, or None when it declares none."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            assert isinstance(node.value, ast.List | ast.Tuple)
            return [
                element.value
                for element in node.value.elts
                if isinstance(element, ast.Constant) and isinstance(element.value, str)
            ]
    return None


def _taken_names(tree: ast.Module, known: dict[str, Path]) -> Iterator[tuple[str, str]]:
    """Yield ``(module, name)`` for each name a module takes from a known module.

    ``from module import name`` (a submodule is no name of its package) and ``module.name``,
    where ``module`` was imported by name (``from advisor.protocol import wire``, then
    ``wire.task_to_proto``).
    """
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in known:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in known:
                    aliases[alias.asname or alias.name] = full
                else:
                    yield node.module, alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            yield aliases[node.value.id], node.attr


def test_every_name_a_module_takes_from_another_is_in_its_all() -> None:
    # A module's __all__ is its public names: one that another module imports, left out of it,
    # reads as private, and a `from module import *` or the documentation built from __all__
    # loses it (the wire's inference converters, which the client and the servicer call).
    known = _modules()
    trees = {
        name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, path in known.items()
    }
    declared = {name: _declared_names(tree) for name, tree in trees.items()}
    missing = sorted(
        f"{importer} takes {module}.{name}"
        for importer, tree in trees.items()
        for module, name in _taken_names(tree, known)
        if module != importer
        and not name.startswith("_")
        and (listed := declared[module]) is not None
        and name not in listed
    )
    assert missing == [], f"names other modules take, missing from __all__: {missing}"
