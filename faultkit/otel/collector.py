"""Spans over the wire: a minimal OTLP/HTTP trace receiver on 127.0.0.1, for apps that run in
another process (an HTTP target of ``faultkit run``, a service under ``faultkit load``).

Point the app's exporter at it (``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:PORT``, or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=.../v1/traces``); it accepts ``POST /v1/traces`` in both
OTLP/HTTP encodings, binary protobuf (``application/x-protobuf``, what the Python, Java and Go
exporters send) and JSON (``application/json``: lowerCamelCase keys, hex trace and span ids,
64-bit integers as strings), gzip-compressed or not. Spans become
:class:`~faultkit.otel.spans.Span` values; the caller takes them per run (:meth:`take`) and
judges them as that run's trace.

Only loopback: faultkit never listens beyond the machine. A body that is not OTLP is answered
400 with one line saying why, as the OTLP spec asks, and nothing of it is kept.
"""

from __future__ import annotations

import base64
import gzip
import ipaddress
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from faultkit.otel.spans import Span, SpanEvent

TRACES_PATH = "/v1/traces"
_STATUS = {0: "unset", 1: "ok", 2: "error"}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
MAX_BODY = 32 * 1024 * 1024


class OtlpError(ValueError):
    """A request body that is not an OTLP trace export."""


# -- decoding (pure) ---------------------------------------------------------------------------


def decode_traces(body: bytes, content_type: str, content_encoding: str = "") -> list[Span]:
    """The spans of one OTLP/HTTP trace export request (see module doc)."""
    if content_encoding.strip().lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise OtlpError(f"content-encoding gzip, but the body is not gzip: {exc}") from None
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-protobuf":
        return _from_protobuf(body)
    if kind == "application/json":
        return _from_json(body)
    raise OtlpError(
        f"content-type {content_type or '(none)'!r}: OTLP/HTTP is application/x-protobuf "
        "or application/json"
    )


def _from_protobuf(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise OtlpError(f"not an OTLP protobuf ExportTraceServiceRequest: {exc}") from None
    spans = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                spans.append(
                    Span(
                        name=s.name,
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex() or None,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        attributes={kv.key: _pb_value(kv.value) for kv in s.attributes},
                        events=[
                            SpanEvent(
                                name=e.name,
                                attributes={kv.key: _pb_value(kv.value) for kv in e.attributes},
                            )
                            for e in s.events
                        ],
                        status=_STATUS.get(s.status.code, "unset"),
                        status_message=s.status.message or None,
                    )
                )
    return spans


def _pb_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _from_json(body: bytes) -> list[Span]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise OtlpError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OtlpError("an OTLP JSON export is an object with resourceSpans")
    spans = []
    try:
        for resource_spans in data.get("resourceSpans") or []:
            for scope_spans in resource_spans.get("scopeSpans") or []:
                for s in scope_spans.get("spans") or []:
                    spans.append(_json_span(s))
    except (AttributeError, TypeError, ValueError) as exc:
        raise OtlpError(f"not an OTLP JSON trace export: {exc}") from None
    return spans


def _json_span(s: dict[str, Any]) -> Span:
    status = s.get("status") or {}
    code = status.get("code", 0)
    code = _STATUS_NAMES.get(code, code) if isinstance(code, str) else code
    return Span(
        name=s["name"],
        trace_id=str(s.get("traceId") or "").lower(),
        span_id=str(s.get("spanId") or "").lower(),
        parent_span_id=str(s.get("parentSpanId") or "").lower() or None,
        start_ns=int(s.get("startTimeUnixNano") or 0),
        end_ns=int(s.get("endTimeUnixNano") or 0),
        attributes=_json_attributes(s.get("attributes")),
        events=[
            SpanEvent(name=e.get("name", ""), attributes=_json_attributes(e.get("attributes")))
            for e in s.get("events") or []
        ],
        status=_STATUS.get(int(code), "unset"),
        status_message=status.get("message") or None,
    )


def _json_attributes(pairs: Any) -> dict[str, Any]:
    return {kv["key"]: _json_value(kv.get("value") or {}) for kv in pairs or []}


def _json_value(value: dict[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [_json_value(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        return _json_attributes((value["kvlistValue"] or {}).get("values"))
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"]).hex()
    return None


# -- the receiver (I/O) ------------------------------------------------------------------------


class OtlpCollector:
    """``POST /v1/traces`` on 127.0.0.1 (``port`` 0 picks a free one), in a daemon thread.

    Use as a context manager, or :meth:`start` / :meth:`close`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the OTLP collector listens on loopback only, not {host}")
        self._spans: list[Span] = []
        self._lock = threading.Condition()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                collector._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return  # no access log on stderr

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """For ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the exporter appends ``/v1/traces``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def traces_endpoint(self) -> str:
        """For ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` and an exporter's ``endpoint=``."""
        return self.endpoint + TRACES_PATH

    def start(self) -> OtlpCollector:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="faultkit-otlp", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> OtlpCollector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def take(self) -> list[Span]:
        """Every span received since the last ``take``, and forget them."""
        with self._lock:
            spans, self._spans = self._spans, []
        return spans

    def wait(self, until: Callable[[list[Span]], bool], timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` until ``until(spans received so far)``; exporters batch,
        so spans may arrive after the answer that they describe."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not until(list(self._spans)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        if request.path.split("?")[0] != TRACES_PATH:
            self._reply(request, 404, "text/plain", f"only POST {TRACES_PATH}\n".encode())
            return
        try:
            length = int(request.headers.get("content-length") or 0)
            if length > MAX_BODY:
                raise OtlpError(f"body of {length} bytes is over {MAX_BODY}")
            body = request.rfile.read(length)
            content_type = request.headers.get("content-type") or ""
            spans = decode_traces(body, content_type, request.headers.get("content-encoding", ""))
        except (OtlpError, ValueError) as exc:
            self._reply(request, 400, "text/plain", f"{exc}\n".encode())
            return
        with self._lock:
            self._spans.extend(spans)
            self._lock.notify_all()
        if content_type.startswith("application/json"):
            self._reply(request, 200, "application/json", b"{}")
        else:
            reply = ExportTraceServiceResponse().SerializeToString()
            self._reply(request, 200, "application/x-protobuf", reply)

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, kind: str, body: bytes) -> None:
        request.send_response(status)
        request.send_header("content-type", kind)
        request.send_header("content-length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
