"""The `faultkit` command as a user runs it: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from faultkit.cli import main
from faultkit.scenario import scenario_json_schema

REPO = Path(__file__).resolve().parent.parent
GOOD = (
    "name: {name}\ndescription: Slow. Then fine.\n"
    "rules:\n  - fault: {{type: latency, latency_ms: 5}}\n"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    for name in ("alpha", "beta"):
        (tmp_path / f"{name}.yaml").write_text(GOOD.format(name=name), encoding="utf-8")
    return tmp_path


# -- validate -----------------------------------------------------------------------------


def test_validate_valid_files_prints_a_summary(capsys, scenario_dir: Path) -> None:
    code, out, err = run(capsys, "scenarios", "validate", str(scenario_dir))
    assert (code, out, err) == (0, "2 scenarios valid\n", "")


def test_validate_prints_every_problem_of_every_file(capsys, scenario_dir: Path) -> None:
    bad1 = scenario_dir / "bad1.yaml"
    bad1.write_text("name: bad1\nrules:\n  - fault: {type: latency, latency_ms: -1, extra: 2}\n")
    bad2 = scenario_dir / "nested" / "bad2.yml"
    bad2.parent.mkdir()
    bad2.write_text("name: bad2\nexpect:\n  max_attempts: 0\n")
    code, out, err = run(capsys, "scenarios", "validate", str(scenario_dir))
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert lines[:3] == [
        f"{bad1}:3: rules[0].fault.latency_ms: Input should be greater than or equal to 0",
        f"{bad1}:3: rules[0].fault.extra: unknown field",
        f"{bad2}:3: expect.max_attempts: Input should be greater than or equal to 1",
    ]
    assert lines[3] == "3 problems; 2 of 4 files valid"


def test_validate_reports_missing_paths_among_good_ones(capsys, scenario_dir: Path) -> None:
    missing = scenario_dir / "missing.yaml"
    code, _, err = run(capsys, "scenarios", "validate", str(scenario_dir), str(missing))
    assert code == 2
    assert err.splitlines() == [
        f"{missing}: no such file or directory",
        "1 problem; 2 of 2 files valid",
    ]


def test_validate_broken_yaml_is_one_located_line(capsys, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nrules: [\n")
    code, _, err = run(capsys, "scenarios", "validate", str(path))
    assert code == 2
    assert err.splitlines()[0].startswith(f"{path}:3: invalid YAML: ")
    assert "Traceback" not in err


def test_validate_unreadable_file(capsys, tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00name")
    code, _, err = run(capsys, "scenarios", "validate", str(path))
    assert code == 2
    assert err.splitlines()[0] == f"{path}: not UTF-8 text"


def test_validate_needs_a_path(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["scenarios", "validate"])
    assert info.value.code == 2
    assert "PATH" in capsys.readouterr().err


# -- list ---------------------------------------------------------------------------------


def test_list_prints_a_table_of_a_directory(capsys, scenario_dir: Path) -> None:
    code, out, err = run(capsys, "scenarios", "list", str(scenario_dir))
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "RULES", "FAULTS", "DESCRIPTION"]
    assert [row.split()[:4] for row in rows] == [
        ["alpha", "1", "latency", "Slow."],
        ["beta", "1", "latency", "Slow."],
    ]
    # Columns line up: every description starts where the header's does.
    start = header.index("DESCRIPTION")
    assert all(row[start:].startswith("Slow.") for row in rows)


def test_list_defaults_to_the_catalogue(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./scenarios here: the bundled catalogue alone
    code, out, err = run(capsys, "scenarios", "list")
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert "429-burst" in names and "tool-timeout" in names
    assert names == sorted(names)
    assert (code, err) == (0, "")


def test_list_shows_valid_rows_and_reports_broken_files(capsys, scenario_dir: Path) -> None:
    (scenario_dir / "bad.yaml").write_text("name: bad\nseed: x\n")
    code, out, err = run(capsys, "scenarios", "list", str(scenario_dir))
    assert code == 2
    assert len(out.splitlines()) == 3
    assert err.startswith(f"{scenario_dir / 'bad.yaml'}:2: seed: ")


def test_list_json_is_the_rows_for_a_script(capsys, scenario_dir: Path) -> None:
    (scenario_dir / "bad.yaml").write_text("name: bad\nseed: x\n")
    code, out, err = run(capsys, "scenarios", "list", str(scenario_dir), "--json")
    assert code == 2  # a broken file fails the listing, as without --json
    listed = json.loads(out)
    assert [(s["name"], s["rules"], s["faults"]) for s in listed] == [
        ("alpha", 1, ["latency"]),
        ("beta", 1, ["latency"]),
    ]
    assert listed[0]["path"].endswith(".yaml") and listed[0]["description"] == "Slow."
    assert err.startswith(f"{scenario_dir / 'bad.yaml'}:2: seed: ")


def test_list_missing_path(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "scenarios", "list", str(tmp_path / "nope"))
    assert (code, out) == (2, "")
    assert err == f"{tmp_path / 'nope'}: no such file or directory\n"


# -- show ---------------------------------------------------------------------------------


def test_show_prints_the_file_by_path(capsys, scenario_dir: Path) -> None:
    path = scenario_dir / "alpha.yaml"
    code, out, err = run(capsys, "scenarios", "show", str(path))
    assert (code, err) == (0, "")
    assert out == f"# {path}\n" + path.read_text()


def test_show_finds_a_bundled_scenario_by_name(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "scenarios", "show", "429-burst")
    assert code == 0
    assert "name: 429-burst" in out


def test_show_unknown_name_is_one_line(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "scenarios", "show", "nope")
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("unknown scenario 'nope'")


def test_show_refuses_a_broken_file(capsys, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nrules: 3\n")
    code, out, err = run(capsys, "scenarios", "show", str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"{path}:2: rules: ")


# -- schema -------------------------------------------------------------------------------


def test_schema_to_stdout(capsys) -> None:
    code, out, _ = run(capsys, "scenarios", "schema")
    assert code == 0
    assert json.loads(out) == scenario_json_schema()


def test_schema_to_a_file(capsys, tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    code, out, err = run(capsys, "scenarios", "schema", "-o", str(target))
    assert (code, out) == (0, "")
    assert json.loads(target.read_text()) == scenario_json_schema()
    assert str(target) in err


def test_schema_to_an_unwritable_place(capsys, tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "schema.json"
    code, _, err = run(capsys, "scenarios", "schema", "-o", str(target))
    assert code == 2
    assert err.startswith(f"{target}: cannot write: ")


# -- derive -------------------------------------------------------------------------------
DERIVE_CASSETTES = REPO / "tests" / "derive" / "cassettes"


def test_derive_prints_a_table_of_what_each_scenario_targets_and_why(capsys) -> None:
    code, out, err = run(capsys, "scenarios", "derive", str(DERIVE_CASSETTES / "trip_desk.yaml"))
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "FAULTS", "TARGETS", "WHY"]
    by_name = {row.split()[0]: row for row in rows}
    assert len(by_name) == 16
    assert "truncated-stream" not in by_name  # the app never streams
    assert by_name["token-limit"].split()[1] == "token_limit"
    row = by_name["tool-timeout.weather.example"]
    faults, targets, why = header.index("FAULTS"), header.index("TARGETS"), header.index("WHY")
    assert row[faults:targets].strip() == "timeout"
    assert row[targets:why].strip() == "tool route weather.example"
    assert row[why:].startswith("1 recorded call(s) to tool route weather.example")
    assert "trip_desk.yaml" in row[why:]


def test_derive_writes_one_valid_file_per_scenario(capsys, tmp_path: Path) -> None:
    target = tmp_path / "derived"
    code, out, _ = run(capsys, "scenarios", "derive", str(DERIVE_CASSETTES), "-o", str(target))
    assert code == 0
    files = sorted(p.name for p in target.iterdir())
    assert f"wrote {len(files)} scenario files to {target}" in out
    assert "mcp-tool-error.kb.example.yaml" in files and "429-burst.yaml" in files
    code, out, err = run(capsys, "scenarios", "validate", str(target))
    assert (code, out, err) == (0, f"{len(files)} scenarios valid\n", "")


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cassette file or directory not found"), ("interactions: [\n", "not a valid cassette")],
)
def test_derive_from_a_missing_or_corrupt_cassette_is_one_line(
    capsys, tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "recorded.yaml"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "scenarios", "derive", str(DERIVE_CASSETTES), str(path))
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith(str(path)) and problem in err


def test_derive_from_traffic_with_nothing_to_fault_says_so(capsys, tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("interactions: []\nversion: 1\n")
    code, out, err = run(capsys, "scenarios", "derive", str(path))
    assert (code, out) == (1, "")
    assert "no scenario applies" in err


# -- the command itself -------------------------------------------------------------------


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("faultkit ")


@pytest.mark.parametrize("argv", [[], ["scenarios"]])
def test_no_action_prints_help_and_fails(capsys, argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("usage: faultkit")


def test_every_offered_command_has_working_help(capsys) -> None:
    _, _, err = run(capsys)
    assert "scenarios" in err
    offered = [c for c in ("scenarios", "proxy", "run", "explore", "load") if f"\n    {c}" in err]
    assert "scenarios" in offered
    for command in offered:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        out, _ = capsys.readouterr()
        assert f"faultkit {command}" in out


def test_user_mistake_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "faultkit.cli", "scenarios", "validate", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"{tmp_path / 'x'}: no such file or directory"
    assert "Traceback" not in result.stderr
