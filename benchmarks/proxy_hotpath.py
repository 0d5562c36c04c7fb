"""The proxy's own CPU per request, in one process, without sockets.

    python benchmarks/proxy_hotpath.py                 # 20000 requests per case, 5 rounds
    python benchmarks/proxy_hotpath.py --requests 5000 --rounds 3 --profile passthrough
    python benchmarks/proxy_hotpath.py --baseline-ref 6dc3ead  # old code, same run
    python benchmarks/proxy_hotpath.py --only passthrough --requests 3000  # one case, once

``proxy_overhead.py`` measures the proxy as a user sees it, over loopback with other processes
competing for the cores; on a shared machine its figures move by 2x between hours. This one
drives the proxy's real code (the server protocol, the door, the engine and ledger, the
upstream client) with stand-in transports that only collect bytes, on a real event loop but
without a syscall, so what it times is the Python work per request, the part the proxy's code
decides, and it repeats within a few percent.

Cases (each with a fresh proxy):

- ``passthrough``: ``--mode passthrough``, no fault: the request goes up on a pooled
  connection and the upstream's answer (a ~1 KB JSON body with ``content-length``) comes back
  whole;
- ``replay``: ``--mode replay`` from a one-interaction cassette, no fault;
- ``header-fault``: replay with ``x-faultkit-fault: type=latency;latency_ms=0``, the
  per-request fault selection path.

With ``--baseline-ref REF``, each round also runs this benchmark on the code of git ``REF`` (a
``git worktree`` in the temp directory with this script copied in, in a subprocess, between
this code's cases), and prints each case's ratio to it: how a change moved the CPU per request,
measured in one run, timed the same way on both sides.

Baseline, in the same run: ``floor``, the minimal callback proxy of ``floor_proxy.py`` over the
same stand-ins (httptools on both sides, headers copied, nothing else): what any asyncio proxy
built this way pays, so ``x floor`` says how much of the cost is faultkit's own.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httptools

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from floor_proxy import FloorClient, FloorUpstream  # noqa: E402

try:
    from faultkit.doors.http1 import HttpConnection
except ImportError:  # a --baseline-ref tree from before the move (6dc3ead)
    from faultkit.doors.proxy.server import HttpConnection  # type: ignore[no-redef]
from faultkit.doors.proxy.command import event_loop  # noqa: E402
from faultkit.doors.proxy.config import Upstream  # noqa: E402
from faultkit.doors.proxy.proxy import Proxy  # noqa: E402
from faultkit.doors.proxy.upstream import _Connection  # noqa: E402

UPSTREAM = "http://127.0.0.1:9"  # never dialled: the pool holds a stand-in connection
BODY = json.dumps({"id": "x", "items": [{"n": i, "name": f"item {i}"} for i in range(30)]})
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
    b"date: Wed, 02 Dec 2026 12:00:00 GMT\r\nserver: bench\r\n\r\n%b"
) % (len(BODY), BODY.encode())
REQUEST = (
    b"GET /json HTTP/1.1\r\nhost: 127.0.0.1\r\nuser-agent: bench\r\naccept: */*\r\n"
    b"x-request-id: 123\r\n\r\n"
)


class Collector(asyncio.Transport):
    """A transport that keeps what is written, for the case to read back."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.out.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 50000) if name == "peername" else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.out)
        self.out.clear()
        return data


def _replay_cassette(directory: Path) -> Path:
    path = directory / "bench.yaml"
    interaction = {
        "request": {"method": "GET", "uri": f"{UPSTREAM}/json", "body": None, "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"content-type": ["application/json"]},
            "body": {"string": BODY},
        },
    }
    path.write_text(json.dumps({"version": 1, "interactions": [interaction]}))
    return path


async def faultkit_case(mode: str, requests: int, extra_header: bytes = b"") -> float:
    """Seconds per request through a real ``Proxy`` door over stand-in transports."""
    with tempfile.TemporaryDirectory() as tmp:
        cassettes = [_replay_cassette(Path(tmp))] if mode == "replay" else []
        proxy = Proxy([Upstream(name="bench", url=UPSTREAM)], mode=mode, cassettes=cassettes)
        door = proxy.doors[0]
        client = HttpConnection(door.handle, proxy.connections)
        client_out = Collector()
        client.connection_made(client_out)
        upstream_out = Collector()
        request = (
            REQUEST.replace(b"\r\n\r\n", b"\r\n" + extra_header + b"\r\n")
            if extra_header
            else REQUEST
        )
        if mode == "passthrough":
            pool = proxy.upstreams
            assert pool is not None
            conn = _Connection(pool, ("http", "127.0.0.1", 9))
            conn.connection_made(upstream_out)
            pool._release(conn)

        def one() -> bytes:
            client.data_received(request)
            if mode == "passthrough":
                upstream_out.out.clear()
                conn.data_received(RESPONSE)
            return client_out.take()

        return await timed(one, requests)


