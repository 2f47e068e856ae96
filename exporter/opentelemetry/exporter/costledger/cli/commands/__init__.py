"""One module per ``costledger`` verb; each defines ``register(group: click.Group)``."""
