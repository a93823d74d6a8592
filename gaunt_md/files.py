"""Writing files without losing a user's work: atomic writes and the output files of a command."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it onto ``path``: a reader
    (or a run killed mid-write) never sees half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


class Outputs:
    """The files PREFIX+suffix that one run of a command writes.

    Made before the run starts, it refuses the input file as an output, and existing files unless
    ``replace`` (``--force``) or ``append`` (``--resume`` continues them). Existing files are deleted
    only by :meth:`claim`, which the run calls once its input has passed every check and it is about
    to write its first output: a run that fails before that leaves every file untouched.
    """

    def __init__(
        self,
        prefix: str,
        suffixes: list[str],
        source: str | Path | None = None,
        replace: bool = False,
        append: bool = False,
    ) -> None:
        self.paths = [Path(prefix + s) for s in suffixes]
        self.replace, self.append, self.claimed = replace, append, False
        for path in self.paths:
            if source is not None and path.exists() and path.resolve() == Path(source).resolve():
                raise ValueError(f"output {path} is the input file; choose another --output")
            if path.exists() and not (replace or append):
                raise ValueError(f"{path} exists; use --force to overwrite it or another --output")

    def claim(self) -> None:
        """Make the output folder and delete the old outputs (when replacing); idempotent."""
        if self.claimed:
            return
        self.claimed = True
        for path in self.paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            if self.replace and not self.append:
                path.unlink(missing_ok=True)
