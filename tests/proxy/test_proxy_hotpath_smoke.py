"""The proxy hot-path benchmark runs end to end on a few requests (the real run is not a test).

Each case checks one answer it got back before it times anything, so this also proves the
benchmark drives working code paths: a broken door fails here, not with a fast figure.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_hotpath_benchmark_smoke() -> None:
    out = subprocess.run(
        [sys.executable, "benchmarks/proxy_hotpath.py", "--requests", "300", "--rounds", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for case in ("floor", "passthrough", "replay", "header-fault"):
        row = re.search(rf"^\s+{case}\s+([\d.]+) us .*\s([\d.]+)x$", out, re.MULTILINE)
        assert row is not None, out
        assert float(row.group(1)) > 0
    assert re.search(r"^\s+floor .* 1\.0x$", out, re.MULTILINE)
