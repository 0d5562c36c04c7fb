"""Scenarios: which faults to inject where and when, and what the oracle should expect.

A scenario file is YAML validated by these pydantic models; the field names are the YAML names.
The same file drives the pytest plugin, the proxy and load tests. Validation errors name the
file, the line and the field, so a user can fix a broken file without guessing.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from faultkit import yamlfile
from faultkit.config import RouteAliases
from faultkit.errors import ScenarioError
from faultkit.exchange import Request
from faultkit.faults import FaultSpec
from faultkit.formats.detect import (
    ExchangeKind,
    WireFormat,
    detect_format,
    exchange_kind,
    provider_of,
    request_model,
    request_streams,
    request_tool,
)
from faultkit.suggest import closest, did_you_mean

# The controlled verdict kinds a scenario may allow (its ``outcomes``). Not named Outcome: the
# oracle's Outcome is how a run ended (answer, declared error, ...), before any verdict.
ControlledVerdict = Literal["pass", "retried", "fallback", "controlled_error"]
CONTROLLED: tuple[ControlledVerdict, ...] = ("pass", "retried", "fallback", "controlled_error")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    """Which requests a rule applies to. Every field set must match; globs use ``*`` and ``?``.

    Prefer fields that say what a request *is* (``provider``, ``kind``, ``stream``) over host
    names (``route``): the same scenario then fires on any app with that traffic, whether its
    cassettes were recorded against api.openai.com, ``127.0.0.1``, Azure OpenAI or a gateway.
    """

    route: str | None = Field(
        None,
        description="Upstream name (e.g. openai, orders), glob, or an alias from the [routes] "
        "table of faultkit.toml.",
    )
    method: str | None = Field(None, description="HTTP method, e.g. POST.")
    path: str | None = Field(None, description="URL path glob, e.g. /v1/chat/*.")
    provider: Literal["openai", "anthropic", "google"] | None = Field(
        None, description="LLM provider, known from the wire format and path whatever the host."
    )
    kind: ExchangeKind | None = Field(
        None,
        description="provider: an LLM API call; tool: every other upstream (JSON API, MCP...).",
    )
    stream: bool | None = Field(
        None,
        description="true: only requests asking for a streamed answer (calls are then counted "
        "among streamed requests); false: only the others.",
    )
    format: WireFormat | None = Field(None, description="Wire format of the exchange.")
    model: str | None = Field(None, description="Requested model, glob (gpt-4o*).")
    tool: str | None = Field(
        None, description="Tool name (MCP tools/call name or tool path), glob."
    )
    header: dict[str, str] = Field(default_factory=dict, description="Header name -> value glob.")

    def matches(self, request: Request, route: str, aliases: RouteAliases | None = None) -> bool:
        """Whether ``request`` (sent to ``route``) is one this rule targets. ``aliases``: the
        project's ``[routes]`` table; a ``route`` pattern that names an alias matches the
        routes of any of its globs."""
        if self.route is not None and not route_matches(route, self.route, aliases):
            return False
        if self.method is not None and request.method.upper() != self.method.upper():
            return False
        if self.path is not None and not fnmatch.fnmatchcase(request.path, self.path):
            return False
        if self.format is not None or self.provider is not None or self.kind is not None:
            fmt = detect_format(request)
            if self.format is not None and fmt != self.format:
                return False
            if self.provider is not None and provider_of(fmt) != self.provider:
                return False
            if self.kind is not None and exchange_kind(fmt) != self.kind:
                return False
        if self.stream is not None and request_streams(request) != self.stream:
            return False
        if self.model is not None:
            model = request_model(request)
            if model is None or not fnmatch.fnmatchcase(model, self.model):
                return False
        if self.tool is not None:
            tool = request_tool(request)
            if tool is None or not fnmatch.fnmatchcase(tool, self.tool):
                return False
        for name, pattern in self.header.items():
            value = request.header(name)
            if value is None or not fnmatch.fnmatchcase(value, pattern):
                return False
        return True


def route_matches(route: str, pattern: str, aliases: RouteAliases | None = None) -> bool:
    """``route`` matches ``pattern``: one of the globs of the alias ``pattern`` names, or the
    glob ``pattern`` itself when it names no alias."""
    globs = aliases.get(pattern) if aliases else None
    if globs is None:
        return fnmatch.fnmatchcase(route, pattern)
    return any(fnmatch.fnmatchcase(route, glob) for glob in globs)


_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


class When(_Strict):
    """Which of the matching calls get the fault. Calls are counted per rule from 1.

    All conditions set must hold: ``calls: "2-4"`` with ``probability: 0.5`` faults each of
    calls 2, 3 and 4 with probability one half.
    """

    probability: float = Field(
        1.0, ge=0, le=1, description="Chance that a matching call is faulted."
    )
    nth: int | None = Field(None, ge=1, description="Only the nth matching call.")
    calls: str | None = Field(None, description='Inclusive call range "N-M" (or a single "N").')
    after: int | None = Field(None, ge=0, description="Only calls after the first N.")
    every: int | None = Field(None, ge=1, description="Every Kth call (K, 2K, 3K, ...).")
    window_ms: tuple[float, float] | None = Field(
        None, description="[start, end) in ms since the first request the engine saw."
    )

    @field_validator("calls", mode="before")
    @classmethod
    def _check_calls(cls, value: object) -> str | None:
        # "before" so that `calls: 3` (a YAML int) means call 3, not a type error.
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError('must be "N" or "N-M", e.g. "2-4"')
        value = str(value)
        m = _RANGE.match(value)
        if not m:
            raise ValueError('must be "N" or "N-M", e.g. "2-4"')
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if first < 1 or last < first:
            raise ValueError("range must start at 1 or later and not end before it starts")
        return value

    @field_validator("window_ms")
    @classmethod
    def _check_window(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (0 <= value[0] < value[1]):
            raise ValueError("must be [start, end) with 0 <= start < end")
        return value

    def call_range(self) -> tuple[int, int] | None:
        if self.calls is None:
            return None
        m = _RANGE.match(self.calls)
        assert m is not None  # validated above
        return int(m.group(1)), int(m.group(2) or m.group(1))

    def selects(self, call_index: int, elapsed_ms: float) -> bool:
        """Deterministic part of the decision (probability is drawn by the engine)."""
        if self.nth is not None and call_index != self.nth:
            return False
        rng = self.call_range()
        if rng is not None and not (rng[0] <= call_index <= rng[1]):
            return False
        if self.after is not None and call_index <= self.after:
            return False
        if self.every is not None and call_index % self.every:
            return False
        return not (
            self.window_ms is not None and not (self.window_ms[0] <= elapsed_ms < self.window_ms[1])
        )


class Rule(_Strict):
    """Match requests, pick calls, inject one fault."""

    name: str | None = Field(None, description="Shown in the ledger and reports.")
    match: Match = Field(default_factory=Match)
    when: When = Field(default_factory=When)
    fault: FaultSpec


class Expectation(_Strict):
    """What the oracle accepts as a controlled outcome for this scenario."""

    outcomes: list[ControlledVerdict] = Field(default_factory=lambda: list(CONTROLLED))
    max_attempts: int | None = Field(3, ge=1, description="Attempts allowed per logical call.")
    deadline_ms: float | None = Field(None, gt=0, description="The SUT must answer within this.")
    fallback_routes: list[str] = Field(default_factory=list)
    fallback_models: list[str] = Field(default_factory=list)


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
"""What a scenario (or case) name may be: letters, digits, ``. _ -``; never a path."""


class Scenario(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    seed: int = 0
    rules: list[Rule] = Field(default_factory=list)
    expect: Expectation = Field(default_factory=Expectation)

    @model_validator(mode="after")
    def _unique_rule_names(self) -> Scenario:
        names = [r.name for r in self.rules if r.name]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dupes)}")
        return self

    def rule_label(self, index: int) -> str:
        rule = self.rules[index]
        return rule.name or f"rule-{index + 1}"

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> Scenario:
        return _parse(cls, text, source)

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
        except UnicodeDecodeError:
            raise ScenarioError([f"{path}: not UTF-8 text"]) from None
        return _parse(cls, text, str(path))

    def to_yaml(self) -> str:
        data = self.model_dump(mode="json", exclude_defaults=True)
        data.setdefault("rules", [])
        # A fault's `type` is its field default, so exclude_defaults drops it; put it back
        # first, or the file would not load again.
        for rule, dumped in zip(self.rules, data["rules"], strict=True):
            # Parameters the author set explicitly stay, even when equal to a default: a
            # drift to `value: null` is not the same fault as no value at all.
            explicit = rule.fault.model_dump(mode="json", include=rule.fault.model_fields_set)
            dumped["fault"] = {"type": rule.fault.type, **dumped.get("fault", {}), **explicit}
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# -- YAML with line numbers ---------------------------------------------------------------


def _node_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    """Map every key path in the YAML tree to the 1-based line where it appears."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _node_lines(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, (*path, i), out)


