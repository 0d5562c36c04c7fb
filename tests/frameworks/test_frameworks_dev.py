"""The README "Frameworks" recipes for the frameworks in the dev extra, run through faultkit.

Each test runs one recipe of :mod:`frameworks.apps` with the real framework on its recorded
cassette (``record.py``: the framework's own request, a scripted answer in OpenAI's wire
format), injects one fault, and asserts that the framework's traffic went through faultkit
(the ledger holds its calls) and that the oracle judged the run: pydantic-ai,
langchain-openai, the OpenAI Agents SDK and litellm through the pytest fixture
(``faultkit.check``), litellm also through ``faultkit run``, dspy through the real proxy
process.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from faultkit.ledger import LedgerEntry
from faultkit.oracle import Contract
from faultkit.oracle.judge import judge
from faultkit.oracle.result import capture
from faultkit.scenario import Scenario
from frameworks import apps

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
CONTRACT = Contract(output_model=apps.Triage, max_attempts=3, deadline_ms=20_000)
RENAME_PRIORITY = {
    "type": "schema_drift",
    "target": "structured",
    "op": "rename",
    "path": "priority",
}
ANSWER = {"category": "billing", "priority": 1}


def _need(module: str) -> None:
    """Skip unless ``module`` is installed (the dev extra has it), without importing it: the
    recipe imports it, after switching its side calls off (litellm reads an environment
    variable at import)."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]')")


def _calls(ledger: list[LedgerEntry]) -> list[tuple[str, int, int, int | None]]:
    return [(e.route, e.logical_call, e.attempt, e.status) for e in ledger]


@pytest.mark.faultkit(cassette="cassettes/pydantic_ai.yaml")
async def test_pydantic_ai_re_asks_a_drifted_answer_and_is_judged_retried(faultkit: Any) -> None:
    """The first answer loses ``priority``: pydantic-ai re-asks with the validation error; no
    cassette holds that re-ask, so faultkit answers it with the call's recording."""
    _need("pydantic_ai")
    faultkit.inject(RENAME_PRIORITY, match={"route": "openai"}, when={"nth": 1})
    verdict = await faultkit.acheck(apps.pydantic_ai_triage, apps.TICKET, contract=CONTRACT)
    assert verdict.kind == "retried", verdict
    assert _calls(faultkit.ledger) == [("openai", 1, 1, 200), ("openai", 1, 2, 200)]
    assert faultkit.ledger[0].faults[0].type == "schema_drift"
    assert faultkit.ledger[1].recording.endswith("(re-ask of #1)")


@pytest.mark.faultkit(cassette="cassettes/langchain.yaml")
def test_langchain_openai_retries_a_rate_limit_and_is_judged_retried(faultkit: Any) -> None:
    _need("langchain_openai")
    faultkit.inject(
        {"type": "http_error", "status": 429, "retry_after_s": 0.2},
        match={"route": "openai"},
        when={"nth": 1},
    )
    verdict = faultkit.check(
        apps.langchain_triage,
        apps.TICKET,
        http_client=faultkit.client(),
        http_async_client=faultkit.async_client(),
        contract=CONTRACT,
    )
    assert verdict.kind == "retried", verdict
    assert _calls(faultkit.ledger) == [("openai", 1, 1, 429), ("openai", 1, 2, 200)]


