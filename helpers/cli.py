"""The ``playbook`` command: run, batch, check, prepare, new-shop."""

from __future__ import annotations

import argparse
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import LoadError


def _params(pairs: list[str]) -> dict:
    import yaml

    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise SystemExit(f"playbook: -p takes name=value, got {p!r}")
        k, v = p.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


def cmd_check(a) -> int:
    from .data import load_report, load_shop

    shop = load_shop(a.shop_dir, as_of=a.as_of)
    with _pd_display():
        print(f"{shop.config.name}: as of {shop.as_of.date()}")
        print(load_report(shop).to_string(index=False))
    for t, n in shop.after_as_of.items():
        if n:
            print(f"{t}: {n} rows after {shop.as_of.date()} left out")
    if len(shop.rejects):
        print("rejected rows by reason:")
        print(shop.rejects.groupby(["file", "reason"]).size().to_string())
    for note in shop.notes:
        print(f"note: {note}")
    return 0


class _pd_display:
    def __enter__(self):
        import pandas as pd

        self.ctx = pd.option_context("display.width", 160, "display.max_columns", 20)
        self.ctx.__enter__()

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)


def cmd_run(a) -> int:
    from .batch import shop_defaults
    from .runner import run_shop

    only = _only(a.only)
    res = run_shop(
        a.shop_dir,
        a.out,
        a.as_of,
        a.lang,
        only,
        _params(a.p),
        notebook_timeout=a.timeout,
        pdf=a.pdf,
        jobs=a.jobs,
        notes=shop_defaults(a.shop_dir),  # shown on the report's front page
    )
    for stem, why in res.failures.items():
        print(f"FAILED {stem}: {why}", file=sys.stderr)
    print(f"report: {res.out_dir / 'index.html'}")
    _pdf_line(a.pdf, res.out_dir)
    return 1 if res.failures else 0


def _only(spec: str | None) -> list[str] | None:
    return [s.strip() for s in spec.split(",") if s.strip()] if spec else None


def _pdf_line(wanted: bool, out_dir: Path) -> None:
    from .report import PDF_HINT, chromium

    if wanted and chromium() is None:
        print(f"no PDF: {PDF_HINT}", file=sys.stderr)
    elif wanted and (out_dir / "report.pdf").exists():
        print(f"pdf: {out_dir / 'report.pdf'}")


def cmd_batch(a) -> int:
    from .batch import run_batch

    res = run_batch(
        a.shops,
        a.out,
        workers=a.workers,
        scheduler=a.scheduler,
        retries=a.retries,
        timeout=a.timeout,
        force=a.force,
        only=_only(a.only),
        as_of=a.as_of,
        lang=a.lang,
        params=_params(a.p),
        pdf=a.pdf,
        defaults=a.defaults,
    )
    print(res.summary())
    print(res.counts())
    print(f"portfolio: {res.out_dir / 'index.html'} ({res.seconds:.1f} s)")
    if a.pdf:
        _pdf_line(True, res.out_dir)
    return 0 if res.ok else 1


def cmd_prepare(a) -> int:
    from .runner import prepare_shop

    res = prepare_shop(
        a.shop_dir,
        a.out,
        a.as_of,
        a.lang,
        _params(a.p),
        execute=a.execute,
        only=_only(a.only),
        timeout=a.timeout,
    )
    for p in res.notebooks:
        print(p)
    for stem, why in res.failures.items():
        print(f"FAILED {stem}: {why}", file=sys.stderr)
    if a.execute:
        n = len(res.failures)
        print(f"{len(res.notebooks) - n} of {len(res.notebooks)} notebooks ran, {n} failed")
    return 1 if res.failures else 0


