"""The ledger schema as it is now, for queries: Table objects reflecting every migration.

Jobs and commands query these tables with SQLAlchemy Core; the DDL that creates them lives in
``migrations/`` (the tables here must match what the migrations make, which a test checks).
"""

from __future__ import annotations

from ..money import NANOS_PER_USD
from .migrations.m0001_ledger import ledger_entries, ledger_repricings

__all__ = ["NANOS_PER_USD", "ledger_entries", "ledger_repricings"]
