"""rich on a terminal, plain text everywhere else (issue 16, item 6).

With the real rich: a Console forced to be a terminal, a pseudo-terminal from python's pty
module for the real commands, and a pipe, whose output must stay byte for byte what the plain
renderer (faultkit/report/table.py) prints."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from report_world import sample_report

from faultkit.report import terminal
from faultkit.report.rich_view import console_for, progress_bar, show, show_table
from faultkit.report.table import BOLD, GREEN, RED, RESET, Column, Table, TableCell, text_table

rich = pytest.importorskip("rich")
from rich.console import Console  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def forced_terminal(width: int = 100) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=width, color_system="standard"), buffer


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    return sample_report(tmp_path_factory.mktemp("rich"))


def test_the_matrix_on_a_terminal_is_a_rich_table_with_coloured_verdicts(report) -> None:
    console, buffer = forced_terminal()
    header, texts, style_of = terminal.matrix_table(report)
    show_table(buffer, texts, header=header, style_of=style_of, console=console)
    shown = buffer.getvalue()
    assert shown.startswith("┏")  # rich's heavy box, not padded ASCII
    plain = ANSI.sub("", shown)
    for row in texts:
        assert re.search(r"│ " + r"\s+│ ".join(re.escape(c) for c in row) + r"\s+│", plain), row
    # Each verdict is painted as the plain renderer paints it (the same style names).
    for n, row in enumerate(texts):
        for column, text in enumerate(row[1:], start=1):
            codes = {"ok": "32", "bad": "31", "fail": "1;31", "unfired": "33"}
            code = codes[style_of(n, column)]
            assert f"\x1b[{code}m{text}" in shown, (text, code)


def test_piped_output_is_byte_identical_to_the_plain_renderer(report) -> None:
    piped = io.StringIO()
    terminal.show_matrix(report, piped)
    assert piped.getvalue() == terminal.matrix(report) + "\n"
    header, texts, _ = terminal.matrix_table(report)
    assert piped.getvalue() == "\n".join(text_table(texts, header=header)) + "\n"
    assert "\x1b" not in piped.getvalue()


def test_a_pty_gets_rich_a_pipe_or_no_color_does_not(monkeypatch) -> None:
    leader, follower = pty.openpty()
    try:
        with open(follower, "w", closefd=False) as tty:
            assert console_for(tty) is not None
            monkeypatch.setenv("NO_COLOR", "1")
            assert console_for(tty) is None
            monkeypatch.setenv("NO_COLOR", "")  # an empty NO_COLOR does not count
            assert console_for(tty) is not None
    finally:
        os.close(leader)
        os.close(follower)
    assert console_for(io.StringIO()) is None
    assert progress_bar(io.StringIO(), "cells", 3) is None


def test_a_bar_on_stderr_leaves_the_apps_stdout_alone(monkeypatch) -> None:
    """While the run's bar draws on a terminal's stderr, what the app prints on stdout (a
    pipe, say) stays on stdout instead of being moved above the bar."""
    leader, follower = pty.openpty()
    try:
        with open(follower, "w", closefd=False) as tty:
            stdout = io.StringIO()
            monkeypatch.setattr(sys, "stderr", tty)
            monkeypatch.setattr(sys, "stdout", stdout)
            bar = progress_bar(sys.stderr, "cells", 2)
            assert bar is not None
            print("the app's own line")
            bar.advance("one")
            bar.note("a failing cell")
            bar.close()
            assert stdout.getvalue() == "the app's own line\n"
    finally:
        os.close(leader)
        os.close(follower)


def test_without_rich_a_terminal_keeps_the_plain_table_in_ansi_colour(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.console", None)  # import fails as if not installed

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    assert console_for(tty) is None
    show_table(
        tty,
        [["a", "crash"], ["b", "pass"]],
        header=["S", "T"],
        style_of=lambda row, column: (None, "fail" if row == 0 else "ok")[column],
    )
    assert tty.getvalue().splitlines() == [
        "S  T",
        f"a  {BOLD}{RED}crash{RESET}",
        f"b  {GREEN}pass {RESET}",
    ]


def test_a_table_model_prints_its_styles_and_leaves_page_only_classes_unpainted(
    monkeypatch,
) -> None:
    """A :class:`Table` on a terminal: numeric columns right-aligned, the terminal's style
    names painted, a class only the HTML page colours (``muted``) printed plain."""
    monkeypatch.setitem(sys.modules, "rich.console", None)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    cells = [TableCell("crash", style="fail"), TableCell("12", style="muted")]
    table = Table([Column("T"), Column("N", numeric=True)], [cells, ["pass", "3"]])
    show(tty, table, indent="  ")
    assert tty.getvalue().splitlines() == [
        "  T       N",
        f"  {BOLD}{RED}crash{RESET}  12",
        "  pass    3",
    ]
    plain = io.StringIO()
    show(plain, table)
    assert plain.getvalue().splitlines() == table.lines()


def run_in_pty(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    """Run a command with stdout and stderr on a pseudo-terminal; what it showed, with
    ``\\r\\n`` turned back into newlines."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env
    )
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                shown += data
            elif proc.poll() is not None:
                break
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    assert proc.returncode == 0, shown.decode(errors="replace")[-3000:]
    return shown.decode(errors="replace").replace("\r\n", "\n")


