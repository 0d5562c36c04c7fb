"""The committed files generated from the code are what the code generates now, so a fault
module added without refreshing them fails here, with the command that refreshes them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faultkit import generated
from faultkit.catalogue import schema_text
from faultkit.faults import FAULTS

REPO = Path(__file__).resolve().parent.parent
STALE = f"is stale: run `{generated.REFRESH}` at the repository root and commit the result"


def test_the_readme_faults_table_is_generated_from_the_fault_modules() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert generated.readme_with_table(text) == text, f"README.md's faults table {STALE}"


def test_the_oracle_docs_checks_table_is_generated_from_the_check_modules() -> None:
    text = (REPO / "docs" / "oracle.md").read_text(encoding="utf-8")
    assert generated.oracle_doc_with_table(text) == text, f"docs/oracle.md's checks table {STALE}"


def test_the_checks_table_lists_each_checks_kinds_and_facts() -> None:
    lines = generated.checks_table().splitlines()
    outcome = next(line for line in lines if line.startswith("| 1 |"))
    assert "`checks/outcome.py`" in outcome
    assert "`harness_error`, `crash`, `hang`, `controlled_error`, `pass`" in outcome
    assert "`ending`" in outcome and "`status`" in outcome


def test_the_scenario_schema_is_generated_from_the_models() -> None:
    text = (REPO / "scenarios" / "schema.json").read_text(encoding="utf-8")
    assert text == schema_text(), f"scenarios/schema.json {STALE}"


def test_the_table_has_one_row_per_fault_with_its_declared_parts() -> None:
    table = generated.faults_table()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(FAULTS)
    stall = next(row for row in rows if row.startswith("| `stall`"))
    assert r"`then?` (`continue` \| `close` \| `reset`)" in stall
    assert "`stall_ms`," in stall and stall.endswith("| any |")


def test_refresh_rewrites_a_stale_copy_and_says_which(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "docs").mkdir()
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    doc = (REPO / "docs" / "oracle.md").read_text(encoding="utf-8")
    (tmp_path / "docs" / "oracle.md").write_text(doc, encoding="utf-8")
    (tmp_path / "scenarios" / "schema.json").write_text("{}\n", encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    stale = readme.replace("| `timeout` |", "| `timeout_old` |")
    (tmp_path / "README.md").write_text(stale, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "faultkit.generated"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["rewrote scenarios/schema.json", "rewrote README.md"]
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == readme
    assert (tmp_path / "scenarios" / "schema.json").read_text(encoding="utf-8") == schema_text()


def test_refresh_outside_a_checkout_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "faultkit.generated"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "python -m faultkit.generated: run it at the root of a faultkit checkout"
    )
    assert "Traceback" not in run.stderr


def test_a_readme_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match=r"README\.md has no table markers"):
        generated.readme_with_table("# faultkit\n")
