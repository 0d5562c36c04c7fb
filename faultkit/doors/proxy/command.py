"""``faultkit proxy``: argument parsing and startup, nothing else.

Every user mistake (a port in use, a broken scenario, a missing cassette directory, a
non-loopback bind without ``--allow-remote``) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from faultkit import catalogue
from faultkit.cassettes.store import APP_MATCH_ON, APP_PLAYBACK, PLAYBACKS
from faultkit.config import load_scrub_patterns
from faultkit.doors.http1 import CLIENT_TIMEOUT_S, BindError
from faultkit.doors.toxiproxy.errors import RemoteToxiproxyError
from faultkit.errors import FaultkitError, ScenarioError
from faultkit.loopback import is_loopback
from faultkit.otel.hook import export_from_environment
from faultkit.plan import DEFAULT_TIMING_SCALE
from faultkit.suggest import did_you_mean

from .config import (
    ConfigError,
    TcpProxy,
    find_config,
    load_routes,
    load_tcp_proxies,
    resolve_upstreams,
)
from .proxy import MODES, Proxy
from .state import LEDGER_BYTES, LEDGER_SIZE

EXIT_OK = 0
EXIT_USAGE = 2
DEFAULT_CONTROL_PORT = 8474  # Toxiproxy's: every Toxiproxy client defaults to it
LOOPS = ("auto", "uvloop", "asyncio")

log = logging.getLogger("faultkit.proxy")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME|PATH",
        help="scenario file or catalogue name; repeat to make more selectable by the "
        "x-faultkit-scenario header (the first is active)",
    )
    parser.add_argument(
        "--cassettes",
        action="append",
        default=[],
        metavar="PATH",
        help="cassette file or directory (replay); the directory or file to record into",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        help="default: replay; with no --cassettes and no door options, no doors at all",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (anyone who can reach it can inject faults)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        metavar="N",
        help="first door port; doors take N, N+1, ... (default: configured or free ports)",
    )
    parser.add_argument(
        "--tcp-port",
        type=int,
        default=None,
        metavar="N",
        help="first TCP front port; the doors' fronts (where TCP toxics act) take N, N+1, ... "
        "(default: each upstream's tcp_port in faultkit.toml, else free ports)",
    )
    parser.add_argument(
        "--toxiproxy-config",
        metavar="PATH",
        help="create the proxies of a toxiproxy-server -config JSON file at start "
        "(also: [proxies.NAME] listen/upstream in faultkit.toml)",
    )
    parser.add_argument(
        "--control-port",
        type=int,
        default=DEFAULT_CONTROL_PORT,
        metavar="N",
        help=f"control API port (default {DEFAULT_CONTROL_PORT}; 0 = a free port)",
    )
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=URL[,env=VAR][,port=N][,tcp_port=N]",
        help="add or override an upstream",
    )
    parser.add_argument(
        "--only", metavar="NAME[,NAME]", help="serve only these upstreams (default: all)"
    )
    parser.add_argument(
        "--config", metavar="PATH", help="faultkit.toml or pyproject.toml (default: ./)"
    )
    parser.add_argument(
        "--match-on",
        default=",".join(APP_MATCH_ON),
        metavar="A,B",
        help=f"what makes a request match a recording (default: {','.join(APP_MATCH_ON)})",
    )
    parser.add_argument(
        "--ignore-body-field",
        action="append",
        default=None,
        metavar="FIELD",
        help="JSON body field ignored when matching (default: id, the JSON-RPC id)",
    )
    parser.add_argument(
        "--playback",
        choices=PLAYBACKS,
        default=APP_PLAYBACK,
        help=f"what a recording does once played (default: {APP_PLAYBACK})",
    )
    parser.add_argument(
        "--timing-scale",
        type=float,
        default=DEFAULT_TIMING_SCALE,
        metavar="X",
        help="scale recorded SSE timing (0 = as fast as possible; default 1)",
    )
    parser.add_argument("--seed", type=int, default=None, help="override the scenario seed")
    parser.add_argument(
        "--toxiproxy-url",
        metavar="URL",
        default=os.environ.get("TOXIPROXY_URL") or None,
        help="an existing Toxiproxy server to host the doors' TCP fronts (TCP toxics); "
        "default: $TOXIPROXY_URL, else faultkit's own",
    )
    parser.add_argument(
        "--ready-file",
        metavar="PATH",
        help="write the doors' and control API's addresses there as JSON once serving",
    )
    parser.add_argument(
        "--grace-s",
        type=float,
        default=5.0,
        metavar="S",
        help="on SIGINT/SIGTERM, time given to in-flight exchanges (default 5)",
    )
    parser.add_argument(
        "--client-timeout-s",
        type=float,
        default=CLIENT_TIMEOUT_S,
        metavar="S",
        help=f"drop a door's client that sends nothing for S seconds between requests, or "
        f"takes longer to send a request head (408); never while the proxy is answering "
        f"(default {CLIENT_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--ledger-size",
        type=int,
        default=LEDGER_SIZE,
        metavar="N",
        help=f"ledger entries kept per fault context; the oldest are dropped and counted "
        f"(x-faultkit-ledger-dropped on GET /faultkit/ledger); 0 = keep all "
        f"(default {LEDGER_SIZE})",
    )
    parser.add_argument(
        "--ledger-mib",
        type=float,
        default=LEDGER_BYTES / 2**20,
        metavar="N",
        help=f"memory the ledgers of all contexts share, in MiB (estimated); the oldest "
        f"entries are dropped and counted past it; 0 = no bound "
        f"(default {LEDGER_BYTES / 2**20:g})",
    )
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        default="auto",
        help="event loop: uvloop (pip install 'faultkit[fast]') costs less CPU per request; "
        "auto (default) uses it when installed, else asyncio's; the startup line says which "
        "one runs",
    )
    parser.add_argument("--log-level", default="WARNING", help="default: WARNING")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``proxy`` on the ``faultkit`` command's subparsers."""
    parser = subparsers.add_parser(
        "proxy",
        help="run the HTTP fault proxy (one door per upstream) and its control API",
        description="Serve recorded or live upstream traffic with faults, out of process.",
    )
    add_arguments(parser)
    parser.set_defaults(run=lambda args, out=None, err=None: run(args))
    return parser


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ScenarioError) and len(exc.problems) > 1:
        return "; ".join(exc.problems)
    return " ".join(str(exc).split("\n"))


