"""Fixtures for the Toxiproxy door: a fresh server per test, an HTTP client, upstreams."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from _toxiproxy_helpers import ServerThread, Upstream


@pytest.fixture
def toxiproxy() -> Iterator[ServerThread]:
    server = ServerThread()
    yield server
    server.stop()
    assert server.errors == [], "the server logged errors"


@pytest.fixture
def api(toxiproxy: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=toxiproxy.url, headers={"User-Agent": "curl/8.0"}) as client:
        yield client


@pytest.fixture
def echo() -> Iterator[Upstream]:
    upstream = Upstream(echo=True)
    yield upstream
    upstream.close()


@pytest.fixture
def collector() -> Iterator[Upstream]:
    upstream = Upstream(echo=False)
    yield upstream
    upstream.close()
