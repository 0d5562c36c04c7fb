"""Fixtures for the live-stream tests: the real ``faultkit proxy`` as a subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from proxy_process import ProxyFactory


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ProxyFactory]:
    factory = ProxyFactory(tmp_path)
    yield factory
    factory.close()
