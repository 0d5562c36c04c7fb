"""Record a zoo app's cassette by running it against a scripted upstream.

Why: a cassette must hold the requests exactly as the app's SDK sends them (faultkit matches
on method, URL and body), and answers in the providers' real wire format. So each app's
``record.py`` scripts the upstream (which answer for which request, built with :mod:`wire`)
and calls :func:`record`, which runs the app through its ``http_client_factory`` seam on a
mock transport of the right library (httpx, or httpx2 for the anthropic SDK), and writes what
went over the wire with faultkit's own cassette writer (secrets scrubbed).

Run from ``tests/zoo``: ``python -m <app>.record``. Not used by the tests.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from wire import Canned

from faultkit.cassettes.write import write_cassette
from faultkit.exchange import Request, Response, ResponseHead

Upstream = Callable[[str, str, Any], Canned]
"""``(method, url, json_body_or_None) -> Canned``: the scripted upstream."""


def _library(fn: Callable[..., Any]) -> Any:
    default = inspect.signature(fn).parameters["http_client_factory"].default
    if getattr(default, "__module__", "").startswith("httpx2"):
        import httpx2

        return httpx2
    return httpx


def record(
    fn: Callable[..., Any], inputs: dict[str, Any], upstream: Upstream, path: Path
) -> list[str]:
    """Run ``fn(**inputs)`` against ``upstream``; write every exchange to ``path``. Returns
    the URLs called, in order, so the script can show what was recorded."""
    pairs = _exchanges(fn, inputs, upstream)
    write_cassette(path, pairs)
    return [req.url for req, _ in pairs]


def record_runs(
    fn: Callable[..., Any], runs: list[tuple[dict[str, Any], Upstream, int]], path: Path
) -> list[str]:
    """Several runs into one cassette: ``(inputs, upstream, skip)`` each, keeping a run's
    exchanges from index ``skip`` on. Why: a framework's re-ask (pydantic-ai sends an invalid
    answer back with the validation error) only happens after an invalid answer, which the
    calm run never gets; a second run scripted to get one records the re-ask request exactly
    as the framework sends it, and only that exchange is kept."""
    pairs = [p for inputs, upstream, skip in runs for p in _exchanges(fn, inputs, upstream)[skip:]]
    write_cassette(path, pairs)
    return [req.url for req, _ in pairs]


def _exchanges(
    fn: Callable[..., Any], inputs: dict[str, Any], upstream: Upstream
) -> list[tuple[Request, Response]]:
    lib = _library(fn)
    pairs: list[tuple[Request, Response]] = []

    def handler(request: Any) -> Any:
        body = request.read()
        parsed = json.loads(body) if body else None
        canned = upstream(request.method, str(request.url), parsed)
        pairs.append(
            (
                Request(
                    method=request.method,
                    url=str(request.url),
                    headers=tuple((k.lower(), v) for k, v in request.headers.multi_items()),
                    body=body,
                ),
                Response(
                    head=ResponseHead(
                        status=canned.status,
                        reason=canned.reason,
                        headers=tuple(canned.headers.items()),
                    ),
                    body=canned.body,
                    first_byte_ms=canned.first_byte_ms,
                    event_offsets_ms=tuple(canned.event_offsets_ms)
                    if canned.event_offsets_ms
                    else None,
                ),
            )
        )
        return lib.Response(canned.status, headers=canned.headers, content=canned.body)

    def factory(**kwargs: Any) -> Any:
        kwargs.pop("transport", None)
        client_class = lib.AsyncClient if inspect.iscoroutinefunction(fn) else lib.Client
        return client_class(transport=lib.MockTransport(handler), **kwargs)

    if inspect.iscoroutinefunction(fn):
        result = asyncio.run(fn(**inputs, http_client_factory=factory))
    else:
        result = fn(**inputs, http_client_factory=factory)
    print(f"answer: {result!r}")
    return pairs