def _fail(message: str, err: TextIO) -> int:
    print(f"faultkit proxy: {message}", file=err)
    return EXIT_USAGE


def _ledger_size(args: argparse.Namespace) -> int | None:
    size = getattr(args, "ledger_size", LEDGER_SIZE)
    if size < 0:
        raise ConfigError(f"--ledger-size {size}: must be 0 (keep all) or more")
    return size or None


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _check_options(args: argparse.Namespace) -> None:
    """Every numeric option in range and every output path writable, before anything is
    bound or loaded: a bad value is one line naming the option, never a traceback after the
    doors went up."""
    for option, value in (
        ("--port", args.port),
        ("--tcp-port", args.tcp_port),
        ("--control-port", args.control_port),
    ):
        if value is not None and not 0 <= value <= 65535:
            raise ConfigError(f"{option} {value}: a port is 1..65535 (0 = a free port)")
    for option, value, zero_ok in (
        ("--timing-scale", args.timing_scale, True),
        ("--grace-s", args.grace_s, True),
        ("--ledger-mib", args.ledger_mib, True),
        ("--client-timeout-s", args.client_timeout_s, False),
    ):
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
            bound = "0 or more" if zero_ok else "more than 0"
            raise ConfigError(f"{option} {value}: must be a finite number, {bound}")
    if str(args.log_level).upper() not in LOG_LEVELS:
        raise ConfigError(
            f"--log-level {args.log_level}: unknown level (one of: {', '.join(LOG_LEVELS)})"
        )
    if args.toxiproxy_config and not Path(args.toxiproxy_config).is_file():
        raise ConfigError(f"--toxiproxy-config {args.toxiproxy_config}: file not found")
    if args.ready_file:
        parent = Path(args.ready_file).absolute().parent
        if not parent.is_dir():
            raise ConfigError(f"--ready-file {args.ready_file}: directory {parent} not found")
        if not os.access(parent, os.W_OK):
            raise ConfigError(f"--ready-file {args.ready_file}: directory {parent} not writable")


