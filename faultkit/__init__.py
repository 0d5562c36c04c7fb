"""faultkit: chaos and fault-injection testing for LLM systems.

Importing ``faultkit`` stays light: it never imports an LLM SDK, and the httpx2 door is loaded
only when asked for. ``faultkit.strategies`` (hypothesis strategies) is imported on first use,
so hypothesis is needed only by code that uses it.
"""

from __future__ import annotations

from typing import Any

from faultkit.engine import Engine
from faultkit.errors import CassetteError, FaultkitError, ScenarioError, UnmatchedRequest
from faultkit.scenario import Scenario

_LAZY = {
    "FaultkitTransport": "faultkit.doors",
    "AsyncFaultkitTransport": "faultkit.doors",
    "Httpx2FaultkitTransport": "faultkit.doors",
    "AsyncHttpx2FaultkitTransport": "faultkit.doors",
    "FaultkitSession": "faultkit.session",
    "check": "faultkit.runner.checking",
    "acheck": "faultkit.runner.checking",
}
# Subpackages reachable as attributes (``faultkit.strategies``), imported on first access.
_LAZY_MODULES = frozenset({"strategies"})


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"faultkit.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'faultkit' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "AsyncFaultkitTransport",
    "AsyncHttpx2FaultkitTransport",
    "CassetteError",
    "Engine",
    "FaultkitError",
    "FaultkitSession",
    "FaultkitTransport",
    "Httpx2FaultkitTransport",
    "Scenario",
    "ScenarioError",
    "UnmatchedRequest",
    "acheck",
    "check",
]
