"""Deliverables: an HTML page per notebook without code, an index page, an Excel workbook,
an optional PDF, and the portfolio index over many shops.

Pages are made for a shop owner: no code, no tracebacks, no developer notes (the notebook's
own Markdown cells and printed output stay in the executed notebook); the shop's name and the
analysis date on every page (and in the margin of every printed page); a table of contents
across notebooks; readable on a phone. Words come from the notebooks' message catalogue in
the report language, so the pages read in zh or en. Cells' Markdown output passes through
nbconvert unchanged, so shop text is escaped where notebooks write it (:func:`narrative.esc`);
DataFrame HTML is escaped by pandas; everything this module writes itself is escaped here.
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


@cache
def _exporter():
    """One HTML exporter per process (building it and loading its templates costs ~0.1 s)."""
    from .runner import light_imports

    light_imports()
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=True,
        exclude_raw=True,
        exclude_unknown=True,
    )


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
    from . import narrative

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
) -> Path:
    """The shop's index page: the table of contents across notebooks (with their sections),
    the notebooks that did not finish, and the downloads."""
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
    body = (
        f"{_header(shop, as_of, lang, pages, None)}<main>"
        f"<h1>{word('report', lang)}</h1><ol class=pb-toc>{''.join(items)}</ol>"
        f"<h2>{word('downloads', lang)}</h2><ul>{downloads}</ul>"
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

    Written by :func:`helpers.excel.write_workbook`, the one writer: a contents sheet, headers
    from the catalogue in ``lang``, codes shown by their labels, number formats, a frozen
    header; a table whose index is not a plain row number keeps it as its first columns.
    """
    from .excel import write_workbook

    specs = [{"name": name, "df": df} for name, df in sheets]
    return write_workbook(path, specs, lang=lang, contents=contents, translate_codes=True)


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
    ("customers_12m", "客户数", "Customers", "int"),
    ("aov_12m", "客单价", "Average order value", "money"),
    ("refund_rate_12m", "退款率", "Refund rate", "pct"),
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
    from . import narrative

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
    heads = "".join(
        f'<th scope="col">{_esc(lzh if zh else len_)}</th>' for _, lzh, len_, _ in PORTFOLIO_COLUMNS
    )
    body_rows = []
    for r in rows:
        cur = r.get("currency") or "CNY"
        cells = []
        for key, _, _, kind in PORTFOLIO_COLUMNS:
            v = r.get(key)
            if key == "shop":
                name = _esc(v)
                cell = f'<a href="{_esc(r["link"])}">{name}</a>' if r.get("link") else name
                cells.append(f'<td data-v="{_esc(v)}">{cell}</td>')
            elif kind == "status":
                cls = "pb-ok" if v in ("ok", "skipped") else "pb-bad"
                label = STATUS_WORDS.get(v, (v, v))[0 if zh else 1]
                cells.append(f'<td class="{cls}" data-v="{_esc(v)}">{_esc(label)}</td>')
            elif kind in ("money", "pct", "int", "sec"):
                dv = "" if _blank(v) else repr(float(v))
                cells.append(f'<td data-v="{dv}">{_esc(_fmt(v, kind, cur, lang))}</td>')
            else:
                text = "" if _blank(v) else str(v)
                style = (
                    ' style="white-space:normal;min-width:16em;text-align:left"'
                    if key == "message"
                    else ""
                )
                cells.append(f"<td{style}>{_esc(text)}</td>")
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


def write_json(path: Path, obj) -> Path:
    """Write JSON through a temporary file and a rename (readers never see half a file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)
    return path
