"""The budget guard: stop (or only mark) LLM calls for whoever is over a hard limit.

Off by default. Turned on, each counted LLM call whose customer (``customer.id``), workspace
(``workspace.id``), feature (``costledger.feature``), agent (``gen_ai.agent.name``) or tag
(``costledger.tag.<name>``) is over its budget's hard limit is, by the mode:

``raise``
    stopped before the SDK sends anything: the call raises :class:`BudgetExceeded` (the
    provider never sees a request). Its span still ends, with ``error.type = BudgetExceeded``,
    ERROR status and ``costledger.budget.exceeded = customer:cust_12345``: the ledger counts it
    as a failed call costing nothing.
``mark``
    sent as usual, its span marked ``costledger.budget.exceeded = customer:cust_12345`` (a
    dry run before turning ``raise`` on, or an alert of your own on that attribute).

Who is over comes from a **snapshot** the costledger jobs publish (format:
:mod:`.budget_snapshot`): a file (``costledger budgets snapshot --out PATH``, from cron) or an
``http(s)`` URL (``costledger serve --budgets FILE`` serves it at ``GET /v1/budgets``). It is read
once when the instrumentor is turned on (so the guard is in force from the first call; a URL
is given at most 10 seconds), then again every ``refresh`` seconds by a daemon
thread (``costledger-budget-guard``). The call path never reads it and never touches a
database: it looks each of the call's attribution values up in a dictionary of the snapshot's
exceeded limits (one lookup per scope that has any), nothing more.

Fail open: the guard never stops a call because of a problem of its own. A snapshot that cannot
be read (missing file, server down, bad JSON, another version) leaves the last good one in force
until it is ``max_age`` seconds old; a snapshot older than ``max_age`` (by its
``generated_at``: the publisher stopped) is not used: every call goes through. Each problem is
logged once, as a WARNING on the ``opentelemetry.instrumentation.costledger`` logger, and its end
at INFO. So a guard in ``raise`` mode stops calls only on the word of a fresh snapshot.

Configuration, in the house order -- an argument of ``CostLedgerInstrumentor().instrument()``,
else the environment variable, else the default:

==================== ============================== ============================================
argument             environment variable           default
==================== ============================== ============================================
``budget_guard``     ``COSTLEDGER_BUDGET_GUARD``    ``off`` (``raise``, ``mark``)
``budget_snapshot``  ``COSTLEDGER_BUDGET_SNAPSHOT`` none: a file path or an http(s) URL
``budget_refresh``   ``COSTLEDGER_BUDGET_REFRESH``  30 seconds
``budget_max_age``   ``COSTLEDGER_BUDGET_MAX_AGE``  600 seconds
``budget_token``     ``COSTLEDGER_BUDGET_TOKEN``    none: sent as ``Authorization: Bearer`` to a
                                                    URL (``serve --auth-token-file``'s token)
==================== ============================== ============================================

A mode other than ``off`` without a snapshot, or a bad value, makes ``instrument()`` raise
``ValueError`` saying what to set: a guard that was asked for is never silently off.

Limitations: the guard sees what a call is attributed to when it starts (``attribute_to``,
baggage, ``metadata=``, an enclosing agent span); the results of a Batch API batch were sent
long before they are counted and are never stopped; ``record_cost`` is not guarded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from .attributes import BUDGET_EXCEEDED
from .budget_snapshot import BudgetLimit, Snapshot, parse_snapshot

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

GUARD_ENV: Final = "COSTLEDGER_BUDGET_GUARD"
SNAPSHOT_ENV: Final = "COSTLEDGER_BUDGET_SNAPSHOT"
REFRESH_ENV: Final = "COSTLEDGER_BUDGET_REFRESH"
MAX_AGE_ENV: Final = "COSTLEDGER_BUDGET_MAX_AGE"
TOKEN_ENV: Final = "COSTLEDGER_BUDGET_TOKEN"
MODES: Final = ("off", "raise", "mark")
DEFAULT_REFRESH: Final = 30.0
DEFAULT_MAX_AGE: Final = 600.0
_MAX_BYTES: Final = 64 * 1024 * 1024  # a snapshot is small; a runaway answer is not read whole

_Index = tuple[tuple[str, dict[str, BudgetLimit]], ...]
_NOTHING: Final[_Index] = ()


class BudgetExceeded(Exception):
    """An LLM call was stopped before it was sent: ``scope`` ``value`` is over its hard limit.

    ``scope`` (``customer``, ``workspace``, ``feature``, ``agent``, ``tag``), ``value``
    (``cust_12345``; a tag: ``team=search``), ``limit`` and ``spent`` (exact ``Decimal``
    dollars, as of the snapshot), ``period_start`` / ``period_end`` (the budget period's
    dates, end exclusive). Catch it to degrade gracefully (a cheaper model, a queued job, a
    message to the customer); raise the budget's ``hard_limit`` to let the calls through.
    """

    def __init__(
        self,
        scope: str,
        value: str,
        limit: Decimal,
        spent: Decimal,
        period_start: date | None = None,
        period_end: date | None = None,
    ) -> None:
        self.scope = scope
        self.value = value
        self.limit = limit
        self.spent = spent
        self.period_start = period_start
        self.period_end = period_end
        period = f" for {period_start} to {period_end}" if period_start and period_end else ""
        super().__init__(
            f"{scope} {value!r} has spent ${spent} of its ${limit} hard limit{period}: the LLM"
            " call was not sent (costledger budget guard). Catch BudgetExceeded to degrade"
            " gracefully, raise hard_limit in the budgets file, or set"
            " COSTLEDGER_BUDGET_GUARD=mark to only mark such calls."
        )

    @classmethod
    def of(cls, limit: BudgetLimit) -> BudgetExceeded:
        return cls(
            limit.scope,
            limit.value,
            limit.limit_usd,
            limit.spent_usd,
            limit.period_start,
            limit.period_end,
        )


class BudgetGuard:
    """The guard of one ``instrument()``: its mode, its snapshot, its refresh thread."""

    def __init__(
        self,
        mode: str,
        source: str,
        *,
        refresh: float = DEFAULT_REFRESH,
        max_age: float = DEFAULT_MAX_AGE,
        token: str | None = None,
    ) -> None:
        if mode not in ("raise", "mark"):
            raise ValueError(f"budget guard mode {mode!r} is not raise or mark")
        self.mode = mode
        self.raises = mode == "raise"
        self.source = source
        self.refresh = refresh
        self.max_age = max_age
        self.token = token
        # The exceeded limits by span attribute: replaced whole (one assignment) by refresh, so
        # the call path reads a consistent one without a lock.
        self._index: _Index = _NOTHING
        self.snapshot: Snapshot | None = None  # the last good one
        self._problem: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the call path ------------------------------------------------------------------------
    def check(self, attrs: dict[str, Any]) -> BudgetExceeded | None:
        """Look the call's start attributes up: mark them (both modes) and, in ``raise`` mode,
        return the exception to raise; None when the call may go."""
        for attribute, limits in self._index:
            value = attrs.get(attribute)
            if value is not None:
                limit = limits.get(value)
                if limit is not None:
                    attrs[BUDGET_EXCEEDED] = limit.key
                    return BudgetExceeded.of(limit) if self.raises else None
        return None

    # --- the snapshot -------------------------------------------------------------------------
    def load(self) -> bool:
        """Read the snapshot now and put it in force; False (logged once) when the guard has
        none in force afterwards. Never raises."""
        failure = None
        try:
            self.snapshot = parse_snapshot(self._read())
        except Exception as exc:
            failure = f"cannot read the budget snapshot {self.source}: {exc}"
        current = self.snapshot
        if current is None:
            self._index = _NOTHING
            self._report(f"{failure}; LLM calls go through unguarded meanwhile")
            return False
        if time.time() - current.generated_at.timestamp() > self.max_age:
            self._index = _NOTHING
            what = f"{failure}, and the last one" if failure else f"the snapshot {self.source}"
            self._report(
                f"{what} is stale (generated at {current.generated_at.isoformat()}, more than"
                f" {self.max_age:g} s ago; is its publisher running?); LLM calls go through"
                " unguarded meanwhile"
            )
            return False
        self._index = current.exceeded()
        if failure is not None:
            self._report(
                f"{failure}; the snapshot generated at {current.generated_at.isoformat()} stays"
                f" in force until it is {self.max_age:g} s old"
            )
        else:
            self._report(None)
        return True

    def _read(self) -> bytes:
        if self.source.startswith(("http://", "https://")):
            # Imported here: an app with the guard off (or reading a file) never loads it.
            import urllib.request

            headers = {"Accept": "application/json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            request = urllib.request.Request(self.source, headers=headers)
            timeout = max(1.0, min(self.refresh, 10.0))
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                data: bytes = answer.read(_MAX_BYTES + 1)
        else:
            with Path(self.source).open("rb") as file:
                data = file.read(_MAX_BYTES + 1)
        if len(data) > _MAX_BYTES:
            raise ValueError(f"larger than {_MAX_BYTES} bytes")
        return data

    def _report(self, problem: str | None) -> None:
        if problem == self._problem:
            return
        if problem is not None:
            logger.warning("costledger: %s", problem)
        elif self._problem is not None:
            logger.info("costledger: the budget snapshot %s is in force again", self.source)
        self._problem = problem

    # --- the refresh thread -------------------------------------------------------------------
    def start(self) -> None:
        """Load the snapshot once, then start the refresh thread."""
        self.load()
        self._thread = threading.Thread(
            target=self._run, name="costledger-budget-guard", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.refresh):
            self.load()

    def stop(self) -> None:
        self._stop.set()
        self._index = _NOTHING
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=15)


# The guard in force; None while the guard is off (the call path's one check).
ACTIVE: BudgetGuard | None = None


def _setting(given: Any, env: str) -> str | None:
    if given is not None:
        return str(given)
    value = os.environ.get(env, "").strip()
    return value or None


def _seconds(given: Any, env: str, default: float) -> float:
    text = _setting(given, env)
    if text is None:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{env} (or its instrument() argument) must be seconds above 0: {text!r}")
    return seconds


def configure(options: Mapping[str, Any]) -> BudgetGuard | None:
    """Turn the guard on or off from ``instrument()``'s keyword arguments (``budget_guard``,
    ``budget_snapshot``, ``budget_refresh``, ``budget_max_age``, ``budget_token``), else the
    environment; the guard in force before is stopped. ``ValueError`` for a bad setting."""
    global ACTIVE
    mode = (_setting(options.get("budget_guard"), GUARD_ENV) or "off").lower()
    if mode not in MODES:
        raise ValueError(f"{GUARD_ENV} (or budget_guard=) must be off, raise or mark: {mode!r}")
    guard = None
    if mode != "off":
        source = _setting(options.get("budget_snapshot"), SNAPSHOT_ENV)
        if source is None:
            raise ValueError(
                f"the budget guard ({mode}) needs its snapshot: set {SNAPSHOT_ENV} (or"
                " budget_snapshot=) to the file `costledger budgets snapshot` writes or to"
                " serve's http://HOST:4318/v1/budgets"
            )
        guard = BudgetGuard(
            mode,
            source,
            refresh=_seconds(options.get("budget_refresh"), REFRESH_ENV, DEFAULT_REFRESH),
            max_age=_seconds(options.get("budget_max_age"), MAX_AGE_ENV, DEFAULT_MAX_AGE),
            token=_setting(options.get("budget_token"), TOKEN_ENV),
        )
    stop()
    if guard is not None:
        guard.start()
        ACTIVE = guard
    return guard


def stop() -> None:
    """Turn the guard off (``uninstrument()``): its thread ends, every call goes through."""
    global ACTIVE
    guard, ACTIVE = ACTIVE, None
    if guard is not None:
        guard.stop()
