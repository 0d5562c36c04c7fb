"""Schema drift and partial tool data, aimed at the fields the system under test really has.

A drift at a random path mostly hits fields nobody reads. These strategies look at the SUT's own
pydantic output model (its field names, aliases, types, enum values, which fields are optional)
and at recorded payloads (the exact fields and values a provider or tool sent), and drift those:
rename, drop, retype, add, nest, an enum value outside the set, a number sent as a string, null
where null is not allowed. Each yields a :class:`~faultkit.faults.schema_drift.SchemaDrift` (or
:class:`~faultkit.faults.partial_tool_data.PartialToolData`) with an explicit ``path``, so a
found failure names the field that broke the app.

Fields are tried in the order they are declared (or appear in the payload) and the plainest
operation first (drop), so a failure shrinks to the first field and the simplest change.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st
from pydantic import BaseModel

from faultkit.errors import FaultkitError
from faultkit.faults.partial_tool_data import PartialToolData
from faultkit.faults.schema_drift import SchemaDrift
from faultkit.formats import jsonpath
from faultkit.formats.jsonpath import WILDCARD, Parts

SearchStrategy = st.SearchStrategy
Target = Literal["output", "body", "tool_arguments"]

Kind = Literal["str", "int", "float", "bool", "enum", "object", "list", "null", "any"]

MAX_DEPTH = 4
MAX_FIELDS = 64
ADDED_NAMES = ("unexpected_field", "extra", "_meta")
ADDED_VALUES: tuple[Any, ...] = ("drift", 0, None, True, [], {})


@dataclass(frozen=True)
class FieldSlot:
    """One field a drift can aim at: its path (``items[*].price``), JSON kind, whether null is
    allowed, the allowed values of an enum, and (from a payload) the value it had."""

    parts: Parts
    kind: Kind
    nullable: bool = False
    choices: tuple[Any, ...] = ()
    value: Any = None
    has_value: bool = False

    @property
    def path(self) -> str:
        return jsonpath.format_path(self.parts)

    @property
    def name(self) -> str:
        return str(next((p for p in reversed(self.parts) if isinstance(p, str)), "field"))


# -- reading a pydantic model --------------------------------------------------------------------
def _json_name(name: str, info: Any) -> str:
    alias = info.serialization_alias or info.alias
    return alias if isinstance(alias, str) else name


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without Optional / Annotated, whether None is allowed)."""
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = typing.get_args(annotation)
            rest = [a for a in args if a is not type(None)]
            nullable = nullable or len(rest) < len(args)
            if len(rest) == 1:
                annotation = rest[0]
                continue
            return (rest, nullable)  # a real union: kind "any"
        return annotation, nullable


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _kind_of(annotation: Any) -> tuple[Kind, tuple[Any, ...], Any]:
    """(JSON kind, enum choices, item annotation for lists) of an unwrapped annotation."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "enum", tuple(typing.get_args(annotation)), None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "enum", tuple(m.value for m in annotation), None
    if _is_model(annotation) or annotation is dict or origin in (dict, Mapping):
        return "object", (), None
    if origin in (list, tuple, set, frozenset, Sequence) or annotation in (list, tuple, set):
        args = typing.get_args(annotation)
        return "list", (), args[0] if args else None
    if annotation is bool:
        return "bool", (), None
    if annotation is int:
        return "int", (), None
    if annotation is float:
        return "float", (), None
    if annotation is str:
        return "str", (), None
    if annotation is type(None):
        return "null", (), None
    if isinstance(annotation, type) and annotation.__module__ == "datetime":
        return "str", (), None  # dates and times travel as strings
    return "any", (), None


def model_fields(model: type[BaseModel]) -> list[FieldSlot]:
    """Every field of ``model`` as JSON sees it (aliases, nested models, ``items[*]`` for lists
    of models), in declaration order, depth first, at most :data:`MAX_DEPTH` levels deep."""
    if not _is_model(model):
        raise FaultkitError(f"schema_drifts: model must be a pydantic model class, got {model!r}")
    out: list[FieldSlot] = []
    _walk_model(model, (), out, (model,))
    return out[:MAX_FIELDS]


def _walk_model(
    model: type[BaseModel], prefix: Parts, out: list[FieldSlot], seen: tuple[type, ...]
) -> None:
    if len(prefix) >= MAX_DEPTH * 2:
        return
    for name, info in model.model_fields.items():
        parts = (*prefix, _json_name(name, info))
        annotation, nullable = _unwrap(info.annotation)
        if isinstance(annotation, list):  # a union of several types
            out.append(FieldSlot(parts, "any", nullable))
            continue
        kind, choices, item = _kind_of(annotation)
        out.append(FieldSlot(parts, kind, nullable, choices))
        if _is_model(annotation) and annotation not in seen:
            _walk_model(annotation, parts, out, (*seen, annotation))
        elif kind == "list" and item is not None:
            inner, _ = _unwrap(item)
            if _is_model(inner) and inner not in seen:
                _walk_model(inner, (*parts, WILDCARD), out, (*seen, inner))


# -- reading a payload ---------------------------------------------------------------------------
def _payload(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        value = value.decode("utf-8")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise FaultkitError("payload must be JSON (a parsed value, or its text)") from None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


def _value_kind(value: Any) -> Kind:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "any"


def payload_fields(payload: Any) -> list[FieldSlot]:
    """Every object member of a recorded ``payload`` (JSON text or value), with its value, in
    document order; at most :data:`MAX_FIELDS`."""
    doc = _payload(payload)
    out = [
        FieldSlot(parts, _value_kind(value), value=value, has_value=True)
        for parts, value in jsonpath.walk(doc)
        if parts and isinstance(parts[-1], str)
    ]
    return out[:MAX_FIELDS]


# -- the drifts ----------------------------------------------------------------------------------
def _outside(choices: tuple[Any, ...]) -> list[Any]:
    """Values that are not in an enum: a near miss of the first one, then generic ones."""
    first = next((c for c in choices if isinstance(c, str)), None)
    candidates: list[Any] = []
    if first is not None:
        candidates.extend(
            [f"{first}_v2", first.upper() if first.upper() != first else first.title()]
        )
    candidates.extend(["unknown", "", 0])
    return [c for c in dict.fromkeys(candidates) if c not in choices]


def _wrong_values(slot: FieldSlot) -> list[Any]:
    """Explicit values of the wrong type for the slot, plainest first."""
    if slot.kind == "enum":
        return _outside(slot.choices)
    if slot.kind in ("int", "float"):
        if slot.has_value and isinstance(slot.value, int | float):
            return [json.dumps(slot.value), "n/a"]  # the number as a string first
        return ["42", "n/a"]
    if slot.kind == "str":
        return [0, True, []]
    if slot.kind == "bool":
        return ["true", 1]
    if slot.kind == "list":
        return [{}, "[]"]
    if slot.kind == "object":
        return [[], "{}"]
    return ["drift"]


def _renamed(name: str) -> list[str]:
    words = name.split("_")
    camel = words[0] + "".join(w.title() for w in words[1:]) if len(words) > 1 else None
    names = [f"{name}_v2", camel, f"{name}s" if not name.endswith("s") else name[:-1]]
    return [n for n in dict.fromkeys(names) if n and n != name]


def _drifts_of(slot: FieldSlot, target: Target, call: int) -> SearchStrategy[SchemaDrift]:
    path = slot.path

    def make(op: str, **extra: Any) -> SchemaDrift:
        return SchemaDrift(op=op, target=target, path=path, call=call, **extra)

    options: list[SearchStrategy[SchemaDrift]] = [
        st.just(make("drop")),
        st.just(make("retype")),  # number <-> string, bool -> "true", ... from the real value
    ]
    if not slot.nullable and slot.kind != "null":
        options.append(st.just(make("retype", value=None)))
    options.append(st.sampled_from(_wrong_values(slot)).map(lambda v: make("retype", value=v)))
    options.append(
        st.sampled_from(_renamed(slot.name) or ["renamed"]).map(
            lambda n: make("rename", new_name=n)
        )
    )
    options.append(st.just(make("nest")))
    return st.one_of(options)


def _additions(parents: list[Parts], target: Target, call: int) -> SearchStrategy[SchemaDrift]:
    return st.builds(
        lambda parent, name, value: SchemaDrift(
            op="add",
            target=target,
            path=jsonpath.format_path((*parent, name)),
            value=value,
            call=call,
        ),
        st.sampled_from(parents),
        st.sampled_from(ADDED_NAMES),
        st.sampled_from(ADDED_VALUES),
    )


def schema_drifts(
    model: type[BaseModel] | None = None,
    payload: Any | None = None,
    *,
    target: Target = "output",
    call: int = 0,
) -> SearchStrategy[SchemaDrift]:
    """Drift of one field of ``model`` (the SUT's output model) and/or of a recorded ``payload``.

    Per field: drop it, retype it (number <-> string from the real value), null it (when the
    model does not allow null), give it a value of the wrong type (for an enum or ``Literal``:
    a value outside the set; for a number: the number as a string), rename it, nest it; or add
    an unexpected field at the root or in a nested object. ``target`` says which JSON drifts
    (``output``: the structured answer; ``body``: the provider envelope; ``tool_arguments``:
    tool call ``call``'s arguments). With neither ``model`` nor ``payload`` the fault picks the
    field itself, with the scenario's seed.
    """
    if target not in ("output", "body", "tool_arguments"):
        raise FaultkitError(f"target must be output, body or tool_arguments, got {target!r}")
    slots: list[FieldSlot] = []
    if model is not None:
        slots.extend(model_fields(model))
    if payload is not None:
        known = {s.parts for s in slots}
        slots.extend(s for s in payload_fields(payload) if s.parts not in known)
    if model is None and payload is None:
        return st.sampled_from(("drop", "retype", "rename", "nest", "add")).map(
            lambda op: SchemaDrift(op=op, target=target, call=call)
        )
    if not slots:
        raise FaultkitError("schema_drifts: the model or payload has no fields to drift")
    parents: list[Parts] = [()] + [s.parts for s in slots if s.kind == "object"]
    by_field = st.sampled_from(slots).flatmap(lambda slot: _drifts_of(slot, target, call))
    return st.one_of(by_field, _additions(parents, target, call))


def _field_spec(doc: Any) -> Any:
    """How to name a member in ``partial_tool_data.fields`` so it means exactly that member.

    A plain key name there matches the key at any depth, which is right for a name that occurs
    once; a root member whose name also occurs deeper is written ``["name"]``, which is anchored
    at the root."""
    counts: dict[str, int] = {}
    for parts, _ in jsonpath.walk(doc):
        if parts and isinstance(parts[-1], str):
            counts[parts[-1]] = counts.get(parts[-1], 0) + 1

    def spec(parts: Parts) -> str:
        text = jsonpath.format_path(parts)
        if len(parts) == 1 and text == parts[0] and counts.get(parts[0], 0) > 1:
            return f"[{json.dumps(parts[0])}]"
        return text

    return spec


def partial_tool_data(
    payload: Any | None = None, *, max_fields: int = 3, mcp: bool = False
) -> SearchStrategy[PartialToolData]:
    """A tool answering with part of ``payload`` (its recorded JSON answer) missing: some of its
    fields dropped or null, or one of its lists cut to ``keep`` items. Fields are named by their
    dotted paths (``items[1].price``) so a failure says exactly what was missing. ``mcp`` also
    tries flagging the result ``isError: true``. Without a payload the fault picks the fields
    itself, with the scenario's seed."""
    if max_fields < 1:
        raise FaultkitError(f"max_fields must be at least 1, got {max_fields}")
    flags = st.sampled_from((False, True)) if mcp else st.just(False)
    if payload is None:
        return st.builds(
            lambda op, is_error: PartialToolData(op=op, is_error=is_error),
            st.sampled_from(("drop_fields", "null_values", "cut_lists")),
            flags,
        )
    doc = _payload(payload)
    members = [(p, v) for p, v in jsonpath.walk(doc) if p and isinstance(p[-1], str)]
    spec = _field_spec(doc)
    leaves = [spec(p) for p, v in members if jsonpath.is_scalar(v)][:MAX_FIELDS]
    nonnull = [spec(p) for p, v in members if jsonpath.is_scalar(v) and v is not None]
    lists = [(spec(p), len(v)) for p, v in members if isinstance(v, list) and v]
    options: list[SearchStrategy[PartialToolData]] = []
    if leaves:
        options.append(
            st.builds(
                lambda fields, is_error: PartialToolData(
                    op="drop_fields", fields=fields, is_error=is_error
                ),
                st.lists(st.sampled_from(leaves), min_size=1, max_size=max_fields, unique=True),
                flags,
            )
        )
    if nonnull:
        options.append(
            st.builds(
                lambda fields, is_error: PartialToolData(
                    op="null_values", fields=fields, is_error=is_error
                ),
                st.lists(
                    st.sampled_from(nonnull[:MAX_FIELDS]),
                    min_size=1,
                    max_size=max_fields,
                    unique=True,
                ),
                flags,
            )
        )
    if lists:
        options.append(
            st.sampled_from(lists).flatmap(
                lambda item: st.builds(
                    lambda keep, is_error: PartialToolData(
                        op="cut_lists", fields=[item[0]], keep=keep, is_error=is_error
                    ),
                    st.integers(0, item[1] - 1),
                    flags,
                )
            )
        )
    if not options:
        raise FaultkitError("partial_tool_data: the payload has no fields or lists to remove")
    return st.one_of(options)


__all__ = [
    "FieldSlot",
    "model_fields",
    "partial_tool_data",
    "payload_fields",
    "schema_drifts",
]
