"""Fixtures for the Toxiproxy door: a fresh server per test, an HTTP client, upstreams."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
from _toxiproxy_helpers import ServerThread, Upstream

# Building an SSL context costs ~20 ms per httpx client; the API is plain HTTP, share one.
_SSL = ssl.create_default_context()


@pytest.fixture
def toxiproxy() -> Iterator[ServerThread]:
    server = ServerThread()
    yield server
    server.stop()
    assert server.errors == [], "the server logged errors"


@pytest.fixture
def api(toxiproxy: ServerThread) -> Iterator[httpx.Client]:
    # As the Go client and toxiproxy-cli send every request (the API refuses a body of any
    # other type: a browser could send one without a preflight).
    headers = {"User-Agent": "curl/8.0", "Content-Type": "application/json"}
    with httpx.Client(base_url=toxiproxy.url, headers=headers, verify=_SSL) as client:
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
