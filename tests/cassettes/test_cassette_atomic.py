"""A writer killed at any moment never leaves a partial cassette; two writers never interleave."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from faultkit.cassettes import load_cassette
from faultkit.cassettes.write import atomic_write, serialize_cassette

REPO = Path(__file__).resolve().parents[2]

PAIRS_SRC = textwrap.dedent(
    """
    from faultkit.exchange import Request, Response, ResponseHead

    def pairs(tag, n):
        out = []
        for i in range(n):
            body = ('{"tag": "%s", "i": %d, "pad": "%s"}' % (tag, i, "x" * 900)).encode()
            head = ResponseHead(status=200, headers=(("content-type", "application/json"),))
            out.append((
                Request(method="GET", url=f"https://api.example.com/v1/{tag}/{i}?q={i}"),
                Response(head=head, body=body),
            ))
        return out
    """
)
# The child serializes two large cassettes (A and B), then saves them over the target
# alternately, forever, through the real save path (lock, temp file, fsync, rename).
CHILD = PAIRS_SRC + textwrap.dedent(
    """
    import sys
    from faultkit.cassettes.write import atomic_write, serialize_cassette
    from pathlib import Path

    target, n = Path(sys.argv[1]), int(sys.argv[2])
    a, b = serialize_cassette(pairs("A", n)), serialize_cassette(pairs("B", n))
    print("ready", flush=True)
    i = 0
    while True:
        atomic_write(target, a if i % 2 == 0 else b)
        i += 1
    """
)


def _expected(n: int) -> tuple[bytes, bytes]:
    namespace: dict = {}
    exec(PAIRS_SRC, namespace)
    return tuple(serialize_cassette(namespace["pairs"](tag, n)) for tag in "AB")  # type: ignore[return-value]


def _spawn(target: Path, n: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target), str(n)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def _wait_ready(child: subprocess.Popen) -> None:
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"


def test_sigkill_mid_save_never_corrupts_the_cassette(tmp_path) -> None:
    n = 250  # about 0.25 MB per cassette
    a, b = _expected(n)
    rng = random.Random(1234)
    targets = [tmp_path / f"target{i}.yaml" for i in range(4)]
    for target in targets:
        target.write_bytes(a)
    children = [_spawn(target, n) for target in targets]
    try:
        for child in children:
            _wait_ready(child)
        start = time.monotonic()
        for child, at in sorted(
            zip(children, (rng.uniform(0.01, 0.5) for _ in children), strict=True),
            key=lambda pair: pair[1],
        ):
            time.sleep(max(0.0, start + at - time.monotonic()))
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
    finally:
        for child in children:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
    assert all(child.returncode == -signal.SIGKILL for child in children)
    for target in targets:
        data = target.read_bytes()
        assert data in (a, b), f"partial cassette {target.name}: {len(data)} bytes"
        assert len(load_cassette(target).interactions) == n


def test_concurrent_writers_never_interleave(tmp_path) -> None:
    n = 200
    a, b = _expected(n)
    target = tmp_path / "target.yaml"
    target.write_bytes(a)
    children = [_spawn(target, n) for _ in range(2)]
    try:
        for child in children:
            _wait_ready(child)
        deadline = time.monotonic() + 0.4
        seen = set()
        while time.monotonic() < deadline:
            data = target.read_bytes()
            assert data in (a, b)
            seen.add(data)
        assert seen == {a, b}  # the writers really were replacing the file
    finally:
        for child in children:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
    assert target.read_bytes() in (a, b)


def test_atomic_write_creates_parents_and_no_lock_file(tmp_path) -> None:
    target = tmp_path / "deep" / "er" / "c.yaml"
    atomic_write(target, b"interactions: []\nversion: 1\n")
    assert target.read_bytes() == b"interactions: []\nversion: 1\n"
    assert [p.name for p in target.parent.iterdir()] == ["c.yaml"]


def test_a_killed_writers_temp_file_is_removed_by_the_next_save(tmp_path) -> None:
    """SIGKILL a real writer process until it dies holding a temporary file (between
    mkstemp and the rename), then save again: only the cassettes remain."""
    n = 250
    a, _ = _expected(n)
    target = tmp_path / "k.yaml"
    target.write_bytes(a)
    (tmp_path / "k.yaml.lock").write_bytes(b"")  # what earlier faultkit versions left
    leftovers: list[str] = []
    for _ in range(40):
        child = _spawn(target, n)
        _wait_ready(child)
        time.sleep(random.uniform(0.005, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        if leftovers:
            break
    assert leftovers, "no writer died mid-save in 40 tries"
    assert all(re.fullmatch(r"\.k\.yaml\.[a-z0-9_]{8}\.tmp", name) for name in leftovers)
    (tmp_path / "notes.tmp").write_text("not ours")
    atomic_write(tmp_path / "other.yaml", a)  # any save in the directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.yaml", "notes.tmp", "other.yaml"]
    assert target.read_bytes() in _expected(n)


def test_recording_start_removes_a_killed_writers_leftovers(tmp_path) -> None:
    from faultkit.doors.proxy.proxy import Proxy

    (tmp_path / ".openai.yaml.abcd1234.tmp").write_bytes(b"interactions:\n- request: {")
    (tmp_path / "openai.yaml.lock").write_bytes(b"")
    Proxy([], mode="record", cassettes=[tmp_path])
    assert list(tmp_path.iterdir()) == []
