"""The client a target's seam declares is the client it gets, under ``faultkit run`` and under
the pytest fixture's ``faultkit.check`` alike (one rule, :func:`faultkit.runner.target.seam_of`).

Frameworks decide the client library and its flavour, not the app: pydantic-ai takes an
``httpx2.AsyncClient`` even when the app around it is sync. Before, ``faultkit.check`` handed
every sync target an ``httpx.Client`` whatever its seam said, so such an app could not be
checked in pytest although ``faultkit run`` ran it.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest

from faultkit.runner.target import Seam, seam_of
from frameworks import apps

pytest.importorskip("pydantic_ai")

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent


def _param(source: str) -> inspect.Parameter:
    namespace: dict[str, Any] = {"httpx": httpx, "httpx2": httpx2, "Any": Any}
    exec(f"def app({source}): pass", namespace)
    return next(iter(inspect.signature(namespace["app"]).parameters.values()))


@pytest.mark.parametrize(
    ("source", "is_async", "seam"),
    [
        # a sync target that declares an async client gets one, by default or by annotation
        ("http_client_factory=httpx.AsyncClient", False, Seam("httpx", True)),
        ("http_client_factory=httpx2.AsyncClient", False, Seam("httpx2", True)),
        ("http_client: 'httpx.AsyncClient | None' = None", False, Seam("httpx", True)),
        ("http_client: httpx.AsyncClient", False, Seam("httpx", True)),
        # and an async target that declares a sync one (a sync SDK called in a thread)
        ("http_client: 'httpx.Client | None' = None", True, Seam("httpx", False)),
        # no single class named: the target's own flavour
        (
            "http_client: 'httpx.Client | httpx.AsyncClient | None' = None",
            True,
            Seam("httpx", True),
        ),
        ("http_client: Any = None", False, Seam("httpx", False)),
    ],
)
def test_the_seam_says_sync_or_async(source: str, is_async: bool, seam: Seam) -> None:
    assert seam_of(_param(source), is_async) == seam


RENAME_PRIORITY = {
    "type": "schema_drift",
    "target": "structured",
    "op": "rename",
    "path": "priority",
}


@pytest.mark.faultkit(cassette="cassettes/pydantic_ai.yaml")
def test_check_gives_a_sync_target_the_async_httpx2_client_it_declares(faultkit: Any) -> None:
    faultkit.inject(RENAME_PRIORITY, match={"route": "openai"}, when={"nth": 1})
    verdict = faultkit.check(apps.pydantic_ai_triage_sync, apps.TICKET)
    assert verdict.kind == "retried", verdict
    assert [(e.logical_call, e.attempt) for e in faultkit.ledger] == [(1, 1), (1, 2)]


def test_faultkit_run_gives_a_sync_target_the_async_httpx2_client_it_declares(
    tmp_path: Path,
) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "contract: {output_model: frameworks.apps:Triage, max_attempts: 3}\n"
        f"cassettes: [{HERE / 'cassettes' / 'pydantic_ai.yaml'}]\n"
        f"cases:\n  - name: double-charge\n    input: {{ticket: {json.dumps(apps.TICKET)}}}\n",
        encoding="utf-8",
    )
    scenario = tmp_path / "drift.yaml"
    scenario.write_text(
        "name: drift-once\nrules:\n  - match: {route: openai}\n    when: {nth: 1}\n"
        f"    fault: {json.dumps(RENAME_PRIORITY)}\n"
        "expect: {outcomes: [retried], max_attempts: 3}\n",
        encoding="utf-8",
    )
    command = [
        sys.executable,
        "-m",
        "faultkit.cli",
        "run",
        "frameworks.apps:pydantic_ai_triage_sync",
    ]
    command += ["--cases", str(cases), "--scenarios", str(scenario), "--report", str(tmp_path)]
    run = subprocess.run(command, cwd=TESTS, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    (cell,) = json.loads((tmp_path / "report.json").read_text())["cells"]
    assert cell["verdict"]["kind"] == "retried", run.stdout
    assert cell["result"]["value"] == {"category": "billing", "priority": 1}


def test_faultkit_run_gives_each_seam_parameter_its_own_client(tmp_path: Path) -> None:
    """``http_client: httpx.Client`` and ``http_client_factory=httpx.AsyncClient`` on one sync
    target: langchain's sync and async clients both reach faultkit (two calls in the ledger,
    the first one rate-limited and retried)."""
    pytest.importorskip("langchain_openai")
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "contract: {max_attempts: 3}\n"
        f"cassettes: [{HERE / 'cassettes' / 'langchain.yaml'}]\n"
        "playback: repeat\n"
        f"cases:\n  - name: double-charge\n    input: {{ticket: {json.dumps(apps.TICKET)}}}\n",
        encoding="utf-8",
    )
    scenario = tmp_path / "limit.yaml"
    scenario.write_text(
        "name: limit-once\nrules:\n  - match: {route: openai}\n    when: {nth: 1}\n"
        "    fault: {type: http_error, status: 429, retry_after_s: 0.2}\n"
        "expect: {outcomes: [retried], max_attempts: 3}\n",
        encoding="utf-8",
    )
    target = "frameworks.apps:langchain_triage_sync_and_async"
    command = [sys.executable, "-m", "faultkit.cli", "run", target, "--cases", str(cases)]
    command += ["--scenarios", str(scenario), "--report", str(tmp_path)]
    run = subprocess.run(command, cwd=TESTS, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    (cell,) = json.loads((tmp_path / "report.json").read_text())["cells"]
    assert cell["verdict"]["kind"] == "retried", run.stdout
    assert [(e["logical_call"], e["attempt"], e["status"]) for e in cell["ledger"]] == [
        (1, 1, 429),
        (1, 2, 200),
        (2, 1, 200),
    ]
    assert cell["result"]["value"] == [{"category": "billing", "priority": 1}] * 2
