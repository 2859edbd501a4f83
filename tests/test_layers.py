"""The package's layers: imports point one way, no module imports itself round a cycle.

core ← load ← analysis ← present ← deliver ← run ← (nb, cli). ``datasets`` (the sample
generator) sits beside analysis: it may use core and load. Every import statement counts,
including those inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "helpers"
RANK = {
    "data_files": 0,
    "core": 0,
    "load": 1,
    "analysis": 2,
    "datasets": 2,
    "present": 3,
    "deliver": 4,
    "run": 5,
    "nb": 6,
    "cli": 6,
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, here: str | None = None) -> set[str]:
    """The helpers modules ``path`` imports (absolute names, submodules resolved)."""
    here = here or _module(path)
    pkg = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("helpers")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("helpers"):
                continue
            for a in node.names:  # `from helpers.core import codes` imports a module
                sub = f"{mod}.{a.name}"
                out.add(sub if _exists(sub) else mod)
    return {m for m in out if m != "helpers"}


def _exists(mod: str) -> bool:
    p = ROOT.parent.joinpath(*mod.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def _layer(mod: str) -> str:
    return mod.split(".")[1]


MODULES = {_module(p): p for p in sorted(ROOT.rglob("*.py"))}
GRAPH = {m: _imports(p) for m, p in MODULES.items()}


def test_every_module_is_in_a_layer():
    assert {_layer(m) for m in MODULES if m != "helpers"} <= set(RANK)


@pytest.mark.parametrize("mod", sorted(m for m in MODULES if m != "helpers"))
def test_imports_point_down(mod):
    up = _upward(mod, GRAPH[mod])
    assert not up, f"{mod} (layer {_layer(mod)}) imports a higher layer: {up}"


def test_no_import_cycle():
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(m: str) -> None:
        seen[m] = 1
        stack.append(m)
        for t in sorted(GRAPH.get(m, ())):
            if t not in MODULES or t == m or _is_package_of(t, m):
                continue
            if seen.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if t not in seen:
                visit(t)
        stack.pop()
        seen[m] = 2

    for m in sorted(MODULES):
        if m not in seen:
            visit(m)


def _is_package_of(pkg: str, mod: str) -> bool:
    return mod.startswith(pkg + ".")


def _upward(mod: str, targets: set[str]) -> list[str]:
    return sorted(t for t in targets if t in MODULES and RANK[_layer(t)] > RANK[_layer(mod)])


def test_the_checker_finds_lazy_relative_and_upward_imports(tmp_path):
    """The walk itself, on a module written here: lazy and relative imports are resolved."""
    p = tmp_path / "fake.py"
    p.write_text(
        "from . import schema\nfrom .codes import factorize\n"
        "def f():\n    from helpers.run import runner\n    import helpers.present.charts\n"
    )
    found = _imports(p, "helpers.core.fake")
    assert found == {
        "helpers.core.schema",
        "helpers.core.codes",
        "helpers.run.runner",
        "helpers.present.charts",
    }
    assert _upward("helpers.core.fake", found) == ["helpers.present.charts", "helpers.run.runner"]


# --- notebooks are thin ---------------------------------------------------------------------

NOTEBOOKS = sorted((ROOT.parent / "playbook").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_define_no_function(path):
    """What every notebook needs lives in ``helpers.nb``; a notebook only calls."""
    defs = [
        f"{n.name} (line {n.lineno})"
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert not defs, f"{path.name} defines {defs}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_record_their_facts_under_their_name(path):
    assert f'page="{path.stem}"' in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("mod", sorted(m for m in MODULES if not m.endswith("__init__")))
def test_modules_declare_their_api_and_big_ones_say_why(mod):
    path = MODULES[mod]
    if path.name == "__init__.py":
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc, f"{mod}: a package says what its layer is for"
        return
    src = path.read_text(encoding="utf-8")
    tree = ast.parse(src)
    assert any(
        isinstance(n, ast.Assign | ast.AnnAssign)
        and "__all__" in ast.unparse(n.targets[0] if isinstance(n, ast.Assign) else n.target)
        for n in tree.body
    ), f"{mod} has no __all__"
    if len(src.splitlines()) > 600:
        assert "Above 600 lines:" in (ast.get_docstring(tree) or ""), f"{mod}: say why"


WRITERS = {"open", "to_csv", "to_excel", "to_parquet", "write_text", "write_bytes", "Workbook"}


@pytest.mark.parametrize(
    "mod", sorted(m for m in MODULES if m.count(".") > 1 and _layer(m) == "analysis")
)
def test_analyses_are_pure(mod):
    """No file written, no report language taken, no failure swallowed whole."""
    tree = ast.parse(MODULES[mod].read_text(encoding="utf-8"))
    bad = []
    for n in ast.walk(tree):
        if isinstance(n, ast.FunctionDef) and any(
            a.arg == "lang" for a in n.args.args + n.args.kwonlyargs
        ):
            bad.append(f"{n.name} takes lang")
        if isinstance(n, ast.Call):
            f = n.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in WRITERS:
                bad.append(f"line {n.lineno} calls {name}")
        if isinstance(n, ast.ExceptHandler) and (
            n.type is None or getattr(n.type, "id", "") in ("Exception", "BaseException")
        ):
            bad.append(f"line {n.lineno} catches everything")
    assert not bad, f"{mod}: {bad}"
