"""The ``gaunt-md`` command line: click commands that call small functions of the package.

Commands import torch and the model only when they run, so ``gaunt-md --help`` is fast.
"""

from __future__ import annotations

import click

from .._version import __version__
from .export import export
from .fitting import evaluate, fit
from .models import models
from .serve import serve
from .simulate import md, relax


@click.group()
@click.version_option(__version__, prog_name="gaunt-md")
def main() -> None:
    """gaunt-md: Gaunt tensor product interatomic potentials."""
    import faulthandler
    import signal
    import sys

    if hasattr(signal, "SIGUSR1") and sys.__stderr__ is not None:  # `kill -USR1 PID` prints where a stuck run is
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)


for command in (relax, md, fit, evaluate, models, serve, export):
    main.add_command(command)

__all__ = ["main"]
