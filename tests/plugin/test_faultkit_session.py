"""The session behind the fixture: inline rules validated like scenario rules, cassettes, doors."""

from __future__ import annotations

from pathlib import Path

import httpx
import httpx2
import pytest

from faultkit.errors import CassetteError, FaultkitError, ScenarioError
from faultkit.faults.latency import Latency
from faultkit.session import FaultkitSession

CASSETTE = """\
interactions:
- request:
    body: ''
    headers: {}
    method: GET
    uri: http://tools.test/items/%(n)s
  response:
    body:
      string: '{"item": %(n)s}'
    headers:
      content-type:
      - application/json
    status:
      code: 200
      message: OK
version: 1
"""


def _cassette(tmp_path: Path, n: int) -> Path:
    path = tmp_path / f"items-{n}.yaml"
    path.write_text(CASSETTE % {"n": n})
    return path


def test_inject_accepts_a_mapping_or_a_fault_and_returns_labels() -> None:
    session = FaultkitSession()
    assert session.inject({"type": "latency", "latency_ms": 5}) == "inline-1"
    assert session.inject(Latency(latency_ms=5), name="slow", when={"nth": 2}) == "slow"
    assert [r.fault.type for r in session.engine.rules] == ["latency", "latency"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"fault": {"type": "latency"}}, "inject: fault.latency_ms: Field required"),
        ({"fault": {"type": "latency", "latency_ms": -1}}, "inject: fault.latency_ms: Input"),
        (
            {"fault": {"type": "latncy"}},
            "inject: fault.type: unknown fault type 'latncy'; did you mean 'latency'? known:",
        ),
        ({"fault": {"latency_ms": 1}}, "inject: fault: a fault needs a 'type'"),
        (
            {"fault": {"type": "latency", "latency_ms": 1}, "when": {"nht": 2}},
            "inject: when.nht: unknown field",
        ),
        (
            {"fault": {"type": "latency", "latency_ms": 1}, "match": {"provider": "azure"}},
            "inject: match.provider:",
        ),
    ],
)
def test_a_bad_inline_rule_names_the_field(kwargs: dict, expected: str) -> None:
    session = FaultkitSession()
    with pytest.raises(ScenarioError) as info:
        session.inject(kwargs.pop("fault"), **kwargs)
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


def test_inline_rule_names_must_be_unique() -> None:
    session = FaultkitSession()
    session.inject({"type": "latency", "latency_ms": 1}, name="slow")
    with pytest.raises(ScenarioError, match="already exists"):
        session.inject({"type": "latency", "latency_ms": 2}, name="slow")


def test_clients_of_both_libraries_share_one_engine(tmp_path: Path) -> None:
    session = FaultkitSession(cassettes=[_cassette(tmp_path, 1)], playback="repeat")
    with session:
        assert session.client().get("http://tools.test/items/1").json() == {"item": 1}
        assert session.httpx2_client().get("http://tools.test/items/1").json() == {"item": 1}
    assert isinstance(session.client(), httpx.Client)
    assert isinstance(session.httpx2_client(), httpx2.Client)
    assert [e.route for e in session.ledger] == ["tools.test", "tools.test"]


async def test_async_clients_answer_from_the_same_cassette(tmp_path: Path) -> None:
    session = FaultkitSession(cassettes=[_cassette(tmp_path, 1)], playback="repeat", route="tools")
    async with session.async_client() as client:
        assert (await client.get("http://tools.test/items/1")).json() == {"item": 1}
    async with session.async_httpx2_client() as client:
        assert (await client.get("http://tools.test/items/1")).json() == {"item": 1}
    assert [e.route for e in session.ledger] == ["tools", "tools"]


def test_use_cassette_adds_recordings(tmp_path: Path) -> None:
    session = FaultkitSession(cassettes=[_cassette(tmp_path, 1)], base_dir=tmp_path)
    _cassette(tmp_path, 2)
    session.use_cassette("items-2.yaml")  # relative to base_dir
    client = session.client()
    assert client.get("http://tools.test/items/2").json() == {"item": 2}
    assert client.get("http://tools.test/items/1").json() == {"item": 1}
    with pytest.raises(FaultkitError, match="not found"):
        session.use_cassette("missing.yaml")


def test_a_missing_or_corrupt_cassette_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteError):
        FaultkitSession(cassettes=[tmp_path / "nope.yaml"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("interactions: [")
    with pytest.raises(CassetteError):
        FaultkitSession(cassettes=[broken])


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(FaultkitError, match="unknown mode"):
        FaultkitSession(mode="replay-ish")
    with pytest.raises(FaultkitError, match="needs a cassette path"):
        FaultkitSession(mode="record")


def test_importing_faultkit_does_not_import_the_sdks() -> None:
    import subprocess
    import sys

    code = (
        "import sys, faultkit, faultkit.pytest_plugin; "
        "print(sorted(m for m in ('openai', 'anthropic', 'httpx2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
