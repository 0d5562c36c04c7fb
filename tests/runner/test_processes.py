"""``faultkit run --processes``: cells in worker processes, for a target threads cannot run.

The target keeps process-wide state: a lock it holds for the length of a call, refusing (an
undeclared RuntimeError, so a ``crash``) a second call in the same process. In threads two
cells overlap in one process and crash it; in worker processes, one cell at a time each, every
verdict is the target's real one. Real spawned processes, the real in-process door.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tool_world import write_scenarios, write_tool_cassette

from faultkit.cli import main

APP = '''
import os
import threading
import time
from pathlib import Path

import httpx
from pydantic import BaseModel

_BUSY = threading.Lock()  # process-wide: one call at a time


class Answer(BaseModel):
    item: str
    price: float


class AppError(Exception):
    """Declared: the app could not answer."""


def answer(item_id: str, *, http_client_factory=httpx.Client):
    if not _BUSY.acquire(blocking=False):
        raise RuntimeError("another call is in progress in this process")
    try:
        with Path("pids.txt").open("a") as pids:
            pids.write(f"{os.getpid()}\\n")
        time.sleep(1.0)
        with http_client_factory(timeout=2.0) as client:
            response = client.get(f"http://tools.internal/items/{item_id}")
        if response.status_code != 200:
            raise AppError(f"tool said {response.status_code}")
        data = response.json()
        return Answer(item=data["name"], price=data["price"])
    finally:
        _BUSY.release()


def dies(item_id: str, *, http_client_factory=httpx.Client):
    os._exit(3)


def named(item_id: str, *, http_client_factory=httpx.Client):
    with http_client_factory(timeout=2.0) as client:
        client.get(f"http://tools.internal/items/{item_id}")
    return Answer(item=os.environ["LAMP_NAME"], price=1.0)


def stuck(item_id: str, *, http_client_factory=httpx.Client):
    with Path("pids.txt").open("a") as pids:
        pids.write(f"{os.getpid()}\\n")
    time.sleep(120)
'''

CASES = """
contract:
  output_model: shared_state:Answer
  error_types: [shared_state:AppError]
  deadline_ms: 8000
cassettes: [tools.yaml]
cases:
  - name: lamp
    input: {item_id: "7"}
"""


@pytest.fixture
def fk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "shared_state.py").write_text(textwrap.dedent(APP))
    write_tool_cassette(tmp_path)
    (tmp_path / "cases.yaml").write_text(CASES)
    write_scenarios(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["run", "--cases", "cases.yaml", "--scenarios", "scenarios", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _kinds(path: Path) -> list[tuple[str, int, str]]:
    report = json.loads((path / "report.json").read_text())
    return [
        (c["scenario"], r["seed"], r["kind"]) for c in report["cells"] for r in c["repeat"]["runs"]
    ]


def test_threads_share_the_targets_state_and_processes_do_not(fk, tmp_path: Path) -> None:
    # Four runs (two scenarios x two seeds) in four threads: they overlap in one process.
    code, _, _ = fk("shared_state:answer", "--repeat", "2", "--jobs", "4", "--report", "threads")
    assert code == 1
    assert "crash" in [kind for _, _, kind in _kinds(tmp_path / "threads")]

    (tmp_path / "pids.txt").unlink()
    code, out, err = fk(
        "shared_state:answer", "--repeat", "2", "--processes", "--jobs", "2", "--report", "procs"
    )
    assert code == 0, out
    assert _kinds(tmp_path / "procs") == [
        ("calm", 0, "pass"),
        ("calm", 1, "pass"),
        ("tool-down", 5, "controlled_error"),
        ("tool-down", 6, "controlled_error"),
    ]
    pids = set((tmp_path / "pids.txt").read_text().split())
    assert len(pids) == 2 and str(os.getpid()) not in pids
    assert "[4/4] ok" in err
    # Repro commands are the same as in threads: they name the seed, not the way it ran.
    report = json.loads((tmp_path / "procs" / "report.json").read_text())
    assert all("--processes" not in c["repro"] for c in report["cells"])
    assert report["cells"][1]["repro"].endswith(
        "--scenario tool-down --case lamp --seed 5 --report procs/repro"
    )


def test_workers_see_this_runs_environment(fk, tmp_path: Path, monkeypatch) -> None:
    """Workers fork from a fork server that outlives a run; each run's environment is the
    one its workers see."""
    for name in ("desk lamp", "floor lamp"):
        monkeypatch.setenv("LAMP_NAME", name)
        code, _, _ = fk(
            "shared_state:named", "--scenario", "calm", "--processes", "--jobs", "1",
            "--report", "named",
        )  # fmt: skip
        assert code == 0
        (cell,) = json.loads((tmp_path / "named" / "report.json").read_text())["cells"]
        assert cell["result"]["value"] == {"item": name, "price": 1.0}


def test_a_worker_that_dies_is_one_line(fk, tmp_path: Path) -> None:
    code, _, err = fk("shared_state:dies", "--processes", "--jobs", "1", "--report", "out")
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("a worker process died")
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see the workers")
def test_ctrl_c_ends_the_workers_and_is_one_line(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the terminal's process group) while workers run targets stuck for two
    minutes under a 60 s deadline: the run ends at once, exit 130, one line, no worker left."""
    (tmp_path / "shared_state.py").write_text(textwrap.dedent(APP))
    write_tool_cassette(tmp_path)
    (tmp_path / "cases.yaml").write_text(CASES.replace("deadline_ms: 8000", "deadline_ms: 60000"))
    write_scenarios(tmp_path)
    cli = "import sys; from faultkit.cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", cli, "run", "shared_state:stuck", "--cases"]
    argv += ["cases.yaml", "--scenarios", "scenarios", "--processes", "--jobs", "2", "-q"]
    proc = subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        pids_file = tmp_path / "pids.txt"
        started = time.monotonic()
        while len(pids_file.read_text().split() if pids_file.exists() else []) < 2:
            assert proc.poll() is None and time.monotonic() - started < 60, proc.stderr
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)
        interrupted = time.monotonic()
        out, err = proc.communicate(timeout=50)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - interrupted < 30  # not the 60 s deadline
    assert proc.returncode == 130
    assert err.strip() == "faultkit run: interrupted; no verdict matrix, no report written"
    assert out == ""
    workers = [int(pid) for pid in pids_file.read_text().split()]
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers)
