"""The system under test, started by ``faultkit load --app "CMD"`` with its upstreams on the proxy.

The command is split like a shell would (no shell runs it) and started in its own process
group with each upstream's environment variable (``OPENAI_BASE_URL``, ``ANTHROPIC_BASE_URL``,
the tool URLs of ``faultkit.toml``) pointed at the fault proxy's doors, so every provider and
tool call the app makes passes the scenario's faults. Its stdout and stderr go to files in the
work directory (copied into the report directory), never to faultkit's terminal: a crash under
load is read there afterwards. Stopping ends the whole group (uvicorn's reloader, gunicorn's
workers), also on Ctrl-C, because the runner stops it in a ``finally``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import httpx

from .processes import end_group
from .results import LoadRunError

READY_TIMEOUT_S = 30.0


class AppProcess:
    """``--app "CMD"`` running in its own process group; ``stderr_path`` keeps what it said."""

    def __init__(
        self, command: str, *, env: dict[str, str], workdir: Path, cwd: Path | None = None
    ) -> None:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise LoadRunError(f"--app {command!r}: {exc}") from None
        if not argv:
            raise LoadRunError("--app: empty command")
        self.command = command
        self.stdout_path = workdir / "app.stdout.log"
        self.stderr_path = workdir / "app.stderr.log"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            try:
                self.proc = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=full_env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    process_group=0,
                )
            except OSError as exc:
                raise LoadRunError(f"--app {command!r}: cannot start: {exc.strerror}") from None

    def poll(self) -> int | None:
        return self.proc.poll()

    def last_words(self, lines: int = 3) -> str:
        """The end of the app's stderr, for a one-line message."""
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        tail = [line.strip() for line in text.strip().splitlines()[-lines:] if line.strip()]
        return " | ".join(tail)

    def exited(self, during: str) -> LoadRunError | None:
        """The error to stop with when the app is gone (None while it runs)."""
        code = self.proc.poll()
        if code is None:
            return None
        words = self.last_words()
        said = f"; its stderr ends: {words}" if words else ""
        return LoadRunError(f"the app exited with code {code} {during}{said}")

    def wait_ready(self, url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until ``url`` answers (any HTTP status: the app is up); a dead or silent app is a
        LoadRunError naming the URL and the app's last words."""
        wait_answering(url, timeout_s, self)

    def stop(self) -> None:
        end_group(self.proc.pid, self.proc)


def wait_answering(url: str, timeout_s: float, app: AppProcess | None = None) -> None:
    """Poll ``url`` until it gives any HTTP answer, for at most ``timeout_s``.

    A target that never answers makes every later figure meaningless (a latency gate would
    "pass" on instant connection errors), so the load stops here with one line instead."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if app is not None and (gone := app.exited("before answering")) is not None:
                raise gone
            try:
                client.get(url)
                return
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
    raise LoadRunError(f"target {url} did not answer within {timeout_s:g}s ({last})")
