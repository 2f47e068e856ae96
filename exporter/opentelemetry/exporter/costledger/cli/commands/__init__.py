"""One module per ``costledger`` verb; each defines ``register(group: click.Group)``.

May import what the CLI may (every stage, and the demo for ``costledger demo``); imported only
by :mod:`..main`.
"""
