"""The code that runs INSIDE the Locust subprocess: exact latencies, open-loop users, the end.

Never import this module in faultkit's own process or in pytest: it imports ``locust``, whose
import monkey-patches the whole process with gevent (``../shared/reference/vcrpy-and-locust.md``
§5). ``faultkit load`` runs ``python -m locust -f <hooks>,<locustfile>``; the hooks file imports
this module, so any locustfile gets exact histograms, including one that never mentions
faultkit. Locust itself has imported (and patched) by then; the ``import locust`` below keeps
the order right for a locustfile that imports this module on its own.

What it does in each Locust process:

- a ``request`` listener records every request into :mod:`.histogram`'s exact histograms (raw
  and corrected, whole run and per second);
- on a worker, each stats report to the master carries the histograms recorded since the last
  report (``report_to_master``); the master merges them (``worker_report``). This is Locust's
  own channel, so workers on other machines merge the same way;
- the master (or the single local process) prints a progress line every few seconds, ends the
  run itself after ``--faultkit-duration-s`` (stop, wait for each worker's final report, write
  the result file, quit), so no report is lost to Locust's 0.5 s quit window;
- :class:`OpenLoopUser` schedules arrivals at a fixed rate and measures from the intended
  start, so a stall delays (and counts) the requests due during it instead of not sending them;
  an arrival still in flight when the run ends is counted as a failed request (a timeout),
  with the time it had waited so far, never dropped;
- every failure is counted by what it was (``HTTP 503``, ``ConnectionRefusedError``,
  ``timeout (in flight at end)``), and every answer is kept as a key (status, and the body when
  the contract needs it) with a count, for faultkit's own process to judge by the contract
  (:mod:`faultkit.load.answers`): judging here would cost CPU in the load generator.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import gevent
import locust  # noqa: F401  (first: gevent must patch before anything else is imported)
from gevent.pool import Pool
from locust import FastHttpUser, User, constant, events, task
from locust.rpc import Message
from locust.runners import MasterRunner, WorkerRunner

from faultkit.load import histogram as hist
from faultkit.load.results import PROGRESS_PREFIX
from faultkit.scrub.logs import scrubbed_logger

log = scrubbed_logger("faultkit.load")  # runs in Locust's process, not the proxy's

RESULT_VERSION = 1
_INSTALLED_FLAG = "_faultkit_load_installed"


# -- what the run was asked to do (custom Locust arguments, sent on to workers) ---------------
@dataclass(frozen=True)
class RequestSpec:
    """The request the default user sends, from ``faultkit load --method/--header/--body``."""

    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    name: str | None = None
    bodies: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, text: str | None) -> RequestSpec:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            method=str(data.get("method") or "GET").upper(),
            path=str(data.get("path") or "/"),
            headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
            body=data.get("body"),
            name=data.get("name"),
            bodies=[str(b) for b in data.get("bodies") or []],
        )

    def body_for(self, arrival: int) -> str | None:
        """The body of the ``arrival``-th request: the cases' bodies in turn, else ``body``."""
        if self.bodies:
            return self.bodies[arrival % len(self.bodies)]
        return self.body


def _option(environment: Any, name: str, default: Any = None) -> Any:
    options = getattr(environment, "parsed_options", None)
    value = getattr(options, name, None) if options is not None else None
    return default if value in (None, "") else value


def _add_arguments(parser: Any, **kwargs: Any) -> None:
    group = parser.add_argument_group("faultkit", "set by faultkit load")
    group.add_argument("--faultkit-result", default="", help="where to write the result JSON")
    group.add_argument("--faultkit-phase", default="", help="label of this run")
    group.add_argument("--faultkit-duration-s", type=float, default=0.0)
    group.add_argument("--faultkit-rate", type=float, default=1.0, help="arrivals/s per user")
    group.add_argument("--faultkit-max-in-flight", type=int, default=256)
    group.add_argument("--faultkit-expected-interval-ms", type=float, default=0.0)
    group.add_argument("--faultkit-request", default="", help="JSON RequestSpec")
    group.add_argument("--faultkit-progress-s", type=float, default=3.0)
    group.add_argument("--faultkit-drain-s", type=float, default=10.0)
    group.add_argument(
        "--faultkit-answers",
        default="status",
        choices=("off", "status", "body"),
        help="what of each answer to keep for judging: nothing, its status, status and body",
    )
    group.add_argument("--faultkit-deadline-ms", type=float, default=0.0)


