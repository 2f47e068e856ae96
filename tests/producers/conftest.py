"""The receiver fixture of the serve tests: the apps here export to a real ``costledger serve``."""

from tests.serve.conftest import start_receiver

__all__ = ["start_receiver"]
