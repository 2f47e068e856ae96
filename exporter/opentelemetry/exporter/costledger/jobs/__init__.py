"""The jobs over the ledger: Steps 3–6 of the seed article and its continuous monitoring.

Each job is a Python function and a ``costledger`` verb of the same name; each runs as SQL in
the ledger database (SQLAlchemy Core, SQLite or PostgreSQL) and writes its results to tables of
that database, documented column by column in its module:

- :mod:`.aggregate` — ``aggregate``, ``aggregate_rows`` → ``cost_aggregates``,
  ``aggregate_state``; :mod:`.groups` — its SQL (a ``GROUP BY`` per bucket set)
- :mod:`.allocate` — ``allocate``, ``stored_allocations`` → ledger rows with
  ``source='allocation'``, ``cost_allocations``, ``allocation_runs``; :mod:`.allocations` —
  an allocation's rows, written and read back; :mod:`.shares` — driver quantities and the
  largest-remainder split
- :mod:`.normalize` — ``normalize``, ``category_breakdown`` → ``unit_economics``
- :mod:`.rank` — ``rank`` → ``profitability``
- :mod:`.alerts` — ``run_alerts`` → ``alerts``, ``alert_deliveries`` (:mod:`.alert_delivery` —
  each alert stored once, each channel's deliveries); :mod:`.budgets` — the
  budgets file (``Budget``, ``load_budget_file``); :mod:`.budget_status` — ``budget_status``
  (spent, thresholds and forecast of each budget at a moment); :mod:`.budget_alerts` — the
  budget alerts → ``budget_status``; :mod:`.budget_snapshot` — the in-app budget guard's
  snapshot of hard limits (a file, or ``serve``'s ``GET /v1/budgets``); :mod:`.webhook` — the
  JSON and the ``POST``
- :mod:`.billing` — ``charge_customers`` → ``billing_charges``, ``billing_lines``: what each
  customer pays for a period under :mod:`.billing_policy` (the pricing policy file); sending
  the charges is :mod:`..export.bill`'s
- :mod:`.reconcile` — ``reconcile`` → ``reconciliation`` (the provider exports it compares
  are imported by :mod:`..imports.invoices` into ``provider_costs``)
- :mod:`.schedule` — ``Scheduler``, ``load_schedule`` (the schedule file); :mod:`.run` —
  ``run_job`` (any job by name); :mod:`.option_table` — each job's options, declared once (the
  CLI's flags are made from them); :mod:`.options` — their values read as the CLI reads its
  flags; :mod:`.cron` — ``every`` and ``cron`` times. Every job logs its runs in ``job_runs``

Another currency (``--currency``): :mod:`.converted` sums the same groups per UTC day and
converts each day at its rate (the tables stay USD). Shared pieces: :mod:`..periods` (periods,
time zones, SQL bucketing), :mod:`..currency` (rates files, converting), :mod:`.bills` (the bills
file), :mod:`..ledger.tables` (the result tables for queries), :mod:`.amounts` (amounts in
options). Every function takes the database as its
first argument: a URL, an :class:`sqlalchemy.Engine`, or ``None`` for
``COSTLEDGER_DATABASE_URL``. They return typed results (frozen dataclasses) whose fields are
their result table's columns: money is integer nano-dollars (``X_nanos``) in the tables and in
the results, whose ``X_usd`` properties give exact :class:`~decimal.Decimal` dollars;
conversions, ratios and formatting are :mod:`opentelemetry.instrumentation.costledger.money`'s.

May import: the shared modules, :mod:`..ledger`, :mod:`..ingest`, :mod:`..prices` and
:mod:`..imports`. Never report, export, cli or demo.
"""
