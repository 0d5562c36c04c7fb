"""`faultkit run TARGET`: a user's own callable, its cases file, exit codes, repro, mistakes.

The project under test is written to a temporary directory: a module of small purpose-built
apps that call a JSON tool through the injected client factory, a scenario directory, a
cassette for the tool, and a cases file with the contract.
"""

from __future__ import annotations

import json
import shlex
import textwrap
from pathlib import Path

import pytest
from tool_world import write_scenarios, write_tool_cassette

from faultkit.cli import main

APPS = '''
import asyncio
import time

import httpx
from pydantic import BaseModel


class Answer(BaseModel):
    item: str
    price: float


class AppError(Exception):
    """Declared: the app could not answer."""


def _answer(response):
    if response.status_code != 200:
        raise AppError(f"tool said {response.status_code}")
    data = response.json()
    return Answer(item=data["name"], price=data["price"])


def careful(item_id: str, *, http_client_factory=httpx.Client):
    with http_client_factory(timeout=2.0) as client:
        return _answer(client.get(f"http://tools.internal/items/{item_id}"))


def careless(item_id: str, *, http_client_factory=httpx.Client):
    with http_client_factory() as client:
        data = client.get(f"http://tools.internal/items/{item_id}").json()
    return {"item": data["name"], "price": data["price"]}


async def careful_async(item_id: str, *, http_client_factory=httpx.AsyncClient):
    async with http_client_factory(timeout=2.0) as client:
        return _answer(await client.get(f"http://tools.internal/items/{item_id}"))


def sleepy(item_id: str):
    time.sleep(30)


def one_client(item_id: str, *, http_client):
    return _answer(http_client.get(f"http://tools.internal/items/{item_id}"))


def asks_twice(item_id: str, *, http_client_factory=httpx.Client):
    with http_client_factory(timeout=2.0) as client:
        client.get(f"http://tools.internal/items/{item_id}")
        return _answer(client.get(f"http://tools.internal/items/{item_id}"))
'''