# -- the recorder -------------------------------------------------------------------------------
class _Window:
    __slots__ = ("corrected", "failures", "raw", "requests")

    def __init__(self) -> None:
        self.raw = hist.new_histogram(hist.WINDOW_DIGITS)
        self.corrected = hist.new_histogram(hist.WINDOW_DIGITS)
        self.requests = 0
        self.failures = 0


class Recorder:
    """Histograms and counts of one Locust process (a worker's since its last report)."""

    COUNTERS = (
        "requests",
        "failures",
        "open_loop",
        "paced",
        "uncorrected",
        "late",
        "unfinished",
        "answered",
        "answers_unjudged",
    )
    #: Distinct answers kept per process; past it, answers are counted as unjudged. With the
    #: body cap, at most ~32 MB per Locust process. Replayed upstreams give few distinct
    #: answers; live LLM text gives one per request, and the report says how many went unjudged.
    MAX_ANSWER_KEYS = 2000
    #: A body longer than this is kept as "too large" (a load test is not a data dump).
    MAX_BODY_CHARS = 16384

    def __init__(self) -> None:
        self.cumulative_requests = 0
        self.final = False
        self.clear()

    def clear(self) -> None:
        self.raw = hist.new_histogram()
        self.corrected = hist.new_histogram()
        self.windows: dict[int, _Window] = {}
        self.counts = dict.fromkeys(self.COUNTERS, 0)
        self.intervals_ms: set[float] = set()
        self.first_start: float | None = None
        self.last_end: float | None = None
        self.errors: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()

    def add_answer(self, key: dict[str, Any]) -> None:
        """Count one answer by its key (see :func:`answer_key`)."""
        text = json.dumps(key, sort_keys=True)
        if text in self.answers or len(self.answers) < self.MAX_ANSWER_KEYS:
            self.answers[text] += 1
        else:
            self.counts["answers_unjudged"] += 1

    def add(
        self,
        *,
        start: float,
        raw_ms: float,
        delay_ms: float | None,
        interval_ms: float,
        failed: bool,
    ) -> None:
        """One request: ``start`` (epoch s) when it was due, ``raw_ms`` its service time,
        ``delay_ms`` how late an open-loop arrival was issued (None: closed-loop)."""
        counts = self.counts
        counts["requests"] += 1
        self.cumulative_requests += 1
        if failed:
            counts["failures"] += 1
        window = self.windows.get(int(start))
        if window is None:
            window = self.windows[int(start)] = _Window()
        window.requests += 1
        window.failures += int(failed)
        hist.record(self.raw, raw_ms)
        hist.record(window.raw, raw_ms)
        if delay_ms is not None:
            counts["open_loop"] += 1
            value, interval = raw_ms + max(delay_ms, 0.0), 0.0
        else:
            value, interval = raw_ms, interval_ms
            if interval > 0:
                counts["paced"] += 1
                self.intervals_ms.add(interval)
            else:
                counts["uncorrected"] += 1
        hist.record(self.corrected, value, interval)
        hist.record(window.corrected, value, interval)
        end = start + value / 1000.0
        if self.first_start is None or start < self.first_start:
            self.first_start = start
        if self.last_end is None or end > self.last_end:
            self.last_end = end

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "intervals_ms": sorted(self.intervals_ms),
            "first_start": self.first_start,
            "last_end": self.last_end,
            "errors": dict(self.errors),
            "answers": dict(self.answers),
            "raw": hist.encode(self.raw) if self.raw.get_total_count() else "",
            "corrected": hist.encode(self.corrected) if self.corrected.get_total_count() else "",
            "windows": {
                str(second): {
                    "requests": w.requests,
                    "failures": w.failures,
                    "raw": hist.encode(w.raw),
                    "corrected": hist.encode(w.corrected),
                }
                for second, w in sorted(self.windows.items())
            },
        }

    def merge_json(self, data: dict[str, Any]) -> None:
        """Add another process's :meth:`to_json` (a worker's delta) into this one."""
        for name, value in data.get("counts", {}).items():
            self.counts[name] = self.counts.get(name, 0) + int(value)
        self.intervals_ms.update(float(v) for v in data.get("intervals_ms", []))
        self.errors.update({k: int(v) for k, v in (data.get("errors") or {}).items()})
        for key, count in (data.get("answers") or {}).items():
            if key in self.answers or len(self.answers) < self.MAX_ANSWER_KEYS:
                self.answers[key] += int(count)
            else:
                self.counts["answers_unjudged"] = self.counts.get("answers_unjudged", 0) + count
        for name in ("raw", "corrected"):
            if data.get(name):
                getattr(self, name).add(hist.decode(data[name]))
        for key, w in data.get("windows", {}).items():
            window = self.windows.get(int(key))
            if window is None:
                window = self.windows[int(key)] = _Window()
            window.requests += int(w["requests"])
            window.failures += int(w["failures"])
            window.raw.add(hist.decode(w["raw"]))
            window.corrected.add(hist.decode(w["corrected"]))
        first, last = data.get("first_start"), data.get("last_end")
        if first is not None and (self.first_start is None or first < self.first_start):
            self.first_start = first
        if last is not None and (self.last_end is None or last > self.last_end):
            self.last_end = last


