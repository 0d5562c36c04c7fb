"""``faultkit explore TARGET``: the search from the command line, on a user's own target loaded
the way ``faultkit run`` loads it; minimal schedules saved as scenario files that ``faultkit
run`` reproduces."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _world import write_chat_cassette

from faultkit.cli import main
from faultkit.scenario import Scenario

TARGET = '''
import json

import httpx

CHAT = "https://api.openai.com/v1/chat/completions"


class Unavailable(Exception):
    """The declared error."""


def answer(question, http_client):
    try:
        with http_client.stream("POST", CHAT, json={"model": "gpt-4o-mini", "stream": True}) as r:
            if r.status_code == 500:
                raise RuntimeError("nobody handles a 500")  # the weakness
            if r.status_code >= 400:
                raise Unavailable(f"HTTP {r.status_code}")
            lines = [line for line in r.iter_lines() if line.startswith("data:")]
    except httpx.HTTPError as exc:
        raise Unavailable(str(exc)) from exc
    if not lines or lines[-1] != "data: [DONE]":
        raise Unavailable("incomplete")
    try:
        chunks = [json.loads(line[5:]) for line in lines[:-1]]
        content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        return json.loads(content)
    except ValueError as exc:
        raise Unavailable("broken answer") from exc
'''

CASES = """\
contract:
  error_types: [explore_bot:Unavailable]
  max_attempts: 3
cassettes: [chat.yaml]
match_on: [method, uri]
cases:
  - name: where-is-my-order
    input: {question: "Where is my order 1234?"}
"""

FAST = ["--max-delay-ms", "5", "--max-retry-after-s", "0.005", "--calls", "2", "-q"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "explore_bot.py").write_text(textwrap.dedent(TARGET))
    (tmp_path / "cases.yaml").write_text(CASES)
    write_chat_cassette(tmp_path / "chat.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("explore_bot", None)


def test_explore_finds_saves_and_reproduces_the_weakness(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["explore", "explore_bot:answer", "--cases", "cases.yaml", "--budget", "30"]
    code = main([*argv, "--seed", "3", "--faults", "http_error", "latency", *FAST])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "minimal failing fault schedule: call 1 of openai → 500" in out
    (saved,) = (project / ".faultkit" / "explored").glob("explored-explore_bot-answer-crash-*.yaml")
    assert f"saved as {saved.relative_to(project)}" in out
    plan = Scenario.load(saved)
    assert [(r.match.route, r.when.nth, r.fault.type) for r in plan.rules] == [
        ("openai", 1, "http_error")
    ]
    assert plan.rules[0].fault.status == 500
    assert (project / ".faultkit" / "hypothesis").is_dir()

    # The printed repro command runs the saved scenario through `faultkit run`: same verdict.
    repro = next(line for line in out.splitlines() if line.startswith("reproduce: "))
    run_argv = repro.removeprefix("reproduce: faultkit ").split()
    assert run_argv[:2] == ["run", "explore_bot:answer"]
    assert main([*run_argv, "--no-report", "-q"]) == 1
    assert "verdict crash (UNCONTROLLED)" in capsys.readouterr().out


def test_explore_without_a_weakness_exits_0(project: Path, capsys: pytest.CaptureFixture[str]):
    argv = ["explore", "explore_bot:answer", "--cases", "cases.yaml", "--budget", "15"]
    faults = ["--faults", "latency", "broken_sse", "malformed_body"]
    code = main([*argv, *faults, "--seed", "5", "--no-database", *FAST])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "no schedule left the target uncontrolled" in out
    assert "explored 15 schedule(s)" in out
    assert not (project / ".faultkit" / "hypothesis").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explore"], "give a TARGET"),
        (["explore", "explore_bot:answer", "--budget", "0"], "--budget must be at least 1"),
        (["explore", "explore_bot:nope"], "has no attribute 'nope'"),
        (
            ["explore", "explore_bot:answer", "--cases", "cases.yaml", "--faults", "gremlins"],
            "no strategy for fault 'gremlins'",
        ),
    ],
)
def test_user_mistakes_are_one_line_errors(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_json_summary_names_each_failure_its_scenario_and_repro(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["explore", "explore_bot:answer", "--cases", "cases.yaml", "--budget", "30"]
    code = main([*argv, "--seed", "3", "--faults", "http_error", "latency", "--json", *FAST])
    printed = json.loads(capsys.readouterr().out)
    assert code == 1
    assert printed["seed"] == 3 and printed["schedules"] >= 1
    assert sum(printed["verdicts"].values()) == printed["schedules"]
    (failure,) = printed["failures"]
    assert failure["verdict"] == "crash"
    assert Path(failure["scenario"]).is_file()
    assert failure["repro"].startswith("faultkit run explore_bot:answer ")


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
def test_jobs_split_the_search_into_worker_processes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two searches in two worker processes, seeds derived from --seed, budget shared: the
    weakness is found once (one failure per kind), saved, and the repro command reproduces
    it in this process."""
    argv = ["explore", "explore_bot:answer", "--cases", "cases.yaml", "--budget", "30"]
    faults = ["--faults", "http_error", "latency"]
    code = main([*argv, "--seed", "3", *faults, "--jobs", "2", "--json", *FAST])
    printed = json.loads(capsys.readouterr().out)
    assert code == 1
    assert printed["jobs"] == 2
    assert printed["schedules"] >= 30  # both parts ran their share (shrinking comes on top)
    assert sum(printed["verdicts"].values()) == printed["schedules"]
    (failure,) = printed["failures"]
    assert failure["verdict"] == "crash"
    plan = Scenario.load(failure["scenario"])
    assert [(r.match.route, r.when.nth, r.fault.type) for r in plan.rules] == [
        ("openai", 1, "http_error")
    ]
    assert main([*failure["repro"].split()[1:], "--no-report", "-q"]) == 1
    assert "verdict crash (UNCONTROLLED)" in capsys.readouterr().out


def test_jobs_below_one_is_a_one_line_error(project: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["explore", "explore_bot:answer", "--cases", "cases.yaml", "--jobs", "0"]) == 2
    err = capsys.readouterr().err
    assert "--jobs must be at least 1, got 0" in err
    assert "Traceback" not in err


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found |= {child, *_descendants(child)}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_ctrl_c_ends_the_search_workers_with_one_line(project: Path) -> None:
    """Ctrl-C during a --jobs search: exit 130, one line, and no worker process left over."""
    argv = ["explore", "explore_bot:answer", "--cases", "cases.yaml", "--budget", "2000"]
    argv += ["--jobs", "2", "--no-database", "--faults", "latency", "--max-delay-ms", "300"]
    code = "import sys; from faultkit.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        cwd=project,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    try:
        first = proc.stderr.readline()  # the header line: the workers are starting
        assert "in 2 parallel searches" in first, first
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline:  # the two searching workers and the fork server
            workers = _descendants(proc.pid)
            if len(workers) >= 3:
                break
            time.sleep(0.1)
        assert len(workers) >= 3, workers
        time.sleep(1.0)  # both searches under way
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "faultkit explore: interrupted; no schedule saved" in rest
    assert "Traceback" not in rest
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