FAULTKIT = [sys.executable, "-c", "import sys; from faultkit.cli import main; sys.exit(main())"]
RUN = [*FAULTKIT, "run", "--app", "naive", "--app", "robust"]
RUN += ["--scenario", "429-burst", "--no-report"]


@pytest.fixture
def term_env() -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    return env


def test_faultkit_run_on_a_terminal_draws_a_bar_over_the_cells_and_a_rich_matrix(
    tmp_path: Path, term_env: dict[str, str]
) -> None:
    shown = run_in_pty(RUN, tmp_path, term_env)
    plain = ANSI.sub("", shown)
    assert re.search(r"cells ━+ 2/2", plain), plain[-2000:]
    assert "[1/2]" not in plain  # the bar replaces the progress lines
    assert re.search(r"┃ SCENARIO\s+┃ naive\s+┃ robust\s+┃", plain)
    assert re.search(r"│ 429-burst\s+│ crash \(expected\)\s+│ fallback\s+│", plain)
    assert "the matrix is the expected one (exit 0)" in plain


def test_faultkit_run_with_no_color_or_piped_prints_the_plain_lines(
    tmp_path: Path, term_env: dict[str, str]
) -> None:
    shown = run_in_pty(RUN, tmp_path, {**term_env, "NO_COLOR": "1"})
    assert "\x1b" not in shown
    assert re.search(r"\[1/2\] ok (naive|robust) x 429-burst", shown)
    piped = subprocess.run(RUN, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stdout + piped.stderr
    assert re.search(r"\[2/2\] ok (naive|robust) x 429-burst", piped.stderr)
    matrix = [
        "SCENARIO   naive             robust",
        "429-burst  crash (expected)  fallback",
    ]
    assert piped.stdout.splitlines()[1:3] == matrix
    # The terminal under NO_COLOR shows what the pipe got, line for line.
    assert "\n".join(matrix) in shown


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
def test_faultkit_load_on_a_terminal_draws_a_bar_per_phase_and_rich_tables(
    tmp_path: Path, term_env: dict[str, str]
) -> None:
    argv = [*FAULTKIT, "load", "--duration", "2s", "--users", "1"]
    shown = run_in_pty([*argv, "--rate", "5"], tmp_path, term_env)
    plain = ANSI.sub("", shown)
    assert re.search(r"baseline ━+ 2/2 .* \d+ requests", plain), plain[-3000:]
    assert re.search(r"┃ run\s+┃ requests ┃ err% ┃", plain)
    assert re.search(r"│ baseline │\s+\d+ │ 0\.00 │", plain)


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
def test_faultkit_explore_on_a_terminal_draws_a_bar_over_the_budget(
    tmp_path: Path, term_env: dict[str, str]
) -> None:
    argv = [*FAULTKIT, "explore", "robust", "--budget", "4", "--no-database"]
    shown = run_in_pty([*argv, "--scenarios-out", str(tmp_path / "found")], tmp_path, term_env)
    plain = ANSI.sub("", shown)
    assert re.search(r"schedules ━+\s+4/4 ", plain), plain[-2000:]
    assert "explored 4 schedule(s)" in plain
