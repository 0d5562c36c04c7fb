"""``faultkit run --repeat N``: each cell under N seeds, unstable verdicts flagged.

Real runs through ``faultkit.cli.main`` on the ``tool_world`` project, plus a flaky scenario:
the tool always gets a little latency (so every seed is exercised) and answers 503 with
probability one half, drawn from the seed. The careless app crashes on that 503, the careful
one declares an error.
"""

from __future__ import annotations

import json
import math
import shlex
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tool_world import write_scenarios, write_tool_cassette

from faultkit.cli import main
from faultkit.runner.repeat import seeds, wilson

APP = '''
import httpx
from pydantic import BaseModel


class Answer(BaseModel):
    item: str
    price: float


class AppError(Exception):
    """Declared: the app could not answer."""


def careless(item_id: str, *, http_client_factory=httpx.Client):
    """Reads whatever the tool answered: a 503's error body crashes it on a missing key."""
    with http_client_factory() as client:
        data = client.get(f"http://tools.internal/items/{item_id}").json()
    return {"item": data["name"], "price": data["price"]}


def careful(item_id: str, *, http_client_factory=httpx.Client):
    with http_client_factory(timeout=2.0) as client:
        response = client.get(f"http://tools.internal/items/{item_id}")
    if response.status_code != 200:
        raise AppError(f"tool said {response.status_code}")
    data = response.json()
    return Answer(item=data["name"], price=data["price"])
'''

CASES = """
contract:
  output_model: repeat_app:Answer
  error_types: [repeat_app:AppError]
  deadline_ms: 2000
cassettes: [tools.yaml]
cases:
  - name: lamp
    input: {item_id: "7"}
"""