RECORDER = Recorder()
_WORKERS: dict[str, dict[str, Any]] = {}  # master: client id -> last cumulative count, final
_STATE: dict[str, Any] = {"stopping": False, "written": False, "started": None}
_POOLS: set[Pool] = set()
#: Open-loop arrivals being sent: greenlet -> (intended start, send start), perf_counter s.
_IN_FLIGHT: dict[Any, tuple[float, float]] = {}
#: Arrivals already counted as timeouts at the end: a late request event for them is ignored.
_TIMED_OUT: set[Any] = set()
TIMEOUT_LABEL = "timeout (in flight at end)"


# -- closed-loop pacing: the expected interval of a user class ---------------------------------
_INTERVALS: dict[type, float] = {}


def expected_interval_ms(user_class: type) -> float:
    """The pacing interval of a closed-loop user class, in ms (0 when unknown).

    ``faultkit_expected_interval_ms`` on the class wins; otherwise Locust's
    ``constant_pacing(T)`` / ``constant_throughput(r)`` are recognised (the interval is their
    closure's value). ``between``/``constant`` waits are not a schedule, so they get none.
    """
    if user_class in _INTERVALS:
        return _INTERVALS[user_class]
    value = getattr(user_class, "faultkit_expected_interval_ms", None)
    interval = float(value) if value else 0.0
    wait = getattr(user_class, "wait_time", None)
    if not interval and wait is not None:
        qualname = getattr(wait, "__qualname__", "")
        cells = getattr(wait, "__closure__", None) or ()
        if qualname.startswith("constant_pacing.") and cells:
            for cell in cells:
                if isinstance(cell.cell_contents, (int, float)):
                    interval = float(cell.cell_contents) * 1000.0
        elif qualname.startswith("constant_throughput.") and cells:
            for cell in cells:
                contents = cell.cell_contents
                if isinstance(contents, (int, float)) and contents > 0:
                    interval = 1000.0 / float(contents)
    _INTERVALS[user_class] = interval
    return interval


def _current_user() -> User | None:
    """The user whose greenlet is running (Locust spawns each user with itself as args[0])."""
    args = getattr(gevent.getcurrent(), "args", ())
    return args[0] if args and isinstance(args[0], User) else None


def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: BaseException | None = None,
    context: dict[str, Any] | None = None,
    start_time: float | None = None,
    **kwargs: Any,
) -> None:
    if gevent.getcurrent() in _TIMED_OUT:
        return  # counted as a timeout when the run ended
    context = context or {}
    delay_ms = context.get("faultkit_delay_ms")
    started = start_time if start_time is not None else time.time() - response_time / 1000.0
    interval = 0.0
    if delay_ms is None:
        forced = _option(_ENV.get("environment"), "faultkit_expected_interval_ms", 0.0)
        if forced:
            interval = float(forced)
        else:
            user = _current_user()
            interval = expected_interval_ms(type(user)) if user is not None else 0.0
    else:
        started -= delay_ms / 1000.0
    RECORDER.add(
        start=started,
        raw_ms=float(response_time or 0.0),
        delay_ms=delay_ms,
        interval_ms=interval,
        failed=exception is not None,
    )
    response = kwargs.get("response")
    status = int(getattr(response, "status_code", 0) or 0)
    if status:
        RECORDER.counts["answered"] += 1
    if exception is not None:
        RECORDER.errors[f"HTTP {status}" if status else type(exception).__name__] += 1
    mode = _option(_ENV.get("environment"), "faultkit_answers", "status")
    if mode != "off":
        RECORDER.add_answer(answer_key(response, exception, float(response_time or 0.0), mode))


