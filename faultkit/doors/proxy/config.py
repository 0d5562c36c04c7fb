"""Upstreams: the real services the proxy stands in for, declared once per project.

An upstream has a name (the route in scenarios and in the ledger), the real base URL, and the
environment variable through which the system under test finds it. The proxy opens one door
(one port) per upstream and prints ``export VAR=<door URL>`` lines, so pointing the SUT at the
proxy is one ``eval`` away and no SDK needs a proxy setting.

Declared in ``faultkit.toml``::

    [upstreams.orders]
    url = "http://localhost:9000/api"
    env = "ORDERS_URL"
    port = 8481            # optional; default: a free port
    tcp_port = 8491        # optional: the door's TCP front (where TCP toxics act)

    [proxies.redis]        # a Toxiproxy proxy of the user's own, created at start
    listen = "127.0.0.1:26379"
    upstream = "127.0.0.1:6379"

or the same under ``[tool.faultkit.upstreams.<name>]`` in ``pyproject.toml``. OpenAI,
Anthropic and Gemini are built in (a declaration with the same name overrides them, keeping
the ``url``, ``env`` and ports it does not give: see :func:`overriding`; ``[upstreams.openai]``
with only ``tcp_port = 8475`` fixes the port of OpenAI's TCP front). The file is found and
read by ``faultkit.config``, which also reads the ``[routes]`` aliases scenarios use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from faultkit.config import ConfigError, find_config, load_routes, read_table, table_name
from faultkit.suggest import did_you_mean

__all__ = [
    "DEFAULT_UPSTREAMS",
    "ConfigError",
    "TcpProxy",
    "Upstream",
    "find_config",
    "load_routes",
    "load_tcp_proxies",
    "load_upstreams",
    "overriding",
    "parse_upstream_option",
    "resolve_upstreams",
]


class Upstream(BaseModel):
    """One real service behind a door."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    url: str = Field(description="Real base URL, e.g. https://api.openai.com/v1.")
    env: str | None = Field(None, description="Environment variable the SUT reads the URL from.")
    port: int | None = Field(None, ge=0, le=65535, description="Door port; default: a free one.")
    tcp_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port of the door's TCP front (the Toxiproxy proxy named after the door, "
        "where TCP toxics act); default: a free one. Fixed, a test suite can hard-code it.",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value.rstrip("/")

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the real service: requests keep their own path."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def base_path(self) -> str:
        """Path part of ``url`` (``/v1`` for OpenAI): the door serves the same paths, so the
        SUT's base URL is the door's address plus this."""
        return urlsplit(self.url).path.rstrip("/")

    def door_url(self, address: str) -> str:
        """The value of ``env`` when the door listens at ``address`` (``http://host:port``)."""
        return address + self.base_path


_Entry = TypeVar("_Entry", bound=BaseModel)

DEFAULT_UPSTREAMS: tuple[Upstream, ...] = (
    Upstream(name="openai", url="https://api.openai.com/v1", env="OPENAI_BASE_URL"),
    Upstream(name="anthropic", url="https://api.anthropic.com", env="ANTHROPIC_BASE_URL"),
    Upstream(
        name="gemini", url="https://generativelanguage.googleapis.com", env="GOOGLE_GEMINI_BASE_URL"
    ),
)


def load_upstreams(path: Path | None) -> list[Upstream]:
    """Built-in upstreams, overridden and extended by the ``upstreams`` table of ``path``."""
    result = {u.name: u for u in DEFAULT_UPSTREAMS}
    if path is None:
        return list(result.values())
    table = read_table(path) or {}
    declared = table.get("upstreams", {})
    prefix = table_name(path, "upstreams")
    if not isinstance(declared, dict):
        raise ConfigError(f"{path}: [{prefix}] must be a table of upstream tables")
    for name, fields in declared.items():
        if not isinstance(fields, dict):
            raise ConfigError(f"{path}: [{prefix}.{name}] must be a table with url and env")
        previous = result.get(name)
        if previous is not None and "url" not in fields:
            fields = {**fields, "url": previous.url}
        declared_one = _entry(Upstream, name, fields, f"{path}: [{prefix}.{name}]")
        result[name] = overriding(previous, declared_one)
    return list(result.values())


