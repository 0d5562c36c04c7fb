"""`faultkit run` never shows a silent pass: cells where no fault fired are ``not_exercised``, and
a request with no recording is a ``harness_error`` reported apart, never the app's ``crash``.

The app is a newcomer's: the official openai SDK pointed at a gateway on ``127.0.0.1:8765``,
with its cassette recorded there. It makes plain (non-streamed) chat completions and calls no
tool, so stream and tool scenarios have nothing to act on, and a scenario written for the
``openai`` host route matches none of its requests.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from faultkit.cli import main

GATEWAY = "http://127.0.0.1:8765/v1"

APP = f'''
import httpx
import openai


def ask(question: str, *, http_client_factory=httpx.Client):
    client = openai.OpenAI(
        base_url="{GATEWAY}", api_key="sk-test", max_retries=0, http_client=http_client_factory()
    )
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{{"role": "user", "content": question}}]
    )
    return {{"text": completion.choices[0].message.content}}


def ask_and_list_models(question: str, *, http_client_factory=httpx.Client):
    """Also lists the gateway's models: a request nobody recorded."""
    answer = ask(question, http_client_factory=http_client_factory)
    client = openai.OpenAI(
        base_url="{GATEWAY}", api_key="sk-test", max_retries=0, http_client=http_client_factory()
    )
    return {{**answer, "models": [m.id for m in client.models.list()]}}
