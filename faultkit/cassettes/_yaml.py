"""The YAML loader and dumper for cassettes: libyaml-backed, safe, and nothing more.

The loader is ``CSafeLoader`` (``SafeLoader`` without libyaml) plus exactly the python tags that
vcrpy's own safe loader accepts, so every cassette vcrpy can replay loads here and no cassette
can run code: any other ``!!python/*`` tag fails to construct and becomes a ``CassetteError``.

Timestamps are left as strings: a header such as ``openai-version: 2020-10-01`` written without
quotes is the text ``2020-10-01`` on the wire, not a ``datetime.date``.
"""

from __future__ import annotations

from typing import Any

import yaml

from faultkit import yamlfile

try:
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_PY = "tag:yaml.org,2002:python/"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class CassetteLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader with vcrpy's allowed python tags and without timestamp resolution."""


CassetteLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def _python_str(loader: Any, node: yaml.Node) -> str:
    return loader.construct_scalar(node)


def _python_tuple(loader: Any, node: yaml.Node) -> tuple[Any, ...]:
    return tuple(loader.construct_sequence(node, deep=True))


def _apply_args(loader: Any, node: yaml.Node) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(loader.construct_sequence(node, deep=True))
    mapping = loader.construct_mapping(node, deep=True)
    return list(mapping.get("args") or mapping.get("state") or [])


def _bytesio(loader: Any, node: yaml.Node) -> bytes:
    """Old vcrpy pickled file-like request bodies; keep only their content, as bytes."""
    args = _apply_args(loader, node)
    data = args[0] if args else b""
    if isinstance(data, tuple | list):
        data = data[0] if data else b""
    return data.encode() if isinstance(data, str) else bytes(data or b"")


def _iter(loader: Any, node: yaml.Node) -> list[Any]:
    """Iterator request bodies were stored as ``builtins.iter`` over a list of chunks."""
    args = _apply_args(loader, node)
    return list(args[0]) if args else []


CassetteLoader.add_constructor(_PY + "str", _python_str)
CassetteLoader.add_constructor(_PY + "unicode", _python_str)
CassetteLoader.add_constructor(_PY + "tuple", _python_tuple)
CassetteLoader.add_constructor(_PY + "object/new:_io.BytesIO", _bytesio)
CassetteLoader.add_constructor(_PY + "object/apply:builtins.iter", _iter)


class CassetteDumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Safe dumper; multi-line text is written as a literal block so SSE bodies stay readable.

    The emitter falls back to a quoted scalar on its own whenever a literal block could not
    round-trip the text exactly (trailing spaces, control characters, ``\\r``).
    """


def _represent_str(dumper: Any, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


CassetteDumper.add_representer(str, _represent_str)


def load_yaml(text: str) -> Any:
    """The full loader: aliases are expanded only within :mod:`faultkit.yamlfile`'s bound
    (raises ``YamlRefused``); repeated keys keep the last value, as vcrpy's loader does."""
    return yamlfile.load(text, loader=CassetteLoader, allow_duplicate_keys=True)[0]


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree (with line marks) without constructing anything; used to locate errors."""
    return yaml.compose(text, Loader=CassetteLoader)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=CassetteDumper, sort_keys=False, allow_unicode=True, width=120)


class _Unusual(Exception):
    """The document uses a feature the fast builder leaves to the full loader."""


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


def fast_load_yaml(text: str) -> Any:
    """Load like ``load_yaml``, building objects straight from libyaml's events.

    ``CSafeLoader`` spends most of its time composing a node tree (with two marks per node) and
    then walking it again in Python; cassettes are large and plain (mappings, lists, strings),
    so building values from the event stream is about three times faster. Anything less plain
    (anchors, aliases, merge keys, tagged collections) and any construction error is handed to
    the full loader, so results and error messages are the same as ``load_yaml``'s.
    """
    try:
        return _build(text)
    except _Unusual:
        return load_yaml(text)


def _build(text: str) -> Any:
    loader = CassetteLoader(text)
    try:
        get = loader.get_event
        constructors = loader.yaml_constructors
        resolved: dict[str, str] = {}
        plain_values: dict[str, Any] = {}
        stack: list[Any] = []
        keys: list[Any] = []
        result: Any = None
        done = False
        get()  # StreamStart
        event = get()
        if isinstance(event, yaml.StreamEndEvent):
            return None
        while True:
            event = get()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                if event.anchor is not None:
                    raise _Unusual
                tag = event.tag
                value = event.value
                if tag is None or tag == "!":
                    if event.implicit[0]:
                        if value in plain_values:
                            obj = plain_values[value]
                        else:
                            tag = resolved.get(value)
                            if tag is None:
                                tag = loader.resolve(yaml.ScalarNode, value, (True, False))
                                if len(value) < 32:
                                    resolved[value] = tag
                            if tag == _STR:
                                obj = value
                            else:
                                obj = _construct(loader, constructors, tag, event)
                                if len(value) < 32:
                                    plain_values[value] = obj
                    else:
                        obj = value
                elif tag == _STR:
                    obj = value
                else:
                    obj = _construct(loader, constructors, tag, event)
            elif kind is yaml.MappingStartEvent:
                if event.anchor is not None or event.tag not in (None, _MAP, "!"):
                    raise _Unusual
                stack.append({})
                keys.append(_NO_KEY)
                continue
            elif kind is yaml.SequenceStartEvent:
                if event.anchor is not None or event.tag not in (None, _SEQ, "!"):
                    raise _Unusual
                stack.append([])
                keys.append(_NO_KEY)
                continue
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                keys.pop()
                obj = stack.pop()
            elif kind is yaml.DocumentEndEvent:
                done = True
                break
            else:  # aliases, or anything unexpected
                raise _Unusual
            if not stack:
                result = obj
                continue
            top = stack[-1]
            if type(top) is list:
                top.append(obj)
            elif keys[-1] is _NO_KEY:
                if obj == "<<" or not isinstance(obj, str | int | float | bool | None):
                    raise _Unusual
                keys[-1] = obj
            else:
                top[keys[-1]] = obj
                keys[-1] = _NO_KEY
        if done and not isinstance(get(), yaml.StreamEndEvent):
            raise _Unusual  # several documents: let the full loader report it
        return result
    finally:
        loader.dispose()


_NO_KEY = object()


def _construct(loader: Any, constructors: dict[str, Any], tag: str, event: Any) -> Any:
    constructor = constructors.get(tag)
    if constructor is None:
        raise _Unusual
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return constructor(loader, node)
    except Exception as exc:
        raise _Unusual from exc