def _entry(model: type[_Entry], name: str, fields: dict[str, Any], where: str) -> _Entry:
    """One table of ``faultkit.toml`` as ``model``, or a ConfigError naming ``where`` and the
    field (an unknown field with the one it is probably a typo of)."""
    try:
        return model(name=name, **fields)
    except ValidationError as exc:
        errors = exc.errors()
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        field = ".".join(str(p) for p in err["loc"]) or name
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            known = [f for f in model.model_fields if f != "name"]
            msg = f"unknown field ({did_you_mean(field, known)}known: {', '.join(known)})"
        raise ConfigError(f"{where} {field}: {msg}") from None


def overriding(previous: Upstream | None, new: Upstream) -> Upstream:
    """``new`` in place of ``previous`` (the same name), keeping the ``env`` and ports that
    ``new`` does not give: pointing ``openai`` at a gateway (``--upstream openai=URL``) must not
    lose ``OPENAI_BASE_URL`` and its ``export`` line, which is what the SDK reads."""
    if previous is None:
        return new
    kept = {
        f: getattr(previous, f)
        for f in ("env", "port", "tcp_port")
        if f not in new.model_fields_set
    }
    return new.model_copy(update=kept)


def resolve_upstreams(config: Path | None, options: Iterable[str]) -> dict[str, Upstream]:
    """The upstreams by name: built in, then ``config``'s, then ``--upstream`` options, each
    layer overriding the one before (:func:`overriding`)."""
    upstreams = {u.name: u for u in load_upstreams(config)}
    for text in options:
        upstream = parse_upstream_option(text)
        upstreams[upstream.name] = overriding(upstreams.get(upstream.name), upstream)
    return upstreams


def parse_upstream_option(text: str) -> Upstream:
    """``NAME=URL[,env=VAR][,port=N][,tcp_port=N]`` from the command line."""
    name, sep, rest = text.partition("=")
    if not sep or not rest:
        raise ConfigError(f"--upstream {text!r}: expected NAME=URL[,env=VAR][,port=N][,tcp_port=N]")
    url, *options = rest.split(",")
    fields: dict[str, object] = {"name": name.strip(), "url": url.strip()}
    for option in options:
        key, sep, value = option.partition("=")
        key = key.strip()
        if not sep or key not in ("env", "port", "tcp_port"):
            raise ConfigError(
                f"--upstream {text!r}: unknown option {option!r} (env=, port=, tcp_port=)"
            )
        is_port = key in ("port", "tcp_port")
        if is_port and not value.strip().isdigit():
            raise ConfigError(f"--upstream {text!r}: {key} must be a number")
        fields[key] = int(value) if is_port else value.strip()
    try:
        return Upstream.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(
            f"--upstream {text!r}: {where}: {err['msg'].removeprefix('Value error, ')}"
        ) from None


class TcpProxy(BaseModel):
    """A Toxiproxy proxy of the user's own, declared in ``faultkit.toml`` so it exists from
    the start on a fixed port (as ``toxiproxy-server -config`` creates its file's proxies):
    a suite can hard-code ``listen`` instead of creating the proxy in a fixture."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    listen: str = Field(description="host:port the proxy listens on, e.g. 127.0.0.1:26379.")
    upstream: str = Field(description="host:port it forwards to, e.g. 127.0.0.1:6379.")
    enabled: bool = True

    def populate_entry(self) -> dict[str, object]:
        """The proxy as one element of Toxiproxy's ``/populate`` array."""
        return self.model_dump()


def load_tcp_proxies(path: Path | None) -> list[TcpProxy]:
    """The ``proxies`` table of ``path``: Toxiproxy proxies to create at start (none without
    a file). A bad entry is a ConfigError naming the file, the table and the field."""
    if path is None:
        return []
    table = read_table(path) or {}
    declared = table.get("proxies", {})
    prefix = table_name(path, "proxies")
    if not isinstance(declared, dict):
        raise ConfigError(f"{path}: [{prefix}] must be a table of proxy tables")
    proxies = []
    for name, fields in declared.items():
        if not isinstance(fields, dict):
            raise ConfigError(f"{path}: [{prefix}.{name}] must be a table with listen and upstream")
        proxies.append(_entry(TcpProxy, name, fields, f"{path}: [{prefix}.{name}]"))
    return proxies
