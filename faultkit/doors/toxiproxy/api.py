"""The Toxiproxy 2.x control API: routes, request decoding, replies, exact error texts.

Transport-free: ``ControlApi.handle(ApiRequest) -> ApiResponse``; the doors' HTTP server
(:mod:`faultkit.doors.http1`) does the HTTP/1.1 I/O. Behaviour follows Toxiproxy 2.12 where
clients can tell the difference:

- unknown path: 404 ``404 page not found\\n`` (plain text); known path, wrong method: 405 with
  an empty body; a ``User-Agent`` starting ``Mozilla/`` on a routed request: 403;
- routed replies carry ``X-Toxiproxy-Request-Id``; errors are
  ``{"error":"…","status":N}\\n`` (served as text/plain, like Go's ``http.Error``);
- create proxy 201, create toxic 200, updates 200 (POST and PATCH alike), deletes and reset 204;
- a handler that takes longer than 25 s gets 503 (the change still completes in the background).

``extra_routes`` maps ``(method, path prefix)`` to ``async handler(ApiRequest) -> (status,
headers, body)``; they are matched before the Toxiproxy routes (method ``"*"`` matches any).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from faultkit.doors.toxiproxy import jsonbody
from faultkit.doors.toxiproxy.errors import ApiError, ToxicRejected
from faultkit.doors.toxiproxy.jsonbody import BodyError
from faultkit.doors.toxiproxy.proxies import (
    STREAMS,
    PopulateFailed,
    Proxy,
    ProxyCollection,
)
from faultkit.doors.toxiproxy.spec import ToxicSpec
from faultkit.doors.toxiproxy.toxics import TCP_TOXICS
from faultkit.suggest import closest

log = logging.getLogger(__name__)

VERSION = "2.12.0"
HANDLER_TIMEOUT_S = 25.0
TIMEOUT_PAGE = b"<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>"
JSON = ("Content-Type", "application/json")
TEXT = ("Content-Type", "text/plain; charset=utf-8")
NOSNIFF = ("X-Content-Type-Options", "nosniff")

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # without the query string
    query: str = ""
    headers: Headers = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: Headers = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


ExtraHandler = Callable[[ApiRequest], Awaitable[tuple[int, Any, bytes]]]
ExtraRoutes = Mapping[tuple[str, str], ExtraHandler]


def json_reply(status: int, value: Any) -> ApiResponse:
    return ApiResponse(status, (JSON,), jsonbody.dumps(value))


def error_reply(status: int, message: str) -> ApiResponse:
    body = jsonbody.dumps({"error": message, "status": status}) + b"\n"
    return ApiResponse(status, (TEXT, NOSNIFF), body)


def _plain(value: Any) -> Any:
    """JSON values as plain Python (number literals lose their source text)."""
    if isinstance(value, jsonbody.FloatLiteral):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class ControlApi:
    """Toxiproxy's REST API over a ``ProxyCollection``."""

    def __init__(
        self,
        collection: ProxyCollection,
        *,
        version: str = VERSION,
        extra_routes: ExtraRoutes | None = None,
        handler_timeout_s: float = HANDLER_TIMEOUT_S,
    ) -> None:
        self.collection = collection
        self.version = version
        self.handler_timeout_s = handler_timeout_s
        # Longest prefix first, so /faultkit/x/y wins over /faultkit/x.
        self.extra_routes = sorted(
            (extra_routes or {}).items(), key=lambda item: len(item[0][1]), reverse=True
        )
        self._routes: dict[tuple[str, ...], dict[str, Callable[..., Awaitable[ApiResponse]]]] = {
            ("version",): {"GET": self.version_info},
            ("proxies",): {"GET": self.list_proxies, "POST": self.create_proxy},
            ("populate",): {"POST": self.populate},
            ("reset",): {"POST": self.reset},
            ("proxies", "*"): {
                "GET": self.show_proxy,
                "POST": self.update_proxy,
                "PATCH": self.update_proxy,
                "DELETE": self.delete_proxy,
            },
            ("proxies", "*", "toxics"): {"GET": self.list_toxics, "POST": self.create_toxic},
            ("proxies", "*", "toxics", "*"): {
                "GET": self.show_toxic,
                "POST": self.update_toxic,
                "PATCH": self.update_toxic,
                "DELETE": self.delete_toxic,
            },
        }

    # --- dispatch -----------------------------------------------------------------------

    def _route(self, request: ApiRequest) -> Callable[[], Awaitable[ApiResponse]] | ApiResponse:
        not_allowed = ApiResponse(405)
        prefix_matched = False
        for (method, prefix), extra in self.extra_routes:
            if request.path.startswith(prefix):
                if method in ("*", request.method):
                    return lambda: self._extra(extra, request)
                prefix_matched = True
        if prefix_matched:
            return not_allowed
        if not request.path.startswith("/"):
            return _not_found()
        segments = [unquote(s) for s in request.path[1:].split("/")]
        if any(s == "" or "/" in s for s in segments):
            return _not_found()
        for pattern, methods in self._routes.items():
            if len(pattern) != len(segments):
                continue
            if any(p != "*" and p != s for p, s in zip(pattern, segments, strict=True)):
                continue
            handler = methods.get(request.method)
            if handler is None:
                return not_allowed
            params = [s for p, s in zip(pattern, segments, strict=True) if p == "*"]
            return lambda: handler(request, *params)
        return _not_found()

    async def handle(self, request: ApiRequest) -> ApiResponse:
        route = self._route(request)
        if isinstance(route, ApiResponse):
            return route
        request_id = ("X-Toxiproxy-Request-Id", secrets.token_hex(10))
        agent = request.header("User-Agent") or ""
        if agent.startswith("Mozilla/"):
            return ApiResponse(403, (TEXT, NOSNIFF, request_id), b"User agent not allowed\n")
        task = asyncio.ensure_future(self._guarded(route))
        done, _ = await asyncio.wait({task}, timeout=self.handler_timeout_s)
        if not done:
            reply = ApiResponse(503, (("Content-Type", "text/html; charset=utf-8"),), TIMEOUT_PAGE)
        else:
            reply = task.result()
        return ApiResponse(reply.status, (*reply.headers, request_id), reply.body)

    async def _guarded(self, route: Callable[[], Awaitable[ApiResponse]]) -> ApiResponse:
        try:
            return await route()
        except ApiError as exc:
            return error_reply(exc.status, exc.message)
        except BodyError as exc:
            return error_reply(400, f"bad request body: {exc}")
        except ToxicRejected as exc:
            return error_reply(400, str(exc))
        except Exception as exc:
            log.exception("control API handler failed")
            return error_reply(500, f"internal error: {exc}")

    async def _extra(self, handler: ExtraHandler, request: ApiRequest) -> ApiResponse:
        status, headers, body = await handler(request)
        if isinstance(headers, Mapping):
            headers = headers.items()
        return ApiResponse(status, tuple((str(k), str(v)) for k, v in headers), bytes(body))

    # --- server ---------------------------------------------------------------------------

    async def version_info(self, request: ApiRequest) -> ApiResponse:
        body = f'{{"version": "{self.version}"}}\n'.encode()
        return ApiResponse(200, (("Content-Type", "application/json;charset=utf-8"),), body)

    async def reset(self, request: ApiRequest) -> ApiResponse:
        async with self.collection.lock:
            await self.collection.reset()
        return ApiResponse(204)

    async def populate(self, request: ApiRequest) -> ApiResponse:
        # Populate's errors are JSON replies that also list the proxies already applied.
        try:
            entries = _populate_entries(jsonbody.parse(request.body))
        except BodyError as exc:
            return json_reply(
                400, {"error": f"bad request body: {exc}", "status": 400, "proxies": None}
            )
        except ApiError as exc:
            return json_reply(
                exc.status, {"error": exc.message, "status": exc.status, "proxies": None}
            )
        async with self.collection.lock:
            try:
                proxies = await self.collection.populate(entries)
            except PopulateFailed as failed:
                body = {
                    "error": failed.error.message,
                    "status": failed.error.status,
                    "proxies": [p.to_json() for p in failed.proxies],
                }
                return json_reply(failed.error.status, body)
        return json_reply(201, {"proxies": [p.to_json() for p in proxies] or None})

    # --- proxies --------------------------------------------------------------------------

    async def list_proxies(self, request: ApiRequest) -> ApiResponse:
        proxies = self.collection.proxies
        return json_reply(200, {name: proxies[name].to_json() for name in sorted(proxies)})

    async def create_proxy(self, request: ApiRequest) -> ApiResponse:
        obj = jsonbody.as_object(jsonbody.parse(request.body), "toxiproxy.Proxy")
        name = jsonbody.get_string(obj, "name", "Proxy.name") or ""
        listen = jsonbody.get_string(obj, "listen", "Proxy.listen") or ""
        upstream = jsonbody.get_string(obj, "upstream", "Proxy.upstream") or ""
        enabled = jsonbody.get_bool(obj, "enabled", "Proxy.enabled")
        if not name:
            raise ApiError(400, "missing required field: name")
        if not upstream:
            raise ApiError(400, "missing required field: upstream")
        async with self.collection.lock:
            proxy = await self.collection.create(name, listen, upstream, enabled is not False)
        return json_reply(201, proxy.to_json())

    async def show_proxy(self, request: ApiRequest, name: str) -> ApiResponse:
        return json_reply(200, self.collection.get(name).to_json())

    async def update_proxy(self, request: ApiRequest, name: str) -> ApiResponse:
        async with self.collection.lock:
            proxy = self.collection.get(name)
            obj = jsonbody.as_object(jsonbody.parse(request.body), "toxiproxy.Proxy")
            listen = jsonbody.get_string(obj, "listen", "Proxy.listen")
            upstream = jsonbody.get_string(obj, "upstream", "Proxy.upstream")
            enabled = jsonbody.get_bool(obj, "enabled", "Proxy.enabled")
            await self.collection.update(
                proxy,
                proxy.listen if listen is None else listen,
                proxy.upstream if upstream is None else upstream,
                proxy.enabled if enabled is None else enabled,
            )
        return json_reply(200, proxy.to_json())

    async def delete_proxy(self, request: ApiRequest, name: str) -> ApiResponse:
        async with self.collection.lock:
            await self.collection.delete(name)
        return ApiResponse(204)

    # --- toxics ---------------------------------------------------------------------------

    def _toxic(self, proxy: Proxy, name: str) -> ToxicSpec:
        spec = proxy.find_toxic(name)
        if spec is None:
            raise ApiError(404, "toxic not found")
        return spec

    async def list_toxics(self, request: ApiRequest, name: str) -> ApiResponse:
        proxy = self.collection.get(name)
        return json_reply(200, [t.to_json() for t in proxy.all_toxics()])

    async def show_toxic(self, request: ApiRequest, name: str, toxic: str) -> ApiResponse:
        return json_reply(200, self._toxic(self.collection.get(name), toxic).to_json())

    async def create_toxic(self, request: ApiRequest, name: str) -> ApiResponse:
        async with self.collection.lock:
            proxy = self.collection.get(name)
            obj = jsonbody.as_object(jsonbody.parse(request.body), "toxics.ToxicWrapper")
            toxic_name = jsonbody.get_string(obj, "name", "ToxicWrapper.name") or ""
            toxic_type = jsonbody.get_string(obj, "type", "ToxicWrapper.type") or ""
            stream = jsonbody.get_string(obj, "stream", "ToxicWrapper.stream")
            toxicity = jsonbody.get_float32(obj, "toxicity", "ToxicWrapper.toxicity")
            attributes = jsonbody.lookup(obj, "attributes")
            if attributes is not None and not isinstance(attributes, dict):
                kind = jsonbody.kind(attributes)
                raise BodyError(
                    f"json: cannot unmarshal {kind} into Go struct field"
                    " ToxicWrapper.attributes of type toxics.Toxic"
                )
            stream = "downstream" if stream is None else stream
            if stream.lower() not in STREAMS:
                raise ApiError(400, "stream was invalid, can be either upstream or downstream")
            toxic_name = toxic_name or f"{toxic_type}_{stream}"
            cls = TCP_TOXICS.get(toxic_type)
            if cls is None and toxic_type not in self.collection.bridge_types():
                # Toxiproxy's words, plus the type it is probably a typo of (if any).
                hint = closest(toxic_type, [*TCP_TOXICS, *self.collection.bridge_types()])
                raise ApiError(
                    400, "invalid toxic type" + (f"; did you mean {hint!r}?" if hint else "")
                )
            if proxy.find_toxic(toxic_name) is not None:
                raise ApiError(409, "toxic already exists")
            spec = ToxicSpec(toxic_name, toxic_type, stream, 1.0 if toxicity is None else toxicity)
            spec = _with_attributes(spec, attributes or {}, {})
            spec = await self.collection.add_toxic(proxy, spec)
        return json_reply(200, spec.to_json())

    async def update_toxic(self, request: ApiRequest, name: str, toxic: str) -> ApiResponse:
        async with self.collection.lock:
            proxy = self.collection.get(name)
            current = self._toxic(proxy, toxic)
            obj = jsonbody.as_object(jsonbody.parse(request.body), "toxics.ToxicWrapper")
            toxicity = jsonbody.get_float32(obj, "toxicity", "ToxicWrapper.toxicity")
            attributes = jsonbody.lookup(obj, "attributes")
            if attributes is not None and not isinstance(attributes, dict):
                kind = jsonbody.kind(attributes)
                raise BodyError(
                    f"json: cannot unmarshal {kind} into Go struct field .attributes"
                    " of type toxics.Toxic"
                )
            spec = ToxicSpec(
                current.name,
                current.type,
                current.stream,
                current.toxicity if toxicity is None else toxicity,
            )
            spec = _with_attributes(spec, attributes or {}, current.attributes)
            spec = await self.collection.update_toxic(proxy, spec)
        return json_reply(200, spec.to_json())

    async def delete_toxic(self, request: ApiRequest, name: str, toxic: str) -> ApiResponse:
        async with self.collection.lock:
            proxy = self.collection.get(name)
            await self.collection.remove_toxic(proxy, self._toxic(proxy, toxic))
        return ApiResponse(204)


