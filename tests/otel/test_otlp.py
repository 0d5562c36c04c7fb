"""Spans over OTLP/HTTP: the real opentelemetry-exporter-otlp-proto-http exporter sends the
real openai-v2 instrumentation's spans to faultkit's collector on 127.0.0.1; JSON and gzip
bodies decode the same; ``faultkit run --otlp-port`` judges an HTTP service (its OpenAI
traffic through the real ``faultkit proxy`` process) by the spans it exports."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import CASSETTE
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from proxy_process import ProxyFactory

from faultkit.cli import main
from faultkit.oracle import Contract, judge
from faultkit.oracle.result import Result
from faultkit.otel.collector import OtlpCollector
from faultkit.otel.spans import trace_from_spans
from faultkit.session import FaultkitSession

QUESTION = [{"role": "user", "content": "Where is order 1234?"}]


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    with OtlpCollector() as served:
        yield served


def _traced_call(exporter: Any, session: FaultkitSession) -> None:
    """One instrumented chat call through faultkit, its spans sent to ``exporter``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(api_key="test", http_client=session.client(), max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def test_the_real_otlp_exporter_reaches_the_collector(collector: OtlpCollector) -> None:
    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        _traced_call(OTLPSpanExporter(endpoint=collector.traces_endpoint), fk)
        ledger = fk.ledger
    spans = collector.take()
    assert [s.name for s in spans] == ["chat gpt-4o-mini"]
    assert spans[0].attributes["gen_ai.usage.input_tokens"] == 187
    trace = trace_from_spans(spans)
    assert trace is not None and "missing_attributes" not in trace
    result = Result.returned({"ok": True}, 10.0, trace=trace)
    assert judge(ledger, result, Contract(trace_required=True)).kind == "pass"
    assert collector.take() == []  # taken once


def test_gzip_bodies_decode(collector: OtlpCollector) -> None:
    exporter = OTLPSpanExporter(endpoint=collector.traces_endpoint, compression=Compression.Gzip)
    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        _traced_call(exporter, fk)
    assert [s.name for s in collector.take()] == ["chat gpt-4o-mini"]


def _otlp_json(spans: list[ReadableSpan]) -> bytes:
    """The OTLP/HTTP JSON encoding of real SDK spans: the protobuf JSON mapping with trace
    and span ids as hex, as the OTLP spec has it (no JSON exporter installs beside the
    protobuf one here: their shared packages pin different versions)."""
    data = MessageToDict(encode_spans(spans))

    def hexed(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: base64.b64decode(v).hex()
                if k in ("traceId", "spanId", "parentSpanId")
                else hexed(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [hexed(v) for v in node]
        return node

    return json.dumps(hexed(data)).encode()


def test_json_decodes_as_protobuf_does(collector: OtlpCollector) -> None:
    memory = InMemorySpanExporter()
    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        _traced_call(memory, fk)
    spans = list(memory.get_finished_spans())
    url = collector.traces_endpoint
    sent = httpx.post(url, content=_otlp_json(spans), headers={"content-type": "application/json"})
    assert (sent.status_code, sent.json()) == (200, {})
    from_json = collector.take()
    body = encode_spans(spans).SerializeToString()
    sent = httpx.post(url, content=body, headers={"content-type": "application/x-protobuf"})
    assert sent.status_code == 200
    from_protobuf = collector.take()
    assert from_json == from_protobuf
    assert from_json[0].trace_id == f"{spans[0].context.trace_id:032x}"


def test_a_hand_written_json_export_with_an_error_status() -> None:
    from faultkit.otel.collector import decode_traces

    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5B8EFFF798038103D269B633813FC60C",
                                "spanId": "EEE19B7EC3C1B174",
                                "name": "execute_tool get_order",
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": "1544712661000000000",
                                "attributes": [
                                    {
                                        "key": "gen_ai.operation.name",
                                        "value": {"stringValue": "execute_tool"},
                                    },
                                    {"key": "gen_ai.tool.name", "value": {"stringValue": "get"}},
                                    {"key": "attempt", "value": {"intValue": "2"}},
                                ],
                                "status": {"code": 2, "message": "503 from orders"},
                            }
                        ]
                    }
                ]
            }
        ]
    }
    (span,) = decode_traces(json.dumps(body).encode(), "application/json")
    assert span.trace_id == "5b8efff798038103d269b633813fc60c"
    assert span.attributes["attempt"] == 2
    assert span.start_ns == 1544712660000000000
    assert (span.status, span.failed, span.is_tool) == ("error", True, True)


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (b"\xff\xfe not protobuf", "application/x-protobuf", "not an OTLP protobuf"),
        (b"{not json", "application/json", "not JSON"),
        (b"{}", "text/plain", "OTLP/HTTP is application/x-protobuf or application/json"),
        (gzip.compress(b"{")[:5], "application/json", "not gzip"),
    ],
)
def test_a_body_that_is_not_otlp_is_a_400_line_and_nothing_is_kept(
    collector: OtlpCollector, body: bytes, content_type: str, why: str
) -> None:
    headers = {"content-type": content_type}
    if why == "not gzip":
        headers["content-encoding"] = "gzip"
    sent = httpx.post(collector.traces_endpoint, content=body, headers=headers)
    assert sent.status_code == 400
    assert why in sent.text and sent.text.count("\n") == 1
    assert collector.take() == []


