"""No secret reaches a file faultkit wrote, the ledger or a report, through either door.

Each example draws a set of secrets (``secret_world.kits``), puts them in every place of a
request and of a real loopback upstream's answer (query, headers, JSON body, plural and nested
keys, error text, SSE with non-JSON lines), compressed as the example says (identity, gzip,
deflate, br when brotli is installed), with or without a fault firing. Then it searches the
cassette, the ledger (as ``GET /faultkit/ledger`` serves it), the reports, and the proxy's log
for each secret: plain, base64, and inside anything compressed.

The default run keeps the example counts small; the ``slow`` tests run many more.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proxy_process import ProxyFactory
from secret_world import (
    ENCODINGS,
    USER_PATTERN,
    Kit,
    Upstream,
    exchange,
    files_under,
    kits,
    leaks,
    leaks_in,
)

from faultkit.cassettes import load_cassette
from faultkit.ledger import LedgerEntry
from faultkit.oracle.judge import judge
from faultkit.oracle.result import Result
from faultkit.report import write_reports
from faultkit.runner.model import Cell, RunReport
from faultkit.session import FaultkitSession

FAULTS: dict[str, dict | None] = {
    "none": None,
    "latency": {"type": "latency", "latency_ms": 1},
    # Removes secret-bearing fields: the ledger records what it removed, as evidence.
    "partial": {
        "type": "partial_tool_data",
        "op": "drop_fields",
        "fields": ["access_token", "refresh_tokens", "error", "text"],
    },
    "http_error": {"type": "http_error", "status": 500},  # answered without the upstream
}


def _fired(fault: str, sse: bool) -> list[str]:
    """The faults the ledger must show applied (partial_tool_data is for JSON tools only)."""
    spec = FAULTS[fault]
    if spec is None or (sse and fault == "partial"):
        return []
    return [spec["type"]]


_case = st.tuples(st.sampled_from(ENCODINGS), st.sampled_from(sorted(FAULTS)), st.booleans())


def _record_in_process(upstream: Upstream, kit: Kit, case: tuple, out: Path) -> httpx.Response:
    encoding, fault, sse = case
    ex = exchange(kit, sse=sse)
    upstream.answer_with(ex, encoding)
    cassette = out / "recorded.yaml"
    with FaultkitSession(cassettes=[cassette], mode="record", route="tools") as fk:
        if FAULTS[fault] is not None:
            fk.inject(FAULTS[fault], name=fault)
        with fk.client() as client:
            response = client.post(upstream.url + ex.path, headers=ex.headers, json=ex.body)
            response.read()
        entries = list(fk.ledger)
    assert [f.type for f in entries[0].faults] == _fired(fault, sse)
    (out / "ledger.json").write_text(json.dumps([e.model_dump(mode="json") for e in entries]))
    # The target "returned" what it got (live secrets and all) and the report embeds it.
    answer = response.text
    result = Result(value={"answer": answer, "url": str(response.request.url)}, duration_ms=1.0)
    cell = Cell(
        target="app",
        scenario=fault,
        case="a",
        seed=0,
        verdict=judge(entries, result),
        result=result,
        ledger=entries,
        repro=f"faultkit run app --case a  # {response.request.url}",
    )
    write_reports(RunReport(mode="target", cells=[cell]), out / "reports")
    return response


def _check_in_process(upstream: Upstream, kit: Kit, case: tuple, base: Path) -> None:
    out = Path(tempfile.mkdtemp(dir=base))
    response = _record_in_process(upstream, kit, case, out)
    _, fault, sse = case
    assert leaks(files_under(out), kit.secrets) == []
    if fault == "http_error":
        assert response.status_code == 500
        return
    # What was stored still replays, and the client can read it (decoded, no encoding left).
    assert response.status_code == 200
    stored = load_cassette(out / "recorded.yaml").interactions[0].response
    assert stored.head.header("content-encoding") is None
    ex = exchange(kit, sse=sse)
    with (
        FaultkitSession(cassettes=[out / "recorded.yaml"], route="tools") as fk,
        fk.client() as client,
    ):
        replayed = client.post(upstream.url + ex.path, headers=ex.headers, json=ex.body)
    assert replayed.status_code == 200
    if sse:
        assert replayed.text.count("data: ") == 5 and "[DONE]" in replayed.text
    else:
        data = replayed.json()
        assert data["usage"] == {"prompt_tokens": 5, "total_tokens": 9}  # not a secret
        assert data["id"] == "item-1"


def _run_in_process(tmp_path: Path, examples: int) -> None:
    with Upstream() as upstream:

        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(kit=kits(), case=_case)
        def check(kit: Kit, case: tuple) -> None:
            _check_in_process(upstream, kit, case, tmp_path)

        check()


def test_in_process_recording_keeps_no_secret(tmp_path: Path) -> None:
    _run_in_process(tmp_path, examples=12)


@pytest.mark.slow
def test_in_process_recording_keeps_no_secret_many_examples(tmp_path: Path) -> None:
    _run_in_process(tmp_path, examples=150)


# -- the real proxy process, in record mode ---------------------------------------------------


def _run_proxy(tmp_path: Path, examples: int) -> None:
    """One proxy for all examples (its cassette is written when it stops); every secret of
    every example is searched for at the end, and the ledger after each example."""
    (tmp_path / "faultkit.toml").write_text(
        "[scrub]\npatterns = [" + json.dumps(USER_PATTERN) + "]\n"
    )
    cassettes = tmp_path / "cassettes"
    factory = ProxyFactory(tmp_path)
    seen: list[str] = []
    try:
        with Upstream() as upstream:
            recorder = factory(
                "--mode",
                "record",
                "--cassettes",
                str(cassettes),
                "--upstream",
                f"sec={upstream.url},env=SEC_URL",
                "--only",
                "sec",
                "--log-level",
                "INFO",
            )
            door = recorder.door("sec")

            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            )
            @given(kit=kits(), case=_case)
            def check(kit: Kit, case: tuple) -> None:
                encoding, fault, sse = case
                ex = exchange(kit, sse=sse)
                upstream.answer_with(ex, encoding)
                headers = dict(ex.headers)
                if FAULTS[fault] is not None:
                    headers["x-faultkit-fault"] = json.dumps(FAULTS[fault])
                r = httpx.post(door + ex.path, headers=headers, json=ex.body, timeout=10)
                assert r.status_code == (500 if fault == "http_error" else 200)
                seen.extend(kit.secrets)
                ledger = httpx.get(f"{recorder.control}/faultkit/ledger", timeout=5).content
                assert leaks_in("GET /faultkit/ledger", ledger, kit.secrets) == []
                last = json.loads(ledger)[-1]
                assert [f["type"] for f in last["faults"]] == _fired(fault, sse)

            check()
            # A report built from the proxy's ledger, as a run through the proxy writes one.
            served = httpx.get(f"{recorder.control}/faultkit/ledger", timeout=5).json()
            entries = [LedgerEntry.model_validate(row) for row in served]
            result = Result(value=None, duration_ms=1.0)
            cell = Cell(
                target="app",
                scenario="proxy",
                case="a",
                seed=0,
                verdict=judge(entries, result),
                result=result,
                ledger=entries,
            )
            write_reports(RunReport(mode="target", cells=[cell]), tmp_path / "reports")
            code, _, err = recorder.stop()
            assert code == 0, err
    finally:
        factory.close()
    assert list(cassettes.glob("*.yaml")), "the proxy recorded nothing"
    assert (tmp_path / "reports" / "report.json").is_file()
    assert leaks(files_under(tmp_path), seen) == []
    # Recorded from compressed answers, stored decoded and loadable.
    for path in cassettes.glob("*.yaml"):
        for interaction in load_cassette(path).interactions:
            assert interaction.response.head.header("content-encoding") is None
            assert yaml.safe_load(path.read_text())["version"] == 1


def test_proxy_recording_keeps_no_secret(tmp_path: Path) -> None:
    _run_proxy(tmp_path, examples=10)


@pytest.mark.slow
def test_proxy_recording_keeps_no_secret_many_examples(tmp_path: Path) -> None:
    _run_proxy(tmp_path, examples=120)
