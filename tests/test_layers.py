"""The module map of ``docs/architecture.rst``, enforced on the source (issue 14).

* no import cycles between the package's modules at import time;
* no function-level imports of the package's own modules except the documented ones below;
* codecs never import the engine, the file layer, sessions, the registry or the public face.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jangada_like"

#: (importing module, imported module) -> why it cannot be at module level
DOCUMENTED_LATE_IMPORTS = {
    ("jangada_like._incremental", "jangada_like._fileio"): "the file layer calls the incremental "
    "update, which opens the clone with the file layer's open_h5",
    ("jangada_like._incremental", "jangada_like._session"): "the update replaces members the way "
    "an r+ session does (_replace_member), and sessions sit on the file layer",
    ("jangada_like.proxy", "jangada_like._session"): "unpickling a proxy rebuilds a detached "
    "session source; sessions import proxies",
    ("jangada_like.registry", "jangada_like.codecs"): "pandas codecs load on first use (light import)",
    ("jangada_like.codecs.frames", "jangada_like.codecs.pandas_"): "the lazy frame handle reads and "
    "writes columns with the pandas codecs, which hand the handle out",
    ("jangada_like.serializable", "jangada_like.registry"): "jangada's class methods "
    "(register_primitive_type and friends) act on the default registry, which is built above the "
    "object model",
}

#: what a codec may never import: it reads and writes through the door (jangada_like.door) only
CODEC_FORBIDDEN = (
    "h5py",
    "jangada_like._h5",
    "jangada_like._engine",
    "jangada_like._fileio",
    "jangada_like._session",
    "jangada_like._locking",
    "jangada_like._recovery",
    "jangada_like._incremental",
    "jangada_like.persistable",
    "jangada_like.registry",
    "jangada_like.cli",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports() -> dict[str, list[tuple[str, int, bool]]]:
    """module -> [(imported module, line, at function level)], TYPE_CHECKING blocks left out."""
    found: dict[str, list[tuple[str, int, bool]]] = {}
    known = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        is_package = path.name == "__init__.py"
        out: list[tuple[str, int, bool]] = []

        def visit(
            node: ast.AST,
            late: bool,
            module: str = module,
            is_package: bool = is_package,
            out: list[tuple[str, int, bool]] = out,
        ) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
                    continue
                inner = late or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                if isinstance(child, ast.ImportFrom):
                    base = _resolve(module, is_package, child)
                    for alias in child.names:  # `from . import x` imports the submodule x
                        name = f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                        if name.startswith(("jangada_like", "h5py")):
                            out.append((name, child.lineno, late))
                elif isinstance(child, ast.Import):
                    out.extend(
                        (a.name, child.lineno, late)
                        for a in child.names
                        if a.name.startswith(("jangada_like", "h5py"))
                    )
                visit(child, inner)

        visit(ast.parse(path.read_text(encoding="utf-8")), False)
        found[module] = out
    return found


def test_no_import_cycles_at_module_level() -> None:
    graph = {
        m: {name for name, _line, late in edges if not late and name != m} for m, edges in _imports().items()
    }
    # a package's __init__ importing its own submodules is how a package is built, not a cycle
    graph = {
        m: {d for d in deps if not (d.startswith(m + ".") and _is_package(m))} for m, deps in graph.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep) :], dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                dfs(dep)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            dfs(module)


def _is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()


def test_function_level_internal_imports_are_only_the_documented_ones() -> None:
    late = {
        (module, name): line
        for module, edges in _imports().items()
        for name, line, is_late in edges
        if is_late and name != module
    }
    undocumented = {
        f"{m}:{line} imports {n}"
        for (m, n), line in late.items()
        if not any(m == dm and (n == dn or n.startswith(dn + ".")) for dm, dn in DOCUMENTED_LATE_IMPORTS)
    }
    assert not undocumented, sorted(undocumented)
    stale = {
        key
        for key in DOCUMENTED_LATE_IMPORTS
        if not any(key[0] == m and n.startswith(key[1]) for m, n in late)
    }
    assert not stale, f"documented late imports that no longer exist: {sorted(stale)}"


def test_codecs_never_import_the_engine_the_file_layer_or_the_registry() -> None:
    offending = [
        f"{module}:{line} imports {name}"
        for module, edges in _imports().items()
        if module.startswith("jangada_like.codecs")
        for name, line, _late in edges
        if any(name == f or name.startswith(f + ".") for f in CODEC_FORBIDDEN)
    ]
    assert not offending, offending


def test_the_layering_test_sees_imports() -> None:
    """The checks above are only as good as the scan: it must find known edges of every kind."""
    edges = _imports()
    assert any(n == "jangada_like._optional" and not late for n, _l, late in edges["jangada_like._compare"])
    assert any(n == "jangada_like.codecs.pandas_" and late for n, _l, late in edges["jangada_like.registry"])
    assert any(n == "jangada_like._h5" and not late for n, _l, late in edges["jangada_like._session"])
    assert any(n == "h5py" and not late for n, _l, late in edges["jangada_like._engine"])
    assert any(n == "jangada_like.door" and not late for n, _l, late in edges["jangada_like.codecs.base"])
    # TYPE_CHECKING imports are left out: the engine names the door only for type checkers
    assert not any(n == "jangada_like.door" for n, _l, _late in edges["jangada_like._engine"])
    assert "    from .door import Door" in (PACKAGE / "_engine.py").read_text(encoding="utf-8")


def test_the_engine_context_is_a_door() -> None:
    """Every member the Door protocol names exists on the engine's context (mypy checks the
    signatures: ``_door_check`` below assigns a Context to a Door)."""
    import h5py

    from jangada_like._engine import Context
    from jangada_like.door import Door

    with h5py.File("door-check.h5", "w", driver="core", backing_store=False) as f:
        assert isinstance(Context(f), Door)
