"""Hypothesis settings for chaos properties, bounded so they belong in the normal test suite.

A property that runs the system under test once per example costs what the target costs (tens
to hundreds of milliseconds, plus any retry-after it honours), so the defaults are small: 25
examples, no per-example deadline (a target may rightly wait out a retry-after), and no
"explain" phase (after a failure it re-runs the target dozens of times to annotate the report,
which the schedule summary already does). Larger searches are opt-in: set
``FAULTKIT_EXAMPLES=500`` for one run, or pass ``max_examples``.

The ``faultkit`` fixture is function-scoped; hypothesis warns about that because fixtures are
not reset between examples. ``FaultkitSession.assert_controlled(..., plan=plan)`` resets the
engine, its counters, its ledger and the recordings for every example, so the warning is
suppressed here.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from faultkit.errors import FaultkitError

DEFAULT_EXAMPLES = 25
EXAMPLES_ENV = "FAULTKIT_EXAMPLES"


def examples_budget(default: int = DEFAULT_EXAMPLES) -> int:
    """``default``, unless ``FAULTKIT_EXAMPLES`` asks for another budget."""
    raw = os.environ.get(EXAMPLES_ENV)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise FaultkitError(f"{EXAMPLES_ENV} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise FaultkitError(f"{EXAMPLES_ENV} must be at least 1, got {value}")
    return value


def chaos_settings(max_examples: int | None = None, **overrides: Any) -> settings:
    """Settings for ``@given(plan=fault_plans(...))`` tests (see the module docstring); any
    hypothesis setting can be overridden."""
    options: dict[str, Any] = {
        "max_examples": max_examples if max_examples is not None else examples_budget(),
        "deadline": None,
        "phases": (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
        "suppress_health_check": (
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.differing_executors,
        ),
    }
    options.update(overrides)
    return settings(**options)


__all__ = ["DEFAULT_EXAMPLES", "EXAMPLES_ENV", "chaos_settings", "examples_budget"]
