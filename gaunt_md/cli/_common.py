"""What the commands share: one-line errors for bad input, the --threads help."""

from __future__ import annotations

import functools

import click

THREADS_HELP = "CPU threads for torch [default: torch's, usually the number of cores; give fewer when other work runs]"


def fail_cleanly(fn):
    """Bad input (a ValueError or missing file from the library's checks) becomes a one-line error, exit 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper
