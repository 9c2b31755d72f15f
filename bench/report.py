"""Write a benchmark's table into its own section of a markdown file under docs/.

Several benchmarks share docs/PERFORMANCE.md; each owns the block between its markers, so a rerun of
one benchmark replaces its figures and leaves the others' untouched.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["update_section"]

DOCS = Path(__file__).resolve().parent.parent / "docs"


def update_section(filename: str, section: str, markdown: str) -> Path:
    """Replace (or append) the block named ``section`` in ``docs/filename`` with ``markdown``."""
    path = DOCS / filename
    begin, end = f"<!-- begin {section} -->", f"<!-- end {section} -->"
    text = path.read_text() if path.exists() else f"# {Path(filename).stem.title()}\n"
    block = f"{begin}\n{markdown.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
