"""The README's pytest examples run as written.

A README example that no longer runs is a false promise, the kind of false green this project
exists to remove. Each ```python block that defines a pytest test (and that needs nothing but
the repository's own cassettes and example app) is written to a test file in a fresh directory
beside a copy of ``cassettes/`` (the examples name cassettes relative to the test file, as a
user's project would) and run by pytest in a subprocess with the repository importable (for
``examples.support_assistant``). Blocks that need a server of the user's (``faultkit_load``
against ``myapp``) or pytest-recording's own layout (tested in tests/plugin/test_vcr.py) are
named here and skipped on purpose.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
# Blocks that are not self-contained on purpose, by a test name they define, and why.
ELSEWHERE = {
    "test_release_gate": "needs the user's app (uvicorn myapp:api); tests/load covers the fixture",
    "test_retry_after_503": "pytest-recording's layout; tests/plugin/test_vcr.py runs it",
    "test_drifted_answer_is_re_asked": "framework recipe: tests/frameworks/test_frameworks_dev.py",
    "test_second_call_fails": "needs a running proxy: tests/plugin/test_xdist_proxy.py runs it",
}


def _blocks() -> list[tuple[int, str]]:
    """(line, code) of every ```python block that defines a test."""
    text = README.read_text(encoding="utf-8")
    out = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        code = match.group(1)
        if re.search(r"^(async )?def test_\w+\(", code, re.M):
            out.append((text.count("\n", 0, match.start()) + 1, code))
    return out


def _tests_in(code: str) -> list[str]:
    return re.findall(r"^(?:async )?def (test_\w+)\(", code, re.M)


BLOCKS = [
    pytest.param(code, id=f"README.md:{line}")
    for line, code in _blocks()
    if not set(_tests_in(code)) & set(ELSEWHERE)
]


def test_the_readme_has_runnable_pytest_examples() -> None:
    assert len(BLOCKS) >= 2, "the README's pytest examples were not found"
    skipped = {name for _, code in _blocks() for name in _tests_in(code)} & set(ELSEWHERE)
    assert skipped == set(ELSEWHERE), f"stale ELSEWHERE entries: {set(ELSEWHERE) - skipped}"


@pytest.mark.parametrize("code", BLOCKS)
def test_readme_pytest_example_passes_as_written(code: str, tmp_path: Path) -> None:
    shutil.copytree(REPO / "cassettes", tmp_path / "cassettes")
    (tmp_path / "test_example.py").write_text(code, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "FAULTKIT_EXAMPLES": "5",  # the chaos example's bound, kept small here
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    names = _tests_in(code)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert f"{len(names)} passed" in proc.stdout, proc.stdout[-2000:]


def _console_block(command: str) -> list[str]:
    """The output lines the README shows under ``$ command``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"$ {command}\n") + len(f"$ {command}\n")
    return text[start : text.index("```", start)].strip("\n").splitlines()


def test_readme_scenarios_list_is_what_the_command_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from faultkit.cli import main

    monkeypatch.chdir(tmp_path)  # no ./scenarios: the bundled catalogue alone
    assert main(["scenarios", "list"]) == 0
    printed = capsys.readouterr().out.strip("\n").splitlines()
    assert _console_block("faultkit scenarios list") == printed
