"""Faults out: what faultkit injected, shown in the app's own traces.

:func:`export_faults` registers a listener on the engine's fault hook
(:mod:`faultkit.otel.hook`). Each applied fault becomes a ``faultkit.fault`` span event on the
span in progress where the engine runs: in-process that is the app's own span around the HTTP
call (the GenAI ``chat`` span of an instrumented SDK), so a trace viewer shows the fault on the
call it hit. With no recording span (the proxy process, an uninstrumented app) it becomes a
short span of its own, ``faultkit.fault <type>``, exported by the given tracer provider, a
child of the request's ``traceparent`` when it carried one. ``faultkit proxy`` exports them
over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set
(:func:`export_to_otlp`, via :func:`faultkit.otel.hook.export_from_environment`).

The attributes (:func:`fault_attributes`) are the ledger's values: type, rule, scenario, seed,
route, ledger entry and attempt, parameters and alterations as JSON. The alterations were
scrubbed when the ledger recorded them; parameters and both JSON texts go through
:func:`faultkit.scrub.scrub_json`/``scrub_text`` again, so no key a fault saw reaches a trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from faultkit.otel.hook import FaultEvent, add_fault_listener
from faultkit.scrub import scrub_json, scrub_text

EVENT_NAME = "faultkit.fault"
_PROPAGATOR = TraceContextTextMapPropagator()


def fault_attributes(event: FaultEvent) -> dict[str, Any]:
    """The OpenTelemetry attributes describing one applied fault (primitives only)."""
    fault = event.fault
    alterations = [a.model_dump(mode="json") for a in fault.alterations]
    return {
        "faultkit.fault.type": fault.type,
        "faultkit.fault.rule": fault.rule,
        "faultkit.scenario": event.scenario,
        "faultkit.seed": event.seed,
        "faultkit.route": event.entry.route,
        "faultkit.ledger.entry": event.entry.id,
        "faultkit.attempt": event.entry.attempt,
        "faultkit.fault.params": _json(fault.params),
        "faultkit.fault.alterations": _json(alterations),
    }


def _json(value: Any) -> str:
    scrubbed, _ = scrub_json(value)
    return scrub_text(json.dumps(scrubbed, sort_keys=True, default=repr))


def export_faults(tracer_provider: Any = None) -> Callable[[], None]:
    """Report every fault applied from now on to OpenTelemetry (see module doc); returns the
    function that stops it. ``tracer_provider`` (or a function returning it; default: the
    global one) makes the standalone ``faultkit.fault`` spans."""

    def tracer() -> trace.Tracer:
        provider = tracer_provider() if callable(tracer_provider) else tracer_provider
        return (provider or trace.get_tracer_provider()).get_tracer("faultkit")

    def listener(event: FaultEvent) -> None:
        attributes = fault_attributes(event)
        current = trace.get_current_span()
        if current.is_recording():
            current.add_event(EVENT_NAME, attributes)
            return
        parent = _PROPAGATOR.extract(event.trace_context) if event.trace_context else None
        span = tracer().start_span(
            f"{EVENT_NAME} {event.fault.type}", context=parent, attributes=attributes
        )
        span.add_event(EVENT_NAME, attributes)
        span.end()

    return add_fault_listener(listener)


def export_to_otlp() -> Callable[[], None]:
    """Faults out from a process with no app span in it (``faultkit proxy``): a tracer
    provider of its own (``service.name`` faultkit, unless ``OTEL_SERVICE_NAME`` says
    otherwise) exporting over OTLP/HTTP where the standard ``OTEL_EXPORTER_OTLP_*`` variables
    say. Each fault is a span, child of the request's ``traceparent`` when it had one (an app
    whose HTTP client propagates context sees it under its own call). Returns the function
    that stops exporting and flushes."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "faultkit"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    remove = export_faults(provider)

    def stop() -> None:
        remove()
        provider.shutdown()

    return stop
