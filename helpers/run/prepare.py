"""``playbook prepare``: clean notebooks for one shop (no outputs, one parameters cell with the
shop's values, no embedded source), optionally executed.
"""

from __future__ import annotations

import ast
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers.deliver.imports import light_imports
from helpers.load.shop import load_shop
from helpers.run.engine import _failure
from helpers.run.kernels import INLINE
from helpers.run.notebooks import PLAYBOOK_DIR, notebooks, read_notebook

__all__ = [
    "KERNEL_NAME",
    "KERNEL_DISPLAY",
    "source_notebook",
    "parameters_cell",
    "declared_parameters",
    "set_parameters",
    "clean_notebook",
    "Prepared",
    "prepare_shop",
]

KERNEL_NAME = "ecommerce-playbook"  # registered by scripts/setup.sh and `playbook lab`


KERNEL_DISPLAY = "Python (ecommerce-playbook)"


def source_notebook(nb: Path):
    """A notebook's source without outputs: the jupytext ``.py`` when present, else the
    ``.ipynb`` (whose saved outputs :func:`clean_notebook` drops)."""
    py = nb.with_suffix(".py")
    return read_notebook(py if py.exists() else nb)


def parameters_cell(node) -> int | None:
    """Index of the cell tagged ``parameters`` (None when the notebook has none)."""
    for i, cell in enumerate(node.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def declared_parameters(node) -> list[str]:
    """Names the notebook's parameters cell assigns, in order."""
    i = parameters_cell(node)
    if i is None:
        return []
    tree = ast.parse(node.cells[i].source)
    return [
        t.id
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    ]


def set_parameters(source: str, values: dict) -> str:
    """The parameters cell ``source`` with each assignment of a name in ``values`` rewritten
    to that value (its trailing comment kept); other lines as they were."""
    lines = source.splitlines()
    tree = ast.parse(source)
    for node in reversed(tree.body):  # bottom-up: line numbers stay valid
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in values
        ):
            continue
        name = node.targets[0].id
        tail = lines[node.end_lineno - 1][node.end_col_offset :]
        comment = tail if tail.strip().startswith("#") else ""
        lines[node.lineno - 1 : node.end_lineno] = [f"{name} = {values[name]!r}{comment}"]
    return "\n".join(lines)


def clean_notebook(node, values: dict, header: str | None = None):
    """A notebook as a consultant opens it: no outputs or execution counts, the parameters
    cell holding ``values`` (names the notebook declares; ``interactive`` on where it has
    that parameter), no papermill/jupytext/execution metadata (no embedded copy of the
    source, no pairing that would write a ``.py`` beside it), the project's named kernel,
    and ``header`` as a first Markdown cell."""
    import nbformat

    i = parameters_cell(node)
    declared = set(declared_parameters(node))
    mine = {k: v for k, v in values.items() if k in declared}
    if "interactive" in declared and "interactive" not in values:
        mine["interactive"] = True
    cells = []
    for j, cell in enumerate(node.cells):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue  # a papermill copy of the parameters: there is one parameters cell
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags", "jupyter")}
        if cell.cell_type == "code":
            src = set_parameters(cell.source, mine) if j == i else cell.source
            new = nbformat.v4.new_code_cell(src, metadata=meta)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source, metadata=meta)
        else:
            new = nbformat.v4.new_raw_cell(cell.source, metadata=meta)
        cells.append(new)
    if header:
        cells.insert(0, nbformat.v4.new_markdown_cell(header))
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {
        "kernelspec": {"name": KERNEL_NAME, "display_name": KERNEL_DISPLAY, "language": "python"},
        "language_info": {"name": "python"},
    }
    for c in out.cells:  # ids from the cell's position: the same notebook twice is the same file
        c.id = f"cell-{out.cells.index(c)}"
    return out


def _strip_run_metadata(path: Path) -> None:
    """An executed prepared notebook without papermill's records (the embedded input path,
    parameters, per-cell timings), its kernel named as prepared."""
    import nbformat

    node = nbformat.read(path, as_version=4)
    node.metadata.pop("papermill", None)
    node.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": KERNEL_DISPLAY,
        "language": "python",
    }
    for cell in node.cells:
        for key in ("papermill", "execution"):
            cell.metadata.pop(key, None)
    nbformat.write(node, path)