def cmd_lab(a) -> int:
    from . import lab
    from .runner import prepare_shop

    shop = Path(a.shop_dir)
    work = Path(a.out or Path("work") / shop.resolve().name)
    if a.fresh or not lab.has_notebooks(work):
        if a.dry_run:
            print(f"would prepare {shop} into {work}")
        else:
            prepare_shop(shop, work, a.as_of, a.lang, _params(a.p), only=_only(a.only))
            print(f"prepared {work}")
    else:
        print(f"{work} holds notebooks already: opening them as saved (--fresh to re-prepare)")
    first = sorted(p.name for p in work.glob("[0-9][0-9]_*.ipynb"))
    first = first[0] if first else "00_data_health.ipynb"
    port = a.port or lab.free_port()
    token = secrets.token_urlsafe(24)
    cmd = lab.lab_command(work.resolve(), first, port, token, browser=not a.no_browser)
    if a.dry_run:
        print(" ".join(shlex.quote(c) for c in cmd))
        print(lab.lab_url(port, first, token))
        return 0
    print(f"kernel {lab.KERNEL_NAME}: {lab.ensure_kernel()}")
    print(f"JupyterLab: {lab.lab_url(port, first, token)}  (Ctrl-C stops it)")
    proc = lab.start_lab(cmd, work)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0


