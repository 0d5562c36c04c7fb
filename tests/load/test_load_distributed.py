"""``--workers N``: a Locust master and N local workers; their histograms merge losslessly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stall_server import StallServer

from faultkit.cli import main


@pytest.mark.slow  # ~9 s: Locust/dspy in subprocesses; the default suite stays under 10 min
def test_two_local_workers_merge_to_the_sum_of_what_each_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with StallServer(freeze_s=0) as server:
        code = main(
            [
                "load",
                server.url + "/",
                "--no-proxy",
                "--workers",
                "2",
                "--users",
                "4",
                "--rate",
                "80",
                "--spawn-rate",
                "50",
                "--duration",
                "4s",
                "--gate",
                "error_rate<1%",
                "--report",
                str(tmp_path),
            ]
        )
        served = server.requests
    out = capsys.readouterr().out
    assert code == 0, out
    (result,) = json.loads((tmp_path / "load.json").read_text())["results"]
    # What each worker counted itself, written by the worker process at its end.
    own = [json.loads(p.read_text()) for p in sorted((tmp_path / "raw").glob("*.worker-*.json"))]
    assert len(own) == 2 and all(w["requests"] > 0 for w in own)
    assert sorted(result["workers"].values()) == sorted(w["requests"] for w in own)
    # The merged histograms hold exactly the sum; so do Locust's own merged stats and the
    # server's count (less faultkit's one readiness probe): nothing lost or counted twice on
    # the way to the master.
    total = sum(w["requests"] for w in own)
    assert result["requests"] == result["raw"]["count"] == total
    assert result["locust"]["requests"] == total == served - 1
    assert result["complete"] is True
    # Each worker's answers reach the master too, to be judged there: every one, once.
    assert result["answers"]["verdicts"] == {"pass": total}
    assert f"(sum {total})" in out
