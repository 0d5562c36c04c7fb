"""The decision trace an app returns or emits, so a run can be audited and checked.

A trace answers "why did the system say that?": which prompt and model produced the answer,
which context it was given, what the tools returned (or that they failed), whether the answer
passed validation, and which path the code took (``retrieve``, ``call_model``, ``fallback``...).
The oracle requires one when the target declares ``trace_required`` and checks it against the
ledger: a trace that names a model the ledger never saw answer, or reports as fine a tool call
the ledger shows failed, is worse than none.

Apps either return it (as a ``trace`` field of their output, or as the second item of an
``(output, trace)`` pair) or call :func:`emit_trace` while they run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

REQUIRED_FIELDS = (
    "prompt_version",
    "model_version",
    "context_ids",
    "tool_outputs",
    "validation_result",
    "decision_path",
)


class ToolOutput(BaseModel):
    """What one tool call gave the app. ``ok`` False records that it failed (and ``error`` how);
    ``route`` is the faultkit route (upstream name) it went through, when the app knows it."""

    model_config = ConfigDict(extra="allow")

    tool: str
    ok: bool = True
    output: Any = None
    error: str | None = None
    route: str | None = None


class ValidationResult(BaseModel):
    """Whether the answer passed the app's own validation. ``True``/``False`` is accepted as
    shorthand for ``{"valid": ...}``."""

    model_config = ConfigDict(extra="allow")

    valid: bool
    errors: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, data: Any) -> Any:
        if isinstance(data, bool):
            return {"valid": data}
        return data


class DecisionTrace(BaseModel):
    """One answer's provenance. Every field must be present; lists may be empty when nothing of
    that kind happened (no retrieval, no tool call). Extra fields are kept."""

    model_config = ConfigDict(extra="allow")

    prompt_version: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    context_ids: list[str]
    tool_outputs: list[ToolOutput]
    validation_result: ValidationResult
    decision_path: list[str] = Field(min_length=1)


# -- emitting --------------------------------------------------------------------------------
class Collected(list[dict[str, Any]]):
    """The traces emitted during a run (a list, the last wins), plus the OpenTelemetry spans
    that ended in it (``spans``, from :mod:`faultkit.otel.processor`): the second source of
    trace facts, used when the app neither returns nor emits a trace."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[Any] = []


_COLLECTOR: ContextVar[Collected | None] = ContextVar("faultkit_traces", default=None)


def emit_trace(trace: DecisionTrace | dict[str, Any]) -> None:
    """Record ``trace`` for the run in progress (no-op outside one). The last emitted wins."""
    sink = _COLLECTOR.get()
    if sink is None:
        return
    sink.append(trace.model_dump(mode="json") if isinstance(trace, BaseModel) else dict(trace))


def record_span(span: Any) -> None:
    """Record a finished OpenTelemetry span (a :class:`faultkit.otel.spans.Span`) for the run
    in progress; no-op outside one."""
    sink = _COLLECTOR.get()
    if sink is not None:
        sink.spans.append(span)


def span_trace(sink: Collected) -> dict[str, Any] | None:
    """The trace the run's spans describe, or None when none ended in it."""
    if not sink.spans:
        return None
    from faultkit.otel.spans import trace_from_spans

    return trace_from_spans(sink.spans)


@contextmanager
def collect_traces() -> Iterator[Collected]:
    """Collect every trace emitted, and every OpenTelemetry span ended, (in this context)
    inside the ``with`` block. Installs faultkit's span processor on the app's tracer provider
    first, when opentelemetry-sdk is there (see :mod:`faultkit.otel.processor`)."""
    _install_span_source()
    sink = Collected()
    token = _COLLECTOR.set(sink)
    try:
        yield sink
    finally:
        _COLLECTOR.reset(token)


@cache
def _span_installer() -> Any:
    try:
        from faultkit.otel.processor import install
    except ImportError:  # no opentelemetry-sdk: apps cannot be traced with it either
        return None
    return install


def _install_span_source() -> None:
    install = _span_installer()
    if install is not None:
        install()


def looks_like_trace(value: Any) -> bool:
    """True for a DecisionTrace or a mapping carrying most of its fields (what an HTTP target
    returns as JSON)."""
    if isinstance(value, DecisionTrace):
        return True
    if not isinstance(value, dict):
        return False
    return sum(1 for f in REQUIRED_FIELDS if f in value) >= 3
