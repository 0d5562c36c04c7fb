"""The target's contract: what it promises when things go wrong, which the oracle holds it to.

A target declares its output model (the pydantic model a successful answer must satisfy), the
errors it raises or returns on purpose, its deadline, how many attempts per logical call it may
make, which routes or models it falls back to, and whether it returns a decision trace. Anything
not declared is not excused: an exception type that is not listed is a crash.

Classes may be given as objects or as import paths (``"myapp.models:Answer"`` or
``"myapp.models.Answer"``) so a contract can live in YAML. Exception types are matched by name
against the raised exception's class hierarchy and are never imported: an HTTP target in another
language reports its error type as a string.
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    field_validator,
)

DEFAULT_UNKNOWN_MARKERS = (
    "unknown",
    "unavailable",
    "not available",
    "n/a",
    "could not",
    "couldn't",
    "cannot",
    "can't",
    "unable",
    "failed",
    "error",
    "try again",
)


def qualified_name(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def import_object(path: str) -> Any:
    """Import ``pkg.mod:Name`` (or ``pkg.mod.Name``). Raises ValueError with what went wrong.

    The user's own modules are found from the current directory, as pytest, uvicorn and
    ``python -m`` find them, so neither a target, nor a cases file's import paths, nor a
    printed repro command needs ``PYTHONPATH=.``. Every import of a user's object
    (``faultkit run`` targets, contract classes) goes through here."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"{path!r} is not an import path like 'package.module:Name'")
    cwd = str(Path.cwd())
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} (for {path!r}): {exc}") from None
    except Exception as exc:  # the user's module raised while being imported
        raise ValueError(
            f"importing {module_name!r} (for {path!r}) failed: {type(exc).__name__}: {exc}"
        ) from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def _class_ref(value: Any) -> Any:
    if isinstance(value, str):
        value = import_object(value)
    if not isinstance(value, type) and not hasattr(value, "__origin__"):
        raise ValueError(f"expected a class or an import path, got {value!r}")
    return value


ClassRef = Annotated[
    Any,
    BeforeValidator(_class_ref),
    PlainSerializer(lambda cls: qualified_name(cls), return_type=str),
]


def _error_name(value: Any) -> str:
    if isinstance(value, type):
        return qualified_name(value)
    if isinstance(value, str) and value.strip():
        return value.strip().replace(":", ".")
    raise ValueError(f"expected an exception class or its name, got {value!r}")


ErrorName = Annotated[str, BeforeValidator(_error_name)]

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class ToolRequest:
    """Which requests run a tool: a method (None: any) and a glob over the route followed by
    the URL path (``payments.*/refunds`` matches route ``payments.eu`` with path
    ``/refunds``; ``*`` crosses ``/``, so ``payments.*/*refunds`` also takes ``/v1/refunds``).
    A glob with no ``/`` matches the route alone, any path. The contract names tools; the
    ledger sees routes and paths; this is the bridge."""

    method: str | None
    glob: str

    @classmethod
    def parse(cls, text: str) -> ToolRequest:
        parts = text.split()
        if len(parts) == 2 and parts[0].upper() in HTTP_METHODS:
            return cls(parts[0].upper(), parts[1])
        if len(parts) == 1 and parts[0].upper() not in HTTP_METHODS:
            return cls(None, parts[0])
        raise ValueError(
            f"{text!r} is not a tool's request: write 'METHOD route/path' with globs "
            "(POST payments.*/refunds) or just 'route/path'"
        )

    def matches(self, method: str, route: str, url: str) -> bool:
        if self.method is not None and method.upper() != self.method:
            return False
        if "/" not in self.glob:
            return fnmatchcase(route, self.glob)
        return fnmatchcase(route + (urlsplit(url).path or "/"), self.glob)

    def __str__(self) -> str:
        return f"{self.method} {self.glob}" if self.method else self.glob


def _tool_request(value: Any) -> ToolRequest:
    if isinstance(value, ToolRequest):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected 'METHOD route/path', got {value!r}")
    return ToolRequest.parse(value)


ToolRoute = Annotated[
    ToolRequest, BeforeValidator(_tool_request), PlainSerializer(str, return_type=str)
]


def grace_ms(deadline_ms: float) -> float:
    """How long past a deadline a target is still waited for: 10% of it, at least 1 s, so a
    target that answers just late is judged late rather than cut off. The runner waits this
    long and derived silences outlast it; one rule for both."""
    return max(1000.0, deadline_ms / 10)


