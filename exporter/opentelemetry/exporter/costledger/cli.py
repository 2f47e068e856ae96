"""The ``costledger`` command: a thin layer over the Python API with the same verbs.

Each verb lives in its own module of :mod:`.commands` exposing ``register(group)``; this module
only collects them and turns domain errors (:mod:`.errors`) into CLI errors that say what to do.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import click

from . import commands
from .errors import CostLedgerError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CostLedgerError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="costledger")
def main() -> None:
    """Per-customer AI cost ledger from OpenTelemetry traces."""


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(main)


_register_commands()
