"""OpenTelemetry, both ways (the ``faultkit[otel]`` extra).

* **Spans in**: an app traced with the GenAI semantic conventions is judged by its spans when
  it returns no :class:`~faultkit.oracle.DecisionTrace`: in-process through
  :mod:`faultkit.otel.processor` (installed on the global SDK tracer provider by every run), or
  over OTLP/HTTP to :class:`faultkit.otel.collector.OtlpCollector` on 127.0.0.1. The mapping
  (:mod:`faultkit.otel.spans`) is pure; the ``untraceable`` check judges its result.
* **Faults out**: :mod:`faultkit.otel.export` adds a ``faultkit.fault`` span event (fault type,
  rule, scenario, seed, scrubbed alterations) to the span in progress when the engine records
  an applied fault (:mod:`faultkit.otel.hook`), so the app's trace viewer shows the chaos.

Only :mod:`faultkit.otel.spans` and :mod:`faultkit.otel.hook` import without opentelemetry.
"""
