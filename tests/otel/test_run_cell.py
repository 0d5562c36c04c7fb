"""``faultkit run`` on an in-process target traced the usual way: the app sets the global SDK
tracer provider and instruments the openai SDK at import (opentelemetry-instrumentation-
openai-v2), returns no DecisionTrace, and each cell is judged by the spans it made. Run as the
real CLI in a subprocess, because the global tracer provider can be set once per process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import CASSETTE

FAULTKIT = str(Path(sys.executable).with_name("faultkit"))

APP = """
import openai
from opentelemetry import trace
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider

trace.set_tracer_provider(TracerProvider())
OpenAIInstrumentor().instrument()


def answer(question: str, http_client=None) -> dict:
    client = openai.OpenAI(api_key="test", http_client=http_client, max_retries=2)
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
    )
    return {"tool": reply.choices[0].message.tool_calls[0].function.name}
"""

SCENARIOS = {
    "one-429.yaml": "name: one-429\nseed: 1\nrules:\n  - match: {route: openai}\n"
    "    when: {nth: 1}\n    fault: {type: http_error, status: 429, retry_after_s: 0}\n",
    "id-dropped.yaml": "name: id-dropped\nseed: 1\nrules:\n  - match: {route: openai}\n"
    "    fault: {type: schema_drift, target: body, op: drop, path: id}\n",
}


def test_faultkit_run_judges_each_cell_by_its_spans(tmp_path: Path) -> None:
    (tmp_path / "traced_app.py").write_text(APP)
    (tmp_path / "scenarios").mkdir()
    for name, text in SCENARIOS.items():
        (tmp_path / "scenarios" / name).write_text(text)
    (tmp_path / "cases.yaml").write_text(
        "target: traced_app:answer\n"
        "contract: {deadline_ms: 5000, trace_required: true}\n"
        f"cassettes: [{json.dumps(str(CASSETTE))}]\n"
        "match_on: [method, uri]\n"
        "cases:\n  - name: order\n    input: {question: where is 1234}\n"
    )
    done = subprocess.run(
        [FAULTKIT, "run", "--cases", "cases.yaml", "--scenarios", "scenarios", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads((tmp_path / "faultkit-report" / "report.json").read_text())
    cells = {c["scenario"]: c for c in report["cells"]}
    assert cells["one-429"]["verdict"]["kind"] == "retried", done.stdout + done.stderr
    assert cells["one-429"]["result"]["trace"]["source"] == "otel"
    dropped = cells["id-dropped"]["verdict"]
    assert dropped["kind"] == "untraceable"
    (finding,) = [f for f in dropped["findings"] if f["kind"] == "untraceable"]
    assert finding["values"]["missing_attributes"] == [
        "span 'chat gpt-4o-mini' (#1) lacks gen_ai.response.id"
    ]
    assert done.returncode == 1