def _check_ports(plan: Plan, control_port: int) -> None:
    """No two listeners of this proxy on one port (doors, their TCP fronts, declared
    proxies, the control API): say which, instead of letting the second bind fail as if
    another program held the port."""
    taken: dict[int, str] = {}

    def take(port: int, what: str, option: str, first: int | None) -> None:
        if port > 65535:
            raise ConfigError(
                f"{option} {first}: {what} would get port {port}; "
                f"the {len(plan.proxy.doors)} doors need ports up to 65535"
            )
        if port and port in taken:
            raise ConfigError(f"{what} and {taken[port]} both want port {port}")
        if port:
            taken[port] = what

    first_port = min(plan.ports.values(), default=None)
    first_tcp = min(plan.tcp_ports.values(), default=None)
    for door in plan.proxy.doors:
        port = plan.ports.get(door.route, door.upstream.port or 0)
        take(port, f"door {door.route}", "--port", first_port)
    for door in plan.proxy.doors:
        port = plan.tcp_ports.get(door.route, door.upstream.tcp_port or 0)
        take(port, f"the TCP front of door {door.route}", "--tcp-port", first_tcp)
    doors = {door.route for door in plan.proxy.doors}
    for declared in plan.tcp_proxies:
        if declared.name in doors:
            raise ConfigError(
                f"[proxies.{declared.name}]: a door of this proxy is the Toxiproxy proxy "
                f"{declared.name!r}; give yours another name"
            )
        port = declared.listen.rpartition(":")[2]
        take(int(port) if port.isdigit() else 0, f"proxy {declared.name}", "listen", None)
    if control_port and control_port in taken:
        raise ConfigError(
            f"--control-port {control_port}: {taken[control_port]} of this proxy takes "
            f"that port; choose another port"
        )


def _toxiproxy_only(args: argparse.Namespace) -> bool:
    """``faultkit proxy`` alone starts as ``toxiproxy-server`` does: the control API with no
    proxies, for a Toxiproxy user's own ``POST /proxies``. Doors need something to replay, so
    this holds only when nothing asks for them (cassettes, a mode, a scenario, upstreams,
    ports, a Toxiproxy server for their fronts); otherwise replay's own refusal stands."""
    asked = (
        args.cassettes,
        args.mode,
        args.scenario,
        args.upstream,
        args.only,
        args.port is not None,
        args.tcp_port is not None,
        args.toxiproxy_url,
    )
    return not any(asked)


class Plan(NamedTuple):
    """What ``faultkit proxy`` will start: the proxy, its doors' ports and TCP front ports
    (by upstream; absent: the upstream's own or a free one) and the user's declared
    Toxiproxy proxies."""

    proxy: Proxy
    ports: dict[str, int]
    tcp_ports: dict[str, int]
    tcp_proxies: list[TcpProxy]


def _consecutive(first: int | None, names: Sequence[str]) -> dict[str, int]:
    """``--port N``/``--tcp-port N``: N, N+1, ... in door order (0: each a free port)."""
    if first is None:
        return {}
    return {name: first + i if first else 0 for i, name in enumerate(names)}


def _build(args: argparse.Namespace) -> Plan:
    config = Path(args.config) if args.config else find_config()
    if args.config and not config.is_file():  # type: ignore[union-attr]
        raise ConfigError(f"{args.config}: config file not found")
    load_scrub_patterns(config)  # its [scrub] patterns, before anything is recorded
    upstreams = {} if _toxiproxy_only(args) else resolve_upstreams(config, args.upstream)
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in upstreams]
        if unknown:
            raise ConfigError(
                f"--only: unknown upstream {', '.join(unknown)} "
                f"({did_you_mean(unknown[0], upstreams)}known: {', '.join(upstreams)})"
            )
        upstreams = {n: upstreams[n] for n in wanted}
    scenarios = [catalogue.load(ref) for ref in args.scenario]
    ignored = args.ignore_body_field if args.ignore_body_field is not None else ["id"]
    proxy = Proxy(
        list(upstreams.values()),
        mode=args.mode or "replay",
        scenario=scenarios[0] if scenarios else None,
        cassettes=args.cassettes,
        match_on=[m.strip() for m in args.match_on.split(",") if m.strip()],
        ignore_body_fields=[f for f in ignored if f],
        playback=args.playback,
        timing_scale=args.timing_scale,
        seed=args.seed,
        ledger_size=_ledger_size(args),
        ledger_bytes=max(1, int(args.ledger_mib * 2**20)) if args.ledger_mib else None,
        routes=load_routes(config),
        client_timeout_s=args.client_timeout_s,
    )
    for scenario in scenarios[1:]:
        proxy.state.add_scenario(scenario)
    plan = Plan(
        proxy,
        _consecutive(args.port, list(upstreams)),
        _consecutive(args.tcp_port, list(upstreams)),
        load_tcp_proxies(config),
    )
    _check_ports(plan, args.control_port)
    return plan


def _write_ready(path: str, info: dict[str, Any]) -> None:
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
    os.replace(tmp, target)