def answer_key(response: Any, exception: BaseException | None, raw_ms: float, mode: str) -> dict:
    """What faultkit needs to judge one answer by the contract: its status (0 and the
    exception's type when no HTTP answer came), its body when the contract looks at bodies
    (``mode == "body"``), and whether it came after the contract's deadline."""
    status = int(getattr(response, "status_code", 0) or 0)
    key: dict[str, Any] = {"status": status}
    if not status:
        key["error"] = type(exception).__name__ if exception is not None else "no answer"
    elif mode == "body":
        text = getattr(response, "text", None) or ""
        if len(text) > Recorder.MAX_BODY_CHARS:
            key["too_large"] = True
        else:
            key["body"] = text
    deadline = float(_option(_ENV.get("environment"), "faultkit_deadline_ms", 0.0) or 0.0)
    if deadline and raw_ms > deadline:
        key["late"] = True
    return key


_ENV: dict[str, Any] = {}


# -- open-loop arrivals -------------------------------------------------------------------------
class OpenLoopUser(FastHttpUser):
    """Sends at a fixed arrival rate and measures latency from each arrival's intended start.

    Each arrival runs in its own greenlet (at most ``max_in_flight`` per user), so a slow
    response does not hold back the next arrival, the way real users do not wait for each
    other. The rate is ``rate_per_s`` if set on the class, else ``faultkit load``'s
    ``--rate`` divided by ``--users``. Override :meth:`send` to say what one arrival does
    (one request is what the correction assumes).
    """

    abstract = True
    wait_time = constant(0)  # the schedule paces arrivals, not Locust
    rate_per_s: float | None = None
    max_in_flight: int | None = None
    concurrency = 64  # connections of this user's client

    def on_start(self) -> None:
        self._arrivals = 0
        self._index: dict[Any, int] = {}
        rate = self.rate_per_s or float(_option(self.environment, "faultkit_rate", 1.0))
        self._period = 1.0 / max(rate, 1e-6)
        cap = self.max_in_flight or int(_option(self.environment, "faultkit_max_in_flight", 256))
        self._pool = Pool(max(cap, 1))
        _POOLS.add(self._pool)
        self._due: dict[Any, float] = {}
        self._next = time.perf_counter() + random.uniform(0.0, self._period)

    def on_stop(self) -> None:
        _drain([self._pool], float(_option(self.environment, "faultkit_drain_s", 10.0)))

    def context(self) -> dict[str, Any]:
        due = self._due.get(gevent.getcurrent())
        if due is None:
            return {}
        return {"faultkit_delay_ms": (time.perf_counter() - due) * 1000.0}

    @task
    def _arrive(self) -> None:
        if _STATE["stopping"]:
            gevent.sleep(0.05)
            return
        wait = self._next - time.perf_counter()
        if wait > 0:
            gevent.sleep(wait)
        if _STATE["stopping"]:
            return  # the run ended while this user waited for its next arrival
        due = self._next
        self._next += self._period
        if self._pool.full():
            RECORDER.counts["late"] += 1  # the in-flight cap, not the target, delayed it
        self._pool.spawn(self._fire, due, self._arrivals)
        self._arrivals += 1

    @property
    def arrival(self) -> int:
        """This user's count of the arrival being sent (0, 1, 2 ...): :meth:`send` uses it
        to take the cases' bodies in turn."""
        return self._index.get(gevent.getcurrent(), 0)

    def _fire(self, due: float, index: int) -> None:
        me = gevent.getcurrent()
        self._due[me] = due
        self._index[me] = index
        _IN_FLIGHT[me] = (due, time.perf_counter())
        try:
            self.send()
        finally:
            self._due.pop(me, None)
            self._index.pop(me, None)
            _IN_FLIGHT.pop(me, None)

    def send(self) -> None:
        """One arrival: the request ``faultkit load`` was given (method, target path, body)."""
        spec = request_spec(self.environment)
        self.client.request(
            spec.method,
            spec.path,
            data=spec.body_for(self.arrival),
            headers=spec.headers,
            name=spec.name,
        )


