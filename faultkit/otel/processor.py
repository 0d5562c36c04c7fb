"""The in-process span source: a span processor faultkit adds to the app's tracer provider,
so spans that end during a run (a ``faultkit run`` cell, ``faultkit.check``, ``explore``) are
collected as that run's decision-trace facts.

Spans are recorded into the run's collector by context (:func:`faultkit.oracle.trace.record_span`),
so concurrent cells in threads or tasks each see their own spans and a span ending outside a
run costs one context lookup. :func:`install` is called by every run (``collect_traces``); it
finds the global SDK tracer provider, so an app that sets one at import (as instrumentation
set-up does) needs nothing else. An app that keeps its provider to itself calls
``install(provider)`` once.

Installing also turns on faults out (:mod:`faultkit.otel.export`): a traced app's spans then
carry a ``faultkit.fault`` event for every fault injected into the call they cover.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import StatusCode

from faultkit.oracle.trace import record_span
from faultkit.otel.export import export_faults
from faultkit.otel.spans import Span, SpanEvent

_INSTALLED: weakref.WeakSet[TracerProvider] = weakref.WeakSet()
_STATUS = {StatusCode.UNSET: "unset", StatusCode.OK: "ok", StatusCode.ERROR: "error"}


class TraceSpanProcessor(SpanProcessor):
    """Records every ended span into the run in progress (see module doc)."""

    def on_end(self, span: ReadableSpan) -> None:
        record_span(span_of(span))


def install(provider: Any = None) -> bool:
    """Add the processor to ``provider`` (default: the global one) once. False when that is
    not an SDK :class:`TracerProvider` (nothing is traced, or a vendor's own SDK)."""
    provider = provider if provider is not None else trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        return False
    # Parallel cells start at once: without the lock two could add the processor twice
    # (every span recorded twice) or register two fault listeners (every event twice).
    with _LOCK:
        if provider not in _INSTALLED:
            provider.add_span_processor(TraceSpanProcessor())
            _INSTALLED.add(provider)
        _LATEST[0] = weakref.ref(provider)
        if not _EXPORTING:
            # Faults out, once per process: the listener writes to whichever span is
            # current, so one serves every provider (one each would repeat every event).
            export_faults(lambda: _LATEST[0]() if _LATEST[0] is not None else None)
            _EXPORTING.append(True)
    return True


_LOCK = threading.Lock()
_EXPORTING: list[bool] = []
# The provider last installed on: where a fault with no span in progress gets its own span.
_LATEST: list[weakref.ref[TracerProvider] | None] = [None]


def span_of(span: ReadableSpan) -> Span:
    """A :class:`~faultkit.otel.spans.Span` from the SDK's ended span."""
    context = span.context
    parent = span.parent
    status = span.status
    return Span(
        name=span.name,
        trace_id=f"{context.trace_id:032x}" if context else "",
        span_id=f"{context.span_id:016x}" if context else "",
        parent_span_id=f"{parent.span_id:016x}" if parent else None,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        attributes=_plain(span.attributes),
        events=[SpanEvent(name=e.name, attributes=_plain(e.attributes)) for e in span.events],
        status=_STATUS.get(status.status_code, "unset"),
        status_message=status.description,
    )


def _plain(attributes: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (attributes or {}).items()}