def _not_found() -> ApiResponse:
    return ApiResponse(404, (TEXT, NOSNIFF), b"404 page not found\n")


def _with_attributes(
    spec: ToxicSpec, given: dict[str, Any], current: Mapping[str, Any]
) -> ToxicSpec:
    """Merge ``given`` attributes over ``current`` (0 for a TCP toxic's missing ones)."""
    cls = TCP_TOXICS.get(spec.type)
    if cls is None:  # a bridge toxic: the bridge validates
        merged = {**current, **_plain(given)}
        return ToxicSpec(spec.name, spec.type, spec.stream, spec.toxicity, merged, None)
    values: dict[str, int] = {}
    for attribute in cls.attribute_names():
        value = jsonbody.get_int64(given, attribute, f"{cls.__name__}Toxic.{attribute}")
        values[attribute] = value if value is not None else int(current.get(attribute, 0))
    toxic = cls(**values)
    return ToxicSpec(spec.name, spec.type, spec.stream, spec.toxicity, toxic.attributes(), toxic)


def _populate_entries(value: Any) -> list[tuple[str, str, str, bool]]:
    """Validate the whole populate array before anything is created."""
    if value is None:
        return []
    if not isinstance(value, list):
        kind = jsonbody.kind(value)
        raise BodyError(f"json: cannot unmarshal {kind} into Go value of type []toxiproxy.Proxy")
    decoded = []
    for item in value:
        obj = jsonbody.as_object(item, "toxiproxy.Proxy")
        decoded.append(
            (
                jsonbody.get_string(obj, "name", "Proxy.name") or "",
                jsonbody.get_string(obj, "listen", "Proxy.listen") or "",
                jsonbody.get_string(obj, "upstream", "Proxy.upstream") or "",
                jsonbody.get_bool(obj, "enabled", "Proxy.enabled") is not False,
            )
        )
    for index, (name, _, upstream, _) in enumerate(decoded, start=1):
        if not name:
            raise ApiError(400, f"missing required field: name at proxy {index}")
        if not upstream:
            raise ApiError(400, f"missing required field: upstream at proxy {index}")
    return decoded
