"""The documents stay true to the tree: their links resolve and INTERNALS names every module.

Cheap, deterministic checks of drift the prose cannot catch on its own: a link to a file or a
heading that was renamed, a module added without its contract in docs/INTERNALS.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# Written by the benchmarks that own them, never by hand.
GENERATED_DOCUMENTS = {"OUTCOMES.md", "PERFORMANCE.md"}
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _anchors(document: Path) -> set[str]:
    """Return the anchors GitHub gives the headings of ``document``."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    text = _FENCE.sub("", document.read_text(encoding="utf-8"))
    for heading in re.findall(r"^#+\s+(.*?)\s*$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_links_resolve_to_files_and_headings_of_the_repository(document: Path) -> None:
    broken = []
    for target in _LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        missing = not linked.is_relative_to(ROOT) or not linked.exists()
        if missing or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{document.name}: links that do not resolve: {broken}"


def test_internals_names_every_module() -> None:
    internals = (ROOT / "docs" / "INTERNALS.md").read_text(encoding="utf-8")
    modules = [
        path
        for folder in ("advisor", "client")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "__init__.py" and "_proto" not in path.parts
    ]
    assert modules
    # Named as a file (`calls.py`, `advisor/arrays.py`) or by one of its names (`calls.run_call`).
    missing = [
        str(path.relative_to(ROOT))
        for path in modules
        if not re.search(rf"(?<![\w.]){path.stem}(\.py\b|\.[A-Za-z_])", internals)
    ]
    assert not missing, f"modules docs/INTERNALS.md does not describe: {missing}"


def test_every_message_field_and_enum_of_the_contract_is_documented() -> None:
    from advisor.protocol._proto.advisor.v1 import advisor_pb2

    documented = "\n".join(
        document.read_text(encoding="utf-8")
        for document in DOCUMENTS
        if document.name not in GENERATED_DOCUMENTS
    )
    missing = []
    for name, message in advisor_pb2.DESCRIPTOR.message_types_by_name.items():
        if not re.search(rf"\b{name}\b", documented):
            missing.append(name)
        missing += [
            f"{name}.{field.name}"
            for field in message.fields
            if not re.search(rf"\b{field.name}\b", documented)
        ]
    missing += [
        name
        for name in advisor_pb2.DESCRIPTOR.enum_types_by_name
        if not re.search(rf"\b{name}\b", documented)
    ]
    for service in advisor_pb2.DESCRIPTOR.services_by_name.values():
        missing += [
            method.name for method in service.methods if f"`{method.name}`" not in documented
        ]
    assert not missing, f"names of advisor.proto no document mentions: {missing}"
