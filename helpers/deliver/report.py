"""Deliverables: an HTML page per notebook without code, an index page, an Excel workbook,
an optional PDF, and the portfolio index over many shops.

Pages are made for a shop owner: no code, no tracebacks, no developer notes (the notebook's
own Markdown cells and printed output stay in the executed notebook); the shop's name and the
analysis date on every page (and in the margin of every printed page); a table of contents
across notebooks; readable on a phone. Words come from the notebooks' message catalogue in
the report language, so the pages read in zh or en. Cells' Markdown output passes through
nbconvert unchanged, so shop text is escaped where notebooks write it (:func:`narrative.esc`);
DataFrame HTML is escaped by pandas; everything this module writes itself is escaped here.

Above 600 lines: the HTML pages, index, portfolio and front page share one page template and style.
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import pandas as pd

from helpers.data_files import DATA_DIR, read_yaml

__all__ = [
    "FONT",
    "CSS",
    "TITLES",
    "WORDS",
    "word",
    "title",
    "notebook_html",
    "sections",
    "index_html",
    "excel_workbook",
    "RawWorkbook",
    "FRONT_CSS",
    "FRONT_KPIS",
    "LOWER_IS_BETTER",
    "HANDOVER",
    "RAW_SUFFIX",
    "front_rules",
    "kpi_change",
    "kpi_tiles",
    "section_href",
    "front_items",
    "target_status",
    "front_page",
    "PDF_HINT",
    "chromium",
    "chromium_cmd",
    "html_to_pdf",
    "pdf_report",
    "PORTFOLIO_COLUMNS",
    "STATUS_WORDS",
    "portfolio_frame",
    "portfolio_html",
    "write_json",
]

FONT = (
    '-apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'
)

CSS = """
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 :root { --accent: #2F6DB5; --muted: #667; --line: #dde3ea; --bad: #b3261e; --ok: #1b7f3b; }
 * { box-sizing: border-box; }
 html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
 body { font-family: FONT; color: #1d2430; line-height: 1.6; margin: 0 auto; max-width: 1040px;
        padding: 0 16px 40px; font-size: 16px; background: #fff; }
 a { color: var(--accent); }
 .pb-head { border-bottom: 3px solid var(--accent); padding: 14px 0 10px; }
 .pb-head .shop { font-size: 1.35em; font-weight: 700; line-height: 1.3; }
 .pb-head .meta { color: var(--muted); font-size: 0.9em; }
 .pb-nav { display: flex; flex-wrap: wrap; gap: 6px; margin: 10px 0 18px; font-size: 0.9em; }
 .pb-nav a { padding: 3px 10px; border: 1px solid var(--line); border-radius: 14px;
             text-decoration: none; white-space: nowrap; }
 .pb-nav a.here { background: var(--accent); border-color: var(--accent); color: #fff; }
 h1 { font-size: 1.6em; line-height: 1.3; margin: 0.6em 0 0.4em; }
 h2 { font-size: 1.3em; margin: 1.2em 0 0.4em; padding-top: 0.6em;
      border-top: 1px solid var(--line); }
 h3 { font-size: 1.1em; margin: 1.2em 0 0.3em; }
 .anchor-link { display: none; }
 .output_area { margin: 0.4em 0; }
 .output_subarea { overflow-x: auto; max-width: 100%; }
 img { max-width: 100%; height: auto; display: block; margin: 0.4em 0; }
 table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0;
         font-variant-numeric: tabular-nums; }
 th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
 th { background: #f3f6fa; text-align: left; font-weight: 600; }
 td.n, th.n { text-align: right; white-space: nowrap; }
 tr:nth-child(even) td { background: #fafbfc; }
 .pb-fail { border-left: 4px solid var(--bad); background: #fdf1f0; padding: 10px 14px;
            margin: 12px 0; }
 .pb-ok { color: var(--ok); }
 .pb-bad { color: var(--bad); }
 .pb-toc { padding-left: 1.2em; }
 .pb-toc > li { margin: 0.5em 0; }
 .pb-toc ul { padding-left: 1.1em; font-size: 0.92em; color: var(--muted); }
 .pb-pager { display: flex; justify-content: space-between; gap: 10px; margin-top: 32px;
             padding-top: 12px; border-top: 1px solid var(--line); font-size: 0.95em; }
 .pb-foot { color: var(--muted); font-size: 0.8em; margin-top: 20px; }
 .pb-scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
 table.pb-sort td.pb-shop { white-space: normal; text-align: left; }
 .pb-why, .pb-note { width: max-content; max-width: min(30em, 80vw); white-space: normal; }
 .pb-why { color: var(--bad); font-size: .92em; margin-top: .25em; overflow-wrap: anywhere; }
 .pb-note { color: var(--muted); font-size: .88em; margin-top: .2em; }
 .pb-defaults { border: 1px solid var(--line); border-left: 4px solid #c98a00;
   padding: .4em .9em; margin: .8em 0; background: #fffaf0; }
 .pb-defaults ul { margin: .2em 0; padding-left: 1.2em; }
 table.pb-sort th { cursor: pointer; user-select: none; white-space: nowrap; }
 table.pb-sort th[aria-sort=ascending]::after { content: " ▲"; font-size: 0.75em; }
 table.pb-sort th[aria-sort=descending]::after { content: " ▼"; font-size: 0.75em; }
 table.pb-sort td:first-child, table.pb-sort th:first-child { position: sticky; left: 0;
   background: #fff; z-index: 1; box-shadow: 1px 0 0 var(--line); }
 table.pb-sort th:first-child { background: #f3f6fa; }
 table.pb-sort td { white-space: nowrap; }
 @media (max-width: 600px) {
   body { padding: 0 10px 30px; font-size: 15px; }
   h1 { font-size: 1.35em; } h2 { font-size: 1.15em; }
   table { font-size: 0.8em; } th, td { padding: 4px 6px; }
   th { white-space: nowrap; } td:not(.n) { min-width: 7em; }
 }
 @media print {
   body { max-width: none; padding: 0; font-size: 11pt; }
   .pb-nav, .pb-pager { display: none; }
   h2 { break-after: avoid; } img, tr { break-inside: avoid; }
   .pb-page + .pb-page { break-before: page; }
 }
</style>
""".replace("FONT", FONT)

TITLES = {
    "00": ("数据体检", "Data health"),
    "01": ("市场定位", "Market positioning"),
    "02": ("目标设定", "Target setting"),
    "03": ("货品分析", "Product analysis"),
    "04": ("客户分析", "Customer analysis"),
    "05": ("推广计划", "Promotion plan"),
    "06": ("优化复盘", "Optimisation review"),
}

WORDS = {
    "date": ("分析日期", "Analysis date"),
    "contents": ("目录", "Contents"),
    "report": ("报告目录", "Report contents"),
    "downloads": ("下载", "Downloads"),
    "loaded": ("数据加载", "Data loaded"),
    "failed": ("未完成", "did not finish"),
    "done": ("完成", "complete"),
    "stopped": (
        "这一部分没有运行完：{why}。下面是已经完成的内容。",
        "This part did not run to the end: {why}. What did complete is shown below.",
    ),
    "prev": ("上一篇", "Previous"),
    "next": ("下一篇", "Next"),
    "portfolio": ("店铺组合总览", "Portfolio overview"),
    "shops": ("店铺", "shops"),
    "sort_hint": ("点击表头排序。", "Click a column heading to sort."),
    "generated": ("生成于", "Generated"),
}


def word(key: str, lang: str) -> str:
    zh, en = WORDS[key]
    return zh if lang == "zh" else en


def title(stem: str, lang: str) -> str:
    zh, en = TITLES.get(stem[:2], (stem, stem))
    return zh if lang == "zh" else en


def _esc(x) -> str:
    return html.escape(str(x), quote=True)


def _header(shop: str, as_of: str, lang: str, pages: list[str], here: str | None) -> str:
    links = [
        f'<a href="index.html"{" class=here" if here is None else ""}>{word("contents", lang)}</a>'
    ]
    for p in pages:
        cls = " class=here" if p == here else ""
        links.append(f'<a href="{_esc(p)}.html"{cls}>{_esc(title(p, lang))}</a>')
    return (
        f'<header class="pb-head"><div class="shop">{_esc(shop)}</div>'
        f'<div class="meta">{word("date", lang)}: {_esc(as_of)}</div></header>'
        f'<nav class="pb-nav">{"".join(links)}</nav>'
    )


def _css_string(s: str) -> str:
    return (
        '"' + "".join(c if c.isalnum() or c in " .:-_·/()" else f"\\{ord(c):x} " for c in s) + '"'
    )


def _page_css(shop: str, as_of: str, lang: str) -> str:
    """Print margins carrying the shop's name, the date and the page number on every page."""
    return (
        "<style>@page { size: A4; margin: 16mm 12mm 14mm; "
        f"@top-left {{ content: {_css_string(shop)}; font-size: 9pt; color: #555; }} "
        f"@top-right {{ content: {_css_string(word('date', lang) + ': ' + as_of)}; "
        "font-size: 9pt; color: #555; } "
        '@bottom-right { content: counter(page) " / " counter(pages); font-size: 9pt; '
        "color: #555; } }</style>"
    )


def _document(shop: str, as_of: str, lang: str, page_title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{_esc(shop)} · {_esc(page_title)}</title>'
        f"{CSS}{_page_css(shop, as_of, lang)}</head><body>{body}</body></html>"
    )


PAGE_OPTIONS = dict(  # nbconvert's basic HTML of the results only: no code, prompts or text
    template_name="basic",
    exclude_input=True,
    exclude_input_prompt=True,
    exclude_output_prompt=True,
    exclude_markdown=True,
    exclude_raw=True,
    exclude_unknown=True,
    # the notebook checked against its schema once, after the last of nbconvert's twelve
    # preprocessors, not after each (eleven of them change nothing here): ~0.02 s a page
    optimistic_validation=True,
)
_NO_ALT = "No description has been provided for this image"
_IMG = re.compile(r"<img (?![^>]*\balt=)")


@cache
def _exporter():
    """One HTML exporter per process (building it and loading its templates costs ~0.1 s).

    nbconvert's HTML exporter parses every page it made with BeautifulSoup and writes it out
    again, to give images without one an ``alt`` text: more than half of a page's export time. Here the
    template's output is kept as it is and the same ``alt`` is added to each chart directly;
    the page is the same document (``tests/test_report.py`` parses both and compares them).
    """
    from helpers.deliver.imports import light_imports

    light_imports()
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            # HTMLExporter.from_notebook_node, less its BeautifulSoup pass
            info = nb.metadata.get("language_info", {})
            lexer = info.get("pygments_lexer", info.get("name", None))
            code = self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
            )
            resources = self._init_resources(resources)
            data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", code)
            self.register_filter("filter_data_type", data_type)
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _IMG.sub(f'<img alt="{_NO_ALT}" ', html), resources

    return PageExporter(**PAGE_OPTIONS)


def _client_view(nb):
    """Only what a shop owner reads: displayed results; no prints, warnings or tracebacks."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = [  # results only: a bare text/plain repr ("<Axes: ...>") is code talk
            o
            for o in cell.get("outputs", [])
            if o.get("output_type") in ("display_data", "execute_result")
            and set(o.get("data", {})) - {"text/plain"}
        ]
        if outs:
            cell.outputs = outs
            cells.append(cell)
    nb.cells = cells
    return nb


_NUM_CELL = re.compile(r"<td>([-+−]?[¥$€£]?[\d.,]+[%万亿kKM]?|[-–—]|)</td>")


def _align_numbers(body: str) -> str:
    """Right-align table cells holding a number (so digits line up on any screen)."""
    return _NUM_CELL.sub(r'<td class="n">\1</td>', body)


_BODY = re.compile(r"<!--pb-body-->(.*)<!--/pb-body-->", re.S)


def notebook_html(
    nb_path: Path,
    html_path: Path,
    shop: str,
    as_of: str,
    lang: str,
    pages: list[str],
    failure: str | None = None,
) -> Path:
    """Export an executed notebook to a client page: results only, no code or prompts.

    ``failure`` (one line) puts a notice at the top of a notebook that did not finish.
    """
    import nbformat

    nb = _client_view(nbformat.read(nb_path, as_version=4))
    body, _ = _exporter().from_notebook_node(nb)
    body = _align_numbers(body)
    stem = Path(nb_path).stem
    notice = (
        f'<div class="pb-fail">{word("stopped", lang).format(why=_esc(failure))}</div>'
        if failure
        else ""
    )
    i = pages.index(stem) if stem in pages else -1
    prev = (
        f'<a href="{_esc(pages[i - 1])}.html">← {_esc(title(pages[i - 1], lang))}</a>'
        if i > 0
        else f'<a href="index.html">← {word("contents", lang)}</a>'
    )
    nxt = (
        f'<a href="{_esc(pages[i + 1])}.html">{_esc(title(pages[i + 1], lang))} →</a>'
        if 0 <= i < len(pages) - 1
        else f'<a href="index.html">{word("contents", lang)} →</a>'
    )
    page = (
        f'{_header(shop, as_of, lang, pages, stem)}<main class="pb-page">'
        f"<!--pb-body-->{notice}{body}<!--/pb-body--></main>"
        f'<nav class="pb-pager">{prev}{nxt}</nav>'
    )
    Path(html_path).write_text(_document(shop, as_of, lang, title(stem, lang), page), "utf-8")
    return Path(html_path)


_H2 = re.compile(r'<h2 id="([^"]*)"[^>]*>(.*?)</h2>', re.S)


def sections(html_path: Path) -> list[tuple[str, str]]:
    """(anchor, heading text) of the level-2 headings of an exported page."""
    if not Path(html_path).exists():
        return []
    text = Path(html_path).read_text(encoding="utf-8")
    out = []
    for anchor, inner in _H2.findall(text):
        label = html.unescape(re.sub(r"<[^>]+>", "", inner)).replace("¶", "").strip()
        out.append((anchor, label))
    return out


def _label(key: str, lang: str) -> str:
    """A column label from the message catalogue; the key itself if the catalogue fails."""
    from helpers.present import narrative

    try:
        return narrative.label(key, lang)
    except Exception:  # a broken catalogue must not cost the report its index
        return key


def index_html(
    path: Path,
    shop: str,
    as_of: str,
    lang: str,
    pages: list[str],
    failed: dict[str, str],
    load_table: pd.DataFrame | None = None,
    extras: list[str] | None = None,
    notes: list[str] | None = None,
    front: str | None = None,
) -> Path:
    """The shop's index page: the table of contents across notebooks (with their sections),
    the notebooks that did not finish, and the downloads; ``front`` (HTML of the front
    page, :func:`front_page`) goes before the contents and replaces the downloads list.
    ``notes``: sentences shown first in a box (the defaults a shop without its own settings
    runs on)."""
    path = Path(path)
    items = []
    for p in pages:
        status = failed.get(p)
        mark = (
            f' <span class="pb-bad">— {word("failed", lang)}: {_esc(status)}</span>'
            if status
            else ' <span class="pb-ok">✓</span>'
        )
        subs = "".join(
            f'<li><a href="{_esc(p)}.html#{_esc(a)}">{_esc(t)}</a></li>'
            for a, t in sections(path.parent / f"{p}.html")
        )
        items.append(
            f'<li><a href="{_esc(p)}.html"><b>{_esc(title(p, lang))}</b></a>{mark}'
            + (f"<ul>{subs}</ul>" if subs else "")
            + "</li>"
        )
    downloads = "".join(f'<li><a href="{_esc(e)}">{_esc(e)}</a></li>' for e in (extras or []))
    boxed = "".join(f"<li>{_esc(n)}</li>" for n in notes or [])
    box = f'<div class="pb-defaults"><ul>{boxed}</ul></div>' if boxed else ""
    if front is None:
        body = (
            f"{_header(shop, as_of, lang, pages, None)}<main>{box}"
            f"<h1>{word('report', lang)}</h1><ol class=pb-toc>{''.join(items)}</ol>"
            f"<h2>{word('downloads', lang)}</h2><ul>{downloads}</ul>"
        )
    else:
        body = (
            f"{_header(shop, as_of, lang, pages, None)}<main>{box}{FRONT_CSS}{front}"
            f'<h2 id="contents">{word("report", lang)}</h2><ol class=pb-toc>{"".join(items)}</ol>'
        )
    if load_table is not None:
        shown = load_table.rename(columns=lambda c: _label(str(c), lang))
        table = shown.to_html(
            index=False, escape=True, border=0, na_rep="–", float_format=lambda v: f"{v:,.0f}"
        )
        table = _align_numbers(
            re.sub(r"<td>(\d{4,})</td>", lambda m: f"<td>{int(m.group(1)):,}</td>", table)
        )
        body += f"<h2>{word('loaded', lang)}</h2><div class=pb-scroll>{table}</div>"
    path.write_text(
        _document(shop, as_of, lang, word("contents", lang), body + "</main>"), encoding="utf-8"
    )
    return path


def excel_workbook(
    path: Path, sheets: list[tuple[str, pd.DataFrame]], lang: str = "zh", contents: bool = True
) -> Path:
    """Write tables to one workbook (the raw data: every saved table); text is never turned
    into a formula or link.

    Written by :func:`helpers.deliver.excel.write_workbook`, the one writer: a contents sheet, headers
    from the catalogue in ``lang``, codes shown by their labels, number formats, a frozen
    header; a table whose index is not a plain row number keeps it as its first columns.
    """
    from helpers.deliver.excel import write_workbook

    specs = [{"name": name, "df": df} for name, df in sheets]
    return write_workbook(path, specs, lang=lang, contents=contents, translate_codes=True)


class RawWorkbook:
    """The raw-data workbook of :func:`excel_workbook`, written while the notebooks run.

    ``add_ready(below)`` writes the tables saved in ``out_dir`` whose place in ``order``
    (:func:`helpers.load.artifacts.sheet_entries`) is below ``below`` (their notebooks are
    done), after those written before; ``finish`` writes the rest and closes the file. The
    file is the one :func:`excel_workbook` writes from every table at the end: if a table
    written early has changed since, or a table turns up that belongs before one already
    written (a later notebook saving under an earlier notebook's name), or an early write
    failed, ``finish`` writes the file again from scratch with :func:`excel_workbook`.
    """

    def __init__(self, path: Path, out_dir: Path, order: list[str], lang: str = "zh"):
        self.path, self.out_dir, self.order, self.lang = Path(path), Path(out_dir), order, lang
        self._book = None
        self._written: list[tuple[str, str, tuple]] = []  # (name, file, (mtime_ns, size))
        self._broken = False

    def _stat(self, file: str) -> tuple:
        st = (self.out_dir / "artifacts" / file).stat()
        return (st.st_mtime_ns, st.st_size)

    def _extend(self, entries: list) -> bool:
        """Write ``entries`` past those written; False when the written ones are not a
        prefix of ``entries`` as they are now."""
        from helpers.deliver.excel import WorkbookWriter

        done = [(name, f) for name, f, _ in self._written]
        if [(name, f) for _, name, _, f in entries[: len(done)]] != done or any(
            self._stat(f) != st for _, f, st in self._written
        ):
            return False
        for _, name, sheet, f in entries[len(done) :]:
            st = self._stat(f)
            df = pd.read_parquet(self.out_dir / "artifacts" / f)
            if self._book is None:
                self._book = WorkbookWriter(self.path, lang=self.lang, translate_codes=True)
            self._book.add({"name": sheet, "df": df})
            self._written.append((name, f, st))
        return True

    def add_ready(self, below: int) -> None:
        """Write the tables ranked below ``below`` not written yet (a page thread's spare
        time); a failure here only means ``finish`` writes the whole file."""
        from helpers.load.artifacts import sheet_entries

        if self._broken:
            return
        try:
            entries = [e for e in sheet_entries(self.out_dir, self.order) if e[0] < below]
            self._broken = not self._extend(entries)
        except Exception:
            self._broken = True

    def finish(self, fallback: list[tuple[str, pd.DataFrame]]) -> Path:
        """Write the remaining tables and close; ``fallback`` is the workbook's content when
        no table was saved at all. Returns the path."""
        from helpers.load.artifacts import sheet_entries, sheets

        if self._book is not None and not self._broken:
            try:
                ok = self._extend(sheet_entries(self.out_dir, self.order))
            except Exception:
                ok = False
            if ok:
                return self._book.close()
        if self._book is not None:
            self._book.close(contents=False)
        tables = sheets(self.out_dir, self.order)
        return excel_workbook(self.path, tables or fallback, lang=self.lang)


# --- the front page -------------------------------------------------------------------------

FRONT_CSS = """<style>
 .fp-meta { color: var(--muted); font-size: 0.92em; margin: 0.2em 0; }
 .fp-kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(128px, 1fr));
            gap: 10px; margin: 10px 0 6px; }
 .fp-kpi { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
           background: #fafbfc; min-width: 0; }
 .fp-kpi .k { color: var(--muted); font-size: 0.85em; }
 .fp-kpi .v { font-size: 1.45em; font-weight: 700; line-height: 1.25;
              font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
 .fp-kpi .d { font-size: 0.82em; color: var(--muted); }
 .fp-kpi .d.up { color: var(--ok); } .fp-kpi .d.down { color: var(--bad); }
 .fp-target { border-left: 4px solid var(--accent); background: #f3f6fa; padding: 8px 14px;
              margin: 8px 0; }
 .fp-list { padding-left: 1.3em; } .fp-list li { margin: 0.45em 0; }
 .fp-risks li::marker { color: var(--bad); }
 .fp-why { font-size: 0.85em; white-space: nowrap; }
 .fp-files li { margin: 0.35em 0; } .fp-files .note { color: var(--muted); font-size: 0.9em; }
 @media (max-width: 600px) {
   .fp-kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
   .fp-kpi { padding: 8px 9px; } .fp-kpi .v { font-size: 1.2em; }
   .fp-kpi:last-child:nth-child(odd) { grid-column: span 2; }
   .fp-why { white-space: normal; }
 }
</style>"""

# (KPI key in run.json, last year's key, label key, kind: money | int | pct)
FRONT_KPIS = [
    ("net_sales_12m", "net_sales_prev12m", "fp_net_sales", "money"),
    ("orders_12m", "orders_prev12m", "fp_orders", "int"),
    ("customers_12m", "customers_prev12m", "fp_buyers", "int"),
    ("revenue_per_buyer_12m", "revenue_per_buyer_prev12m", "fp_per_buyer", "money"),
    ("aov_12m", "aov_prev12m", "fp_per_order", "money"),
    ("repurchase_rate_12m", "repurchase_rate_prev12m", "fp_repeat", "pct"),
    ("refund_rate_12m", "refund_rate_prev12m", "fp_refund", "pct"),
]
LOWER_IS_BETTER = {"refund_rate_12m"}
# workbooks a shop owner opens first, in this order; then the PDF, other workbooks, raw data
HANDOVER = ["review.xlsx", "execution_plan.xlsx", "segments.xlsx"]
RAW_SUFFIX = "_raw_data.xlsx"


@cache
def front_rules() -> dict:
    """Thresholds of the front page's risks and actions (``data_files/front_page.yaml``)."""
    return read_yaml(DATA_DIR / "front_page.yaml")


def _say(key: str, lang: str, **values) -> str:
    from helpers.present import narrative

    return narrative.say(key, lang, **values)


def _num(v) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def kpi_change(now, before, kind: str) -> float | None:
    """Relative change for amounts and counts; the difference (in shares) for rates."""
    a, b = _num(now), _num(before)
    if a is None or b is None:
        return None
    if kind == "pct":
        return a - b
    return (a - b) / b if b else None


def _kpi_value(v, kind: str, cur: str, lang: str) -> str:
    from helpers.present import narrative

    v = _num(v)
    if v is None:
        return "–"
    if kind == "money":
        return narrative.money(v, cur, lang)
    if kind == "pct":
        return narrative.pct(v)
    return f"{v:,.0f}"


def _change_text(change: float, kind: str, lang: str) -> str:
    if kind == "pct":
        pts = change * 100
        return f"{pts:+.1f} {_say('fp_pp', lang)}"
    return f"{change:+.1%}"


def kpi_tiles(kpis: dict, cur: str, lang: str) -> str:
    """The KPI tiles: value (``data-v`` holds run.json's number) and the change on last year."""
    tiles = []
    for key, prev, lab, kind in FRONT_KPIS:
        if key not in kpis:
            continue
        v = kpis.get(key)
        ch = kpi_change(v, kpis.get(prev), kind)
        if ch is None:
            delta, cls = _say("fp_no_ly", lang), ""
        else:
            good = ch < 0 if key in LOWER_IS_BETTER else ch > 0
            cls = "" if ch == 0 else (" up" if good else " down")
            delta = _say("fp_vs_ly", lang, change=_change_text(ch, kind, lang))
        dv = "" if _num(v) is None else repr(_num(v))
        tiles.append(
            f'<div class="fp-kpi" data-key="{_esc(key)}" data-v="{dv}">'
            f'<div class="k">{_esc(_say(lab, lang))}</div>'
            f'<div class="v">{_esc(_kpi_value(v, kind, cur, lang))}</div>'
            f'<div class="d{cls}">{_esc(delta)}</div></div>'
        )
    return f'<div class="fp-kpis">{"".join(tiles)}</div>'


def section_href(out_dir: Path, stem: str, key: str, lang: str) -> str:
    """``NN_page.html#anchor`` of the section whose heading is message ``key`` (the page
    alone when the page does not show that section)."""
    from helpers.present import narrative

    entry = narrative.catalogue().get(key) or {}
    text = (entry.get(lang) or entry.get("en") or "").split("\n", 1)[0]
    head = text.lstrip("#").strip()
    for anchor, label in sections(Path(out_dir) / f"{stem}.html"):
        if head and label == head:
            return f"{stem}.html#{anchor}"
    return f"{stem}.html"


def _art(out_dir: Path, name: str):
    from helpers.load import artifacts

    try:
        return artifacts.load(out_dir, name)
    except (OSError, ValueError):  # a damaged artifact costs its risk, not the page
        return None


def _frame(out_dir: Path, name: str, cols: set[str]) -> pd.DataFrame | None:
    df = _art(out_dir, name)
    if isinstance(df, pd.DataFrame) and len(df) and cols <= set(df.columns):
        return df
    return None


def _day(v) -> str:
    try:
        t = pd.Timestamp(v)
    except (TypeError, ValueError):
        return str(v)
    return "–" if pd.isna(t) else str(t.date())


def _node_names(out_dir: Path, lang: str) -> dict[str, str]:
    """Festival series code and campaign id (``2026-nianhuo``, what the stock model plans
    on) -> its name in ``lang`` (from 05's campaign plan): no internal code on the page."""
    plan = _frame(out_dir, "campaign_plan", {"series"})
    col = "name_zh" if lang == "zh" else "name_en"
    if plan is None or col not in plan:
        return {}
    names = {str(s): str(n) for s, n in zip(plan["series"], plan[col], strict=False)}
    if "campaign_id" in plan:
        names.update({str(c): str(n) for c, n in zip(plan["campaign_id"], plan[col], strict=False)})
    return names


def front_items(
    out_dir: Path, as_of: str, lang: str, kpis: dict, cur: str, failed: dict[str, str]
) -> tuple[list[dict], list[dict]]:
    """(risks, actions) of the front page, each ``{"text", "href", "kind"}``, from the
    artifacts the pages saved and the run's KPIs; the most pressing first."""
    from helpers.present import narrative

    out_dir = Path(out_dir)
    rules = front_rules()
    today = pd.Timestamp(as_of).normalize()
    money = lambda x: narrative.money(float(x), cur, lang)  # noqa: E731
    nodes = _node_names(out_dir, lang)
    risks: list[dict] = []
    actions: list[dict] = []

    def href(stem: str, key: str) -> str:
        return section_href(out_dir, stem, key, lang)

    def node_name(code) -> str:
        """A campaign or festival by its name, never its code."""
        return nodes.get(str(code), narrative.label(str(code), lang))

    def item(kind: str, key: str, vals: dict, stem: str, section: str) -> dict:
        """A risk or an action: its sentence and the section of the page that justifies it."""
        return {"kind": kind, "text": _say(key, lang, **vals), "href": href(stem, section)}

    # stock-outs before a festival node (03's stock model)
    risk = _frame(out_dir, "product_stock_risk", {"status", "title", "product_id"})
    if risk is not None:
        short = risk[risk["status"].isin(["node_late", "node_risk"])]
        if "shortfall" in short:
            short = short.sort_values("shortfall", ascending=False, kind="stable")
        if len(short):
            top = short.iloc[0]
            node = node_name(top.get("node"))
            risks.append(
                {
                    "kind": "stock",
                    "text": _say(
                        "fp_risk_stock"
                        if (short["status"] == "node_late").any()
                        else "fp_risk_stock_in_time",
                        lang,
                        n=len(short),
                        late=int((short["status"] == "node_late").sum()),
                        node=node,
                        title=top["title"],
                        id=top["product_id"],
                        short=f"{float(top.get('shortfall', 0) or 0):,.0f}",
                        by=_day(top.get("reorder_by")),
                    ),
                    "href": href("03_product_analysis", "h03_stock"),
                }
            )
    # a hero (a top seller) in decline (03's life-cycle)
    life = _frame(out_dir, "product_lifecycle", {"product_id", "lifecycle"})
    roles = _frame(out_dir, "product_roles", {"product_id", "net_sales"})
    if life is not None and roles is not None:
        top_n = int(rules["hero_top"])
        heroes = roles.sort_values("net_sales", ascending=False, kind="stable").head(top_n)
        dec = heroes[
            heroes["product_id"].isin(life.loc[life["lifecycle"] == "declining", "product_id"])
        ]
        if len(dec):
            h = dec.iloc[0]
            risks.append(
                {
                    "kind": "hero",
                    "text": _say(
                        "fp_risk_hero",
                        lang,
                        n=len(dec),
                        top=top_n,
                        title=h.get("title", h["product_id"]),
                        id=h["product_id"],
                    ),
                    "href": href("03_product_analysis", "h03_lifecycle"),
                }
            )
            actions.append(
                {
                    "kind": "hero",
                    "text": _say(
                        "fp_do_hero",
                        lang,
                        title=h.get("title", h["product_id"]),
                        id=h["product_id"],
                    ),
                    "href": href("03_product_analysis", "h03_lifecycle"),
                }
            )
    # a KPI moving the wrong way on last year, then the latest anomalous day (06)
    for key, prev, lab, kind in FRONT_KPIS:
        ch = kpi_change(kpis.get(key), kpis.get(prev), kind)
        limit = rules["kpi_alarm"].get(key)
        if ch is None or limit is None:
            continue
        bad = ch >= float(limit) if key in LOWER_IS_BETTER else ch <= float(limit)
        if bad:
            risks.append(
                {
                    "kind": "kpi",
                    "text": _say(
                        "fp_risk_kpi",
                        lang,
                        kpi=_say(lab, lang),
                        change=_change_text(ch, kind, lang),
                        now=_kpi_value(kpis.get(key), kind, cur, lang),
                        before=_kpi_value(kpis.get(prev), kind, cur, lang),
                    ),
                    "href": href("06_optimisation_review", "h06_drivers"),
                }
            )
    anom = _frame(out_dir, "anomalies", {"date", "net_sales", "expected"})
    if anom is not None:
        recent = anom[
            pd.to_datetime(anom["date"]) > today - pd.Timedelta(days=int(rules["anomaly_days"]))
        ]
        if len(recent):
            a = recent.sort_values("date", ascending=False, kind="stable").iloc[0]
            change = float(a["net_sales"]) / float(a["expected"]) - 1 if a["expected"] else 0.0
            driver = narrative.label(str(a.get("driver", "")), lang)
            text = dict(
                date=_day(a["date"]),
                actual=money(a["net_sales"]),
                expected=money(a["expected"]),
                change=f"{change:+.0%}",
                driver=driver,
            )
            risks.append(
                item("anomaly", "fp_risk_anomaly", text, "06_optimisation_review", "h06_anomalies")
            )
            actions.append(
                item("anomaly", "fp_do_anomaly", text, "06_optimisation_review", "h06_anomalies")
            )
    # execution tasks overdue or due to start (05)
    plan = _frame(out_dir, "execution_plan", {"status", "task", "due"})
    if plan is not None:
        late = plan[plan["status"] == "late"].sort_values("due", kind="stable")
        if len(late):
            t = late.iloc[0]
            risks.append(
                {
                    "kind": "tasks",
                    "text": _say(
                        "fp_risk_tasks",
                        lang,
                        n=len(late),
                        task=t["task"],
                        owner=t.get("owner", ""),
                        due=_day(t["due"]),
                    ),
                    "href": href("05_promotion_plan", "h05_execution"),
                }
            )
        week = today + pd.Timedelta(days=7)
        soon = plan[
            (plan["status"].isin(["late", "start_now"]))
            | (pd.to_datetime(plan.get("start", plan["due"])) <= week) & (plan["status"] != "done")
        ].sort_values("due", kind="stable")
        soon = soon.head(int(rules["task_actions"]))
        task_text = " ".join(map(str, soon["task"]))
        for _, t in soon.iterrows():
            actions.append(
                {
                    "kind": "tasks",
                    "text": _say(
                        "fp_do_task",
                        lang,
                        task=t["task"],
                        owner=t.get("owner", ""),
                        due=_day(t["due"]),
                        status=narrative.label(f"task_{t['status']}", lang),
                    ),
                    "href": href("05_promotion_plan", "h05_execution"),
                }
            )
    # reorders (03's stock model: shortfall before the node, latest order date)
    if risk is not None and {"shortfall", "reorder_by"} <= set(risk.columns):
        re_ = risk[risk["status"].isin(["node_late", "node_risk"]) & (risk["shortfall"] > 0)]
        re_ = re_.sort_values(["reorder_by", "shortfall"], ascending=[True, False], kind="stable")
        n_short = len(re_)
        if plan is not None:  # a product an execution task already reorders is not repeated
            re_ = re_[[str(p) not in task_text for p in re_["product_id"]]]
        if len(re_):
            r = re_.iloc[0]
            node = node_name(r.get("node"))
            actions.append(
                {
                    "kind": "stock",
                    "text": _say(
                        "fp_do_reorder",
                        lang,
                        n=n_short,
                        title=r["title"],
                        id=r["product_id"],
                        qty=f"{math.ceil(float(r['shortfall'])):,}",
                        by=_day(r["reorder_by"]),
                        node=node,
                    ),
                    "href": href("03_product_analysis", "h03_stock"),
                }
            )
    # clearance (05)
    clear = _frame(out_dir, "clearance_candidates", {"product_id", "title"})
    if clear is not None:
        if "stock_value" in clear:
            clear = clear.sort_values("stock_value", ascending=False, kind="stable")
        c = clear.iloc[0]
        value = clear["stock_value"].sum() if "stock_value" in clear else float("nan")
        actions.append(
            {
                "kind": "clearance",
                "text": _say(
                    "fp_do_clear",
                    lang,
                    n=len(clear),
                    value=money(value) if value == value else "–",
                    title=c["title"],
                    id=c["product_id"],
                ),
                "href": href("05_promotion_plan", "h05_threshold"),
            }
        )
    # re-marketing lists (04)
    lists = _frame(out_dir, "segment_lists", {"list", "customers"})
    if lists is not None:
        pick = lists[lists["list"].isin(rules["remarketing_lists"])]
        pick = pick[pick["customers"] > 0]
        if len(pick):
            order = {k: i for i, k in enumerate(rules["remarketing_lists"])}
            r = pick.assign(_o=pick["list"].map(order)).sort_values("_o", kind="stable").iloc[0]
            name = r.get("sheet") if isinstance(r.get("sheet"), str) else r["list"]
            actions.append(
                {
                    "kind": "lists",
                    "text": _say("fp_do_lists", lang, list=name, n=f"{int(r['customers']):,}"),
                    "href": href("04_customer_analysis", "h04_export"),
                }
            )
    # issues past their due date (06)
    issues = _frame(out_dir, "open_issues", {"overdue_days", "description"})
    if issues is not None:
        over = issues[issues["overdue_days"] > 0].sort_values(
            "overdue_days", ascending=False, kind="stable"
        )
        if len(over):
            i = over.iloc[0]
            vals = dict(
                n=len(over),
                days=int(i["overdue_days"]),
                desc=i["description"],
                owner=i.get("owner", ""),
            )
            risks.append(
                item("issues", "fp_risk_issues", vals, "06_optimisation_review", "h06_issues")
            )
            actions.append(
                item("issues", "fp_do_issues", vals, "06_optimisation_review", "h06_issues")
            )
    # the month's target (02)
    months = _frame(out_dir, "targets_month", {"period", "start", "end", "target_sales"})
    if months is not None:
        ahead = months[
            (pd.to_datetime(months["end"]) > today)
            & (
                pd.to_datetime(months["start"])
                <= today + pd.Timedelta(days=int(rules["month_days"]))
            )
        ].sort_values("start", kind="stable")
        if len(ahead):
            m = ahead.iloc[0]
            actions.append(
                {
                    "kind": "target",
                    "text": _say(
                        "fp_do_month",
                        lang,
                        month=m["period"],
                        target=money(m["target_sales"]),
                        start=_day(m["start"]),
                    ),
                    "href": href("02_target_setting", "h02_split"),
                }
            )
    # data health: rejected rows, pages that did not finish (00)
    load = _frame(out_dir, "load_report", {"file", "table", "rejected"})
    if load is not None:  # the files' rows, not the total row
        load = load[load["table"].astype(str).str.len() > 0]
    if load is not None and load["rejected"].sum() > 0:
        bad = load[load["rejected"] > 0]
        risks.append(
            {
                "kind": "data",
                "text": _say(
                    "fp_risk_rejected",
                    lang,
                    n=f"{int(bad['rejected'].sum()):,}",
                    files=", ".join(map(str, bad["file"])),
                ),
                "href": href("00_data_health", "h00_accounting"),
            }
        )
    for stem, why in failed.items():
        risks.append(
            {
                "kind": "data",
                "text": _say("fp_risk_failed", lang, page=title(stem, lang), why=why),
                "href": f"{stem}.html",
            }
        )
    return risks[: int(rules["max_risks"])], _pick_actions(actions, int(rules["max_actions"]))


def _pick_actions(actions: list[dict], most: int) -> list[dict]:
    """At most ``most`` actions, one of each kind before a second of any kind, the kinds in
    the order of ``action_order`` (``front_page.yaml``)."""
    rank = {k: i for i, k in enumerate(front_rules()["action_order"])}
    actions = sorted(actions, key=lambda a: rank.get(a["kind"], len(rank)))
    out, seen = [], set()
    for a in actions:
        if a["kind"] not in seen:
            out.append(a)
            seen.add(a["kind"])
    for a in actions:
        if len(out) >= most:
            break
        if a not in out:
            out.append(a)
    return out[:most]


def target_status(out_dir: Path, kpis: dict, as_of: str, cur: str, lang: str) -> str:
    """One or two sentences on the target (02's saved targets) and the pacing to date."""
    from helpers.present import narrative

    money = lambda x: narrative.money(float(x), cur, lang)  # noqa: E731
    meta = _art(Path(out_dir), "targets_meta")
    if not isinstance(meta, dict) or _num(kpis.get("target_annual")) is None:
        return _say("fp_no_target", lang)
    parts = [
        _say(
            "fp_target_set",
            lang,
            fy=kpis.get("target_fy") or meta.get("fy"),
            target=money(kpis["target_annual"]),
            last=money(kpis["last_year_actual"])
            if _num(kpis.get("last_year_actual")) is not None
            else "–",
            growth=narrative.pct(_num(kpis.get("target_growth")) or 0.0),
            low=money(meta["target_low"]) if _num(meta.get("target_low")) is not None else "–",
            high=money(meta["target_high"]) if _num(meta.get("target_high")) is not None else "–",
        )
    ]
    att = _num(kpis.get("attainment"))
    if att is not None:
        parts.append(
            _say(
                "fp_target_pace",
                lang,
                as_of=as_of,
                actual=money(kpis["actual_to_date"]),
                target=money(kpis["target_to_date"]),
                att=narrative.pct(att),
                verdict=_say("fp_pace_ahead" if att >= 1 else "fp_pace_behind", lang),
            )
        )
    elif meta.get("start"):
        parts.append(_say("fp_target_not_started", lang, start=_day(meta["start"])))
    return " ".join(parts)


def _downloads(out_dir: Path, lang: str, extras: list[str]) -> str:
    """Every workbook in the report folder (hand-over ones first, raw data last), the other
    downloads and the executed notebooks."""
    out_dir = Path(out_dir)
    books = sorted(p.name for p in out_dir.glob("*.xlsx"))
    files = [f for f in HANDOVER if f in books]
    files += [e for e in extras if e not in files and not e.endswith(RAW_SUFFIX)]
    files += [b for b in books if b not in files and not b.endswith(RAW_SUFFIX)]
    files += [b for b in [*books, *extras] if b.endswith(RAW_SUFFIX) and b not in files]
    notes = {
        "review.xlsx": "fp_wb_review",
        "execution_plan.xlsx": "fp_wb_plan",
        "segments.xlsx": "fp_wb_segments",
        "report.pdf": "fp_wb_pdf",
    }
    items = []
    for f in dict.fromkeys(files):
        key = "fp_wb_raw" if f.endswith(RAW_SUFFIX) else notes.get(f)
        note = f' <span class="note">— {_esc(_say(key, lang))}</span>' if key else ""
        items.append(f'<li><a href="{_esc(f)}">{_esc(f)}</a>{note}</li>')
    nbs = sorted((out_dir / "notebooks").glob("*.ipynb"))
    if nbs:
        links = " · ".join(
            f'<a href="notebooks/{_esc(p.name)}">{_esc(title(p.stem, lang))}</a>' for p in nbs
        )
        items.append(f"<li>{_esc(_say('fp_notebooks', lang))}: {links}</li>")
    return f'<ul class="fp-files">{"".join(items)}</ul>'


def _coverage(out_dir: Path, as_of: str, lang: str, load_table: pd.DataFrame | None) -> str:
    """Period compared and the data behind it (00's monthly orders and load report)."""
    end = pd.Timestamp(as_of).normalize()
    start = end - pd.DateOffset(months=12) + pd.Timedelta(days=1)
    pstart, pend = start - pd.DateOffset(months=12), start - pd.Timedelta(days=1)
    lines = [
        _say(
            "fp_period",
            lang,
            start=str(start.date()),
            end=str(end.date()),
            pstart=str(pstart.date()),
            pend=str(pend.date()),
        )
    ]
    months = _frame(Path(out_dir), "monthly_orders", {"month", "orders", "lines"})
    files = (
        [str(f) for f, t in zip(load_table["file"], load_table["table"], strict=False) if t]
        if load_table is not None and {"file", "table"} <= set(load_table.columns)
        else []
    )
    tables = ", ".join(dict.fromkeys(f for f in files if f and f != "nan"))

    if months is not None:
        m = pd.to_datetime(months["month"])
        lines.append(
            _say(
                "fp_coverage",
                lang,
                first=m.min().strftime("%Y-%m"),
                last=m.max().strftime("%Y-%m"),
                orders=f"{int(months['orders'].sum()):,}",
                lines=f"{int(months['lines'].sum()):,}",
                tables=tables or "–",
            )
        )
    return "".join(f'<p class="fp-meta">{_esc(t)}</p>' for t in lines)


def front_page(
    path: Path,
    shop: str,
    as_of: str,
    lang: str,
    pages: list[str],
    failed: dict[str, str],
    kpis: dict,
    currency: str = "CNY",
    load_table: pd.DataFrame | None = None,
    extras: list[str] | None = None,
    notes: list[str] | None = None,
) -> Path:
    """The shop's front page (``index.html``): period and data coverage, KPI tiles against
    last year, target status, the top risks, this week's actions (each linked to the section
    that justifies it), the workbooks and notebooks, then the contents and the load report;
    ``notes`` (the defaults a shop without its own settings runs on) in a box first.
    Every piece of shop text is escaped."""
    path = Path(path)
    out_dir = path.parent
    risks, actions = front_items(out_dir, as_of, lang, kpis, currency, failed)

    def items(rows: list[dict], cls: str) -> str:
        if not rows:
            return f"<p>{_esc(_say('fp_none', lang))}</p>"
        lis = "".join(
            f'<li data-kind="{_esc(r["kind"])}">{_esc(r["text"])} '
            f'<a class="fp-why" href="{_esc(r["href"])}">{_esc(_say("fp_why", lang))} →</a></li>'
            for r in rows
        )
        return f'<ol class="fp-list {cls}">{lis}</ol>'

    body = (
        f"<h1>{_esc(_say('fp_title', lang))}</h1>"
        + _coverage(out_dir, as_of, lang, load_table)
        + f'<h2 id="kpis">{_esc(_say("fp_kpis", lang))}</h2>'
        + kpi_tiles(kpis, currency, lang)
        + f'<p class="pb-foot">{_esc(_say("fp_kpi_note", lang))}</p>'
        + f'<h2 id="target">{_esc(_say("fp_target", lang))}</h2>'
        + f'<div class="fp-target">{_esc(target_status(out_dir, kpis, as_of, currency, lang))}</div>'
        + f'<h2 id="risks">{_esc(_say("fp_risks", lang))}</h2>'
        + items(risks, "fp-risks")
        + f'<h2 id="week">{_esc(_say("fp_week", lang))}</h2>'
        + items(actions, "fp-actions")
        + f'<h2 id="downloads">{_esc(_say("fp_workbooks", lang))}</h2>'
        + _downloads(out_dir, lang, extras or [])
    )
    return index_html(
        path, shop, as_of, lang, pages, failed, load_table, None, notes=notes, front=body
    )


# --- PDF through headless Chromium ------------------------------------------------------------

PDF_HINT = "PDF needs Chromium: apt-get install chromium"


def chromium() -> str | None:
    """The Chromium (or Chrome) executable, if one is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_cmd(exe: str, profile: str, *args: str) -> list[str]:
    return [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]


def html_to_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> Path | None:
    """Print a page to PDF with headless Chromium; None when Chromium is not installed."""
    exe = chromium()
    if exe is None:
        return None
    with tempfile.TemporaryDirectory(prefix="pb-chromium-") as profile:
        subprocess.run(
            chromium_cmd(
                exe,
                profile,
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf_path}",
                Path(html_path).resolve().as_uri(),
            ),
            check=True,
            timeout=timeout,
            capture_output=True,
        )
    return Path(pdf_path) if Path(pdf_path).exists() else None


def pdf_report(out_dir: Path, shop: str, as_of: str, lang: str, pages: list[str]) -> Path | None:
    """All pages of a shop's report in one PDF (``report.pdf``); None without Chromium."""
    if chromium() is None:
        return None
    out_dir = Path(out_dir)
    parts = []
    for p in pages:
        f = out_dir / f"{p}.html"
        m = _BODY.search(f.read_text(encoding="utf-8")) if f.exists() else None
        if m:
            parts.append(f'<section class="pb-page">{m.group(1)}</section>')
    head = (
        f'<header class="pb-head"><div class="shop">{_esc(shop)}</div>'
        f'<div class="meta">{word("date", lang)}: {_esc(as_of)}</div></header>'
    )
    whole = out_dir / ".print.html"
    whole.write_text(
        _document(shop, as_of, lang, word("report", lang), head + "".join(parts)), encoding="utf-8"
    )
    try:
        return html_to_pdf(whole, out_dir / "report.pdf")
    finally:
        whole.unlink(missing_ok=True)


# --- portfolio index --------------------------------------------------------------------------

# key, zh, en, kind (text, status, money, int, pct, date, sec)
PORTFOLIO_COLUMNS = [
    ("shop", "店铺", "Shop", "text"),
    ("status", "状态", "Status", "status"),
    ("net_sales_12m", "近12个月净销售额", "Net sales, last 12 months", "money"),
    ("orders_12m", "订单数", "Orders", "int"),
    ("customers_12m", "支付买家数", "Buyers", "int"),
    ("aov_12m", "笔单价", "Average order value", "money"),
    ("revenue_per_buyer_12m", "客单价", "Revenue per buyer", "money"),
    ("refund_rate_12m", "退款退货率", "Refund and return rate", "pct"),
    ("return_rate_12m", "退货率(金额)", "Return rate (money)", "pct"),
    ("target_fy", "目标财年", "Target year", "text"),
    ("target_annual", "年度目标", "Annual target", "money"),
    ("last_year_actual", "上年实际", "Last year actual", "money"),
    ("target_growth", "目标增长", "Target growth", "pct"),
    ("target_to_date", "目标至今", "Target to date", "money"),
    ("actual_to_date", "实际至今", "Actual to date", "money"),
    ("attainment", "达成率", "Attainment", "pct"),
    ("as_of", "分析日期", "As of", "text"),
    ("seconds", "用时(秒)", "Seconds", "sec"),
    ("message", "说明", "Note", "text"),
]

STATUS_WORDS = {
    "ok": ("完成", "complete"),
    "skipped": ("未变,沿用", "unchanged"),
    "failed": ("部分失败", "part failed"),
    "error": ("数据错误", "data error"),
}

_SORT_JS = """<script>
document.querySelectorAll("table.pb-sort").forEach(function (t) {
  var heads = t.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, i) {
    th.tabIndex = 0;
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(r) { var c = r.cells[i]; return c.hasAttribute("data-v") ? c.getAttribute("data-v") : c.textContent.trim(); }
      rows.sort(function (x, y) {
        var a = key(x), b = key(y);
        if (a === "" || b === "") { return a === b ? 0 : (a === "" ? 1 : -1); }
        var na = Number(a), nb = Number(b), r;
        r = (!isNaN(na) && !isNaN(nb)) ? na - nb : a.localeCompare(b, "zh");
        return asc ? r : -r;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
  });
});
</script>"""


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v == ""


def _fmt(v, kind: str, cur: str, lang: str) -> str:
    from helpers.present import narrative

    if _blank(v):
        return ""
    if kind == "money":
        return narrative.money(float(v), cur, lang)
    if kind == "pct":
        return f"{float(v):.1%}"
    if kind == "int":
        return f"{int(v):,}"
    if kind == "sec":
        return f"{float(v):.1f}"
    return str(v)


def portfolio_frame(rows: list[dict], lang: str) -> pd.DataFrame:
    """The portfolio as a table of plain values (numbers stay numbers) with report links."""
    zh = lang == "zh"
    data = []
    for r in rows:
        rec = {}
        for key, lzh, len_, kind in PORTFOLIO_COLUMNS:
            v = r.get(key)
            if kind == "status":
                v = STATUS_WORDS.get(v, (v, v))[0 if zh else 1]
            rec[lzh if zh else len_] = None if _blank(v) else v
        rec["币种" if zh else "Currency"] = r.get("currency") or ""
        rec["报告" if zh else "Report"] = r.get("link") or ""
        data.append(rec)
    return pd.DataFrame(data)


def portfolio_html(path: Path, rows: list[dict], lang: str, generated: str = "") -> Path:
    """One page over all shops: status, sales against target, key KPIs, a link to each report.

    Each row of ``rows`` has the keys of :data:`PORTFOLIO_COLUMNS` plus ``currency`` and
    ``link`` (relative path of the shop's index page, or None). Shop names are escaped; the
    table sorts by any column (inline script, numbers by value, blanks last).
    """
    zh = lang == "zh"
    shown = [c for c in PORTFOLIO_COLUMNS if c[0] != "message"]  # the reason sits by the name
    heads = "".join(
        f'<th scope="col">{_esc(lzh if zh else len_)}</th>' for _, lzh, len_, _ in shown
    )
    body_rows = []
    for r in rows:
        cur = r.get("currency") or "CNY"
        cells = []
        for key, _, _, kind in shown:
            v = r.get(key)
            if key == "shop":
                name = _esc(v)
                cell = f'<a href="{_esc(r["link"])}">{name}</a>' if r.get("link") else name
                if r.get("status") not in ("ok", "skipped") and r.get("message"):
                    # the reason in full, under the name: on screen at any width
                    cell += f'<div class="pb-why">{_esc(r["message"])}</div>'
                for d in r.get("defaults") or []:
                    cell += f'<div class="pb-note">{_esc(_default_word(d, cur, lang))}</div>'
                cells.append(f'<td class="pb-shop" data-v="{_esc(v)}">{cell}</td>')
            elif kind == "status":
                cls = "pb-ok" if v in ("ok", "skipped") else "pb-bad"
                label = STATUS_WORDS.get(v, (v, v))[0 if zh else 1]
                cells.append(f'<td class="{cls}" data-v="{_esc(v)}">{_esc(label)}</td>')
            elif kind in ("money", "pct", "int", "sec"):
                dv = "" if _blank(v) else repr(float(v))
                cells.append(f'<td data-v="{dv}">{_esc(_fmt(v, kind, cur, lang))}</td>')
            else:
                text = "" if _blank(v) else str(v)
                cells.append(f"<td>{_esc(text)}</td>")
        body_rows.append("<tr>" + "".join(cells) + "</tr>")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("status", "")] = counts.get(r.get("status", ""), 0) + 1
    summary = " · ".join(
        f"{STATUS_WORDS.get(k, (k, k))[0 if zh else 1]} {n}" for k, n in sorted(counts.items())
    )
    page = (
        f'<header class="pb-head"><div class="shop">{word("portfolio", lang)}</div>'
        f'<div class="meta">{len(rows)} {word("shops", lang)} · {_esc(summary)}'
        + (f" · {word('generated', lang)} {_esc(generated)}" if generated else "")
        + "</div></header><main>"
        f'<p class="pb-foot">{word("sort_hint", lang)}</p>'
        f'<div class="pb-scroll"><table class="pb-sort"><thead><tr>{heads}</tr></thead>'
        f"<tbody>{''.join(body_rows)}</tbody></table></div></main>{_SORT_JS}"
    )
    doc = (
        f'<!doctype html><html lang="{"zh-CN" if zh else "en"}"><head><meta charset="utf-8">'
        f"<title>{word('portfolio', lang)}</title>{CSS}</head><body>{page}</body></html>"
    )
    Path(path).write_text(doc, encoding="utf-8")
    return Path(path)


def _default_word(key: str, currency: str, lang: str) -> str:
    """A shop's default setting, short, for the portfolio row (``default_salt`` …)."""
    from helpers.present import narrative

    return narrative.say(f"{key}_short", lang, currency=currency)


def write_json(path: Path, obj) -> Path:
    """Write JSON through a temporary file and a rename (readers never see half a file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)
    return path
