"""The same verdicts in pytest: ``faultkit.check`` and ``@pytest.mark.faultkit_scenarios``,
driven through pytester on a small project (a JSON tool, two scenarios, two apps)."""

from __future__ import annotations

import pytest
from tool_world import write_scenarios, write_tool_cassette

pytest_plugins = ["pytester"]

TESTS = """
import httpx
import pytest
from pydantic import BaseModel

import faultkit as fk
from faultkit.oracle import Contract


class Answer(BaseModel):
    item: str
    price: float


class AppError(Exception):
    pass


def careful(item_id, *, http_client_factory=httpx.Client):
    with http_client_factory(timeout=2.0) as client:
        response = client.get(f"http://tools.internal/items/{item_id}")
    if response.status_code != 200:
        raise AppError(response.status_code)
    return Answer(item=response.json()["name"], price=response.json()["price"])


def careless(item_id, *, http_client_factory=httpx.Client):
    with http_client_factory() as client:
        data = client.get(f"http://tools.internal/items/{item_id}").json()
    return {"item": data["name"], "price": data["price"]}


async def careful_async(item_id, *, http_client_factory=httpx.AsyncClient):
    async with http_client_factory(timeout=2.0) as client:
        response = await client.get(f"http://tools.internal/items/{item_id}")
    if response.status_code != 200:
        raise AppError(response.status_code)
    return Answer(item=response.json()["name"], price=response.json()["price"])


CONTRACT = Contract(output_model=Answer, error_types=[AppError], deadline_ms=2000)
TOOLS = pytest.mark.faultkit(cassette="tools.yaml", playback="repeat")


@TOOLS
@pytest.mark.faultkit_scenarios("scenarios/")
def test_careful(faultkit, faultkit_scenario):
    verdict = faultkit.check(careful, "7", contract=CONTRACT)
    assert faultkit.engine.scenario is faultkit_scenario
    print(f"VERDICT {faultkit_scenario.name} {verdict.kind}")


@TOOLS
@pytest.mark.faultkit_scenarios("scenarios/")
def test_careless(faultkit):
    faultkit.check(careless, "7", contract=CONTRACT)


@TOOLS
@pytest.mark.faultkit_scenarios("scenarios/tool-down.yaml")
def test_careless_pinned(faultkit):
    verdict = fk.check(faultkit, careless, "7", contract=CONTRACT, expect="crash")
    assert verdict.findings[0].values["error_type"] == "builtins.KeyError"


@TOOLS
@pytest.mark.faultkit_scenarios("scenarios/")
async def test_careful_async(faultkit):
    verdict = await faultkit.acheck(careful_async, "7", contract=CONTRACT)
    assert verdict.controlled
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    write_tool_cassette(pytester.path)
    write_scenarios(pytester.path)
    pytester.makepyfile(test_app=TESTS)
    return pytester


def test_marker_runs_each_test_once_per_scenario_and_check_judges(
    project: pytest.Pytester,
) -> None:
    recorded = project.inline_run("-p", "no:locust")
    calls = {
        r.nodeid.split("::")[1]: r
        for r in recorded.getreports("pytest_runtest_logreport")
        if r.when == "call"
    }
    assert {name: r.outcome for name, r in calls.items()} == {
        "test_careful[calm]": "passed",
        "test_careful[tool-down]": "passed",
        "test_careless[calm]": "passed",
        "test_careless[tool-down]": "failed",
        "test_careless_pinned[tool-down]": "passed",
        "test_careful_async[calm]": "passed",
        "test_careful_async[tool-down]": "passed",
    }
    assert "VERDICT calm pass" in calls["test_careful[calm]"].capstdout
    assert "VERDICT tool-down controlled_error" in calls["test_careful[tool-down]"].capstdout
    failure = str(calls["test_careless[tool-down]"].longrepr)
    assert "verdict crash (UNCONTROLLED) in tool-down" in failure
    assert "crash: raised undeclared builtins.KeyError" in failure
    assert "after #1 on tools.internal failed (HTTP 503)" in failure
    assert "reproduce: pytest 'test_app.py::test_careless[tool-down]' --faultkit-seed 5" in failure


def test_a_broken_scenario_in_the_directory_is_a_collection_error(
    project: pytest.Pytester,
) -> None:
    (project.path / "scenarios" / "broken.yaml").write_text(
        "name: broken\nrules:\n  - fault: {type: http_eror}\n"
    )
    result = project.runpytest("-p", "no:locust")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*broken.yaml:3: rules[[]0].fault.type: unknown fault type*"])
    assert "Traceback" not in result.stdout.str()
