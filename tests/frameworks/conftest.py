"""Every framework test runs under faultkit's network guard: a framework's side call (litellm's
model price list, the Agents SDK's trace export, llama-index's nltk download) that the recipe
failed to switch off would leave this machine, past faultkit, so it fails the test, named.
Loopback stays open: the dspy test talks to the real proxy process there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from faultkit.pytest_network import NetworkGuard


@pytest.fixture(autouse=True)
def no_side_calls() -> Iterator[None]:
    guard = NetworkGuard(allowed=[("127.0.0.1", None)])
    with guard.installed():
        yield
    problem = guard.report()
    if problem:
        pytest.fail(problem, pytrace=False)
