"""Shared by the gateway's end-to-end tests: async tests run on asyncio."""

import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