@pytest.mark.faultkit(cassette="cassettes/agents.yaml")
async def test_openai_agents_retry_a_rate_limit_and_are_judged_retried(faultkit: Any) -> None:
    _need("agents")
    faultkit.inject(
        {"type": "http_error", "status": 429, "retry_after_s": 0.2},
        match={"route": "openai"},
        when={"nth": 1},
    )
    verdict = await faultkit.acheck(apps.agents_triage, apps.TICKET, contract=CONTRACT)
    assert verdict.kind == "retried", verdict
    assert _calls(faultkit.ledger) == [("openai", 1, 1, 429), ("openai", 1, 2, 200)]
    # Trace export is batched in a thread of its own: flush it while the network guard is on,
    # so an export the recipe failed to switch off (to api.openai.com, past faultkit) fails.
    from agents.tracing import get_trace_provider

    get_trace_provider().force_flush()


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
@pytest.mark.faultkit(cassette="cassettes/litellm.yaml")
def test_litellm_takes_the_client_and_reads_its_price_list_from_disk(faultkit: Any) -> None:
    _need("litellm")
    faultkit.inject({"type": "http_error", "status": 500}, match={"route": "openai"})
    verdict = faultkit.check(
        apps.litellm_triage,
        apps.TICKET,
        http_client=faultkit.client(),
        contract=CONTRACT.model_copy(update={"error_types": ["openai.InternalServerError"]}),
        expect="controlled_error",
    )
    assert verdict.kind == "controlled_error"
    # the SDK's two retries, all answered with the injected 500
    assert _calls(faultkit.ledger) == [("openai", 1, n, 500) for n in (1, 2, 3)]
    from litellm.litellm_core_utils.get_model_cost_map import get_model_cost_map_source_info

    assert get_model_cost_map_source_info()["source"] == "local"


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
def test_litellm_under_faultkit_run_a_server_error_is_retried(tmp_path: Path) -> None:
    """``faultkit run`` hands litellm's OpenAI client the door (the ``http_client`` seam)."""
    _need("litellm")
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        # 60 s: litellm's first call (its import-time set-up) once took 21 s on a loaded
        # 2-core machine, and a deadline the import eats reads as a hang.
        f"contract:\n  max_attempts: 3\n  deadline_ms: 60000\n"
        f"cassettes: [{HERE / 'cassettes' / 'litellm.yaml'}]\n"
        f"cases:\n  - name: double-charge\n    input: {{ticket: {json.dumps(apps.TICKET)}}}\n",
        encoding="utf-8",
    )
    scenario = tmp_path / "overload.yaml"
    scenario.write_text(
        "name: overload-once\nrules:\n  - match: {route: openai}\n    when: {nth: 1}\n"
        "    fault: {type: http_error, status: 503}\n"
        "expect: {outcomes: [retried], max_attempts: 3}\n",
        encoding="utf-8",
    )
    report = tmp_path / "report"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "faultkit.cli",
            "run",
            "frameworks.apps:litellm_triage",
            "--cases",
            str(cases),
            "--scenarios",
            str(scenario),
            "--report",
            str(report),
        ],
        cwd=TESTS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (cell,) = json.loads((report / "report.json").read_text())["cells"]
    assert cell["verdict"]["kind"] == "retried", run.stdout
    assert [(e["route"], e["attempt"], e["status"]) for e in cell["ledger"]] == [
        ("openai", 1, 503),
        ("openai", 2, 200),
    ]
    assert "duplicate charge" in cell["result"]["value"]


@pytest.mark.slow  # ~9 s: Locust/dspy in subprocesses; the default suite stays under 10 min
def test_dspy_through_the_proxy_an_overload_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dspy has no client seam: its base URL points at the real proxy's ``openai`` door; the
    scenario goes in over the control API, the ledger comes back from it, the oracle judges."""
    _need("dspy")
    from proxy_process import ProxyFactory

    factory = ProxyFactory(tmp_path)
    try:
        proxy = factory("--cassettes", str(HERE / "cassettes" / "dspy.yaml"))
        scenario = Scenario.model_validate(
            {
                "name": "overload-once",
                "rules": [
                    {
                        "match": {"route": "openai"},
                        "when": {"nth": 1},
                        "fault": {"type": "http_error", "status": 503},
                    }
                ],
            }
        )
        loaded = httpx.post(
            f"{proxy.control}/faultkit/scenario",
            content=scenario.to_yaml().encode(),
            headers={"content-type": "application/yaml"},
            timeout=10,
        )
        loaded.raise_for_status()
        monkeypatch.setenv("OPENAI_API_KEY", "sk-faultkit-replay")  # dspy needs one; never sent on
        result = capture(apps.dspy_triage, apps.TICKET, api_base=proxy.door("openai"))
        entries = [LedgerEntry.model_validate(row) for row in proxy.ledger()]
    finally:
        factory.close()
    assert _calls(entries) == [("openai", 1, 1, 503), ("openai", 1, 2, 200)]
    verdict = judge(entries, result, CONTRACT, scenario)
    assert verdict.kind == "retried", verdict
    assert result.value == ANSWER