def _path_for(target: Path, folder: Path) -> str:
    """``target`` relative to ``folder`` when the two share a folder below the root (the work
    folder sits beside the shop: the pair can be moved together), else absolute."""
    target, folder = Path(target).resolve(), Path(folder).resolve()
    common = Path(os.path.commonpath([target, folder]))
    if common == Path(common.anchor):
        return str(target)
    return os.path.relpath(target, folder)


@dataclass
class Prepared:
    notebooks: list[Path]
    failures: dict[str, str] = field(default_factory=dict)  # with execute: stem -> why


def prepare_shop(
    shop_dir: str | Path,
    out_dir: str | Path,
    as_of: str | None = None,
    lang: str | None = None,
    params: dict | None = None,
    execute: bool = False,
    only: list[str] | None = None,
    playbook_dir: Path = PLAYBOOK_DIR,
    timeout: int | None = None,
) -> Prepared:
    """Clean notebooks for this shop that a consultant opens in JupyterLab (``out_dir``).

    Each holds one parameters cell with this shop's values (paths relative to ``out_dir``
    when it sits beside the shop; the report folder is ``out_dir/report``), ``interactive``
    on where the notebook has it, no outputs and no metadata from the demo run, and a first
    Markdown cell naming the shop and the date and asking for Run All first. With
    ``execute``, the notebooks are run in order in ``out_dir`` so they hold this shop's
    outputs only; failures are returned (the notebook keeps the error, later cells no
    output). A bad shop raises its one-line :class:`~helpers.core.errors.LoadError` before
    anything is written. ``params`` must be parameters of at least one notebook.
    """
    import nbformat

    from helpers.core.errors import LoadError
    from helpers.present import narrative

    light_imports()
    shop_dir = Path(shop_dir).resolve()
    shop = load_shop(shop_dir, as_of=as_of)
    out = Path(out_dir).resolve()
    nbs = notebooks(only, playbook_dir)
    sources = {nb.stem: source_notebook(nb) for nb in nbs}
    known = {n for node in sources.values() for n in declared_parameters(node)}
    unknown = sorted(set(params or {}) - known)
    if unknown:
        raise LoadError("-p", f"not a parameter of any notebook: {', '.join(unknown)}")
    lang = lang or shop.config.lang
    values = {
        "shop_dir": _path_for(shop_dir, out),
        "out_dir": _path_for(out / "report", out),
        "as_of": str(shop.as_of.date()),
        "lang": lang,
        **(params or {}),
    }
    header = narrative.say(
        "prep_header",
        lang,
        shop=narrative.esc(shop.config.name),
        as_of=values["as_of"],
        made=time.strftime("%Y-%m-%d"),
        folder=narrative.esc(values["shop_dir"]),
    )
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for nb in nbs:
        dest = out / f"{nb.stem}.ipynb"
        nbformat.write(clean_notebook(sources[nb.stem], values, header), dest)
        made.append(dest)
    result = Prepared(made)
    if execute:
        import papermill as pm

        backend = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = INLINE  # charts into the notebook, whatever the shell says
        try:
            for dest in made:
                try:
                    pm.execute_notebook(
                        str(dest),
                        str(dest),
                        kernel_name="python3",  # this interpreter's, registered or not
                        cwd=str(out),
                        progress_bar=False,
                        execution_timeout=timeout,
                        request_save_on_cell_execute=False,
                        extra_arguments=[
                            "--IPKernelApp.log_level=50"
                        ],  # no chatter (a failing cell is reported from the notebook itself)
                    )
                except Exception as err:  # papermill saved the notebook with its error
                    result.failures[dest.stem] = _failure(dest, err)
                _strip_run_metadata(dest)
        finally:
            if backend is None:
                os.environ.pop("MPLBACKEND", None)
            else:
                os.environ["MPLBACKEND"] = backend
    return result