_SPECS: dict[str, RequestSpec] = {}


def request_spec(environment: Any) -> RequestSpec:
    text = str(_option(environment, "faultkit_request", "") or "")
    spec = _SPECS.get(text)
    if spec is None:
        spec = _SPECS[text] = RequestSpec.from_json(text)
    return spec


def _drain(pools: list[Pool], grace_s: float) -> None:
    """Give in-flight arrivals ``grace_s`` to finish; count the rest as failed requests (timeouts,
    with the latency they had reached) and kill them.

    A request that never got its answer is the worst latency of the run, not a missing
    sample: dropping it would let a run in which the target hung report 0% errors."""
    deadline = time.monotonic() + max(grace_s, 0.0)
    # Until every pool is empty at once (or the grace is over): while one pool is joined,
    # another user may still be sending an arrival that was due before the end.
    while any(len(pool) for pool in pools) and time.monotonic() < deadline:
        for pool in pools:
            pool.join(timeout=max(deadline - time.monotonic(), 0.0))
    for pool in pools:
        for greenlet in list(pool.greenlets):
            _count_timeout(greenlet)
        if len(pool):
            pool.kill(block=False)


def _count_timeout(greenlet: Any) -> None:
    sent = _IN_FLIGHT.get(greenlet)
    if sent is None or greenlet in _TIMED_OUT:
        return
    _TIMED_OUT.add(greenlet)
    due, issued = sent
    now = time.perf_counter()
    RECORDER.add(
        start=time.time() - (now - due),
        raw_ms=(now - issued) * 1000.0,
        delay_ms=(issued - due) * 1000.0,
        interval_ms=0.0,
        failed=True,
    )
    RECORDER.counts["unfinished"] += 1
    RECORDER.errors[TIMEOUT_LABEL] += 1
    if _option(_ENV.get("environment"), "faultkit_answers", "status") != "off":
        RECORDER.add_answer({"status": 0, "error": TIMEOUT_LABEL, "timed_out": True})