def cmd_new_shop(a) -> int:
    import yaml

    from .adapters import detect
    from .adapters.clean import read_raw

    dest = Path(a.dir)
    if dest.exists() and any(dest.iterdir()):
        raise LoadError(dest, "folder exists and is not empty: choose a new folder")
    tables: dict[str, list[str]] = {}
    for f in map(Path, a.files):
        raw, _ = read_raw(f)
        try:
            fmt = detect(list(raw.columns), f)
        except LoadError:
            fmt = "generic"
        table = {
            "taobao_orders": "orders",
            "taobao_items": "orders",
            "taobao_item_report": "orders",
            "taobao_short": "orders",
            "shopify_orders": "orders",
        }.get(fmt)
        if table is None:  # a catalogue, traffic export … by its (Chinese) headers
            table = _canonical_table(list(raw.columns), f)
        tables.setdefault(table, []).append(f.name)
        print(f"{f}: {fmt} → {table}")
    if "orders" not in tables:
        raise LoadError(a.files[0], "none of the files is an orders export")
    dest.mkdir(parents=True, exist_ok=True)
    for f in map(Path, a.files):
        shutil.copy2(f, dest / f.name)
    import secrets

    cfg = {
        "name": a.name or dest.name,
        "salt": secrets.token_hex(16),  # a secret of this shop's own: ids cannot be guessed
        "currency": a.currency,
        "timezone": "Asia/Shanghai",
        "fiscal_year_start_month": 1,
        "lang": a.lang,
        **{t: fs[0] if len(fs) == 1 else fs for t, fs in tables.items()},
    }
    (dest / "shop.yaml").write_text(
        yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    print(f"wrote {dest / 'shop.yaml'}: check it, then `playbook check {dest}`")
    return 0


def _canonical_table(headers: list[str], f: Path) -> str:
    """The canonical table whose required columns the headers carry (names or Chinese aliases)."""
    from . import schema
    from .adapters.generic import ALIASES

    best, score = None, 0
    for t, cols in schema.COLUMNS.items():
        if t == "orders":
            continue
        names = {c: {c, *ALIASES.get(t, {}).get(c, ())} for c in cols}
        if all(names[c] & set(headers) for c in schema.required(t)):
            s = sum(bool(names[c] & set(headers)) for c in cols)
            if s > score:
                best, score = t, s
    if best is None:
        raise LoadError(f, "format not recognised from its headers: " + ", ".join(headers[:12]))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="playbook", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, out_required=False):
        p.add_argument("shop_dir")
        p.add_argument("--out", required=out_required)
        p.add_argument("--as-of", dest="as_of")
        p.add_argument("--lang", choices=["zh", "en"])
        p.add_argument("-p", action="append", metavar="name=value", help="notebook parameter")

    p = sub.add_parser("run", help="run the playbook on a shop folder")
    common(p)
    p.add_argument("--only", help="notebook numbers, e.g. 02,04")
    p.add_argument("--timeout", type=float, default=None, help="seconds per notebook (wall clock)")
    p.add_argument("--pdf", action="store_true", help="also report.pdf (needs Chromium)")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="notebooks run side by side (default: 2 when the cores and memory allow, else 1)",
    )
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser(
        "batch",
        help="run the playbook for many shops; portfolio index in --out",
        description="SHOPS is a folder of shop folders or a text file listing them (one per "
        "line). Each shop's report goes to OUT/<shop>/; OUT/index.html, portfolio.xlsx and "
        "summary.txt cover all shops. Shops whose inputs, parameters and notebooks are "
        "unchanged since the last run are skipped unless --force. Exit code 0 when every shop "
        "ends done or skipped, 1 when any failed.",
    )
    p.add_argument("shops", metavar="SHOPS")
    p.add_argument("--out", default="reports/batch", help="output folder (default reports/batch)")
    p.add_argument(
        "--workers", type=int, default=None, help="local worker processes (default: number of CPUs)"
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:8786",
        help="run on an existing dask.distributed cluster instead",
    )
    p.add_argument(
        "--retries", type=int, default=2, help="re-runs of a shop whose worker died (default 2)"
    )
    p.add_argument("--timeout", type=float, default=None, help="seconds per notebook (wall clock)")
    p.add_argument("--force", action="store_true", help="run unchanged shops too")
    p.add_argument("--only", help="notebook numbers, e.g. 00,02")
    p.add_argument("--as-of", dest="as_of")
    p.add_argument("--lang", choices=["zh", "en"])
    p.add_argument("-p", action="append", metavar="name=value", help="notebook parameter")
    p.add_argument("--pdf", action="store_true", help="also report.pdf per shop (Chromium)")
    p.add_argument(
        "--defaults",
        action="store_true",
        help="run shop folders without shop.yaml on the defaults (CNY, Asia/Shanghai, a salt "
        "from the folder name; shown on their pages); without it they are errors",
    )
    p.set_defaults(fn=cmd_batch)
    p = sub.add_parser("check", help="load and validate only; print the load report")
    p.add_argument("shop_dir")
    p.add_argument("--as-of", dest="as_of")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser(
        "prepare",
        help="clean notebooks for this shop, to open in JupyterLab",
        description="Writes the notebooks for one shop into --out: no outputs, one parameters "
        "cell holding this shop's values, sliders on, a first cell naming the shop and date. "
        "The notebooks write their report into OUT/report.",
    )
    common(p, out_required=True)
    p.add_argument("--only", help="notebook numbers, e.g. 00,02")
    p.add_argument(
        "--execute", action="store_true", help="also run them (outputs of this shop only)"
    )
    p.add_argument("--timeout", type=int, default=None, help="seconds per cell with --execute")
    p.set_defaults(fn=cmd_prepare)
    p = sub.add_parser(
        "lab",
        help="prepare a shop's notebooks (if needed) and open them in JupyterLab",
        description="Prepares SHOP into --out (default work/<shop>) unless it holds notebooks "
        "already, then starts this environment's JupyterLab on 127.0.0.1 with a token, "
        "opening the first notebook.",
    )
    common(p)
    p.add_argument("--only", help="notebook numbers to prepare, e.g. 00,02")
    p.add_argument("--port", type=int, default=None, help="default: the first free from 8888")
    p.add_argument("--fresh", action="store_true", help="prepare again (overwrites notebooks)")
    p.add_argument("--no-browser", action="store_true", help="print the URL only")
    p.add_argument(
        "--dry-run", action="store_true", help="print the JupyterLab command and URL only"
    )
    p.set_defaults(fn=cmd_lab)
    p = sub.add_parser("new-shop", help="scaffold a shop folder from exports")
    p.add_argument("dir")
    p.add_argument("--from", dest="files", nargs="+", required=True)
    p.add_argument("--name")
    p.add_argument("--currency", default="CNY")
    p.add_argument("--lang", default="zh", choices=["zh", "en"])
    p.set_defaults(fn=cmd_new_shop)
    a = ap.parse_args(argv)
    try:
        return a.fn(a)
    except LoadError as e:  # the one line the user needs, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
