"""Child processes that always end: own process group, hard timeout, killed as a group.

Locust (master, workers) and the fault proxy run as subprocesses: Locust's gevent patching
must never reach faultkit's or pytest's process, and a stalled injector must not stall the
load generator. Each child leads (or joins) a process group, so one ``killpg`` takes the
master, its workers and anything they started; every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

import faultkit

TERM_GRACE_S = 3.0


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a faultkit child: this faultkit importable, output unbuffered."""
    env = dict(os.environ)
    root = str(Path(faultkit.__file__).resolve().parent.parent)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class Child:
    """One subprocess; its stdout+stderr are read line by line by a thread.

    ``on_line`` sees every line (progress parsing); the last ``keep`` lines are kept for an
    error message, and everything goes to ``log_path`` if given.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        group: int | None = None,
        on_line: Callable[[str], None] | None = None,
        log_path: Path | None = None,
        keep: int = 60,
    ) -> None:
        self.argv = list(argv)
        self.tail: deque[str] = deque(maxlen=keep)
        self._on_line = on_line
        self._log = log_path.open("a", encoding="utf-8") if log_path else None
        # A new process group (0) or the given one, in this session: a terminal's Ctrl-C
        # reaches faultkit only, which then ends the children (their group may only be
        # joined from within the same session).
        self.proc = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=env or child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            process_group=0 if group is None else group,
        )
        self.pgid = group if group is not None else self.proc.pid
        self._reader = threading.Thread(target=self._read, name="faultkit-child", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.tail.append(line)
            if self._log is not None:
                self._log.write(line + "\n")
            if self._on_line is not None:
                with contextlib.suppress(Exception):  # a display problem must not end the run
                    self._on_line(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout_s: float) -> int | None:
        """The exit code, or None when still running after ``timeout_s``."""
        try:
            code = self.proc.wait(timeout=max(timeout_s, 0.0))
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(2.0)
        return code

    def kill_group(self) -> None:
        """SIGTERM the whole group, SIGKILL whatever is left after a grace period."""
        end_group(self.pgid, self.proc)
        self._reader.join(1.0)
        self.close()

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        return "\n".join(self.tail)


def end_group(pgid: int, proc: subprocess.Popen[str] | None = None) -> None:
    """SIGTERM process group ``pgid``, SIGKILL whatever is left after a grace period, and
    reap ``proc`` (its leader) if given. Every child faultkit load starts ends this way."""
    for sig, grace in ((signal.SIGTERM, TERM_GRACE_S), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(pgid):
            if proc is None:
                time.sleep(0.05)
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)
        if not group_alive(pgid):
            break
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1.0)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie leader still "exists" until reaped; treat a group of zombies as gone.
    return _has_live_member(pgid)


def _has_live_member(pgid: int) -> bool:
    if not sys.platform.startswith("linux"):
        return True
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
