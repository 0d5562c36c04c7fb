"""The package's import graph has no cycles.

A cycle makes import order matter (a module half-initialised when its partner needs it), so
code grows deferred imports to dodge it, and the layering (engine below doors, oracle below
runner) is no longer visible. The graph is read statically from the source: every ``import``
and ``from ... import`` of a faultkit module, at module level *and* inside functions (a deferred
import is still a dependency, it only hides the cycle), except

* under ``if TYPE_CHECKING:`` (annotations only, never executed);
* inside a ``try`` whose handler catches ``ImportError``: an optional extra loaded when a
  feature is used (opentelemetry), a plug-in point rather than a layer.

Importing ``a.b.c`` also runs the packages ``a`` and ``a.b``; an edge to a package the module
itself sits in is left out (its ``__init__`` has already run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "faultkit"

# Cycles still present, each as the sorted modules of one strongly connected component, with
# why it is tolerated for now. Empty is the goal: remove an entry when its cycle is gone.
ALLOWED: dict[tuple[str, ...], str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
    return name == "TYPE_CHECKING"


def _catches_import_error(node: ast.Try) -> bool:
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(getattr(k, "id", None) in ("ImportError", "ModuleNotFoundError") for k in kinds):
            return True
    return False


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import in ``node`` that runs when its code runs (see the module docstring)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
        return
    children: list[ast.AST] = list(ast.iter_child_nodes(node))
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        children = list(node.orelse)
    elif isinstance(node, ast.Try) and _catches_import_error(node):
        children = [*node.handlers, *node.orelse, *node.finalbody]
    for child in children:
        yield from _imports(child)


def _targets(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        named.add(base)
        named.update(f"{base}.{alias.name}" for alias in node.names)
    edges = set()
    for target in named:
        parts = target.split(".")
        for i in range(2, len(parts) + 1):
            ancestor = ".".join(parts[:i])
            inside = name == ancestor or name.startswith(ancestor + ".")
            if ancestor in modules and not inside:
                edges.add(ancestor)
    return edges


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _targets(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(tuple(sorted(component)))
    return sorted(found)


def _describe(component: tuple[str, ...], graph: dict[str, set[str]]) -> str:
    members = set(component)
    return "\n".join(f"  {m} -> {', '.join(sorted(graph[m] & members))}" for m in component)


def test_the_package_has_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    new = [c for c in found if c not in ALLOWED]
    assert not new, "import cycles:\n" + "\n\n".join(_describe(c, graph) for c in new)
    gone = [c for c in ALLOWED if c not in found]
    assert not gone, f"no longer cycles, remove them from ALLOWED: {gone}"


def test_the_cycle_finder_sees_a_deferred_import_cycle() -> None:
    """The check itself: a cycle closed by an import inside a function is found, one closed
    only under TYPE_CHECKING or by an optional extra is not."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [("a", "b", "c")]
    tree = ast.parse(
        "import x.one\n"
        "def f():\n    from x import two\n"
        "if TYPE_CHECKING:\n    import x.three\n"
        "try:\n    import x.four\nexcept ImportError:\n    import x.five\n"
    )
    names = {a.name for n in _imports(tree) for a in n.names}
    assert names == {"x.one", "two", "x.five"}
