"""The playbook's notebooks: discovery, reading (jupytext sources too), the imports they need and
the graph of artifacts they hand each other (which notebook waits for which).
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from helpers.deliver.imports import light_imports

__all__ = [
    "PLAYBOOK_DIR",
    "WARM_AFTER",
    "notebooks",
    "read_notebook",
    "notebook_imports",
    "NotebookGraph",
    "notebook_graph",
]

PLAYBOOK_DIR = Path(__file__).resolve().parents[2] / "playbook"


# Imported by kernels while they boot, besides the notebooks' own import statements: modules
# the helpers import lazily inside functions a notebook importing the key module will call
# (nb.open_shop → charts.use_style → seaborn is ~1.5 s of every first cell; seaborn without
# the scipy.stats it needs only for a KDE, see kernels.seaborn_without_scipy_stats).
# "module:function" entries are called once (jieba's dictionary load: ~1 s per notebook; the
# message catalogue every notebook's text comes from; what, besides a figure, keys its
# cached PNG). Also what a kernel would otherwise
# import at its first chart (the inline backend; PIL's image plugins, at the first PNG), its
# first calendar (the holidays package loads every country's module to find one), its first
# HTML table or workbook: ~0.1 s of each kernel's CPU.
WARM_AFTER = {
    "helpers.nb": (
        "matplotlib.pyplot",
        "matplotlib_inline.backend_inline",
        "PIL.Image:preinit",
        "helpers.run.kernels:seaborn_without_scipy_stats",
        "helpers.present.charts",
        "helpers.present.png_cache:surroundings",
        "helpers.core.catalogue:catalogue",
        "holidays.countries",
        "pandas.io.formats.html",
    ),
    "helpers.analysis.customers": ("helpers.analysis.clv",),
    "helpers.deliver.workbooks": ("xlsxwriter",),
    "helpers.analysis.text": ("helpers.analysis.text:tokenizer",),
    "helpers.analysis.review": ("helpers.analysis.text:tokenizer",),
}


def notebooks(only: list[str] | None = None, playbook_dir: Path = PLAYBOOK_DIR) -> list[Path]:
    """The numbered notebooks in order, optionally only those whose number is in ``only``.

    An ``NN_name.ipynb`` is used when present, else its jupytext source ``NN_name.py``.
    """
    playbook_dir = Path(playbook_dir)
    found = {p.stem: p for p in playbook_dir.glob("[0-9][0-9]_*.py")}
    found.update({p.stem: p for p in playbook_dir.glob("[0-9][0-9]_*.ipynb")})
    nbs = [found[s] for s in sorted(found)]
    if only:
        nbs = [p for p in nbs if p.name[:2] in {str(o).zfill(2) for o in only}]
    return nbs


@dataclass
class _Parsed:
    path: Path
    trees: list  # its code cells' syntax trees
    node: object = None  # the nbformat node, once asked for: shared, so copied before a change
    calls: list | None = None  # its ctx.save/ctx.load calls (_ctx_call_sites), once asked for

    @property
    def nb(self):
        if self.node is None:
            import nbformat

            light_imports()
            self.node = nbformat.read(self.path, as_version=4)
        return self.node


_NB_CACHE: dict[tuple[str, int, int], _Parsed] = {}  # (path, mtime ns, size) -> parsed


def _parsed(path: Path) -> _Parsed:
    """The notebook's code's syntax trees, parsed once a process while it is unchanged.

    An ``.ipynb``'s code is read as plain JSON: its nbformat node (``.nb``, validated) is
    read only when asked for, so listing the imports (:func:`notebook_imports`, which the
    kernel server waits for) costs no ``import nbformat``."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _NB_CACHE:
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_bytes())["cells"]
            _NB_CACHE[key] = _Parsed(path, list(_code_trees(cells)))
        else:
            import jupytext

            light_imports()
            nb = jupytext.read(path)
            _NB_CACHE[key] = _Parsed(path, list(_code_trees(nb.cells)), nb)
    return _NB_CACHE[key]


def read_notebook(path: Path):
    """The notebook as an nbformat node (jupytext for a ``.py`` source); parsed once a process."""
    import copy

    return copy.deepcopy(_parsed(path).nb)


def _code_trees(cells):
    """The syntax tree of each code cell that parses (magics and shell lines left out);
    ``cells`` as nbformat reads them or as the file's JSON holds them (source as lines)."""
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        source = "".join(source) if isinstance(source, list) else source
        src = "\n".join(ln for ln in source.splitlines() if ln.lstrip()[:1] not in "%!")
        try:
            yield ast.parse(src)
        except SyntaxError:
            continue


