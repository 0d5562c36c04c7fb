"""``faultkit run --otlp-port N``: an HTTP target's spans, read from faultkit's OTLP/HTTP
collector, as each cell's decision trace.

The target runs in its own process, so its spans reach faultkit over OTLP
(:mod:`faultkit.otel.collector`) rather than through the in-process span processor. Cells of
an HTTP target run one at a time (the proxy has one active scenario), so the spans that arrive
between a cell's start and the end of its wait belong to that cell. Exporters batch: after
the answer, faultkit waits up to ``wait_s`` for an inference span, then ``settle_s`` for the
rest of the batch. An app with the SDK's ``BatchSpanProcessor`` should export sooner than its
5 s default (``OTEL_BSP_SCHEDULE_DELAY=100``), or use ``SimpleSpanProcessor``.

A trace the app returns in its answer wins, as in-process.
"""

from __future__ import annotations

import time
from typing import Any

from faultkit.otel.collector import OtlpCollector
from faultkit.otel.spans import trace_from_spans
from faultkit.runner.errors import RunError
from faultkit.runner.target import CellSpec, Execution, Target


class SpanReadingTarget:
    """``target`` with its cells' spans, from ``collector``, judged as their trace."""

    def __init__(
        self, target: Target, collector: OtlpCollector, wait_s: float = 2.0, settle_s: float = 0.1
    ) -> None:
        self.target = target
        self.collector = collector
        self.wait_s = wait_s
        self.settle_s = settle_s

    def __getattr__(self, name: str) -> Any:  # name, ref, kind, parallel, check_cases
        return getattr(self.target, name)

    def execute(self, spec: CellSpec) -> Execution:
        self.collector.take()  # late spans of the previous cell are not this one's
        execution = self.target.execute(spec)
        if execution.result.trace is not None:
            return execution
        if self.collector.wait(lambda spans: any(s.is_inference for s in spans), self.wait_s):
            time.sleep(self.settle_s)
        trace = trace_from_spans(self.collector.take())
        if trace is not None:
            execution.result = execution.result.model_copy(update={"trace": trace})
        return execution


def with_collector(targets: list[Target], port: int) -> tuple[list[Target], OtlpCollector]:
    """Start the collector on 127.0.0.1:``port`` and wrap the HTTP targets. A RunError (one
    line) when there is no HTTP target (in-process targets' spans come through the span
    processor) or the port cannot be had."""
    if not any(t.kind == "http" for t in targets):
        raise RunError(
            "--otlp-port reads the spans of an http(s):// target; an in-process target's "
            "spans are read without it (from the global OpenTelemetry SDK tracer provider)"
        )
    if not 0 < port < 65536:
        raise RunError(f"--otlp-port {port}: not a TCP port")
    try:
        collector = OtlpCollector(port=port).start()
    except OSError as exc:
        raise RunError(f"--otlp-port {port}: cannot listen on 127.0.0.1:{port}: {exc}") from None
    wrapped: list[Target] = [
        SpanReadingTarget(t, collector) if t.kind == "http" else t  # type: ignore[misc]
        for t in targets
    ]
    return wrapped, collector