def check(answer: bytes) -> None:
    """The answer is a 200 with the upstream's body, so a broken path cannot look fast."""
    body: list[bytes] = []

    class Reader:
        def on_body(self, chunk: bytes) -> None:
            body.append(chunk)

    parser = httptools.HttpResponseParser(Reader())
    parser.feed_data(answer)
    if parser.get_status_code() != 200 or b"".join(body) != BODY.encode():
        raise RuntimeError(f"unexpected answer: {answer[:200]!r}")


async def timed(one: Callable[[], bytes], requests: int) -> float:
    """CPU seconds per request of ``one`` (this process's CPU time, so other processes on a
    busy machine do not count), after a warm-up (plans cached, the pool filled), with the
    cycle collector running as the proxy runs it (automatically)."""
    for _ in range(200):
        one()
    check(one())
    gc.collect()
    start = time.process_time()
    for _ in range(requests):
        one()
    return (time.process_time() - start) / requests


def run(case: Callable[[int], Any], requests: int) -> float:
    """One case on the event loop the proxy uses (uvloop when installed)."""
    _, factory = event_loop("auto")
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(case(requests))


async def floor_case(requests: int) -> float:
    """The same request and answer through ``floor_proxy.py``'s protocols."""
    client_out, upstream_out = Collector(), Collector()
    upstream = FloorUpstream(lambda _: None)
    upstream.connection_made(upstream_out)
    client = FloorClient(lambda: upstream, lambda _client, _request: None)
    client.connection_made(client_out)

    def one() -> bytes:
        client.data_received(REQUEST)
        upstream_out.out.clear()
        upstream.data_received(RESPONSE)
        return client_out.take()

    return await timed(one, requests)


CASES: dict[str, Callable[[int], Any]] = {
    "floor": floor_case,
    "passthrough": lambda n: faultkit_case("passthrough", n),
    "replay": lambda n: faultkit_case("replay", n),
    "header-fault": lambda n: faultkit_case(
        "replay", n, b"x-faultkit-fault: type=latency;latency_ms=0\r\n"
    ),
}


def baseline_tree(ref: str) -> Path:
    """A worktree of ``ref`` (kept between runs; git refuses a ref it cannot resolve) with
    this benchmark in it."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = Path(tempfile.gettempdir()) / f"faultkit-hotpath-{commit[:12]}"
    if not (tree / "benchmarks").exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), commit],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
    # This script, not the one of REF, so both sides are timed the same way.
    for name in ("proxy_hotpath.py", "floor_proxy.py"):
        shutil.copy(REPO / "benchmarks" / name, tree / "benchmarks" / name)
    return tree


def baseline_round(tree: Path, requests: int) -> dict[str, float]:
    """One round of this benchmark on ``tree``'s code: seconds per request by case."""
    out = subprocess.run(
        [
            sys.executable,
            str(tree / "benchmarks" / "proxy_hotpath.py"),
            "--requests",
            str(requests),
            "--rounds",
            "1",
        ],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = re.findall(r"^\s+(\S+)\s+([\d.]+) us", out, re.MULTILINE)
    return {name: float(value) / 1e6 for name, value in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000, help="per case and round")
    parser.add_argument("--rounds", type=int, default=5, help="the median is reported")
    parser.add_argument("--profile", choices=sorted(CASES), help="cProfile one case instead")
    parser.add_argument(
        "--only", choices=sorted(CASES), help="one round of one case (for callgrind: see README)"
    )
    parser.add_argument(
        "--baseline-ref", metavar="REF", help="also run the benchmark of git REF, same run"
    )
    args = parser.parse_args()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(CASES[args.profile], args.requests)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    if args.only:
        print(f"{args.only} {run(CASES[args.only], args.requests) * 1e6:.1f} us")
        return
    tree = baseline_tree(args.baseline_ref) if args.baseline_ref else None
    results: dict[str, list[float]] = {name: [] for name in CASES}
    baseline: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name, case in CASES.items():  # interleaved, so drift hits every case alike
            results[name].append(run(case, args.requests))
        if tree is not None:
            for name, value in baseline_round(tree, args.requests).items():
                baseline.setdefault(name, []).append(value)
    floor = statistics.median(results["floor"])
    print(
        f"proxy_hotpath: {args.requests} requests x {args.rounds} rounds, "
        f"median us/request [min-max], x floor"
        + (f", x {args.baseline_ref} (its code, same run; medians, then minima)" if tree else "")
    )
    for name, values in results.items():
        med = statistics.median(values)
        line = (
            f"  {name:<13} {med * 1e6:7.1f} us  [{min(values) * 1e6:.1f}-{max(values) * 1e6:.1f}]"
            f"  {med / floor:5.1f}x"
        )
        old = baseline.get(name)
        if old:
            old_med = statistics.median(old)
            line += f"  {med / old_med:5.2f}x of {old_med * 1e6:.1f} us"
            # Other processes only ever add time: on a busy machine the minima compare best.
            line += f"  (minima {min(values) / min(old):.2f}x)"
        print(line)


if __name__ == "__main__":
    main()