def test_the_collector_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        OtlpCollector(host="0.0.0.0")


# -- faultkit run --otlp-port: an HTTP service judged by its exported spans -----------------------

SCENARIO = "name: one-429\nseed: 1\nrules:\n  - match: {route: openai}\n    when: {nth: 1}\n"
SCENARIO += "    fault: {type: http_error, status: 429, retry_after_s: 0}\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """The real proxy serving the OpenAI recording, and a service that asks OpenAI through it
    with the openai SDK, instrumented, exporting over OTLP/HTTP to a port faultkit will serve:
    (service URL, proxy control URL, OTLP port)."""
    factory = ProxyFactory(tmp_path)
    proxy = factory("--only", "openai", "--cassettes", str(CASSETTE), "--match-on", "method,uri")
    port = _free_port()
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", timeout=2)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    client = openai.OpenAI(api_key="test", base_url=proxy.door("openai"), max_retries=2)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
            payload = json.dumps({"tool": reply.choices[0].message.tool_calls[0].function.name})
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/ask", proxy.control, port
    finally:
        server.shutdown()
        instrumentor.uninstrument()
        provider.shutdown()
        factory.close()


def _run(tmp_path: Path, service: tuple[str, str, int], *otlp: str) -> dict[str, Any]:
    url, control, _ = service
    (tmp_path / "scenarios").mkdir(exist_ok=True)
    (tmp_path / "scenarios" / "one-429.yaml").write_text(SCENARIO)
    (tmp_path / "cases.yaml").write_text(
        "contract: {deadline_ms: 5000, trace_required: true}\n"
        "cases:\n  - name: order\n    input: {question: where is 1234}\n"
    )
    out = tmp_path / ("otlp" if otlp else "plain")
    scenarios, cases = str(tmp_path / "scenarios"), str(tmp_path / "cases.yaml")
    argv = ["run", url, "--proxy", control, "--scenarios", scenarios, "--cases", cases]
    main([*argv, "--report", str(out), "-q", *otlp])
    (cell,) = json.loads((out / "report.json").read_text())["cells"]
    return cell


def test_faultkit_run_judges_an_http_service_by_its_otlp_spans(
    tmp_path: Path, service: tuple[str, str, int]
) -> None:
    cell = _run(tmp_path, service, "--otlp-port", str(service[2]))
    assert cell["verdict"]["kind"] == "retried"  # the 429, then the answer: and traceable
    trace = cell["result"]["trace"]
    assert trace["source"] == "otel"
    assert trace["model_version"] == "gpt-4o-mini-2024-07-18"
    assert f"--otlp-port {service[2]}" in cell["repro"]


def test_without_the_collector_the_same_service_is_untraceable(
    tmp_path: Path, service: tuple[str, str, int]
) -> None:
    cell = _run(tmp_path, service)
    assert cell["verdict"]["kind"] == "untraceable"


def test_otlp_port_for_an_in_process_target_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cases.yaml").write_text("cases:\n  - name: one\n    input: {obj: 1}\n")
    code = main(["run", "json:dumps", "--cases", str(tmp_path / "cases.yaml"), "--otlp-port", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "--otlp-port reads the spans of an http" in err
