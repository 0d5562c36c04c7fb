"""A real OpenTelemetry SDK tracer provider with the real openai-v2 instrumentation, set up
and torn down per test (the instrumentation patches the openai SDK for the whole process, so
it must not outlive the test that wanted it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from faultkit.otel.processor import install

REPO = Path(__file__).resolve().parents[2]
CASSETTE = REPO / "cassettes" / "support" / "openai_order_status.yaml"


@dataclass
class Traced:
    provider: TracerProvider
    exported: InMemorySpanExporter


@pytest.fixture
def tracer_provider() -> Iterator[Traced]:
    """An SDK provider exporting to memory, with faultkit's span processor on it."""
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    install(provider)
    yield Traced(provider, exported)
    provider.shutdown()


@pytest.fixture
def instrumented(tracer_provider: Traced) -> Iterator[Traced]:
    """``tracer_provider`` plus opentelemetry-instrumentation-openai-v2 on the openai SDK."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider.provider)
    yield tracer_provider
    instrumentor.uninstrument()
