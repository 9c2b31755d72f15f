"""The product's modules import one another without loops.

A loop of imports (two modules that each need the other, even through an import deferred into a
function) ties them into one unit that can be neither read nor tested apart, and works only while
the deferred import stays deferred. Every ``import`` statement of the ``advisor`` package and the
client library (``client/``, installed as ``advisor_client``) is read, at any depth in the file,
and the graph of module to module must have no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"advisor": ROOT / "advisor", "advisor_client": ROOT / "client"}


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