class Contract(BaseModel):
    """What the system under test declares about itself. Field names are the YAML names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    output_model: ClassRef | None = Field(
        None, description="Pydantic model (or type) a successful answer must validate against."
    )
    strict_output: bool = Field(False, description="Validate the output in pydantic strict mode.")
    error_types: list[ErrorName] = Field(
        default_factory=list,
        description="Exception classes (or their names) the target raises on purpose.",
    )
    error_model: ClassRef | None = Field(
        None, description="Shape of an error the target returns (e.g. an HTTP error body)."
    )
    deadline_ms: float | None = Field(None, gt=0, description="The target must answer by then.")
    max_attempts: int | None = Field(None, ge=1, description="Attempts per logical call.")
    min_backoff_ms: float = Field(
        50.0,
        ge=0,
        description="A retry after a failure sooner than this counts as no backoff at all.",
    )
    fallback_routes: list[str] = Field(default_factory=list, description="Route names (globs).")
    fallback_models: list[str] = Field(default_factory=list, description="Model names (globs).")
    trace_required: bool = False
    tool_routes: list[str] | None = Field(
        None,
        description="Routes (globs) that are tools. Default: every route not speaking a "
        "provider wire format (OpenAI, Anthropic).",
    )
    tool_fields: list[str] = Field(
        default_factory=list,
        description="Output fields (dotted paths or bare names) whose values come from tools.",
    )
    unknown_markers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_UNKNOWN_MARKERS),
        description="Words that label a fact unknown or an answer as an error.",
    )
    max_steps: int | None = Field(
        None,
        ge=1,
        description="Model calls, and tool calls, one user request may take (each counted "
        "apart; retries are attempts, not steps).",
    )
    token_budget: int | None = Field(
        None,
        ge=1,
        description="Tokens (input + output, every attempt and step) one user request may use.",
    )
    tools: dict[str, ToolRoute] = Field(
        default_factory=dict,
        description="Tool name -> the requests that run it: 'METHOD route/path' with globs "
        "('POST payments.*/refunds'); the method may be left out.",
    )
    side_effecting_tools: list[str] = Field(
        default_factory=list,
        description="Tools that change something: a repeat needs an idempotency key, whatever "
        "the HTTP method.",
    )
    forbidden_tools: list[str] = Field(
        default_factory=list, description="Tools the target must never run."
    )

    @field_validator("unknown_markers")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [m.casefold() for m in value if m.strip()]

    # -- checks ---------------------------------------------------------------------------
    def declares_error(self, bases: list[str]) -> bool:
        """True when an exception whose class hierarchy is ``bases`` (qualified names) is one
        the contract declares. A declared name without a module matches by class name."""
        for declared in self.error_types:
            for base in bases:
                if base == declared or (
                    "." not in declared and base.rsplit(".", 1)[-1] == declared
                ):
                    return True
        return False

    def output_errors(self, value: Any) -> list[str]:
        """Why ``value`` fails the output model (empty when it passes or none is declared)."""
        if self.output_model is None:
            return []
        return _validation_errors(self.output_model, value, self.strict_output)

    def is_error_shape(self, value: Any) -> bool:
        """True when ``value`` is an error the target returns on purpose."""
        if self.error_model is None or value is None:
            return False
        return not _validation_errors(self.error_model, value, strict=False)

    def tool_names_of(self, method: str, route: str, url: str) -> list[str]:
        """The tools of the ``tools`` map that a request runs (usually one, or none)."""
        return [name for name, req in self.tools.items() if req.matches(method, route, url)]

    def output_field_names(self) -> set[str]:
        model = self.output_model
        if isinstance(model, type) and issubclass(model, BaseModel):
            names = set(model.model_fields)
            names.update(f.alias for f in model.model_fields.values() if f.alias)
            return names
        return set()


def _validation_errors(model: Any, value: Any, strict: bool) -> list[str]:
    adapter = TypeAdapter(model)
    try:
        if isinstance(value, str | bytes) and _wants_object(model):
            adapter.validate_json(value, strict=strict)
        else:
            # Round-trip through JSON so a model built with model_construct (no validation) or
            # mutated after construction is checked for what it would really send.
            adapter.validate_json(json.dumps(value, default=str), strict=strict)
    except ValidationError as exc:
        # Sorted: pydantic's own order changed between releases (2.13 lists an extra field
        # before a missing one, 2.14 the other way), and evidence must not depend on it.
        return sorted(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
    except ValueError as exc:
        return [f"(root): not valid JSON: {exc}"]
    return []


def _wants_object(model: Any) -> bool:
    return isinstance(model, type) and issubclass(model, BaseModel)
