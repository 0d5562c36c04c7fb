"""YAML a user wrote (scenarios, cases files, cassettes): bounded, strict, and located.

``yaml.safe_load`` is safe against code, not against size: a 500-byte document of nested
aliases (a "billion laughs") builds shared references cheaply, and whatever walks the result
afterwards (pydantic, a line map, a scrubber) walks it exponentially: 40 s and 2.8 GB before
it was killed. Deep nesting (``[[[[...``) overflows the recursive composer into a
``RecursionError``; and a mapping that repeats a key silently keeps the last value.

:func:`load` composes the node tree once and refuses, before constructing anything:

- a document over ``max_bytes`` (when given);
- nesting deeper than the composer can follow;
- aliases whose expansion would exceed ``MAX_EXPANDED_NODES`` nodes (or ten times the nodes
  written, for large plain files): the expansion is counted with one pass over the distinct
  nodes, so the check itself costs what the file costs;
- a key repeated in one mapping (merge keys ``<<`` may override, as YAML says).

Each refusal is a :class:`YamlRefused` with the 1-based line it concerns; callers put their
file name in front and raise their own error type.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_EXPANDED_NODES = 200_000
EXPANSION_FACTOR = 10


class YamlRefused(Exception):
    """The document is refused; ``line`` (1-based) says where."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _expanded_size(root: yaml.Node) -> tuple[int, int]:
    """(nodes written, nodes after expanding every alias), in one pass over distinct nodes.
    Raises :class:`YamlRefused` for an alias inside its own anchor (an endless document)."""
    sizes: dict[int, int] = {}  # done
    open_nodes: set[int] = set()  # children being counted
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlRefused(node.start_mark.line + 1, "an alias refers to its own anchor")
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise YamlRefused(child.start_mark.line + 1, "an alias refers to its own anchor")
            if id(child) not in sizes:
                stack.append((child, False))
    return len(sizes), sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _duplicate_key(root: yaml.Node) -> tuple[int, str] | None:
    """The first repeated key of any mapping: (its line, the message)."""
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key.start_mark.line + 1
                if key.value in first:
                    return line, f"duplicate key {key.value!r} (first at line {first[key.value]})"
                first[key.value] = line
        stack.extend(_children(node))
    return None


def load(
    text: str,
    *,
    loader: type[Any] = yaml.SafeLoader,
    max_bytes: int | None = None,
    allow_duplicate_keys: bool = False,
) -> tuple[Any, yaml.Node | None]:
    """The document's value and its node tree (for line numbers). Raises
    :class:`YamlRefused` for what the module docstring lists (repeated keys unless
    ``allow_duplicate_keys``), and ``yaml.YAMLError`` for invalid YAML."""
    if max_bytes is not None and len(text) > max_bytes:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise YamlRefused(1, f"document is {size:,} bytes; the limit is {max_bytes:,}")
    reader = loader(text)
    try:
        try:
            node = reader.get_single_node()
        except RecursionError:
            raise YamlRefused(1, "nested too deeply") from None
        if node is None:
            return None, None
        written, expanded = _expanded_size(node)
        if expanded > max(MAX_EXPANDED_NODES, EXPANSION_FACTOR * written):
            raise YamlRefused(
                node.start_mark.line + 1,
                f"aliases expand {written:,} nodes to {expanded:,}; refused (a YAML alias bomb?)",
            )
        if not allow_duplicate_keys:
            found = _duplicate_key(node)
            if found is not None:
                raise YamlRefused(*found)
        try:
            return reader.construct_document(node), node
        except RecursionError:
            raise YamlRefused(1, "nested too deeply") from None
    finally:
        reader.dispose()
