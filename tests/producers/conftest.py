"""The fixtures of the producer tests: a real ``costledger serve`` the apps export to, and the
mock of the providers' APIs they call."""

from collections.abc import Iterator

import pytest

from tests.serve.conftest import start_receiver

from .mock_api import MockAPI

__all__ = ["mock_api", "start_receiver"]


@pytest.fixture(scope="module")
def mock_api() -> Iterator[MockAPI]:
    """One mock API for a test module's apps (each answer has a new response id)."""
    with MockAPI() as api:
        yield api
