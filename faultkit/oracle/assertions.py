"""pytest-facing helpers: fail a test with the verdict and its evidence, not a bare ``False``."""

from __future__ import annotations

from faultkit.oracle.verdict import Verdict


def assert_controlled(verdict: Verdict) -> Verdict:
    """Raise AssertionError (with every finding and the repro command) unless ``verdict`` is
    controlled and one of the outcomes its scenario allows. Returns the verdict for chaining."""
    __tracebackhide__ = True
    if not verdict.ok:
        raise AssertionError(verdict.explain())
    return verdict


def assert_verdict(verdict: Verdict, kind: str) -> Verdict:
    """Raise AssertionError unless ``verdict`` is headed by ``kind`` (for tests that expect an
    uncontrolled outcome, like the naive example app's)."""
    __tracebackhide__ = True
    if verdict.kind != kind:
        raise AssertionError(f"expected verdict {kind}, got:\n{verdict.explain()}")
    return verdict