FLAKY = """name: flaky-tool
seed: 11
rules:
  - match: {route: 'tools*'}
    fault: {type: latency, latency_ms: 5}
  - match: {route: 'tools*'}
    when: {probability: 0.5}
    fault: {type: http_error, status: 503}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repeat")
    (root / "repeat_app.py").write_text(textwrap.dedent(APP))
    write_tool_cassette(root)
    (root / "cases.yaml").write_text(CASES)
    scenarios = write_scenarios(root)
    (scenarios / "flaky-tool.yaml").write_text(FLAKY)
    return root


@pytest.fixture
def fk(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["run", "--cases", "cases.yaml", "--scenarios", "scenarios", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _cells(path: Path) -> dict[str, dict]:
    report = json.loads((path / "report.json").read_text())
    return {c["scenario"]: c for c in report["cells"]}


def test_a_flaky_cell_is_flagged_with_counts_and_interval_and_its_worst_seed_reproduces(
    fk, project
) -> None:
    code, out, err = fk(
        "repeat_app:careless", "--scenario", "flaky-tool", "--repeat", "8", "--report", "flaky"
    )
    (cell,) = _cells(project / "flaky").values()
    repeat = cell["repeat"]
    runs = repeat["runs"]
    assert [r["seed"] for r in runs] == list(range(11, 19))
    kinds = [r["kind"] for r in runs]
    # The 503 is drawn per seed: some seeds crash, some pass; none is unexercised.
    assert set(kinds) == {"pass", "crash"}
    assert repeat["counts"] == {k: kinds.count(k) for k in ("pass", "crash")}
    assert repeat["stable"] is False
    controlled = kinds.count("pass")
    assert (repeat["controlled"], repeat["judged"]) == (controlled, 8)
    assert repeat["share"] == pytest.approx(controlled / 8)
    assert (repeat["low"], repeat["high"]) == pytest.approx(wilson(controlled, 8))
    assert 0 < repeat["low"] < controlled / 8 < repeat["high"] < 1

    # The cell's verdict is its worst run: the first crashing seed, which fails the run.
    first_crash = runs[kinds.index("crash")]["seed"]
    assert (cell["verdict"]["kind"], cell["seed"], cell["passed"]) == ("crash", first_crash, False)
    assert code == 1
    assert f"--seed {first_crash}" in cell["repro"]

    # Terminal: the unstable cell with its counts, share, interval and every seed.
    lines = out.splitlines()
    assert "unstable (the verdict depends on the seed):" in lines
    i = lines.index("unstable (the verdict depends on the seed):")
    share = f"{controlled}/8 = {controlled / 8 * 100:.0f}%"
    ci = f"95% CI {repeat['low'] * 100:.0f}%-{repeat['high'] * 100:.0f}%"
    assert lines[i + 1] == (
        f"  repeat_app:careless x flaky-tool [lamp]: "
        f"{', '.join(f'{k} x{n}' for k, n in repeat['counts'].items())}; "
        f"controlled {share} ({ci})"
    )
    assert lines[i + 2] == "    seeds: " + ", ".join(f"{r['seed']} {r['kind']}" for r in runs)
    assert lines[i + 3].startswith(f"    worst, seed {first_crash}: faultkit run ")
    assert "stable: 0 of 1 cell(s) gave one verdict on every seed" in lines
    assert f"crash ! want controlled ~ {controlled}/8 controlled" in out
    assert "1 cell(s) unstable over 8 seeds (exit 1)" in out
    assert "= 1 cell(s) x 8 seeds" in err
    assert f"[lamp] seed {first_crash}: crash" in err

    html = (project / "flaky" / "report.html").read_text()
    assert "<h2>Seed stability</h2>" in html and ">unstable<" in html
    junit = ET.parse(project / "flaky" / "junit.xml").getroot()
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert props["stable"] == "false" and props["seed"] == str(first_crash)
    assert props["seeds"] == ", ".join(f"{k} x{n}" for k, n in repeat["counts"].items())
    assert props["controlled_share"] == f"controlled {share} ({ci})"

    # Each run's repro reruns exactly its seed, with no --repeat.
    for run in (runs[kinds.index("crash")], runs[kinds.index("pass")]):
        argv = shlex.split(run["repro"])
        assert "--repeat" not in argv
        code, _, _ = fk(*argv[2:])
        (again,) = _cells(project / "flaky" / "repro").values()
        assert (again["seed"], again["verdict"]["kind"]) == (run["seed"], run["kind"])
        assert again["repeat"] is None


def test_stable_cells_are_not_flagged(fk, project) -> None:
    code, out, _ = fk(
        "repeat_app:careful", "--scenario", "calm", "--scenario", "tool-down",
        "--repeat", "3", "--report", "stable",
    )  # fmt: skip
    assert code == 0
    cells = _cells(project / "stable")
    assert {s: [r["seed"] for r in c["repeat"]["runs"]] for s, c in cells.items()} == {
        "calm": [0, 1, 2],  # no seed in the file: 0
        "tool-down": [5, 6, 7],
    }
    assert {s: c["repeat"]["counts"] for s, c in cells.items()} == {
        "calm": {"pass": 3},
        "tool-down": {"controlled_error": 3},
    }
    assert all(c["repeat"]["stable"] for c in cells.values())
    assert all(c["repeat"]["share"] == 1.0 for c in cells.values())
    assert "unstable (" not in out and " ~ " not in out
    assert "stable: 2 of 2 cell(s) gave one verdict on every seed" in out
    assert (
        "every verdict is controlled and allowed; 0 cell(s) unstable over 3 seeds (exit 0)" in out
    )
    html = (project / "stable" / "report.html").read_text()
    assert ">unstable<" not in html and ">stable<" in html


def test_a_verdict_kind_that_varies_within_controlled_is_flagged_but_passes(fk, project) -> None:
    """The careful app declares an error on the seeds that draw the 503 and passes on the
    others: always controlled, so the run passes, but the verdict depends on the seed."""
    code, out, _ = fk(
        "repeat_app:careful", "--scenario", "flaky-tool", "--repeat", "8", "--no-report", "-q"
    )
    assert code == 0
    assert "unstable (the verdict depends on the seed):" in out
    assert "controlled 8/8 = 100% (95% CI 68%-100%)" in out


def test_seed_sets_the_first_of_the_repeated_seeds(fk, project) -> None:
    code, _, _ = fk(
        "repeat_app:careful", "--scenario", "calm", "--seed", "40", "--repeat", "2",
        "--report", "seeded",
    )  # fmt: skip
    assert code == 0
    (cell,) = _cells(project / "seeded").values()
    assert [r["seed"] for r in cell["repeat"]["runs"]] == [40, 41]
    assert "--repeat 2" in json.loads((project / "seeded" / "report.json").read_text())["command"]


@pytest.mark.parametrize("value", ["0", "-3"])
def test_repeat_below_one_is_a_usage_error(fk, value: str) -> None:
    code, out, err = fk("repeat_app:careful", "--repeat", value, "--no-report")
    assert code == 2
    assert err.strip() == "--repeat must be at least 1"
    assert out == ""


def test_seeds_and_wilson_interval() -> None:
    assert seeds(7, 3) == [7, 8, 9]
    assert seeds(7, 1) == [7]
    # 0/n and n/n: the closed form z^2 / (n + z^2) for the open end.
    assert wilson(0, 5) == pytest.approx((0.0, 0.4345), abs=1e-4)
    assert wilson(5, 5) == pytest.approx((0.5655, 1.0), abs=1e-4)
    # Newcombe (1998), Statistics in Medicine 17:857, example 81/263: 0.2553 to 0.3662.
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    low, high = wilson(4, 6)
    assert low == pytest.approx(0.3000, abs=1e-4) and high == pytest.approx(0.9032, abs=1e-4)
    assert math.isclose(sum(wilson(3, 6)), 1.0)  # symmetric around one half


def test_compare_sees_a_repeated_cells_worst_seed(fk, project) -> None:
    """Last night one seed (the scenario's, 11) passed; tonight ten seeds show the crash. The
    comparison reports it as newly uncontrolled, with the repro of the crashing seed."""
    code, _, _ = fk("repeat_app:careless", "--scenario", "flaky-tool", "--report", "one-seed")
    assert code == 0
    assert [c["seed"] for c in _cells(project / "one-seed").values()] == [11]
    code, _, _ = fk(
        "repeat_app:careless", "--scenario", "flaky-tool", "--repeat", "10",
        "--compare", "one-seed/report.json", "--report", "ten-seeds",
    )  # fmt: skip
    assert code == 1
    (cell,) = _cells(project / "ten-seeds").values()
    report = json.loads((project / "ten-seeds" / "report.json").read_text())
    (change,) = report["comparison"]["changes"]
    assert (change["change"], change["before"], change["after"]) == (
        "newly_uncontrolled",
        "pass",
        "crash",
    )
    assert change["regression"] is True
    assert change["repro"] == cell["repro"]
    assert f"--seed {cell['seed']}" in change["repro"] and cell["seed"] != 11