# -- the run's lifecycle --------------------------------------------------------------------------
def _complete(environment: Any) -> bool:
    """Whether the result holds every request: the local run stopped, or every worker (at
    least as many as expected) sent the report it makes after stopping."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return RECORDER.final
    expected = int(_option(environment, "expect_workers", 0) or 0)
    finals = [w for w in _WORKERS.values() if w.get("final")]
    return bool(_WORKERS) and len(finals) == len(_WORKERS) and len(finals) >= expected


def _result(environment: Any) -> dict[str, Any]:
    data = RECORDER.to_json()
    data.update(
        version=RESULT_VERSION,
        complete=_complete(environment),
        phase=_option(environment, "faultkit_phase", ""),
        started_at=_STATE["started"],
        expected_interval_ms=_option(environment, "faultkit_expected_interval_ms", 0.0),
        workers={k: dict(v) for k, v in _WORKERS.items()},
    )
    return data


def _write(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _write_result(environment: Any) -> None:
    path = _option(environment, "faultkit_result", "")
    if not path or _STATE["written"]:
        return
    _STATE["written"] = True
    _write(path, _result(environment))


def _progress(environment: Any) -> None:
    interval = float(_option(environment, "faultkit_progress_s", 3.0))
    last_count, last_t = 0, time.monotonic()
    while True:
        gevent.sleep(interval)
        now = time.monotonic()
        count = RECORDER.counts["requests"]
        p99 = hist.percentile_ms(RECORDER.corrected, 99.0)
        p50 = hist.percentile_ms(RECORDER.corrected, 50.0)
        runner = environment.runner
        line = {
            "phase": _option(environment, "faultkit_phase", ""),
            "elapsed_s": round(time.time() - (_STATE["started"] or time.time()), 1),
            "users": getattr(runner, "user_count", 0),
            "workers": len(_WORKERS) if isinstance(runner, MasterRunner) else None,
            "requests": count,
            "failures": RECORDER.counts["failures"],
            "rps": round((count - last_count) / max(now - last_t, 1e-6), 1),
            "p50_ms": p50,
            "p99_ms": p99,
        }
        last_count, last_t = count, now
        print(PROGRESS_PREFIX + json.dumps(line), flush=True)


def _finish(environment: Any, duration_s: float) -> None:
    """End the run on time, losing nothing, then write the result and quit.

    Locally: stop the users (in-flight arrivals drain), write. On a master: tell each worker
    to quit, which makes it stop its users and send one last report at once (a "stop" would
    park it for ``--stop-timeout`` first); wait for those reports, write. Locust quits the
    master by itself once the last worker is gone; whichever comes first writes the result,
    and it says whether every worker's final report was in.
    """
    gevent.sleep(duration_s)
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        for client in list(runner.clients.all):
            runner.server.send_to_client(Message("quit", None, client.id))
        deadline = time.monotonic() + float(_option(environment, "faultkit_drain_s", 10.0)) + 5
        while time.monotonic() < deadline and not _complete(environment):
            gevent.sleep(0.05)
        if not _complete(environment):
            log.warning("faultkit: not every worker sent its final report; result incomplete")
    else:
        runner.stop()
    _write_result(environment)
    runner.quit()


def install() -> None:
    """Hook faultkit into this Locust process (idempotent: a locustfile may import this
    module under a second name; listeners must not count twice)."""
    if getattr(events, _INSTALLED_FLAG, False):
        return
    setattr(events, _INSTALLED_FLAG, True)
    events.init_command_line_parser.add_listener(_add_arguments)
    events.request.add_listener(_on_request)

    @events.init.add_listener
    def _on_init(environment: Any, **kwargs: Any) -> None:
        _ENV["environment"] = environment
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            environment.events.report_to_master.add_listener(_report_to_master)
        elif isinstance(runner, MasterRunner):
            environment.events.worker_report.add_listener(_worker_report)

    @events.test_start.add_listener
    def _on_test_start(environment: Any, **kwargs: Any) -> None:
        if _STATE["started"] is not None:
            return
        _STATE["started"] = time.time()
        if isinstance(environment.runner, WorkerRunner):
            return
        gevent.spawn(_progress, environment)
        duration = float(_option(environment, "faultkit_duration_s", 0.0))
        if duration > 0:
            gevent.spawn(_finish, environment, duration)

    @events.test_stopping.add_listener
    def _on_test_stopping(environment: Any, **kwargs: Any) -> None:
        if isinstance(environment.runner, MasterRunner):
            return
        _STATE["stopping"] = True
        _drain(list(_POOLS), float(_option(environment, "faultkit_drain_s", 10.0)))

    @events.test_stop.add_listener
    def _on_test_stop(environment: Any, **kwargs: Any) -> None:
        RECORDER.final = True
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            _write_worker_file(environment, runner.client_id)

    @events.quitting.add_listener
    def _on_quitting(environment: Any, **kwargs: Any) -> None:
        if isinstance(environment.runner, WorkerRunner):
            return
        _write_result(environment)  # no-op when _finish wrote it
        # faultkit decides pass/fail from the result; Locust's own code says only "it ran".
        environment.process_exit_code = 0


def _report_to_master(client_id: str, data: dict[str, Any]) -> None:
    delta = RECORDER.to_json()
    delta["cumulative_requests"] = RECORDER.cumulative_requests
    delta["final"] = RECORDER.final
    RECORDER.clear()
    data["faultkit"] = delta


def _worker_report(client_id: str, data: dict[str, Any]) -> None:
    delta = data.get("faultkit")
    if not delta:
        return
    RECORDER.merge_json(delta)
    worker = _WORKERS.setdefault(client_id, {"requests": 0, "reports": 0, "final": False})
    worker["requests"] = int(delta.get("cumulative_requests", 0))
    worker["reports"] += 1
    worker["final"] = bool(delta.get("final"))


def _write_worker_file(environment: Any, client_id: str) -> None:
    """A local worker also leaves its own total beside the result, so a test can check that
    the merged counts are the sum of what each worker measured."""
    path = _option(environment, "faultkit_result", "")
    if not path or not os.path.isdir(os.path.dirname(path) or "."):
        return
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in client_id)
    _write(
        f"{path}.worker-{safe}.json",
        {"client_id": client_id, "requests": RECORDER.cumulative_requests},
    )


install()