'''

COMPLETION = {
    "id": "chatcmpl-AqZ1",
    "object": "chat.completion",
    "created": 1736000000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I help?", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
    "system_fingerprint": "fp_0ba0d124f1",
}

CASSETTE = f"""
interactions:
- request:
    body: '{{"messages":[{{"role":"user","content":"hi"}}],"model":"gpt-4o-mini"}}'
    headers: {{content-type: [application/json]}}
    method: POST
    uri: {GATEWAY}/chat/completions
  response:
    body: {{string: '{json.dumps(COMPLETION)}'}}
    headers: {{content-type: [application/json]}}
    status: {{code: 200, message: OK}}
version: 1
"""

CASES = """
contract:
  error_types: [openai:APIError]
  deadline_ms: 5000
match_on: [method, uri]
cassettes: [gateway.yaml]
cases:
  - name: hello
    input: {question: hi}
"""

# Written the old way, for the provider's host: the gateway's requests never take that route.
HOST_ROUTE = """
name: openai-host-429
rules:
  - match: {route: openai}
    fault: {type: http_error, status: 429, retry_after_s: 1}
"""
SLOW_MODEL = """
name: slow-model
rules:
  - match: {provider: openai}
    fault: {type: latency, latency_ms: 5}
"""
# Bundled scenarios with nothing to act on here: a stream cut (no stream), a tool timeout (no
# tool), and invalid tool-call arguments (no tool call: the firing is skipped).
UNFIRED = ["truncated-stream", "tool-timeout", "tool-call-invalid-arguments", "openai-host-429"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gateway")
    (root / "gateway_app.py").write_text(textwrap.dedent(APP))
    (root / "gateway.yaml").write_text(CASSETTE)
    (root / "cases.yaml").write_text(CASES)
    (root / "scenarios").mkdir()
    (root / "scenarios" / "openai-host-429.yaml").write_text(HOST_ROUTE)
    (root / "scenarios" / "slow-model.yaml").write_text(SLOW_MODEL)
    return root


@pytest.fixture
def fk(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``fk(*argv)`` runs ``faultkit run`` on the gateway app; returns (code, stdout, report)."""
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))

    def run(
        target: str, *argv: str, only: tuple[str, ...] = (*UNFIRED, "slow-model")
    ) -> tuple[int, str, dict, Path]:
        out_dir = project / f"report-{len(list(project.glob('report-*')))}"
        scenarios = [a for name in only for a in ("--scenario", name)]
        code = main(
            [
                "run",
                f"gateway_app:{target}",
                "--cases",
                "cases.yaml",
                "--scenarios",
                "catalogue",
                "--scenarios",
                "scenarios",
                *scenarios,
                "--report",
                str(out_dir),
                "-q",
                *argv,
            ]
        )
        report = json.loads((out_dir / "report.json").read_text())
        return code, capsys.readouterr().out, report, out_dir

    return run


def _kinds(report: dict) -> dict[str, str]:
    return {c["scenario"]: c["verdict"]["kind"] for c in report["cells"]}


def test_scenarios_that_fire_on_nothing_are_not_exercised_and_do_not_fail_the_run(fk) -> None:
    code, out, report, _ = fk("ask")
    assert _kinds(report) == {**dict.fromkeys(UNFIRED, "not_exercised"), "slow-model": "pass"}
    assert code == 0 and report["exit_code"] == 0
    assert report["summary"] == {
        "cells": 5,
        "controlled": 1,
        "uncontrolled": 0,
        "not_exercised": 4,
        "harness_errors": 0,
        "passed": 5,
        "failed": 0,
    }
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split()}
    assert rows["openai-host-429"] == ["not_exercised"]  # never "pass"
    assert rows["slow-model"] == ["pass"]
    assert "not exercised (no fault fired" in out
    assert "every verdict is controlled and allowed (4 cell(s) not exercised) (exit 0)" in out


def test_the_json_report_says_why_nothing_fired(fk) -> None:
    _, _, report, _ = fk("ask")
    cells = {c["scenario"]: c for c in report["cells"]}
    host = cells["openai-host-429"]
    assert host["category"] == "not_exercised" and host["passed"] is True
    finding = host["verdict"]["findings"][0]
    assert finding["kind"] == "not_exercised"
    assert finding["values"]["rules"][0]["match"] == {"route": "openai"}
    assert finding["values"]["routes_seen"] == [
        {"route": "127.0.0.1", "format": "openai_chat", "requests": 1}
    ]
    skipped = cells["tool-call-invalid-arguments"]["verdict"]["findings"][0]["values"]["skipped"]
    assert [(s["fault"], s["reason"]) for s in skipped] == [("tool_call", "nothing to alter")]
    assert cells["slow-model"]["category"] == "controlled"


def test_junit_marks_unexercised_cells_skipped_with_the_reason(fk) -> None:
    _, _, _, out_dir = fk("ask")
    root = ET.parse(out_dir / "junit.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("5", "0", "4")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    skipped = cases["openai-host-429[hello]"].find("skipped")
    assert skipped is not None
    assert skipped.get("message").startswith("not_exercised: no rule matched any request")
    assert "routes seen: 127.0.0.1 (openai_chat) x1" in skipped.get("message")
    assert cases["slow-model[hello]"].find("skipped") is None


def test_html_shows_the_unexercised_cells_with_the_reason(fk) -> None:
    _, _, _, out_dir = fk("ask")
    page = (out_dir / "report.html").read_text()
    matrix = page.split('class="fk-table matrix"', 1)[1].split("</table>", 1)[0]
    assert matrix.count('class="unfired"') == 4
    assert "no rule matched any request" in matrix
    assert "4 not exercised" in page


def test_require_exercised_fails_the_run_on_unexercised_cells(fk) -> None:
    code, out, report, out_dir = fk("ask", "--require-exercised")
    assert code == 1 and report["exit_code"] == 1
    assert report["summary"]["failed"] == 4
    assert "4 cell(s) not exercised (exit 1)" in out
    assert "--require-exercised" in report["cells"][0]["repro"]
    root = ET.parse(out_dir / "junit.xml").getroot()
    assert (root.get("failures"), root.get("skipped")) == ("4", "0")


def test_a_request_with_no_recording_is_a_harness_error_not_a_crash(fk) -> None:
    code, out, report, out_dir = fk("ask_and_list_models", only=("slow-model",))
    (cell,) = report["cells"]
    assert cell["verdict"]["kind"] == "harness_error" and cell["category"] == "harness_error"
    assert not any(f["kind"] == "crash" for f in cell["verdict"]["findings"])
    assert code == 1 and report["summary"]["harness_errors"] == 1
    assert "crash" not in out
    harness = out.split("harness problems", 1)[1]
    assert f"GET {GATEWAY}/models: no recording" in harness
    assert f"closest: gateway.yaml#0: POST {GATEWAY}/chat/completions" in harness
    assert "1 harness error(s) (exit 1)" in out
    root = ET.parse(out_dir / "junit.xml").getroot()
    assert (root.get("errors"), root.get("failures")) == ("1", "0")
    error = root.find("testsuite/testcase/error")
    assert error is not None and error.get("message").startswith("harness_error: 1 request(s)")
    page = (out_dir / "report.html").read_text()
    assert "<h2>Harness problems</h2>" in page
