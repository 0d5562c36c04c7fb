"""Records ``cassettes/<framework>.yaml``; from ``tests/``: ``python -m frameworks.record NAME...``.

Why: each cassette must hold the request exactly as its framework sends it, and an answer in
OpenAI's real wire format. So each recipe of :mod:`frameworks.apps` runs with an HTTP client on
a mock transport whose handler is a scripted upstream (answers built by ``zoo/wire.py``, shaped
on real recordings), and what went over the wire is written with faultkit's own cassette
writer (secrets scrubbed). dspy has no client seam: it is recorded against the same scripted
upstream served on 127.0.0.1, and replayed through the real proxy (see the test).

Record the extra-only recipes (instructor, llama_index) in a venv with
``faultkit[frameworks-extra]``. Not used by the tests.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import httpx2
from zoo.wire import Canned, chat_json

from faultkit.cassettes.write import write_cassette
from faultkit.exchange import Request, Response, ResponseHead
from frameworks import apps

CASSETTES = Path(__file__).parent / "cassettes"
ANSWER = {"category": "billing", "priority": 1}
RECORDED_MODEL = "gpt-4o-mini-2024-07-18"


def upstream(name: str, body: dict[str, Any]) -> Canned:
    """The scripted answer: a tool call when tools are offered (pydantic-ai's
    ``final_result``, instructor's ``Triage``), JSON text under a JSON schema response format,
    dspy's field markers when its adapter asks for them, plain text otherwise."""
    completion_id = f"chatcmpl-Fw{name.title().replace('_', '')}7Tk2Rg5Bl8"
    tools = body.get("tools") or []
    if tools:
        tool = tools[0]["function"]["name"]
        call = (f"call_Fw{name.replace('_', '')}3Tr9Ag", tool, json.dumps(ANSWER))
        return chat_json(completion_id, RECORDED_MODEL, tool_calls=[call], usage=(164, 18))
    response_format = body.get("response_format") or {}
    if response_format.get("type") in ("json_schema", "json_object"):
        content = json.dumps(ANSWER)
    elif "[[ ## " in json.dumps(body["messages"]):
        fields = {"category": "billing", "priority": "1"}
        content = "".join(f"[[ ## {k} ## ]]\n{v}\n\n" for k, v in fields.items())
        content += "[[ ## completed ## ]]"
    else:
        content = "Billing, priority 1: a duplicate charge on order 5512 needs a refund."
    return chat_json(completion_id, RECORDED_MODEL, content=content, usage=(151, 21))


def _recorder(name: str, pairs: list[tuple[Request, Response]], lib: Any = httpx) -> Any:
    """A mock transport of ``lib`` (httpx or httpx2) whose handler is the scripted upstream
    and appends each exchange to ``pairs``."""

    def handler(request: Any) -> Any:
        body = request.read()
        canned = upstream(name, json.loads(body))
        headers = tuple((k.lower(), v) for k, v in request.headers.multi_items())
        pairs.append(
            (
                Request(method=request.method, url=str(request.url), headers=headers, body=body),
                Response(
                    head=ResponseHead(status=canned.status, headers=tuple(canned.headers.items())),
                    body=canned.body,
                ),
            )
        )
        return lib.Response(canned.status, headers=canned.headers, content=canned.body)

    return lib.MockTransport(handler)


def _dspy_on_loopback(name: str, pairs: list[tuple[Request, Response]]) -> Any:
    """dspy has no client seam, so it is recorded as it is replayed: over a real socket. A
    scripted upstream on 127.0.0.1 answers; the recording keeps OpenAI's URL (the proxy's
    ``openai`` door replays it for any base URL pointed at the door)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Scripted(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            canned = upstream(name, json.loads(body))
            url = "https://api.openai.com" + self.path.removeprefix("/openai")
            headers = tuple((k.lower(), v) for k, v in self.headers.items())
            head = ResponseHead(status=canned.status, headers=tuple(canned.headers.items()))
            pairs.append(
                (
                    Request(method="POST", url=url, headers=headers, body=body),
                    Response(head=head, body=canned.body),
                )
            )
            self.send_response(canned.status)
            for key, value in canned.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(canned.body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/openai/v1"
        return apps.dspy_triage(apps.TICKET, api_base=base)
    finally:
        server.shutdown()


def record(name: str) -> list[str]:
    pairs: list[tuple[Request, Response]] = []
    transport = _recorder(name, pairs)
    fn = getattr(apps, f"{name}_triage")
    params = inspect.signature(fn).parameters
    if name == "dspy":
        answer = _dspy_on_loopback(name, pairs)
    elif "http_client_factory" in params:
        client_cls = params["http_client_factory"].default

        def factory(**options: Any) -> Any:
            lib = httpx2 if client_cls.__module__.startswith("httpx2") else httpx
            return client_cls(transport=_recorder(name, pairs, lib), **options)

        answer = asyncio.run(fn(apps.TICKET, http_client_factory=factory))
    else:
        answer = fn(apps.TICKET, http_client=httpx.Client(transport=transport))
    print(f"{name}: {answer!r}")
    write_cassette(CASSETTES / f"{name}.yaml", pairs)
    return [req.url for req, _ in pairs]


if __name__ == "__main__":
    import os

    os.environ.setdefault("OPENAI_API_KEY", "sk-record-only")
    for framework in sys.argv[1:]:
        print(record(framework))