CASES = """
contract:
  output_model: sut_apps:Answer
  error_types: [sut_apps:AppError]
  deadline_ms: 1000
cassettes: [tools.yaml]
cases:
  - name: lamp
    input: {item_id: "7"}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "sut_apps.py").write_text(textwrap.dedent(APPS))
    write_tool_cassette(root)
    (root / "cases.yaml").write_text(CASES)
    write_scenarios(root)
    return root


@pytest.fixture
def fk(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``fk(*argv)`` runs ``faultkit run`` in the project; returns (code, stdout, stderr)."""
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["run", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _report(path: Path) -> dict:
    return json.loads((path / "report.json").read_text())


def _kinds(report: dict) -> dict[str, str]:
    return {c["scenario"]: c["verdict"]["kind"] for c in report["cells"]}


def test_all_controlled_exits_zero_and_writes_reports(fk, project: Path) -> None:
    code, out, _ = fk(
        "sut_apps:careful", "--scenarios", "scenarios", "--cases", "cases.yaml", "--report", "out"
    )
    report = _report(project / "out")
    assert code == 0
    assert _kinds(report) == {"calm": "pass", "tool-down": "controlled_error"}
    assert report["mode"] == "target" and report["exit_code"] == 0
    assert "every verdict is controlled and allowed (exit 0)" in out
    assert "reproduce" not in out


def test_an_uncontrolled_verdict_exits_one_and_prints_its_repro(fk, project: Path) -> None:
    code, out, _ = fk(
        "sut_apps:careless", "--scenarios", "scenarios", "--cases", "cases.yaml", "--report", "out2"
    )
    assert code == 1
    assert _kinds(_report(project / "out2")) == {"calm": "pass", "tool-down": "crash"}
    (line,) = [line for line in out.splitlines() if line.strip().startswith("crash ")]
    kind, command = line.split(None, 1)
    assert kind == "crash"
    argv = shlex.split(command)
    assert argv[:3] == ["faultkit", "run", "sut_apps:careless"]
    assert argv[argv.index("--scenario") + 1] == "tool-down"
    assert argv[argv.index("--case") + 1] == "lamp"
    assert argv[argv.index("--seed") + 1] == "5"
    assert "1 verdict(s) uncontrolled or not allowed (exit 1)" in out

    code, out, _ = fk(*argv[2:], "--report", "again")
    again = _report(project / "again")
    assert code == 1
    assert [(c["scenario"], c["seed"], c["verdict"]["kind"]) for c in again["cells"]] == [
        ("tool-down", 5, "crash")
    ]


def test_seed_applies_to_every_scenario(fk, project: Path) -> None:
    code, _, _ = fk(
        "sut_apps:careful",
        "--scenarios",
        "scenarios",
        "--cases",
        "cases.yaml",
        "--seed",
        "99",
        "--report",
        "seeded",
    )
    report = _report(project / "seeded")
    assert code == 0
    assert {c["seed"] for c in report["cells"]} == {99}
    assert all("--seed 99" in c["repro"] for c in report["cells"])


def test_a_target_past_its_deadline_is_a_hang_and_the_runner_stops_waiting(fk, project) -> None:
    code, _, err = fk(
        "sut_apps:sleepy",
        "--scenarios",
        "scenarios/calm.yaml",
        "--cases",
        "cases.yaml",
        "--report",
        "sleepy",
    )
    (cell,) = _report(project / "sleepy")["cells"]
    assert code == 1
    assert cell["verdict"]["kind"] == "hang"
    assert cell["result"]["timed_out"] is True
    assert 1000 <= cell["result"]["duration_ms"] < 5000  # deadline 1 s + grace, not 30 s
    assert "hang" in err


def test_an_async_target_gets_async_clients(fk, project: Path) -> None:
    code, _, _ = fk(
        "sut_apps:careful_async",
        "--scenarios",
        "scenarios",
        "--cases",
        "cases.yaml",
        "--report",
        "async",
    )
    assert code == 0
    report = _report(project / "async")
    assert _kinds(report) == {"calm": "pass", "tool-down": "controlled_error"}
    calm = next(c for c in report["cells"] if c["scenario"] == "calm")
    assert [e["route"] for e in calm["ledger"]] == ["tools.internal"]
    assert calm["result"]["value"] == {"item": "lamp", "price": 19.5}


def test_a_target_taking_one_client_gets_one(fk, project: Path) -> None:
    code, _, _ = fk(
        "sut_apps:one_client",
        "--scenarios",
        "scenarios/calm.yaml",
        "--cases",
        "cases.yaml",
        "--no-report",
    )
    assert code == 0
    assert not (project / "faultkit-report").exists()


def test_the_cases_file_can_name_the_target(fk, project: Path) -> None:
    (project / "with-target.yaml").write_text("target: sut_apps:careful\n" + CASES)
    code, out, _ = fk("--cases", "with-target.yaml", "--scenarios", "scenarios", "--no-report")
    assert code == 0
    assert "SCENARIO" in out and "sut_apps:careful" in out


@pytest.mark.parametrize(("playback", "kind"), [("repeat", "pass"), ("once", "harness_error")])
def test_the_cases_file_playback_decides_whether_a_request_plays_again(
    fk, project: Path, playback: str, kind: str
) -> None:
    """``playback: once``: an app that asks the same thing twice finds no second recording."""
    (project / f"{playback}.yaml").write_text(f"playback: {playback}\n" + CASES)
    code, _, _ = fk(
        "sut_apps:asks_twice",
        "--cases",
        f"{playback}.yaml",
        "--scenarios",
        "scenarios",
        "--scenario",
        "calm",
        "--report",
        f"out-{playback}",
    )
    assert _kinds(_report(project / f"out-{playback}")) == {"calm": kind}
    assert code == (0 if kind == "pass" else 1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sut_apps:careful", "--cases", "bad-match.yaml"], "bad-match.yaml: match_on: unknown"),
        (["nosuchmodule:answer"], "cannot import 'nosuchmodule'"),
        (["sut_apps:nothing"], "has no attribute 'nothing'"),
        (["sut_apps"], "is not 'package.module:function'"),
        (["sut_apps:careful", "--cases", "missing.yaml"], "missing.yaml: cases file not found"),
        (["sut_apps:careful", "--scenarios", "nowhere"], "nowhere: no such file or directory"),
        (["sut_apps:careful", "--scenario", "nope"], "unknown scenario 'nope'"),
        (["sut_apps:careful", "--case", "nope"], "unknown case 'nope'"),
        (["sut_apps:careful", "--app", "naive"], "either TARGET or --app"),
        (["http://127.0.0.1:9/answer"], "--proxy"),
        (["sut_apps:careful", "--cassettes", "gone.yaml"], "cassette not found: gone.yaml"),
        (["sut_apps:sleepy", "--cases", "bad-input.yaml"], "has no parameter 'colour'"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_two(
    fk, project: Path, argv: list[str], message: str
) -> None:
    (project / "bad-input.yaml").write_text("cases:\n  - name: x\n    input: {colour: red}\n")
    (project / "bad-match.yaml").write_text("match_on: [method, bogus]\n")
    defaults = [] if "--cases" in argv else ["--cases", "cases.yaml"]
    scenarios = [] if "--scenarios" in argv else ["--scenarios", "scenarios"]
    code, _, err = fk(*argv, *defaults, *scenarios, "--no-report")
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
