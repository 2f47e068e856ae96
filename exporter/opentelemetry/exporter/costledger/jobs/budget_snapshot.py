"""The budget guard's snapshot: which customers, workspaces, features, agents and tags are over
their hard limit now — published for the in-app guard (the instrumentation's ``guard.py``).

``budget_snapshot(db, budgets, as_of=None, *, time_zone=None) -> Snapshot``
    One limit per budget with a ``hard_limit`` and concrete scope value (a ``"*"`` budget: each
    value with cost in the period, as :func:`.budget_status.budget_status` gives them):
    ``spent_usd`` (fully loaded, as the budgets count it) of the period ``as_of`` ends or falls
    in against ``limit_usd``, ``exceeded`` when ``spent`` has reached the hard limit. Budgets
    without a hard limit are left out: the guard has nothing to do with them. ``generated_at``
    is the moment the snapshot is made (the guard ignores snapshots older than its maximum
    age), whatever ``as_of`` says.
``guard_budgets(path) -> tuple[Budget, ...]``
    A budgets file's entries with a ``hard_limit``; InputError when it has none.
``write_snapshot(snapshot, out) -> Path``
    The document (format: the instrumentation's ``budget_snapshot.py``, the README's "Budget
    guard") written to a temporary file beside ``out``, flushed to disk and renamed over it,
    so a guard reading ``out`` meanwhile sees the old snapshot or the new one, never half.
:class:`SnapshotPublisher`
    For ``costledger serve --budgets``: recomputes the snapshot every ``every`` seconds in a
    daemon thread (re-reading the budgets file, so edits apply without a restart) and keeps
    the JSON in memory; :meth:`~SnapshotPublisher.current` is what ``GET /v1/budgets``
    answers. A failure (database down, the file broken) is logged once and the last snapshot
    stays — with its old ``generated_at``, so guards stop trusting it after their maximum age.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from opentelemetry.instrumentation.costledger.budget_snapshot import (
    BudgetLimit,
    Snapshot,
    snapshot,
)

from ..errors import InputError
from ..ledger.open import Database
from .budget_status import budget_status
from .budgets import Budget, load_budget_file

logger = logging.getLogger("opentelemetry.exporter.costledger.jobs")

DEFAULT_EVERY = 60.0


def guard_budgets(path: str | os.PathLike[str]) -> tuple[Budget, ...]:
    """The entries of the budgets file ``path`` that have a ``hard_limit``."""
    found = tuple(b for b in load_budget_file(path).budgets if b.hard_limit is not None)
    if not found:
        raise InputError(
            f"{path}: no [[budget]] entry has a hard_limit, so the guard would stop nothing;"
            ' add hard_limit = "2500" (dollars) to the budgets the guard should enforce'
        )
    return found


def budget_snapshot(
    database: Database,
    budgets: Sequence[Budget],
    as_of: datetime | None = None,
    *,
    time_zone: str | None = None,
    generated_at: datetime | None = None,
) -> Snapshot:
    """The snapshot of ``budgets``' hard limits at ``as_of`` (default now); see the module
    docstring."""
    guarded = [b for b in budgets if b.hard_limit is not None]
    statuses = budget_status(database, guarded, as_of, time_zone=time_zone) if guarded else []
    limits = []
    for status in statuses:
        hard_limit = status.hard_limit_usd
        assert hard_limit is not None  # only budgets with one were asked for
        limits.append(
            BudgetLimit(
                scope=status.scope,
                value=status.value,
                period_start=status.period_start,
                period_end=status.period_end,
                limit_usd=hard_limit,
                spent_usd=status.spent_usd,
                exceeded=status.over_hard_limit,
            )
        )
    return snapshot(limits, generated_at)


def write_snapshot(made: Snapshot, out: str | os.PathLike[str]) -> Path:
    """Write ``made`` to ``out`` atomically (see the module docstring); return the path."""
    target = Path(out)
    if not target.parent.is_dir():
        raise InputError(f"cannot write {target}: there is no directory {target.parent}")
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(made.to_json())
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; guards in other users' apps read it
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


class SnapshotPublisher:
    """The snapshot recomputed in the background, served from memory (module docstring)."""

    def __init__(
        self,
        database: Database,
        budgets_path: str | os.PathLike[str],
        *,
        every: float = DEFAULT_EVERY,
        time_zone: str | None = None,
    ) -> None:
        self.database = database
        self.budgets_path = budgets_path
        self.every = every
        self.time_zone = time_zone
        self._budgets = guard_budgets(budgets_path)  # a broken file stops the start
        self._json: bytes | None = None
        self._problem: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> bytes | None:
        """The latest snapshot's JSON; None until the first one is made."""
        return self._json

    def publish(self) -> bool:
        """Recompute now; False (logged once) when the budgets file could not be read (its
        last readable budgets were used) or the snapshot could not be made (the last one
        stays published)."""
        problem = None
        try:
            self._budgets = guard_budgets(self.budgets_path)
        except Exception as exc:
            # The last budgets read stay in force: a typo must not lift every limit.
            problem = (
                f"cannot read the budgets file {self.budgets_path}: {exc}; its last readable"
                " budgets stay in force"
            )
        try:
            made = budget_snapshot(self.database, self._budgets, time_zone=self.time_zone)
        except Exception as exc:
            self._report(f"cannot compute the budget snapshot: {exc}; the last one stays published")
            return False
        self._json = made.to_json().encode()
        self._report(problem)
        return problem is None

    def _report(self, problem: str | None) -> None:
        if problem == self._problem:
            return
        if problem is not None:
            logger.warning("costledger: %s", problem)
        elif self._problem is not None:
            logger.info("costledger: the budget snapshot is current again")
        self._problem = problem

    def start(self) -> None:
        """Start the thread; its first snapshot is made at once."""
        self._thread = threading.Thread(target=self._run, name="costledger-budgets", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.publish()
        while not self._stop.wait(self.every):
            self.publish()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
