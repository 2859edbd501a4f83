"""Deliverables: an HTML page per notebook without code, an index page, an Excel workbook.

Pages are made for a shop owner: no code, the shop's name and the analysis date on every page,
a table of contents across notebooks, readable on a phone. Cells' Markdown passes through
nbconvert unchanged, so shop text is escaped where notebooks write it (:func:`narrative.esc`);
DataFrame HTML is escaped by pandas.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

CSS = """
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { max-width: 1100px; margin: 0 auto; padding: 0 12px; }
 .pb-head { border-bottom: 2px solid #2F6DB5; padding: 10px 0; margin-bottom: 8px;
            font-family: sans-serif; }
 .pb-head .shop { font-size: 1.3em; font-weight: bold; }
 .pb-head .meta { color: #666; font-size: 0.9em; }
 .pb-nav { font-family: sans-serif; font-size: 0.9em; margin: 6px 0 14px; }
 .pb-nav a { margin-right: 10px; white-space: nowrap; }
 .pb-nav a.here { font-weight: bold; text-decoration: none; color: #000; }
 .jp-OutputArea-output { overflow-x: auto; }
 img { max-width: 100%; height: auto; }
 table.dataframe { font-size: 0.85em; }
 @media (max-width: 600px) { body { padding: 0 4px; } table.dataframe { font-size: 0.75em; } }
</style>
"""

TITLES = {
    "00": ("数据体检", "Data health"),
    "01": ("市场定位", "Market positioning"),
    "02": ("目标设定", "Target setting"),
    "03": ("货品分析", "Product analysis"),
    "04": ("客户分析", "Customer analysis"),
    "05": ("推广计划", "Promotion plan"),
    "06": ("优化复盘", "Optimisation review"),
}


def title(stem: str, lang: str) -> str:
    zh, en = TITLES.get(stem[:2], (stem, stem))
    return zh if lang == "zh" else en


def _header(shop: str, as_of: str, lang: str, pages: list[str], here: str | None) -> str:
    words = ("分析日期", "目录") if lang == "zh" else ("Analysis date", "Contents")
    links = [f'<a href="index.html"{" class=here" if here is None else ""}>{words[1]}</a>']
    for p in pages:
        cls = " class=here" if p == here else ""
        links.append(f'<a href="{html.escape(p)}.html"{cls}>{html.escape(title(p, lang))}</a>')
    return (
        f'<div class="pb-head"><div class="shop">{html.escape(shop)}</div>'
        f'<div class="meta">{words[0]}: {html.escape(as_of)}</div></div>'
        f'<nav class="pb-nav">{"".join(links)}</nav>'
    )


def notebook_html(
    nb_path: Path, html_path: Path, shop: str, as_of: str, lang: str, pages: list[str]
) -> Path:
    """Export an executed notebook to HTML without code cells or prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(nb_path, as_version=4)
    exporter = HTMLExporter(
        template_name="lab", exclude_input=True, exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    head = _header(shop, as_of, lang, pages, nb_path.stem)
    body = body.replace("</head>", CSS + "</head>", 1)
    body = body.replace(
        "<title>Notebook</title>", f"<title>{html.escape(shop)} · {title(nb_path.stem, lang)}</title>"
    )
    i = body.find(">", body.find("<body")) + 1
    body = body[:i] + head + body[i:]
    html_path.write_text(body, encoding="utf-8")
    return html_path


def index_html(
    path: Path, shop: str, as_of: str, lang: str, pages: list[str], failed: dict[str, str],
    load_table: pd.DataFrame | None = None, extras: list[str] | None = None,
) -> Path:
    """The shop's index page: one line per notebook, the failures, and the downloads."""
    zh = lang == "zh"
    rows = []
    for p in pages:
        status = failed.get(p)
        mark = (("失败: " if zh else "failed: ") + html.escape(status)) if status else "✓"
        rows.append(
            f'<tr><td><a href="{html.escape(p)}.html">{html.escape(title(p, lang))}</a></td>'
            f"<td>{mark}</td></tr>"
        )
    downloads = "".join(
        f'<li><a href="{html.escape(e)}">{html.escape(e)}</a></li>' for e in (extras or [])
    )
    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(shop)}</title>"
        f"{CSS}</head><body>{_header(shop, as_of, lang, pages, None)}"
        f"<h2>{'报告目录' if zh else 'Report contents'}</h2><table>{''.join(rows)}</table>"
        f"<h3>{'下载' if zh else 'Downloads'}</h3><ul>{downloads}</ul>"
    )
    if load_table is not None:
        body += f"<h3>{'数据加载' if zh else 'Data loaded'}</h3>" + load_table.to_html(
            index=False, escape=True
        )
    path.write_text(body + "</body></html>", encoding="utf-8")
    return path


def excel_workbook(path: Path, sheets: list[tuple[str, pd.DataFrame]]) -> Path:
    """Write tables to one workbook; text is never turned into a formula or link."""
    used: set[str] = set()
    with pd.ExcelWriter(
        path,
        engine="xlsxwriter",
        engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}},
    ) as xw:
        for name, df in sheets:
            sheet = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "table"
            base, k = sheet, 2
            while sheet in used:
                sheet = f"{base[:28]}_{k}"
                k += 1
            used.add(sheet)
            out = df.copy()
            for c in out.columns:
                if isinstance(out[c].dtype, pd.DatetimeTZDtype):
                    out[c] = out[c].dt.tz_localize(None)
            out.to_excel(xw, sheet_name=sheet, index=not isinstance(out.index, pd.RangeIndex))
            ws = xw.sheets[sheet]
            ws.freeze_panes(1, 0)
            for i, c in enumerate(out.columns):
                ws.set_column(i, i, min(40, max(10, len(str(c)) + 2)))
    return path
