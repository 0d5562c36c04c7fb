"""Children always end: a process group killed as a whole, and a hard deadline on Locust."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from faultkit.load import locust_process
from faultkit.load.locust_process import LocustRun, run_locust
from faultkit.load.processes import Child, group_alive
from faultkit.load.results import LoadRunError


def _wait_for(child: Child, text: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in child.output():
        assert time.monotonic() < deadline, child.output()
        time.sleep(0.02)


def test_kill_group_ends_the_child_and_what_it_started() -> None:
    script = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = Child([sys.executable, "-c", script])
    _wait_for(child, "started")
    assert child.pgid == child.pid != os.getpgid(0)  # its own group, not ours
    assert group_alive(child.pgid)
    child.kill_group()
    assert child.poll() is not None
    assert not group_alive(child.pgid)  # zombies awaiting init's reaping do not count


def test_a_locust_run_past_its_deadline_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hang = tmp_path / "hang.py"
    hang.write_text("import time\nprint('loading', flush=True)\ntime.sleep(120)\n")
    monkeypatch.setattr(locust_process, "STARTUP_S", 2.0)
    monkeypatch.setattr(locust_process, "FINAL_REPORT_S", 0.0)
    run = LocustRun(
        phase="hang",
        kind="direct",
        host="http://127.0.0.1:9",
        locustfile=hang,
        users=1,
        spawn_rate=1.0,
        duration_s=0.5,
        rate_per_user=1.0,
        drain_s=0.0,
    )
    started = time.monotonic()
    with pytest.raises(LoadRunError, match=r"still running after 2\.5s; killed"):
        run_locust(run, tmp_path)
    assert time.monotonic() - started < 10
