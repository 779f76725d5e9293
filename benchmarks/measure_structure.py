"""Structure figures of the source tree: import circles, upward imports, longest parameter lists.

Reads the packages as text (``ast``), so nothing is imported and no optional dependency is needed.
Every ``import`` of a project module counts, of three kinds: module-level (runs on import), lazy (inside a
function: it hides a circle from Python but not from a reader) and type-only (under ``if TYPE_CHECKING:``:
never runs, but the annotation still says one module needs the other). Circles are found over all three.
Not counted: imports by computed name (``importlib.import_module(f"...")``, how the task registry finds the
task folders) and the ``__init__`` of a package that Python runs before a submodule.

"Upward" is defined by :data:`LAYERS`, the declared layer order (lowest first): a module may import modules
of its own layer and of the layers below; an import of a higher layer is upward. An upward import says why
in a comment on its line or the line above, starting ``# upward:``; ``reason`` is that text (empty: none).
``hub_cards`` is still listed so that older trees (where the cards lived in a top-level package of their
own) are measured by the same rules.

Usage: ``python benchmarks/measure_structure.py [ROOT] [--json]``.
"""

from __future__ import annotations

import argparse
import ast
import json
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from pathlib import Path

PACKAGES = ("hub_cards", "ecinstruct", "ecellm")

