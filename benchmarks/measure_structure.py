"""Structure figures of the source tree: import cycles, upward imports, longest parameter lists.

Reads the packages as text (``ast``), so nothing is imported and no optional dependency is needed.
Every ``import`` counts, at module level and inside functions (a function-level import hides a cycle
from Python but not from a reader); only imports under ``if TYPE_CHECKING:`` are left out (annotations,
never run). Layers, lowest first: ``ecinstruct`` < ``ecellm``; an import from a lower layer into a
higher one is "upward". ``hub_cards`` is still listed so that older trees (where the cards lived in a
top-level package of their own) are measured by the same rules.

Usage: ``python benchmarks/measure_structure.py [ROOT] [--json]``.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

PACKAGES = ("ecinstruct", "ecellm", "hub_cards")
# Which top-level packages each package may import (its own layer and those below it).
ALLOWED = {
    "hub_cards": {"hub_cards"},
    "ecinstruct": {"ecinstruct", "hub_cards"},
    "ecellm": {"ecellm", "ecinstruct", "hub_cards"},
}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """Project modules that `module` imports anywhere in its body (`from x import y` names `x.y` if a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_pkg, node)
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
        else:
            continue
        for name in names:
            # the deepest project module the name points into
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node except the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def parameter_lists(root: Path, paths: list[Path], most: int) -> list[tuple[int, str]]:
    rows = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
                n -= bool(a.args and a.args[0].arg in ("self", "cls"))
                rows.append((n, f"{path.relative_to(root)}:{node.lineno} {node.name}"))
    return sorted(rows, key=lambda r: (-r[0], r[1]))[:most]


def measure(root: Path, most: int = 10) -> dict:
    paths = sorted(p for pkg in PACKAGES if (root / pkg).is_dir() for p in (root / pkg).rglob("*.py"))
    modules = {module_name(root, p): p for p in paths}
    known = set(modules)
    graph = {m: imports_of(m, p, known) for m, p in modules.items()}
    upward = sorted(
        f"{m} -> {t}" for m, targets in graph.items() for t in targets
        if t.split(".")[0] not in ALLOWED[m.split(".")[0]]
    )
    return {
        "modules": len(modules),
        "edges": sum(len(t) for t in graph.values()),
        "cycles": cycles(graph),
        "upward_imports": upward,
        "longest_parameter_lists": [f"{n:3d}  {where}" for n, where in parameter_lists(root, paths, most)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--most", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(Path(args.root), args.most)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"modules: {result['modules']}  import edges: {result['edges']}")
    print(f"import cycles: {len(result['cycles'])}")
    for comp in result["cycles"]:
        print(f"  {len(comp)} modules: {', '.join(comp)}")
    print(f"upward imports: {len(result['upward_imports'])}")
    for line in result["upward_imports"]:
        print(f"  {line}")
    print(f"longest parameter lists (top {args.most}):")
    for line in result["longest_parameter_lists"]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
