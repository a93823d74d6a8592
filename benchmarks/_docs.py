"""The benchmarks' sections of ``docs/performance.md`` and ``docs/accuracy.md``, each between
``<!-- NAME:start -->`` and ``<!-- NAME:end -->``, so that several scripts write one file."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, name: str, heading: str, lines: list[str]) -> None:
    """Replace section ``name`` of ``path`` by ``lines``, or append it under ``## heading``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = "\n".join([start, *lines, end])
    text = path.read_text() if path.exists() else "# Performance\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
