"""`faultkit run http://...`: a service over HTTP whose tool traffic goes through a real
`faultkit proxy` (a subprocess on loopback), driven by its control API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from proxy_process import ProxyFactory
from tool_world import write_scenarios, write_tool_cassette

from faultkit.cli import main


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[dict]:
    write_tool_cassette(tmp_path)
    factory = ProxyFactory(tmp_path)
    served = factory(
        "--upstream",
        "tools=http://tools.internal",
        "--only",
        "tools",
        "--cassettes",
        str(tmp_path / "tools.yaml"),
    )
    try:
        yield served.info
    finally:
        factory.close()


@pytest.fixture
def service(proxy: dict) -> Iterator[str]:
    """A naive service: looks the item up through the proxy; a 500 when the tool fails."""
    (door,) = [d for d in proxy["doors"] if d["name"] == "tools"]
    tools = door["base_url"]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            upstream = httpx.get(f"{tools}/items/{body['item_id']}", timeout=2)
            if upstream.status_code == 200:
                data = upstream.json()
                status, payload = 200, json.dumps({"item": data["name"], "price": data["price"]})
            else:
                status, payload = 500, "internal error"
            self.send_response(status)
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
        yield f"http://127.0.0.1:{server.server_port}/answer"
    finally:
        server.shutdown()


def test_http_target_is_judged_from_the_proxy_ledger(
    tmp_path: Path, proxy: dict, service: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_scenarios(tmp_path)
    (tmp_path / "cases.yaml").write_text(
        "contract: {deadline_ms: 3000}\ncases:\n  - name: lamp\n    input: {item_id: '7'}\n"
    )
    code = main(
        [
            "run",
            service,
            "--proxy",
            proxy["control"],
            "--scenarios",
            str(tmp_path / "scenarios"),
            "--cases",
            str(tmp_path / "cases.yaml"),
            "--report",
            str(tmp_path / "out"),
        ]
    )
    out, err = capsys.readouterr()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    cells = {c["scenario"]: c for c in report["cells"]}

    assert code == 1, err
    assert cells["calm"]["verdict"]["kind"] == "pass"
    assert cells["calm"]["result"]["value"] == {"item": "lamp", "price": 19.5}
    assert cells["tool-down"]["verdict"]["kind"] == "crash"  # a 500 is not a declared error
    assert cells["tool-down"]["result"]["status"] == 500
    (entry,) = cells["tool-down"]["ledger"]
    assert (entry["route"], entry["status"]) == ("tools", 503)
    assert [f["type"] for f in entry["faults"]] == ["http_error"]
    assert f"--proxy {proxy['control']}" in cells["tool-down"]["repro"]
    assert "crash" in out
