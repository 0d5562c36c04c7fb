"""faultkit: chaos and fault-injection testing for LLM systems.

Importing ``faultkit`` stays light: it never imports an LLM SDK, and the httpx2 door is loaded
only when asked for.
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'faultkit' has no attribute {name!r}")
    import importlib

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