# The layers, lowest first, each with the module-name patterns (fnmatch) of its modules. A module belongs to
# the layer of its most specific matching pattern: an exact name before a wildcard, more dotted parts first
# (``ecinstruct.tasks.*.raw`` before ``ecinstruct.tasks.*``). See docs/ARCHITECTURE.md.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hub_cards", ("hub_cards", "hub_cards.*")),
    # errors, string conventions, paths, machine limits, atomic folders, command-line support, card checks
    ("foundation", ("ecinstruct.errors", "ecinstruct.text", "ecinstruct.paths", "ecinstruct.machine",
                    "ecinstruct.atomic", "ecinstruct.cli_support", "ecinstruct.card_checks")),
    # what an answer may be: candidates, decoding constraints, the flexible reading, commitment
    ("answers", ("ecinstruct.answers", "ecinstruct.answers.*")),
    # metric families: parsers and per-item statistics; they never name a task
    ("scoring", ("ecinstruct.scoring", "ecinstruct.scoring.*")),
    # the Task type, its input fields, its typed-result readers, the registry
    ("task core", ("ecinstruct.tasks.fields", "ecinstruct.tasks.typed_results", "ecinstruct.tasks.base",
                   "ecinstruct.tasks")),
    # the task folders' definitions (TASK = Task(...)), found by the registry by name
    ("task folders", ("ecinstruct.tasks.*",)),
    # settings and configs, the row schema, instruction sets, prompts, assembling rows
    ("rows", ("ecinstruct.settings", "ecinstruct.schema", "ecinstruct.instructions", "ecinstruct.prompts",
              "ecinstruct.assemble")),
    # what the task folders' generator and raw-builder parts build on: the sample's vocabulary, raw readers, QC
    ("part helpers", ("ecinstruct.sample.vocab", "ecinstruct.sample.common", "ecinstruct.sample.esci",
                      "ecinstruct.sample.qa", "ecinstruct.raw", "ecinstruct.raw.*")),
    # the task folders' optional parts, loaded by name (TaskParts)
    ("task folder parts", ("ecinstruct.tasks.*.raw", "ecinstruct.tasks.*.sample")),
    # sources and outputs: the published file, loading, the Hub layout, export, cards, the embedded sample,
    # the raw build, the lm-eval pack
    ("sources and builds", ("ecinstruct.published", "ecinstruct.builder", "ecinstruct.loading",
                            "ecinstruct.hub_layout", "ecinstruct.dataset_card", "ecinstruct.export",
                            "ecinstruct.sample", "ecinstruct.raw.pipeline", "ecinstruct.raw.builder",
                            "ecinstruct.lm_eval_pack")),
    # commands and the package's public face
    ("ecinstruct commands", ("ecinstruct", "ecinstruct.cli", "ecinstruct.build_cli", "ecinstruct.raw.cli",
                             "ecinstruct.tasks.cli", "ecinstruct.sample.__main__")),
    ("ecellm", ("ecellm", "ecellm.*")),
)
KINDS = ("module", "lazy", "type")  # module-level, inside a function, under `if TYPE_CHECKING:`
REASON = "# upward:"


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported project module
    kind: str  # one of KINDS
    line: int
    reason: str  # text after "# upward:" on the import's lines or the line above ("" if none)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    """Index in :data:`LAYERS` of the module's most specific matching pattern (``None``: no layer)."""
    best: tuple[tuple[bool, int], int] | None = None
    for index, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if fnmatchcase(module, pattern):
                key = ("*" not in pattern and "?" not in pattern, pattern.count(".") + 1)
                if best is None or key > best[0]:
                    best = (key, index)
    return None if best is None else best[1]


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _import_nodes(tree: ast.AST):
    """``(node, kind)`` for every import statement: module-level, inside a function, or type-only."""
    stack: list[tuple[ast.AST, str]] = [(tree, "module")]
    while stack:
        node, kind = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, kind
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend((child, "type") for child in node.body)
            stack.extend((child, kind) for child in node.orelse)
            continue
        inner = "lazy" if kind == "module" and isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else kind
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def imports_of(module: str, path: Path, known: set[str]) -> list[Import]:
    """Project modules that ``module`` imports (``from x import y`` names ``x.y`` if that is a module)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    is_pkg = path.name == "__init__.py"
    found: list[Import] = []
    for node, kind in _import_nodes(ast.parse(text)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            target = _resolve(module, is_pkg, node)
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
        around = lines[max(node.lineno - 2, 0): node.end_lineno or node.lineno]
        reason = next((line.split(REASON, 1)[1].strip() for line in around if REASON in line), "")
        for name in dict.fromkeys(names):
            # the deepest project module the name points into
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.append(Import(module, name, kind, node.lineno, reason))
    return found


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
        for w in sorted(graph.get(v, ())):
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
    imports = [i for m, p in modules.items() for i in imports_of(m, p, known)]
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for i in imports:
        graph[i.source].add(i.target)
    upward = [
        asdict(i) | {"from_layer": LAYERS[layer_of(i.source)][0], "to_layer": LAYERS[layer_of(i.target)][0]}
        for i in imports
        if layer_of(i.source) is not None and layer_of(i.target) is not None
        and layer_of(i.target) > layer_of(i.source)
    ]
    return {
        "modules": len(modules),
        "edges": sum(len(t) for t in graph.values()),
        "import_statements": {kind: sum(i.kind == kind for i in imports) for kind in KINDS},
        "cycles": cycles(graph),
        "upward_imports": sorted(upward, key=lambda u: (u["source"], u["line"], u["target"])),
        "unexplained_upward_imports": sum(not u["reason"] for u in upward),
        "unplaced_modules": sorted(m for m in modules if layer_of(m) is None),
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
    counts = ", ".join(f"{n} {kind}" for kind, n in result["import_statements"].items())
    print(f"modules: {result['modules']}  import edges: {result['edges']}  (import statements: {counts})")
    print(f"import circles (module-level, lazy and type-only imports): {len(result['cycles'])}")
    for comp in result["cycles"]:
        print(f"  {len(comp)} modules: {', '.join(comp)}")
    print(f"upward imports: {len(result['upward_imports'])} ({result['unexplained_upward_imports']} without a reason)")
    for u in result["upward_imports"]:
        print(f"  {u['source']}:{u['line']} -> {u['target']} ({u['kind']}; {u['from_layer']} -> {u['to_layer']}): "
              f"{u['reason'] or 'NO REASON'}")
    if result["unplaced_modules"]:
        print(f"modules in no layer: {', '.join(result['unplaced_modules'])}")
    print(f"longest parameter lists (top {args.most}):")
    for line in result["longest_parameter_lists"]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
