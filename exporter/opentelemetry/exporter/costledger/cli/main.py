"""The ``costledger`` command: a thin layer over the Python API with the same verbs.

Each verb lives in its own module of :mod:`.commands` exposing ``register(group)``; this module
only collects them and turns domain errors (:mod:`.errors`) into CLI errors that say what to do.
"""

from __future__ import annotations

import errno
import importlib
import pkgutil
from typing import Any

import click
import sqlalchemy as sa

from ..errors import CostLedgerError
from ..ledger.db import URL_EXAMPLES
from . import commands


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CostLedgerError as exc:
            raise click.ClickException(str(exc)) from exc
        except sa.exc.SQLAlchemyError as exc:
            # A database failure no command put into words of its own: a message, not a traceback.
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise click.ClickException(
                f"the ledger database failed ({reason}): check the database URL (--db or"
                f" COSTLEDGER_DATABASE_URL: {URL_EXAMPLES}) and that the database server is"
                " running and reachable, then run the command again"
            ) from exc
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # `costledger ... | head`: click ends quietly when the reader goes away
            # A file the user named (an --out in a missing directory, a file without permission).
            what = f" {exc.filename}" if exc.filename else ""
            raise click.ClickException(
                f"cannot use{what}: {exc.strerror or exc}; check the path and its permissions"
            ) from exc


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
