"""Run the numbered notebooks for one shop with papermill and build its report.

Output folder layout (``reports/<shop>/`` by default)::

    index.html            table of contents, failures, downloads, load report
    NN_name.html          one page per notebook, no code
    notebooks/NN_name.ipynb   executed notebooks (failures keep papermill's error banner)
    artifacts/            Parquet/JSON tables later notebooks and other tools read
    <shop>.xlsx           the key tables
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import artifacts, report
from .data import load_report, load_shop

PLAYBOOK_DIR = Path(__file__).resolve().parent.parent / "playbook"


@dataclass
class RunResult:
    out_dir: Path
    notebooks: list[str]
    failures: dict[str, str] = field(default_factory=dict)  # stem -> "cell N: Error: msg"

    @property
    def ok(self) -> bool:
        return not self.failures


def notebooks(only: list[str] | None = None, playbook_dir: Path = PLAYBOOK_DIR) -> list[Path]:
    """The numbered notebooks in order, optionally only those whose number is in ``only``."""
    nbs = sorted(p for p in playbook_dir.glob("[0-9][0-9]_*.ipynb"))
    if only:
        nbs = [p for p in nbs if p.name[:2] in {o.zfill(2) for o in only}]
    return nbs


def _failure(nb_path: Path, err: Exception) -> str:
    cell = getattr(err, "exec_count", None)
    ename = getattr(err, "ename", type(err).__name__)
    evalue = str(getattr(err, "evalue", err)).splitlines()[0][:200] if str(err) else ""
    return f"cell {cell}: {ename}: {evalue}" if cell else f"{ename}: {evalue}"


def run_shop(
    shop_dir: str | Path,
    out_dir: str | Path | None = None,
    as_of: str | None = None,
    lang: str | None = None,
    only: list[str] | None = None,
    params: dict | None = None,
    progress: bool = True,
    timeout: int | None = None,
    playbook_dir: Path = PLAYBOOK_DIR,
) -> RunResult:
    """Execute the playbook for one shop; returns which notebooks failed and why.

    The shop is loaded first (a bad input stops the run with its one-line
    :class:`~helpers.errors.LoadError`); ``as_of`` defaults to the last order date.
    """
    import papermill as pm
    from tqdm.auto import tqdm

    shop_dir = Path(shop_dir).resolve()
    shop = load_shop(shop_dir, as_of=as_of)
    lang = lang or shop.config.lang
    as_of = str(shop.as_of.date())
    out = Path(out_dir or Path("reports") / shop_dir.name).resolve()
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    nbs = notebooks(only, playbook_dir)
    result = RunResult(out, [p.stem for p in nbs])
    base = {"shop_dir": str(shop_dir), "out_dir": str(out), "as_of": as_of, "lang": lang}
    bar = tqdm(nbs, desc=shop.config.name, unit="nb", disable=not progress, file=sys.stderr)
    for nb in bar:
        bar.set_postfix_str(nb.stem)
        dest = out / "notebooks" / nb.name
        try:
            pm.execute_notebook(
                str(nb),
                str(dest),
                parameters={**base, **(params or {})},
                cwd=str(nb.parent),
                progress_bar=False,
                kernel_name="python3",
                execution_timeout=timeout,
            )
        except Exception as err:  # papermill saved the notebook with its error banner
            result.failures[nb.stem] = _failure(nb, err)
        if dest.exists():
            report.notebook_html(dest, out / f"{nb.stem}.html", shop.config.name, as_of, lang,
                                 result.notebooks)
    xlsx = out / f"{shop_dir.name}.xlsx"
    report.excel_workbook(xlsx, artifacts.sheets(out) or [("load", load_report(shop))])
    report.index_html(
        out / "index.html", shop.config.name, as_of, lang, result.notebooks, result.failures,
        load_report(shop), [xlsx.name],
    )
    (out / "run.json").write_text(
        json.dumps({"as_of": as_of, "lang": lang, "failures": result.failures}, ensure_ascii=False)
    )
    return result


def prepare_shop(shop_dir: str | Path, out_dir: str | Path, as_of: str | None = None,
                 lang: str | None = None, params: dict | None = None) -> list[Path]:
    """Parameter-filled, unexecuted notebooks a consultant opens in JupyterLab."""
    import papermill as pm

    shop_dir = Path(shop_dir).resolve()
    shop = load_shop(shop_dir, as_of=as_of)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for nb in notebooks():
        dest = out / nb.name
        pm.execute_notebook(
            str(nb), str(dest), prepare_only=True, progress_bar=False,
            parameters={"shop_dir": str(shop_dir), "out_dir": str(out / "report"),
                        "as_of": str(shop.as_of.date()), "lang": lang or shop.config.lang,
                        **(params or {})},
        )
        made.append(dest)
    return made
