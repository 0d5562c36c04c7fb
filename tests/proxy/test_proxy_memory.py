"""A proxy serving faulted traffic keeps its ledger within --ledger-mib, its URLs compact, and
a reset empties it; the short soak (slow step) checks RSS and descriptors over a minute of
100 req/s. The real proxy process over loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from proxy_process import REPO, SUPPORT_CASSETTES

from faultkit.ledger import MAX_URL_CHARS

ORDERS = ["--upstream", "orders=http://orders.internal,env=ORDERS_URL", "--only", "orders"]


def test_ledger_stays_within_its_byte_budget_and_reset_empties_it(proxy) -> None:
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--ledger-mib", "0.1")
    door = served.door("orders")
    with httpx.Client(timeout=10) as client:
        for i in range(300):
            url = f"{door}/orders/1234" if i % 2 else f"{door}/nowhere/{i}?q={'k' * 8000}"
            client.get(url)
        rows = client.get(served.control + "/faultkit/ledger")
        dropped = int(rows.headers["x-faultkit-ledger-dropped"])
        entries = rows.json()
        # ~100 KiB: tens of entries, not 300; the newest kept.
        assert 10 < len(entries) < 150
        assert dropped == 300 - len(entries)
        assert entries[-1]["id"] == 300
        long = [e["url"] for e in entries if "/nowhere/" in e["url"]]
        assert long and all(len(u) <= MAX_URL_CHARS + 40 for u in long)
        assert all(u.endswith("more chars]") for u in long)
        assert client.post(served.control + "/faultkit/reset").status_code == 204
        after = client.get(served.control + "/faultkit/ledger")
        assert after.json() == [] and after.headers["x-faultkit-ledger-dropped"] == "0"
        client.get(f"{door}/orders/1234")
        assert [e["id"] for e in served.ledger()] == [1]


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
def test_many_sessions_share_one_budget(proxy) -> None:
    """Each x-faultkit-session has its own ledger; all of them together stay in budget."""
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--ledger-mib", "0.1")
    door = served.door("orders")
    with httpx.Client(timeout=10) as client:
        for i in range(400):
            client.get(
                f"{door}/nowhere/{i}?q={'s' * 4000}", headers={"x-faultkit-session": f"s{i % 40}"}
            )
        entries = client.get(served.control + "/faultkit/ledger").json()
    assert len(entries) < 200
    assert len({e["context"]["session"] for e in entries}) == 40  # each keeps its newest


def test_bad_ledger_budget_is_one_line(tmp_path: Path) -> None:
    from proxy_process import run_proxy

    code, _, err = run_proxy(tmp_path, "--cassettes", str(SUPPORT_CASSETTES), "--ledger-mib", "-1")
    assert code == 2
    assert err.strip() == "faultkit proxy: --ledger-mib -1.0: must be a finite number, 0 or more"


@pytest.mark.slow
def test_short_soak_keeps_rss_and_descriptors_flat(tmp_path: Path) -> None:
    """benchmarks/soak.py for one minute (the 10-minute figures are in benchmarks/README.md),
    with a ledger budget small enough to be full before warm-up ends."""
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "soak.py"),
            "--minutes",
            "1",
            "--idle",
            "10",
            "--json",
            str(out),
            "--",
            "--ledger-mib",
            "2",
            "--client-timeout-s",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    figures = json.loads(out.read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert figures["rss_growth_after_warmup"] < 0.10
    assert figures["fds_after_reset"] <= figures["fds_start"] + 2
    assert figures["idle_closed_by_proxy"] >= 10  # every slowloris client was dropped
    assert figures["sent"] > 3000
