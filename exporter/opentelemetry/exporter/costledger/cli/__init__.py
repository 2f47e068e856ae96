"""The ``costledger`` command (:func:`.main.main`): a thin layer over the packages below it.

- :mod:`.main`: the click group; turns domain errors into messages;
- :mod:`.commands`: one module per verb, each with ``register(group)``;
- :mod:`.output`: every reporting command's ``--format table|csv|json``.

May import every stage (ledger, ingest, prices, imports, jobs, report, export) and
:mod:`..demo`. Nothing but the demo's own entry (``costledger demo``) imports the CLI.
"""
