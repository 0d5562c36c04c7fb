"""Cassette replay: faultkit's indexed store vs vcrpy, in the same run, on the same cassette.

    python benchmarks/cassette_replay.py              # N=5000; vcrpy on the first 1000
    python benchmarks/cassette_replay.py --full       # vcrpy on all N too (about 9 minutes)
    python benchmarks/cassette_replay.py --n 2000 --vcrpy-n 500

The cassette is generated in a temporary directory with vcrpy's own serializer: N distinct GET
URLs with query strings, about 1 KB per interaction (5 request headers, 4 response headers, a
~450-byte JSON body). Each side (a) loads it and (b) replays every interaction in recorded order
through an ``httpx.Client``:

- faultkit: ``CassetteStore`` + ``Engine`` behind the in-process door ``FaultkitTransport``;
- vcrpy: ``vcr.use_cassette(path, record_mode="none")`` with its default ``match_on``.

vcrpy matches by scanning the cassette (O(N) per request, O(N^2) per replay), so by default it
replays only the first ``--vcrpy-n`` interactions of a cassette of that size; faultkit is also
measured at that N, so the per-request ratio compares like with like. The vcrpy total at the full
N is then extrapolated quadratically from the measured run, and printed as an extrapolation.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faultkit.cassettes import CassetteStore
from faultkit.engine import Engine


@dataclass
class Result:
    name: str
    n: int
    load_s: float
    replay_s: float
    per_request_s: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.per_request_s) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.per_request_s)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def url_of(i: int) -> str:
    return f"https://api.example.com/v1/items/{i}?page={i % 50}&sort=desc&q=term{i}"


def generate(path: Path, n: int) -> None:
    """A vcrpy cassette written by vcrpy's own serializer."""
    from vcr.request import Request as VcrRequest
    from vcr.serialize import serialize
    from vcr.serializers import yamlserializer

    requests, responses = [], []
    for i in range(n):
        headers = {
            "accept": "application/json",
            "accept-encoding": "gzip, deflate",
            "connection": "keep-alive",
            "host": "api.example.com",
            "user-agent": "python-httpx/0.28.1",
        }
        requests.append(VcrRequest("GET", url_of(i), b"", headers))
        body = json.dumps(
            {
                "id": i,
                "object": "item",
                "name": f"item number {i}",
                "tags": ["alpha", "beta", "gamma"],
                "attributes": {f"attr_{k}": f"value {k} for item {i}" for k in range(12)},
            }
        )
        responses.append(
            {
                "status": {"code": 200, "message": "OK"},
                "headers": {
                    "content-type": ["application/json"],
                    "content-length": [str(len(body))],
                    "date": ["Mon, 01 Jan 2024 00:00:00 GMT"],
                    "x-request-id": [f"req_{i:08d}"],
                },
                "body": {"string": body.encode()},
            }
        )
    data = serialize({"requests": requests, "responses": responses}, yamlserializer)
    path.write_text(data)


def replay(client: httpx.Client, n: int) -> tuple[float, list[float]]:
    times = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        response = client.get(url_of(i), headers={"accept": "application/json"})
        response.read()
        times.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise SystemExit(f"request {i}: status {response.status_code}")
    return time.perf_counter() - start, times


def run_faultkit(path: Path, n: int) -> Result:
    from faultkit.doors.inprocess import FaultkitTransport

    gc.collect()
    t0 = time.perf_counter()
    store = CassetteStore([path])
    load_s = time.perf_counter() - t0
    engine = Engine(source=store)
    with httpx.Client(transport=FaultkitTransport(engine, route="bench")) as client:
        replay_s, times = replay(client, n)
    assert not store.unused(), "faultkit left recordings unplayed"
    return Result("faultkit", n, load_s, replay_s, times)


def run_vcrpy(path: Path, n: int) -> Result:
    import vcr

    gc.collect()
    t0 = time.perf_counter()
    context = vcr.use_cassette(str(path), record_mode="none")
    cassette = context.__enter__()
    load_s = time.perf_counter() - t0
    try:
        with httpx.Client() as client:
            replay_s, times = replay(client, n)
        assert cassette.all_played, "vcrpy left recordings unplayed"
    finally:
        context.__exit__(None, None, None)
    return Result("vcrpy", n, load_s, replay_s, times)


def show(result: Result) -> None:
    print(
        f"  {result.name:<9} N={result.n:<6} load {result.load_s:8.3f} s   replay "
        f"{result.replay_s:9.3f} s   per request: median {result.median_ms:8.3f} ms,"
        f" p99 {result.p99_ms:8.3f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="interactions (default 5000)")
    parser.add_argument(
        "--vcrpy-n",
        type=int,
        default=1000,
        help="interactions replayed by vcrpy (default 1000; its cost grows as N^2)",
    )
    parser.add_argument("--full", action="store_true", help="run vcrpy on all N as well")
    args = parser.parse_args(argv)
    n = args.n
    vcrpy_n = n if args.full else min(args.vcrpy_n, n)

    with tempfile.TemporaryDirectory(prefix="faultkit-bench-") as tmp:
        full_path = Path(tmp) / f"cassette-{n}.yaml"
        generate(full_path, n)
        size_mb = full_path.stat().st_size / 1e6
        print(f"cassette: {n} interactions, {size_mb:.1f} MB (vcrpy YAML, generated by vcrpy)")
        small_path = full_path
        if vcrpy_n != n:
            small_path = Path(tmp) / f"cassette-{vcrpy_n}.yaml"
            generate(small_path, vcrpy_n)

        print("\nmeasured (replay through httpx.Client, every interaction once, in order):")
        fk_full = run_faultkit(full_path, n)
        show(fk_full)
        fk_same = fk_full if vcrpy_n == n else run_faultkit(small_path, vcrpy_n)
        if fk_same is not fk_full:
            show(fk_same)
        vc = run_vcrpy(small_path, vcrpy_n)
        show(vc)

        print(f"\ncompared at the same N={vcrpy_n} (measured):")
        print(f"  load:                  vcrpy/faultkit = {vc.load_s / fk_same.load_s:8.1f}x")
        print(f"  replay total:          vcrpy/faultkit = {vc.replay_s / fk_same.replay_s:8.1f}x")
        print(f"  per-request median:    vcrpy/faultkit = {vc.median_ms / fk_same.median_ms:8.1f}x")
        if vcrpy_n != n:
            scale = n / vcrpy_n
            vc_replay_est = vc.replay_s * scale**2  # vcrpy scans every interaction per request
            vc_load_est = vc.load_s * scale
            print(
                f"\nat N={n}: faultkit measured, vcrpy EXTRAPOLATED from N={vcrpy_n}"
                f" (replay x{scale:.0f}^2 = quadratic, load x{scale:.0f} = linear;"
                " run --full to measure it, ~9 min at 5000):"
            )
            print(
                f"  vcrpy  load ~{vc_load_est:7.1f} s, replay ~{vc_replay_est:8.1f} s"
                f"   faultkit load {fk_full.load_s:.2f} s, replay {fk_full.replay_s:.2f} s"
            )
            ratio = vc_replay_est / fk_full.replay_s
            print(f"  replay total:          vcrpy/faultkit ~ {ratio:8.0f}x")
            total = (vc_load_est + vc_replay_est) / (fk_full.load_s + fk_full.replay_s)
            print(f"  load + replay:         vcrpy/faultkit ~ {total:8.0f}x")
        else:
            total = (vc.load_s + vc.replay_s) / (fk_full.load_s + fk_full.replay_s)
            print(f"  load + replay:         vcrpy/faultkit = {total:8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
