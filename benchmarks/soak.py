"""Soak: does the proxy's memory stay flat under hours of faulted traffic?

    python benchmarks/soak.py                       # 10 min at 100 req/s (the target run)
    python benchmarks/soak.py --minutes 3           # a shorter run, same shape
    python benchmarks/soak.py --minutes 1 --rate 50 --json out.json

Starts the real ``faultkit proxy`` (replay, ``cassettes/support``, ``--timing-scale 0``) on
loopback ephemeral ports and sends it ``--rate`` requests per second, open loop, from this
process: the recorded OpenAI, Anthropic and orders-tool requests (JSON and SSE), plus one
request in ten that matches no recording and carries a unique query string of 1-16 KiB (each
becomes a ledger entry with a long URL). A scenario faults them: latency on 30% of provider
calls, HTTP 500 on 10% of all calls, a stream cut mid-event on 30% of streamed calls.
Alongside, ``--idle`` clients open a connection to a door, send half a request head and then
nothing (slowloris), again and again.

Every ``--sample-s`` seconds it reads the proxy's RSS (``/proc/PID/status``) and open file
descriptors (``/proc/PID/fd``). The first ``--warmup`` fraction of the run (default a fifth,
at least 30 s) fills the caches, the pools and the bounded ledger; the verdict compares the
median RSS of the last minute with the median of the minute after warm-up: growth under
``--target`` (10%), and no more open descriptors once every client has gone than at the
start (plus 2), is a pass. At the end it posts ``/faultkit/reset`` and
reports the RSS after it. Bounded by construction: it stops by itself after ``--minutes``
and kills the proxy on the way out. Exit 0 on pass, 1 on fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faultkit.cassettes import load_cassette  # noqa: E402

CASSETTES = REPO / "cassettes" / "support"
SCENARIO = """\
name: soak
seed: 7
rules:
  - name: slow-provider
    match: {kind: provider}
    when: {probability: 0.3}
    fault: {type: latency, latency_ms: 20}
  - name: server-error
    when: {probability: 0.1}
    fault: {type: http_error, status: 500}
  - name: cut-stream
    match: {stream: true}
    when: {probability: 0.3}
    fault: {type: broken_sse, kind: cut_mid_event, end: close}
"""
ROUTES = {"api.openai.com": "openai", "api.anthropic.com": "anthropic"}


class ProxyDied(Exception):
    """The proxy process is gone."""


@dataclass
class Call:
    door: str
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Tally:
    sent: int = 0
    answered: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    skipped: int = 0  # the open-loop generator was over its in-flight bound
    latencies_ms: list[float] = field(default_factory=list)
    idle_closed: int = 0
    idle_opened: int = 0

    def count(self, key: str) -> None:
        self.answered[key] = self.answered.get(key, 0) + 1


def recorded_calls() -> list[Call]:
    calls = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        for item in load_cassette(path).interactions:
            request = item.request
            url = httpx.URL(request.url)
            door = ROUTES.get(url.host, "orders")
            headers = {k: v for k, v in request.headers if k.lower() in ("content-type", "accept")}
            calls.append(Call(door, request.method, url.raw_path.decode(), request.body, headers))
    return calls


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_sample(pid: int) -> tuple[float, int]:
    """(RSS in MiB, open descriptors) of ``pid``."""
    rss_kib = 0
    if not os.path.exists(f"/proc/{pid}"):
        return 0.0, 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
    return rss_kib / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def start_proxy(workdir: Path, extra: list[str]) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    scenario = workdir / "soak.yaml"
    scenario.write_text(SCENARIO)
    ready = workdir / "ready.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faultkit.doors.proxy",
            "--cassettes",
            str(CASSETTES),
            "--upstream",
            "orders=http://orders.internal,env=ORDERS_URL",
            "--scenario",
            str(scenario),
            "--timing-scale",
            "0",
            "--control-port",
            "0",
            "--ready-file",
            str(ready),
            *extra,
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "proxy.err").open("wb"),
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("proxy did not start: " + (workdir / "proxy.err").read_text())
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())


def request_bytes(call: Call) -> bytes:
    head = f"{call.method} {call.path} HTTP/1.1\r\nhost: 127.0.0.1\r\n"
    for name, value in call.headers.items():
        head += f"{name}: {value}\r\n"
    if call.body or call.method in ("POST", "PUT", "PATCH"):
        head += f"content-length: {len(call.body)}\r\n"
    return head.encode("latin-1") + b"\r\n" + call.body


class _Answer:
    """httptools callbacks: the status and whether the message ended."""

    def __init__(self) -> None:
        self.done = False
        self.parser = httptools.HttpResponseParser(self)

    def on_message_complete(self) -> None:
        self.done = True


async def worker(address: str, queue: asyncio.Queue[Any], tally: Tally) -> None:
    """One keep-alive connection: send each queued request, read its answer to the end
    (a cut or reset stream ends the connection, and the next request opens a new one).
    A client this lean (httptools, no pool) keeps the generator's own CPU small, so the
    rate is the proxy's to keep."""
    host, port = address.removeprefix("http://").rsplit(":", 1)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while True:
        item = await queue.get()
        if item is None:
            break
        data, due = item
        answer = _Answer()
        outcome = "closed"
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, int(port))
            assert reader is not None
            writer.write(data)
            while not answer.done:
                chunk = await asyncio.wait_for(reader.read(65536), 30)
                if not chunk:
                    break
                answer.parser.feed_data(chunk)
            if answer.done or answer.parser.get_status_code():
                outcome = str(answer.parser.get_status_code())
        except (OSError, TimeoutError, httptools.HttpParserError) as exc:
            outcome = type(exc).__name__
        if not answer.done or not answer.parser.should_keep_alive():
            if writer is not None:
                writer.close()
            reader = writer = None
        tally.count(outcome if answer.done else f"{outcome} (cut)")
        tally.latencies_ms.append((time.monotonic() - due) * 1000)


