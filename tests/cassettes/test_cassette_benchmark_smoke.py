"""The replay benchmark runs end to end on a tiny cassette (the real run is not part of tests)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_benchmark_smoke() -> None:
    out = subprocess.run(
        [sys.executable, "benchmarks/cassette_replay.py", "--n", "60", "--vcrpy-n", "30"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "faultkit  N=60" in out and "faultkit  N=30" in out and "vcrpy     N=30" in out
    ratio = re.search(r"per-request median:\s+vcrpy/faultkit =\s+([\d.]+)x", out)
    assert ratio is not None and float(ratio.group(1)) > 0
    assert "EXTRAPOLATED from N=30" in out
