"""The architecture's rules, checked on the source (python scripts/check_architecture.py):

1. Imports run one way. Domain modules — every module of an app except its presentation
   (views, forms, admin, urls, the DRF views, app config, template tags, access helpers)
   — import only from apps below their own, in LAYERS order; no cycle between apps.
2. No two files import each other.
3. No production function is longer than MAX_FUNCTION_LINES lines.
4. Database-specific branches (``….vendor``) stay in a few named modules, at most
   MAX_VENDOR_BRANCHES in all.
5. The app packages never import the benchmarks.

Prints every violation and exits 1 if there is any; the test suite runs it."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Lowest first: an app's domain modules may import the apps before it, never after.
LAYERS = [
    "shopcrm",
    "shopcalendar",
    "customers",
    "messaging",
    "visits",
    "bookings",
    "followups",
    "surveys",
    "complaints",
    "textinsights",
    "servicemessages",
    "onlinebooking",
    "workflows",
    "reports",
    "campaigns",
    "digest",
    "api",
    "privacy",
]
PRESENTATION = {
    "views",
    "forms",
    "admin",
    "admin_site",
    "urls",
    "api",
    "apps",
    "access",
    "templatetags",
    "context_processors",
    "middleware",
    "wsgi",
    "celery",
    "settings",
    "management",
    "schema",
    "renderers",
    "throttling",
}
NOT_PRODUCTION = {"tests", "migrations", "benchmarks", "scripts", "locale", ".venv", "static"}
MAX_FUNCTION_LINES = 80
MAX_VENDOR_BRANCHES = 8


def production_files() -> list[Path]:
    files = []
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if not NOT_PRODUCTION & set(path.relative_to(ROOT).parts):
                files.append(path)
    return files


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, tree: ast.AST, known: set[str]) -> set[str]:
    """The project modules ``path`` imports (anywhere in the file), as module names."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent / "x")
    package = package.rsplit(".", 1)[0] if path.name != "__init__.py" else package
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def is_domain(module: str) -> bool:
    return not PRESENTATION & set(module.split(".")[1:])


def check() -> list[str]:
    files = production_files()
    modules = {module_name(path): path for path in files}
    known = set(modules)
    problems, graph = [], {}
    vendor_branches = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[module] = imported_modules(path, tree, known) - {module}
        app = module.split(".")[0]
        for target in graph[module]:
            other = target.split(".")[0]
            if is_domain(module) and other != app and LAYERS.index(other) > LAYERS.index(app):
                problems.append(f"layers: {module} (domain) imports {target}, above it")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"length: {module}.{node.name} is {length} lines")
            if isinstance(node, ast.Attribute) and node.attr == "vendor":
                vendor_branches.append(f"{module}:{node.lineno}")
        if any(_imports_benchmarks(node) for node in ast.walk(tree)):
            problems.append(f"benchmarks: {module} imports the benchmarks")
    for module, targets in graph.items():
        for target in targets:
            if module < target and module in graph.get(target, set()):
                problems.append(f"cycle: {module} and {target} import each other")
    problems += _app_cycles(graph)
    if len(vendor_branches) > MAX_VENDOR_BRANCHES:
        problems.append(
            f"vendor branches: {len(vendor_branches)} > {MAX_VENDOR_BRANCHES}: {vendor_branches}"
        )
    return problems


def _imports_benchmarks(node: ast.AST) -> bool:
    """``import benchmarks…`` or ``from benchmarks… import …`` (or ``from . import
    benchmarks``)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        names = [node.module or "", *(alias.name for alias in node.names)]
    else:
        return False
    return any(name.split(".")[0] == "benchmarks" for name in names)


def _app_cycles(graph: dict) -> list[str]:
    """Cycles between apps through domain modules (a depth-first search on the app graph)."""
    edges: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if is_domain(module):
            app = module.split(".")[0]
            edges.setdefault(app, set()).update(
                t.split(".")[0] for t in targets if t.split(".")[0] != app
            )
    problems, state = [], {}

    def visit(app, trail):
        state[app] = "open"
        for other in sorted(edges.get(app, ())):
            if state.get(other) == "open":
                problems.append("app cycle: " + " -> ".join([*trail, app, other]))
            elif other not in state:
                visit(other, [*trail, app])
        state[app] = "done"

    for app in sorted(edges):
        if app not in state:
            visit(app, [])
    return problems


def app_graph() -> dict[str, set[str]]:
    """Which apps each app's domain modules import (for the architecture document)."""
    modules = {module_name(path): path for path in production_files()}
    edges: dict[str, set[str]] = {}
    for module, path in modules.items():
        if not is_domain(module):
            continue
        app = module.split(".")[0]
        tree = ast.parse(path.read_text())
        for target in imported_modules(path, tree, set(modules)):
            if target.split(".")[0] != app:
                edges.setdefault(app, set()).add(target.split(".")[0])
    return edges


if __name__ == "__main__":
    found = check()
    for problem in found:
        print(problem)
    if "--graph" in sys.argv:
        for app, targets in sorted(app_graph().items(), key=lambda item: LAYERS.index(item[0])):
            print(f"{app:13} imports {', '.join(sorted(targets, key=LAYERS.index)) or '—'}")
    print(f"{len(found)} problem(s)")
    sys.exit(1 if found else 0)