def notebook_imports(paths: list[Path]) -> list[str]:
    """Modules the notebooks import at the top level of their code cells (for warm kernels)."""
    mods: list[str] = []
    for p in paths:
        for tree in _parsed(p).trees:
            for node in tree.body:
                if isinstance(node, ast.Import):
                    mods += [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    mods.append(node.module)
                    mods += [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
    for key, extra in WARM_AFTER.items():
        if key in mods:
            mods += extra
    return list(dict.fromkeys(mods))


def _ctx_calls(path: Path) -> list[tuple[str, str]]:
    """(``save``/``load``, name pattern) of each ``ctx.save(...)``/``ctx.load(...)``, in order.

    A name is a regular expression: a literal escaped, an f-string's fields ``.*``."""
    return [(kind, pat) for kind, pat, _ in _ctx_call_sites(path)]


# A call under one of these may run more than once (or never where it stands).
_REPEATS = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _ctx_call_sites(path: Path) -> list[tuple[str, str, bool]]:
    """:func:`_ctx_calls` with, for each call, whether it stands in a loop or a function
    (so may run more than once)."""
    import re

    parsed = _parsed(path)
    if parsed.calls is not None:
        return parsed.calls
    calls = []

    def visit(node, i: int, repeats: bool) -> None:
        f = getattr(node, "func", None)
        if (
            isinstance(node, ast.Call)
            and isinstance(f, ast.Attribute)
            and f.attr in ("save", "load")
            and isinstance(f.value, ast.Name)
            and f.value.id == "ctx"
            and node.args
        ):
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                pat = re.escape(arg.value)
            elif isinstance(arg, ast.JoinedStr):
                pat = "".join(
                    re.escape(v.value) if isinstance(v, ast.Constant) else ".*" for v in arg.values
                )
            else:
                pat = ".*"  # a name we cannot read: assume it may be anything
            calls.append(((i, node.lineno, node.col_offset), f.attr, pat, repeats))
        inner = repeats or isinstance(node, _REPEATS)
        for child in ast.iter_child_nodes(node):
            visit(child, i, inner)

    for i, tree in enumerate(parsed.trees):
        visit(tree, i, False)
    parsed.calls = [(kind, pat, rep) for _, kind, pat, rep in sorted(calls)]
    return parsed.calls


@dataclass
class NotebookGraph:
    """Which notebooks need which (from the names they ``ctx.save``/``ctx.load``).

    ``needs[stem]`` holds the earlier notebooks of the run that save a name ``stem`` loads;
    ``order`` is every saved name pattern in playbook order (the workbook's sheet order);
    ``first[stem]`` is the index in ``order`` of the first pattern ``stem`` saves (absent
    for a notebook that saves nothing). ``saves[stem]`` lists the name patterns ``stem``
    saves; ``final[stem]`` the names it saves at one place outside any loop or function, so
    that the first save of one is its last (a notebook that loads it need not wait for
    the rest of ``stem``).
    """

    needs: dict[str, set[str]]
    order: list[str]
    first: dict[str, int] = field(default_factory=dict)
    saves: dict[str, list[str]] = field(default_factory=dict)
    final: dict[str, set[str]] = field(default_factory=dict)


def notebook_graph(paths: list[Path]) -> NotebookGraph:
    """The dependency graph of ``paths`` (in playbook order) read from their code."""
    needs: dict[str, set[str]] = {}
    saved: list[tuple[str, str]] = []  # (stem, pattern)
    order: list[str] = []
    saves: dict[str, list[str]] = {}
    final: dict[str, set[str]] = {}
    for p in paths:
        sites = _ctx_call_sites(p)
        loads = [pat for kind, pat, _ in sites if kind == "load"]
        needs[p.stem] = {stem for stem, sp in saved for lp in loads if _may_meet(sp, lp)}
        mine = [(pat, rep) for kind, pat, rep in sites if kind == "save"]
        for pat, _ in mine:
            saved.append((p.stem, pat))
            order.append(pat)
        sites_of = Counter(pat for pat, _ in mine)
        saves[p.stem] = list(sites_of)
        once = [pat for pat, rep in mine if not rep and sites_of[pat] == 1]
        final[p.stem] = {name for pat in once if (name := _literal(pat)) is not None}
    order = list(dict.fromkeys(order))
    first: dict[str, int] = {}
    for stem, pat in saved:
        first[stem] = min(first.get(stem, len(order)), order.index(pat))
    return NotebookGraph(needs, order, first, saves, final)


def _literal(pat: str) -> str | None:
    """The name a pattern stands for when it is an escaped literal (no bare metacharacter)."""
    import re

    if re.fullmatch(r"(?:\\.|[A-Za-z0-9_])*", pat):
        return re.sub(r"\\(.)", r"\1", pat)
    return None


def _may_meet(a: str, b: str) -> bool:
    """Whether two name patterns can name the same artifact (a literal against a pattern)."""
    import re

    if (name := _literal(b)) is not None:
        return bool(re.fullmatch(a, name))
    if (name := _literal(a)) is not None:
        return bool(re.fullmatch(b, name))
    return True  # two patterns: assume they may meet
