"""The ``playbook`` command: run, batch, check, prepare, new-shop.

Above 600 lines: one command-line entry point; each sub-command is a short function over the layers below.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from helpers.core.errors import LoadError

__all__ = [
    "cmd_check",
    "check_lines",
    "pd_concat_total",
    "cmd_run",
    "cmd_batch",
    "cmd_prepare",
    "cmd_lab",
    "cmd_new_shop",
    "main",
]


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
    for line in check_lines(a.shop_dir, a.as_of, a.rejects):
        print(line)
    return 0


def check_lines(
    shop_dir: str, as_of: str | None = None, rejects_path: str | None = None, files: int = 12
) -> list[str]:
    """What ``playbook check`` prints: a summary of at most ~40 lines whatever the input.

    Per file read/kept/rejected (the files with rejects first when there are more than
    ``files``), the total, rejects grouped by reason with a count and the first three rows
    each, the most common reason across all files; the full list of rejected rows is written
    to a CSV (``rejects_path``, default ``reports/<shop>/check_rejects.csv``) whose path is
    printed.
    """
    from helpers.load.shop import load_report, load_shop, reason_groups

    shop = load_shop(shop_dir, as_of=as_of)
    out = [f"{shop.config.name}: as of {shop.as_of.date()}"]
    rep = shop.report
    shown = rep
    if len(rep) > files:
        worst = rep[rep["rejected"] > 0].sort_values("rejected", ascending=False, kind="stable")
        shown = worst.head(files - 2) if len(worst) else rep.head(files - 2)
    with _pd_display():
        body = load_report(shop)
        table = pd_concat_total(shown, body.iloc[[-1]])
        out += table.to_string(index=False).splitlines()
    if len(shown) < len(rep):
        rest = rep.drop(index=shown.index)
        out.insert(
            len(out) - 1,
            f"… {len(rest):,} more files: {rest['read'].sum():,} rows read, "
            f"{rest['rejected'].sum():,} rejected",
        )
    for t, n in shop.after_as_of.items():
        if n:
            out.append(f"{t}: {n:,} rows after {shop.as_of.date()} left out")
    if len(shop.rejects):
        groups = reason_groups(shop.rejects)
        top = groups.iloc[0]
        out.append(
            f"rejected: {_rows(len(shop.rejects))}; most common reason: {_cut(top['reason'])} "
            f"({_rows(top['rows'])})"
        )
        for _, g in groups.head(8).iterrows():
            out.append(f"  {g['rows']:>8,} × {_cut(g['reason'])} ({g['first_rows']})")
        if len(groups) > 8:
            rest = groups.iloc[8:]
            out.append(f"  … {len(rest)} more reasons, {rest['rows'].sum():,} rows")
        path = Path(rejects_path or Path("reports") / shop.config.slug / "check_rejects.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        shop.rejects.to_csv(path, index=False, encoding="utf-8-sig")
        out.append(f"every rejected row: {path}")
    for note in shop.notes[:5]:
        out.append(f"note: {_cut(note, 150)}")
    if len(shop.notes) > 5:
        out.append(f"… {len(shop.notes) - 5} more notes")
    return out


def pd_concat_total(rows, total):
    import pandas as pd

    return pd.concat([rows, total], ignore_index=True)


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def _cut(text: str, n: int = 110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


class _pd_display:
    def __enter__(self):
        import pandas as pd

        self.ctx = pd.option_context("display.width", 160, "display.max_columns", 20)
        self.ctx.__enter__()

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)


def cmd_run(a) -> int:
    from helpers.run.kernels import run_pool

    only = _only(a.only)
    pool = run_pool(only)  # the kernel server imports while this process imports the rest

    from helpers.run.batch import shop_defaults
    from helpers.run.runner import run_shop

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
        started=pool,
    )
    for stem, why in res.failures.items():
        print(f"FAILED {stem}: {why}", file=sys.stderr)
    print(f"report: {res.out_dir / 'index.html'}")
    _pdf_line(a.pdf, res.out_dir)
    # At exit, Python's last collections walk the whole heap (0.3 s of a demo run): what is
    # left is freed with the process anyway.
    atexit.register(gc.freeze)
    return 1 if res.failures else 0


def _only(spec: str | None) -> list[str] | None:
    return [s.strip() for s in spec.split(",") if s.strip()] if spec else None


def _pdf_line(wanted: bool, out_dir: Path) -> None:
    from helpers.deliver.report import PDF_HINT, chromium

    if wanted and chromium() is None:
        print(f"no PDF: {PDF_HINT}", file=sys.stderr)
    elif wanted and (out_dir / "report.pdf").exists():
        print(f"pdf: {out_dir / 'report.pdf'}")


def cmd_batch(a) -> int:
    from helpers.run.batch import run_batch

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
    from helpers.run.prepare import prepare_shop

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
    from helpers.run import lab
    from helpers.run.prepare import prepare_shop

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


def _expand_inputs(specs: list[str]) -> list[Path]:
    """Files named on the command line: files, folders (their exports) and quoted globs."""
    import glob

    from helpers.load.config import EXPORT_SUFFIXES

    out: list[Path] = []
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in EXPORT_SUFFIXES)
            if not found:
                raise LoadError(spec, "folder holds no .csv / .xlsx exports")
        elif any(ch in spec for ch in "*?["):
            found = sorted(Path(f) for f in glob.glob(spec) if Path(f).is_file())
            if not found:
                raise LoadError(spec, "pattern matches no file")
        else:
            found = [p]
        out += [f for f in found if f not in out]
    names = [f.name for f in out]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:  # they are copied side by side into the shop folder
        raise LoadError(twice, "two input files have this name: rename one")
    return out


_BUILT_IN = {
    "taobao_orders": "orders",
    "taobao_items": "orders",
    "taobao_item_report": "orders",
    "taobao_short": "orders",
    "shopify_orders": "orders",
}


def _yaml_str(v) -> str:
    import json

    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a YAML scalar


def _comment(text: str) -> str:
    return "  # " + " ".join(str(text).split())


def _ask(question: str) -> bool:
    """Interactive yes/no, only on a terminal outside CI (the caller checks)."""
    try:
        answer = input(f"{question} [Y/n] ").strip().lower()
    except EOFError:
        return False
    return answer in ("", "y", "yes", "是", "好")


def cmd_new_shop(a) -> int:
    import os
    import secrets

    from helpers.load import onboard
    from helpers.load.adapters import detect
    from helpers.load.adapters.clean import read_raw

    dest = Path(a.dir)
    if dest.exists() and any(dest.iterdir()):
        raise LoadError(dest, "folder exists and is not empty: choose a new folder")
    files = _expand_inputs(a.files)
    tables: dict[str, list[Path]] = {}
    raws: list = []  # (file, raw, format) of the orders exports, for inference
    proposal = None
    mapped_headers: list[str] | None = None
    for f in files:
        raw, _ = read_raw(f)
        headers = [c for c in raw.columns if not str(c).startswith("_")]
        try:
            fmt = detect(headers, f.name)
        except LoadError:
            fmt = "generic"
        table = _BUILT_IN.get(fmt)
        if table is None and _canonical_orders(headers):
            table, fmt = "orders", "canonical"
        elif fmt == "canonical":  # the canonical names of another table (ads, traffic …)
            table = _canonical_table(headers, f)
        elif table is None:
            prop = onboard.propose_mapping(raw)
            if not {"order_time", "paid_amount", "order_id"} & set(prop.missing):
                table = "orders"  # an orders export in a dialect of its own
            else:  # a catalogue, traffic export … by its canonical or Chinese headers
                try:
                    table = _canonical_table(headers, f)
                except LoadError:
                    table = "orders"  # not recognised: propose what can be, say what cannot
            if table == "orders":
                fmt = "generic"
                if proposal is None:
                    proposal, mapped_headers = prop, headers
                elif headers != mapped_headers:
                    first = next(p.name for p, _, m in raws if m == "generic")
                    raise LoadError(
                        f.name,
                        f"headers differ from {first}: onboard files of one layout at a time",
                    )
        if table == "orders":
            raws.append((f, raw, fmt))
        tables.setdefault(table, []).append(f)
    if "orders" not in tables:
        raise LoadError(files[0].name, "none of the files is an orders export")

    raw0 = raws[0][1]
    guess = proposal or onboard.propose_mapping(raw0)  # built-in formats: for inference only
    mapping = guess.mapping
    time_col = mapping.get("order_time") or mapping.get("paid_time")
    if a.currency:
        currency = onboard.Inferred(a.currency.upper(), "given with --currency")
    else:
        currency = onboard.infer_currency(raw0, mapping)
    market = onboard.infer_market(raw0, mapping, currency.value)
    tz = onboard.infer_timezone(raw0, mapping, currency.value, market.value, time_col)
    if a.lang:
        lang = onboard.Inferred(a.lang, "given with --lang")
    elif currency.value == "CNY":
        lang = onboard.Inferred("zh", "Chinese pages for a CNY shop; en for English")
    else:
        lang = onboard.Inferred("en", f"English pages for a {currency.value} shop; zh for Chinese")

    # what the user sees: formats, the mapping, what could not be mapped, the inferences
    for f, _, fmt in raws:
        print(f"{f.name}: {'orders, columns proposed below' if fmt == 'generic' else fmt}")
    for t, fs in tables.items():
        if t != "orders":
            print(f"{', '.join(p.name for p in fs)}: {t}")
    if proposal is not None:
        print("\ncanonical      file column                confidence")
        for g in proposal.guesses:
            print(f"{g.canonical:<14} {g.column[:26]:<26} {g.confidence}")
        if proposal.unmapped:
            print(f"not mapped (ignored): {', '.join(proposal.unmapped)}")
        for line in proposal.rejected:
            print(f"not taken: {line}")
        for c in proposal.missing:
            print(f"not found: {c} — {_MISSING_TEXT[c]}")
    print(f"\ncurrency {currency.value} ({currency.evidence})")
    print(f"timezone {tz.value} ({tz.evidence})")
    print(f"market   {market.value or '?'} ({market.evidence})")
    print(f"lang     {lang.value}")
    interactive = sys.stdin.isatty() and not a.yes and not os.environ.get("CI")
    if interactive and not _ask(f"\nwrite {dest / 'shop.yaml'} with this?"):
        print(
            "nothing written: change the guesses with --currency/--lang, or edit the "
            "shop.yaml that `--yes` writes"
        )
        return 1

    dest.mkdir(parents=True, exist_ok=True)
    entries: dict[str, str | list[str]] = {}
    for t, fs in tables.items():
        suffixes = {p.suffix.lower() for p in fs}
        if len(fs) > 3 and len(suffixes) == 1:  # many files: a folder of their own, one glob
            (dest / t).mkdir(exist_ok=True)
            for p in fs:
                shutil.copy2(p, dest / t / p.name)
            entries[t] = f"{t}/*{suffixes.pop()}"
        else:
            for p in fs:
                shutil.copy2(p, dest / p.name)
            entries[t] = fs[0].name if len(fs) == 1 else [p.name for p in fs]

    lines = [
        f"# written by `playbook new-shop` from {len(files)} file(s). Each guess says what it",
        "# rests on; correct what is wrong, then run `playbook check` on this folder.",
        f"name: {_yaml_str(a.name or dest.name)}",
        f"salt: {_yaml_str(secrets.token_hex(16))}"
        + _comment("a secret of this shop's own: buyer ids cannot be guessed"),
        f"currency: {_yaml_str(currency.value)}" + _comment(_sure(currency)),
        f"timezone: {_yaml_str(tz.value)}" + _comment(_sure(tz)),
    ]
    if market.value:
        lines.append(f"market: {_yaml_str(market.value)}" + _comment(_sure(market)))
    lines += [
        "fiscal_year_start_month: 1",
        f"lang: {_yaml_str(lang.value)}" + _comment(lang.evidence),
    ]
    for t, entry in entries.items():
        listed = (
            _yaml_str(entry)
            if isinstance(entry, str)
            else "[" + ", ".join(_yaml_str(e) for e in entry) + "]"
        )
        if t == "orders" and proposal is not None:
            lines += [f"{t}:", f"  {'file' if isinstance(entry, str) else 'files'}: {listed}"]
            lines.append("  columns:")
            for g in proposal.guesses:
                lines.append(
                    f"    {g.canonical}: {_yaml_str(g.column)}"
                    + _comment(f"{g.confidence}: {g.why}")
                )
            for c in proposal.missing:
                lines.append(f"    # {c}: not found — {_MISSING_TEXT[c]}")
        else:
            lines.append(f"{t}: {listed}")
    (dest / "shop.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nwrote {dest / 'shop.yaml'}: check the guesses, then `playbook check {dest}`")
    return 0


_MISSING_TEXT = {
    "order_time": "required: map the order date/time column by hand",
    "paid_amount": "required: map the amount (or unit price) column by hand",
    "order_id": "required: map the order id, or a customer id to build it from",
    "customer_id": "customer analyses (RFM, CLV, repeat buyers) are skipped without it",
    "product_id": "a placeholder product stands in; product analyses say they need it",
}


def _sure(x) -> str:
    return x.evidence if x.sure else f"guess: {x.evidence}"


def _canonical_orders(headers: list[str]) -> bool:
    from helpers.load.adapters import detect

    try:
        return detect(headers, table="orders") == "canonical"
    except LoadError:
        return False


def _canonical_table(headers: list[str], f: Path) -> str:
    """The canonical table whose required columns the headers carry (names or Chinese aliases)."""
    from helpers.core import schema
    from helpers.load.adapters.generic import ALIASES

    headers = [h for h in headers if not str(h).startswith("_")]
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
    p.add_argument(
        "--rejects",
        metavar="CSV",
        help="where every rejected row is written (default reports/<shop>/check_rejects.csv)",
    )
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
    p.add_argument(
        "--from",
        dest="files",
        nargs="+",
        required=True,
        help="export files, folders or quoted globs ('day-files/*.csv')",
    )
    p.add_argument("--name")
    p.add_argument("--currency", help="ISO code; default: inferred from the data")
    p.add_argument("--lang", choices=["zh", "en"], help="default: zh for CNY shops, else en")
    p.add_argument("--yes", action="store_true", help="accept the proposal without asking")
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