def event_loop(choice: str) -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """The name and factory of the event loop ``--loop`` asks for (None: asyncio's default).
    Raises ConfigError when ``uvloop`` is asked for and not installed."""
    if choice == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(
                "--loop uvloop: uvloop is not installed (pip install 'faultkit[fast]')"
            ) from None
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def _announce(proxy: Proxy, out: TextIO, loop_name: str) -> None:
    info = proxy.describe()
    scenario = info["scenario"] or "none"
    source = f", {info['recordings']} recordings" if proxy.store is not None else ""
    if not info["doors"]:
        print(
            "faultkit proxy: no cassettes, so no doors: a plain Toxiproxy-compatible server "
            f"(create proxies with POST /proxies), event loop {loop_name}",
            file=out,
        )
    else:
        print(
            f"faultkit proxy: mode {info['mode']}, scenario {scenario}{source}, "
            f"event loop {loop_name}",
            file=out,
        )
    width = max([len(d["name"]) for d in info["doors"] + info["proxies"]] + [7])
    for door in info["doors"]:
        print(f"  {door['name']:<{width}}  {door['address']}  ->  {door['upstream']}", file=out)
        if door.get("tcp_url"):
            # TCP toxics act only on connections through the front, never on the door.
            print(
                f"  {'':<{width}}  tcp toxics act on {door['tcp_url']}  "
                f"(front {door['tcp']} -> door {door['address'].removeprefix('http://')})",
                file=out,
            )
    for declared in info["proxies"]:
        print(
            f"  {declared['name']:<{width}}  tcp {declared['listen']}  ->  "
            f"{declared['upstream']}  (tcp toxics act on {declared['listen']})",
            file=out,
        )
    if info["control"]:
        print(f"  {'control':<{width}}  {info['control']}  (Toxiproxy API + /faultkit/)", file=out)
    for door in info["doors"]:
        if "export" in door:
            print(door["export"], file=out)
    out.flush()


async def _serve(args: argparse.Namespace, plan: Plan, loop_name: str) -> int:
    proxy = plan.proxy
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await proxy.start_doors(args.host, plan.ports)
            await proxy.start_control(
                args.host,
                args.control_port,
                args.toxiproxy_url,
                allow_remote=args.allow_remote,
                tcp_ports=plan.tcp_ports,
                tcp_proxies=plan.tcp_proxies,
                toxiproxy_config=args.toxiproxy_config,
            )
        except (BindError, RemoteToxiproxyError, FaultkitError) as exc:
            return _fail(_one_line(exc), sys.stderr)
        if args.ready_file:
            try:
                _write_ready(args.ready_file, {**proxy.describe(), "event_loop": loop_name})
            except OSError as exc:
                return _fail(f"--ready-file {args.ready_file}: {exc.strerror or exc}", sys.stderr)
        _announce(proxy, sys.stdout, loop_name)
        await stop.wait()
        print("faultkit proxy: shutting down", file=sys.stderr)
        await proxy.drain(args.grace_s)
        return EXIT_OK
    finally:
        try:
            await proxy.aclose()
        except FaultkitError as exc:
            print(f"faultkit proxy: {_one_line(exc)}", file=sys.stderr)
        for path, count in proxy.recordings():
            print(f"faultkit proxy: wrote {path} ({count} exchanges)", file=sys.stderr)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run(args: argparse.Namespace) -> int:
    """Start the proxy and serve until SIGINT/SIGTERM; returns the exit code."""
    try:
        _check_options(args)
    except ConfigError as exc:
        return _fail(str(exc), sys.stderr)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if not is_loopback(args.host):
        if not args.allow_remote:
            return _fail(
                f"--host {args.host} is not a loopback address; add --allow-remote to expose "
                "the proxy and its control API to the network",
                sys.stderr,
            )
        print(
            f"faultkit proxy: WARNING: listening on {args.host}: anyone who can reach it can "
            "read replayed traffic and inject faults",
            file=sys.stderr,
        )
    try:
        loop_name, loop_factory = event_loop(getattr(args, "loop", "auto"))
        plan = _build(args)
    except FaultkitError as exc:
        return _fail(_one_line(exc), sys.stderr)
    # Faults out (faultkit[otel]): spans to OTEL_EXPORTER_OTLP_ENDPOINT when it is set.
    stop_export, note = export_from_environment()
    if note:
        print(f"faultkit proxy: {note}", file=sys.stderr)
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(_serve(args, plan, loop_name))
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        if stop_export is not None:
            stop_export()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="faultkit proxy", description="Serve recorded or live traffic with faults."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