def _line_for(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    """Line of the deepest prefix of ``loc`` that exists in the file."""
    loc = tuple(part for part in loc if not (isinstance(part, str) and part in _UNION_TAGS))
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _field_name(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in _UNION_TAGS:
            continue
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(top level)"


# Discriminated-union branches appear in pydantic error locations as the fault's type name.
_UNION_TAGS: set[str] = set()


# A scenario is a page of rules; the catalogue's largest is a few KiB.
MAX_SCENARIO_BYTES = 1024 * 1024


def _parse(model: type[Scenario], text: str, source: str) -> Scenario:
    try:
        data, node = yamlfile.load(text, max_bytes=MAX_SCENARIO_BYTES)
    except yamlfile.YamlRefused as exc:
        raise ScenarioError([f"{source}:{exc.line}: {exc.message}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([f"{where}: invalid YAML: {problem}"]) from None
    if node is None or not isinstance(data, dict):
        raise ScenarioError([f"{source}:1: a scenario must be a YAML mapping with name and rules"])
    lines: dict[tuple[Any, ...], int] = {}
    _node_lines(node, (), lines)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, lambda loc: f"{source}:{_line_for(lines, loc)}")
        raise ScenarioError(problems) from None


def validation_problems(exc: ValidationError, where: Callable[[tuple[Any, ...]], str]) -> list[str]:
    """Pydantic errors as ``<where>: field: message`` lines a user can act on: unknown fault
    types list the known ones, and union branches never show up as fields. ``where(loc)``
    says where a location is (``file:line`` for a file, ``inject`` for an inline rule)."""
    return [f"{where(loc)}: {field}: {msg}" for loc, field, msg in _problems(exc)]


def inline_problems(exc: ValidationError) -> str:
    """The problems of a rule given inline (a control API body, a header, a toxic) on one
    line, worded as :func:`validation_problems` words them for a file:
    ``fault.statsu: unknown field; did you mean 'status'?``."""
    return "; ".join(f"{field}: {msg}" for _, field, msg in _problems(exc))


def _problems(exc: ValidationError) -> list[tuple[tuple[Any, ...], str, str]]:
    """(location, field as the user writes it, message) for each error of ``exc``."""
    from faultkit.faults import FAULTS

    _UNION_TAGS.update(FAULTS)
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "union_tag_invalid":
            kind = err["input"].get("type") if isinstance(err["input"], dict) else None
            hint = did_you_mean(kind, FAULTS)
            msg = f"unknown fault type {kind!r}; {hint}known: {', '.join(sorted(FAULTS))}"
            loc = (*loc, "type")
        elif err["type"] == "union_tag_not_found":
            msg = "a fault needs a 'type' (one of: " + ", ".join(sorted(FAULTS)) + ")"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field" + _field_hint(loc, FAULTS, exc.title)
        problems.append((loc, _field_name(loc), msg))
    return problems


def _field_hint(loc: tuple[Any, ...], faults: dict[str, Any], root: str) -> str:
    """``; did you mean 'latency_ms'?`` for a mistyped field. The model that owns the field
    comes from the location: a fault's type is in it as the union tag; ``match``, ``when``
    and ``expect`` name theirs; a list index is a rule; the top level is ``root`` (the
    validated model's name: Scenario for a file, Rule for an inline rule)."""
    owners: dict[Any, type[BaseModel]] = {"match": Match, "when": When, "expect": Expectation}
    tags = [part for part in loc[:-1] if isinstance(part, str) and part in faults]
    parent = loc[-2] if len(loc) > 1 else None
    if tags:
        fields = faults[tags[-1]].model_fields
    elif isinstance(parent, str) and parent in owners:
        fields = owners[parent].model_fields
    elif isinstance(parent, int):
        fields = Rule.model_fields
    elif parent is None and root in ("Scenario", "Rule"):
        fields = (Scenario if root == "Scenario" else Rule).model_fields
    else:
        return ""
    match = closest(loc[-1], fields)
    return f"; did you mean {match!r}?" if match is not None else ""


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file, for editors (yaml-language-server)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "faultkit scenario"
    return schema