async def slowloris(host: str, port: int, stop: asyncio.Event, tally: Tally) -> None:
    """Open a connection, send half a request head, then wait for the proxy to close it."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(1)
            continue
        tally.idle_opened += 1
        writer.write(b"GET /orders/1234 HTTP/1.1\r\nhost: x\r\nx-slow: ")
        try:
            while not stop.is_set():
                try:
                    data = await asyncio.wait_for(reader.read(4096), 1.0)
                except TimeoutError:
                    continue
                if not data:
                    tally.idle_closed += 1
                    break
        except OSError:
            tally.idle_closed += 1
        finally:
            writer.close()


async def drive(
    info: dict[str, Any], pid: int, args: argparse.Namespace
) -> tuple[list[tuple[float, float, int]], Tally]:
    doors = {d["name"]: d["address"] for d in info["doors"]}
    calls = [(call.door, request_bytes(call)) for call in recorded_calls()]
    rng = random.Random(11)
    tally = Tally()
    samples: list[tuple[float, float, int]] = []
    stop = asyncio.Event()
    duration = args.minutes * 60
    queues: dict[str, asyncio.Queue[Any]] = {name: asyncio.Queue() for name in doors}
    workers = [
        asyncio.ensure_future(worker(doors[name], queues[name], tally))
        for name in doors
        for _ in range(args.connections)
    ]
    orders = doors["orders"].removeprefix("http://").rsplit(":", 1)
    idlers = [
        asyncio.ensure_future(slowloris(orders[0], int(orders[1]), stop, tally))
        for _ in range(args.idle)
    ]
    start = time.monotonic()
    next_sample = start
    next_report = start + 60
    i = 0
    while True:
        now = time.monotonic()
        if now - start >= duration:
            break
        if now >= next_sample:
            rss, fds = proc_sample(pid)
            if rss == 0:  # gone (a zombie has no VmRSS)
                raise ProxyDied(f"after {(now - start) / 60:.1f} min")
            samples.append((now - start, rss, fds))
            next_sample += args.sample_s
        if now >= next_report:
            t, rss, fds = samples[-1]
            print(
                f"  {t / 60:5.1f} min  rss {rss:6.1f} MiB  fds {fds:3d}  sent {tally.sent}",
                flush=True,
            )
            next_report += 60
        due = start + i / args.rate
        if due > now:
            await asyncio.sleep(due - now)
        i += 1
        if rng.random() < 0.1:
            door = rng.choice(sorted(doors))
            query = "x" * rng.randint(1024, 16 * 1024)
            data = request_bytes(Call(door, "GET", f"/unmatched/{i}?q={i}-{query}", b"", {}))
        else:
            door, data = rng.choice(calls)
        if queues[door].qsize() >= args.max_queued:
            tally.skipped += 1  # the proxy is not keeping up: counted, not queued for ever
            continue
        queues[door].put_nowait((data, due))  # latency counts from when it was due
        tally.sent += 1
    stop.set()
    for name in doors:
        for _ in range(args.connections):
            queues[name].put_nowait(None)
    await asyncio.wait(workers, timeout=30)
    await asyncio.gather(*idlers, return_exceptions=True)
    return samples, tally


def window(samples: list[tuple[float, float, int]], start: float, end: float) -> list[float]:
    return [rss for t, rss, _ in samples if start <= t < end]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--idle", type=int, default=20, help="slowloris clients")
    parser.add_argument("--sample-s", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=0.2, help="fraction of the run")
    parser.add_argument("--target", type=float, default=0.10, help="allowed RSS growth")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive, per door")
    parser.add_argument("--max-queued", type=int, default=200, help="per door, then skipped")
    parser.add_argument("--json", metavar="PATH", help="write the figures there")
    parser.add_argument("proxy_args", nargs="*", help="extra faultkit proxy options (after --)")
    args = parser.parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C, so the proxy is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="faultkit-soak-") as tmp:
        proc, info = start_proxy(Path(tmp), args.proxy_args)
        try:
            rss0, fds0 = proc_sample(proc.pid)
            cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
            print(
                f"soak: {args.minutes:g} min at {args.rate:g} req/s, {args.idle} idle clients; "
                f"proxy pid {proc.pid}, rss {rss0:.1f} MiB, fds {fds0}",
                flush=True,
            )
            try:
                samples, tally = asyncio.run(drive(info, proc.pid, args))
            except ProxyDied as exc:
                proc.wait(5)
                err = (Path(tmp) / "proxy.err").read_text(errors="replace")
                print(f"soak: the proxy exited ({proc.returncode}) {exc}:\n{err[-3000:]}")
                return 1
            cpu_share = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - wall0)
            duration = args.minutes * 60
            warm = max(30.0, args.warmup * duration)
            span = min(60.0, (duration - warm) / 2)
            after_warmup = statistics.median(window(samples, warm, warm + span))
            at_end = statistics.median(window(samples, duration - span, duration + 1))
            fds_warm = max(f for t, _, f in samples if warm <= t < warm + span)
            fds_end = max(f for t, _, f in samples if t >= duration - span)
            growth = at_end / after_warmup - 1
            with httpx.Client(timeout=10) as control:
                before_reset = proc_sample(proc.pid)[0]
                control.post(info["control"] + "/faultkit/reset")
                time.sleep(3)
                after_reset, fds_after = proc_sample(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    # Descriptors: during the run they follow the load (up to 64 pooled client connections
    # and the idle clients); once every client has gone, a leak is whatever is still open.
    passed = growth < args.target and fds_after <= fds0 + 2
    figures = {
        "minutes": args.minutes,
        "rate": args.rate,
        "sent": tally.sent,
        "skipped": tally.skipped,
        "answers": dict(sorted(tally.answered.items())),
        "latency_ms_p50_p99": [
            round(statistics.quantiles(tally.latencies_ms, n=100)[i], 1) for i in (49, 98)
        ],
        "proxy_cpu_share": round(cpu_share, 3),
        "idle_opened": tally.idle_opened,
        "idle_closed_by_proxy": tally.idle_closed,
        "rss_start_mib": round(rss0, 1),
        "rss_after_warmup_mib": round(after_warmup, 1),
        "rss_end_mib": round(at_end, 1),
        "rss_growth_after_warmup": round(growth, 4),
        "rss_max_mib": round(max(r for _, r, _ in samples), 1),
        "rss_before_reset_mib": round(before_reset, 1),
        "rss_after_reset_mib": round(after_reset, 1),
        "fds_start": fds0,
        "fds_after_warmup_max": fds_warm,
        "fds_end_max": fds_end,
        "fds_after_reset": fds_after,
        "passed": passed,
    }
    print(json.dumps(figures, indent=2))
    print(
        f"soak: RSS {after_warmup:.1f} -> {at_end:.1f} MiB after warm-up ({growth:+.1%}, target "
        f"< {args.target:.0%}); fds {fds_warm} -> {fds_end}; reset: {before_reset:.1f} -> "
        f"{after_reset:.1f} MiB: {'PASS' if passed else 'FAIL'}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
