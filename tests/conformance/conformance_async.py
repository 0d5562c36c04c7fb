"""The in-process door's async transports, driven by the async SDK clients.

The sync and async transports are two code paths over one exchange flow (the async one plays
plans and live answers with its own sleeps and streams), so they are compared like the doors:
the same cell through :class:`AsyncInProcessDoor` and through the sync
:class:`~conformance_doors.InProcessDoor`, which the replay and pass-through suites hold equal
to the proxy. The client here is ``AsyncOpenAI``/``AsyncAnthropic`` (their own ``post``, as in
:func:`conformance_world._sdk_call`) and ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anthropic
import httpx
import httpx2
import openai
from conformance_doors import SDK_ROUTES
from conformance_world import SDK_TIMEOUT, TIMEOUT, Run, response_types, route_of

from faultkit.cassettes.store import CassetteStore
from faultkit.doors import AsyncFaultkitTransport, AsyncHttpx2FaultkitTransport
from faultkit.engine import Engine
from faultkit.exchange import Request
from faultkit.oracle import Result
from faultkit.oracle.result import acapture
from faultkit.scenario import Scenario


class AsyncClients:
    def __init__(self, engine: Engine, urls: dict[str, str], mode: str) -> None:
        def sdk_http(route: str) -> httpx2.AsyncClient:
            transport = AsyncHttpx2FaultkitTransport(engine, route=route, mode=mode)
            return httpx2.AsyncClient(transport=transport, timeout=SDK_TIMEOUT)

        self.openai = openai.AsyncOpenAI(
            base_url=urls["openai"],
            api_key="sk-conformance",
            max_retries=0,
            timeout=SDK_TIMEOUT,
            http_client=sdk_http("openai"),
        )
        self.anthropic = anthropic.AsyncAnthropic(
            base_url=urls["anthropic"],
            api_key="sk-conformance",
            max_retries=0,
            timeout=SDK_TIMEOUT,
            http_client=sdk_http("anthropic"),
        )
        self.http = {
            route: httpx.AsyncClient(
                transport=AsyncFaultkitTransport(engine, route=route, mode=mode),
                base_url=url,
                timeout=TIMEOUT,
            )
            for route, url in urls.items()
            if route not in SDK_ROUTES
        }

    async def send(self, request: Request) -> Any:
        route = route_of(request.url)
        parts = urlsplit(request.url)
        if route in self.http:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            content_type = request.header("content-type") or "application/json"
            headers = {"content-type": content_type} if request.body else {}
            async with self.http[route].stream(
                request.method, target, content=request.body or None, headers=headers
            ) as response:
                response.raise_for_status()
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    return [line async for line in response.aiter_lines() if line]
                return json.loads(await response.aread())
        body = json.loads(request.body)
        stream = bool(body.get("stream"))
        params = dict(parse_qsl(parts.query))
        path, cast, event = response_types(route, parts.path, params)
        sdk: Any = self.openai if route == "openai" else self.anthropic
        stream_cls = (openai.AsyncStream if route == "openai" else anthropic.AsyncStream)[event]
        answer = await sdk.post(
            path,
            body=body,
            cast_to=cast,
            stream=stream,
            stream_cls=stream_cls,
            options={"params": params} if params else {},
        )
        if stream:
            return [e.model_dump(mode="json", warnings=False) async for e in answer]
        return answer.model_dump(mode="json", warnings=False)

    async def aclose(self) -> None:
        await self.openai.close()
        await self.anthropic.close()
        for client in self.http.values():
            await client.aclose()


async def areplay(
    clients: AsyncClients, requests: list[Request]
) -> tuple[list[tuple[str, Any]], Result]:
    """:func:`conformance_world.replay`, awaited."""
    outcomes: list[tuple[str, Any]] = []
    errors: list[BaseException] = []

    async def app() -> list[Any]:
        for request in requests:
            try:
                outcomes.append(("answer", await clients.send(request)))
            except Exception as exc:  # what the client got is the outcome under test
                outcomes.append(("error", type(exc).__qualname__))
                errors.append(exc)
        if errors:
            raise errors[0]
        return [value for _, value in outcomes]

    return outcomes, await acapture(app)


class AsyncInProcessDoor:
    """The async transports over ``store`` (replay) or forwarding to ``urls``."""

    def __init__(
        self, urls: dict[str, str], store: CassetteStore | None = None, *, mode: str = "replay"
    ) -> None:
        self.urls = urls
        self.store = store
        self.mode = mode
        self.scenario: str | None = None

    def run(self, scenario: Scenario | None, requests: list[Request]) -> Run:
        """One cell with a new engine; the store is rewound when the scenario changes, as the
        sync door's is, so the two stores play the same recordings in step."""
        name = scenario.name if scenario else None
        if self.store is not None and self.mode == "replay" and name != self.scenario:
            self.store.rewind()
        self.scenario = name
        engine = Engine(scenario, source=self.store, timing_scale=0)

        async def cell() -> tuple[list[tuple[str, Any]], Result]:
            clients = AsyncClients(engine, self.urls, self.mode)
            try:
                return await areplay(clients, requests)
            finally:
                await clients.aclose()

        outcomes, result = asyncio.run(cell())
        return Run(outcomes, result, list(engine.ledger.entries))
