"""Fixtures for the conformance suite: one in-process door and one real proxy process per
module, both over every bundled cassette."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conformance_doors import InProcessDoor, ProxyDoor, replay_store
from conformance_world import CASSETTES, UPSTREAMS, requests_of
from proxy_process import ProxyFactory


@pytest.fixture(scope="module")
def inprocess() -> InProcessDoor:
    door = InProcessDoor(UPSTREAMS, replay_store(CASSETTES))
    for cassette in CASSETTES:
        door.warm(requests_of(cassette))
    return door


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyDoor]:
    factory = ProxyFactory(tmp_path_factory.mktemp("conformance-proxy"))
    try:
        cassettes = [arg for path in CASSETTES for arg in ("--cassettes", str(path))]
        door = ProxyDoor(factory, UPSTREAMS, *cassettes)
        yield door
        door.close()
    finally:
        factory.close()
