"""The one workbook writer (deliver layer): every ``.xlsx`` the report hands over goes through
:func:`write_workbook`.

A workbook a shop owner can forward as it is: a contents sheet first (each sheet linked, with
its row count and what it holds); on every sheet a bold, frozen, filtered header row in the
report's language, column widths fitted to the text (CJK characters count double), money,
percentages, whole numbers and dates in their number formats, the product id beside the
product title, codes (status, role, life-cycle …) shown by their catalogue label, and a
native Excel chart where the page draws one. Text never becomes a formula, a number or a
link; missing values are blank cells (never ``nan``/``inf``/``None``).

A sheet is a dict (the same shape the review's specs already had):

``name``      sheet title (cut to Excel's 31 characters, made unique)
``df``        the table (a non-range index is kept as leading columns)
``labels``    optional ``{column: header}``; a callable or ``lang`` may stand in (below)
``money``, ``pct``, ``ints``, ``dates``   optional column lists (raw or labelled names);
              columns not listed are recognised by their key (:data:`MONEY_KEYS` …)
``chart``     optional ``{"type": "column"|"line"|"bar", "x": col, "y": [cols],
              "line": [cols on a secondary axis], "title": str}``
``highlight`` optional boolean sequence: rows filled in light red (late tasks)
``about``     optional one line for the contents sheet

Rows are written in order, so ``constant_memory=True`` (segments lists of millions of ids)
works with the same code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "MONEY_KEYS",
    "PCT_KEYS",
    "INT_KEYS",
    "NOT_MONEY",
    "OPTIONS",
    "HEAD",
    "MAX_ROWS",
    "sheet_title",
    "text_width",
    "id_beside_title",
    "kind_of",
    "code_labels",
    "write_workbook",
    "WorkbookWriter",
    "labelled",
]

# Column keys recognised as amounts / shares / counts when a sheet does not list them.
MONEY_KEYS = re.compile(
    r"(^|_)(net_sales|net|sales|paid_amount|paid|refund_amount|refunds?|revenue|spend|cost|"
    r"price|budget|gross_profit|profit|stock_value|order_value|aov|target|actual|gap|"
    r"expected|baseline|incremental|value|amount|monetary|clv|contribution|ad_profit|"
    r"sales_per_buyer|revenue_per_buyer|sales_per_day|target_sales|expected_sales|sales_low|sales_high|"
    r"cum_actual|cum_target|projected|annual_target|last_year_actual|target_annual|"
    r"target_to_date|actual_to_date|sales_recent|sales_new|sales_returning)($|_)"
)
PCT_KEYS = re.compile(
    r"(^|_)(share|rate|margin|conversion|ctr|attainment|growth|lift|change_pct|"
    r"repeat_rate|repurchase_rate|returning_share|low_share|cum_share|gp_share|gp_cum_share|markdown|"
    r"uplift_pct|vs_target|ambition)($|_)"
)
INT_KEYS = re.compile(
    r"(^|_)(orders|units|visitors|buyers|customers|rows|read|kept|rejected|days|count|"
    r"issues|open|overdue|closed|stock|reorder_qty|need|lines|members|new|returning)($|_)"
)
NOT_MONEY = re.compile(r"(_id|_days|_date|_rate|_share|_pct|_count)$")

OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": False,
}
HEAD = {"bold": True, "bg_color": "#DDE7F3", "border": 1, "text_wrap": True, "valign": "top"}
MAX_ROWS = 1_048_575  # Excel's rows, less the header
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")


def sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique (case-insensitively) sheet title for ``name``."""
    base = _BAD_SHEET.sub("", str(name)).strip().strip("'")[:31] or "sheet"
    title, k = base, 2
    while title.lower() in used:
        title = f"{base[:28]}_{k}"
        k += 1
    used.add(title.lower())
    return title


def text_width(s: str) -> int:
    """Display width of ``s`` in Excel character units (CJK characters are about two)."""
    return len(s) + len(_CJK.findall(s))


def id_beside_title(df: pd.DataFrame) -> pd.DataFrame:
    """The table with ``product_id`` moved to just before ``title`` (both present)."""
    cols = list(df.columns)
    if "product_id" in cols and "title" in cols:
        cols.remove("product_id")
        cols.insert(cols.index("title"), "product_id")
        return df[cols]
    return df


def kind_of(key: str, col: pd.Series) -> str | None:
    """``money``/``pct``/``int``/``dec``/``date``/``stamp``/None (text) for a column."""
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(col):
        t = col.dropna()
        if isinstance(t.dtype, pd.DatetimeTZDtype):
            t = t.dt.tz_localize(None)
        return "date" if (t.dt.normalize() == t).all() else "stamp"
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        return None
    k = str(key).lower()
    if k.endswith("_id") or k in ("id", "year", "fy", "rank", "order"):
        return "plain"
    if PCT_KEYS.search(k):
        return "pct"
    if MONEY_KEYS.search(k) and not NOT_MONEY.search(k):
        return "money"
    if pd.api.types.is_integer_dtype(col) or INT_KEYS.search(k):
        return "int"
    return "dec"


def _values(col: pd.Series) -> list:
    """A column as plain Python values xlsxwriter writes directly (None for blanks)."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(col):
        return [None if pd.isna(v) else v.to_pydatetime() for v in col]
    if pd.api.types.is_bool_dtype(col):
        return [None if pd.isna(v) else bool(v) for v in col]
    if pd.api.types.is_numeric_dtype(col):
        vals = (
            col.tolist()
            if pd.api.types.is_integer_dtype(col) and not col.hasnans
            else col.astype("float64").tolist()
        )
        return [None if v != v or v in (np.inf, -np.inf) else v for v in vals]
    out = []
    for v in col.tolist():
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT or v is pd.NA:
            out.append(None)
        elif isinstance(v, pd.Timestamp):
            out.append(v.tz_localize(None).to_pydatetime() if v.tzinfo else v.to_pydatetime())
        elif isinstance(v, float) and v in (np.inf, -np.inf):
            out.append(None)
        elif isinstance(v, (str, int, float, bool)):
            out.append(v)
        elif isinstance(v, (list, tuple, np.ndarray)):
            out.append("; ".join(map(str, v)))
        else:
            out.append(str(v))
    return out


@cache
def _prefixes(lang: str) -> dict[str, frozenset[str]]:
    """code -> the prefixes ``p`` with ``p + code`` a short label in the catalogue (``""``
    when the code itself is one; ``task_`` for ``late`` as ``task_late``)."""
    from helpers.present import narrative

    out: dict[str, set[str]] = {}
    for key, entry in narrative.catalogue().items():
        text = entry.get(lang) if isinstance(entry, dict) else None
        if not text or "{" in text or "\n" in text or len(text) > 40:
            continue
        out.setdefault(key, set()).add("")
        for k, ch in enumerate(key):
            if ch == "_" and k + 1 < len(key):
                out.setdefault(key[k + 1 :], set()).add(key[: k + 1])
    return {code: frozenset(p) for code, p in out.items()}


def code_labels(df: pd.DataFrame, lang: str, max_codes: int = 40) -> pd.DataFrame:
    """Text columns of codes (``late``, ``image``, ``node_late``, ``declining``) shown by their
    catalogue labels in ``lang``. A column is translated when one key prefix labels every
    one of its values (``""`` for the codes themselves, else the shortest shared one, such as
    ``task_`` for ``late, start_now, planned``); other columns are unchanged."""
    from helpers.present import narrative

    index = _prefixes(lang)
    out = df
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        vals = col.dropna()
        if vals.empty or not all(isinstance(v, str) for v in vals.head(1000)):
            continue
        distinct = pd.unique(vals)
        if len(distinct) > max_codes or not all(isinstance(v, str) for v in distinct):
            continue
        keys = {v: ("paid_status" if v == "paid" else v) for v in distinct}
        shared = None
        for k in keys.values():
            got = index.get(k)
            if not got:
                shared = set()
                break
            shared = set(got) if shared is None else shared & got
        if not shared:
            continue
        prefix = min(shared, key=lambda p: (len(p), p))
        names = {v: narrative.label(prefix + k, lang) for v, k in keys.items()}
        if out is df:
            out = df.copy()
        out[c] = col.map(lambda v, names=names: names.get(v, v))
    return out


def _resolve(names: Iterable[str] | None, labels: dict, lang: str) -> set[str]:
    """Column names as given, as labelled by the sheet, or as the catalogue labels them."""
    from helpers.present import narrative

    out = set()
    for n in names or ():
        out.add(str(n))
        out.add(narrative.label(str(n), lang))
        if n in labels:
            out.add(str(labels[n]))
    return out


def write_workbook(
    path: str | Path,
    sheets: list[dict],
    *,
    lang: str = "zh",
    contents: bool = True,
    translate_codes: bool = False,
    constant_memory: bool = False,
) -> Path:
    """Write ``sheets`` (see the module's docstring) to ``path``; returns the path.

    Headers come from each sheet's ``labels`` (a dict or a callable key -> header), else from
    the message catalogue in ``lang``; ``translate_codes`` shows code columns by their labels
    (:func:`code_labels`). ``contents`` puts a linked contents sheet first.
    """
    book = WorkbookWriter(
        path,
        lang=lang,
        contents=contents,
        translate_codes=translate_codes,
        constant_memory=constant_memory,
    )
    try:
        for spec in sheets:
            book.add(spec)
    except BaseException:
        book.close(contents=False)
        raise
    return book.close()


class WorkbookWriter:
    """:func:`write_workbook` a sheet at a time: ``add`` each sheet as its table is ready,
    then ``close`` (the contents sheet, the file). The arguments are
    :func:`write_workbook`'s."""

    def __init__(
        self,
        path: str | Path,
        *,
        lang: str = "zh",
        contents: bool = True,
        translate_codes: bool = False,
        constant_memory: bool = False,
    ):
        import xlsxwriter

        from helpers.present import narrative

        self.path, self.lang, self.translate_codes = Path(path), lang, translate_codes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.wb = wb = xlsxwriter.Workbook(
            str(self.path), {**OPTIONS, "constant_memory": constant_memory}
        )
        self.fmts = {
            "head": wb.add_format(HEAD),
            "money": wb.add_format({"num_format": "#,##0.00"}),
            "pct": wb.add_format({"num_format": "0.0%"}),
            "int": wb.add_format({"num_format": "#,##0"}),
            "dec": wb.add_format({"num_format": "#,##0.00"}),
            "plain": wb.add_format({"num_format": "0"}),
            "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
            "stamp": wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            "link": wb.add_format({"font_color": "#2F6DB5", "underline": 1}),
            "title": wb.add_format({"bold": True, "font_size": 13}),
        }
        self.late = wb.add_format({"bg_color": "#F8D7DA"})
        self.late_fmts: dict[str, object] = {}
        self.used: set[str] = set()
        toc = sheet_title(narrative.label("xl_contents", lang), self.used) if contents else None
        self.toc = wb.add_worksheet(toc) if contents else None
        self.listed: list[tuple[str, int, str | None]] = []

    def add(self, spec: dict) -> None:
        """One sheet (a dict as the module's docstring says), after those added before."""
        from helpers.present import narrative

        df = spec["df"]
        if not isinstance(df.index, pd.RangeIndex):
            df = df.reset_index()
        df = id_beside_title(df)
        if len(df) > MAX_ROWS:
            df = df.iloc[:MAX_ROWS]
        if self.translate_codes:
            df = code_labels(df, self.lang)
        lab = spec.get("labels")
        keys = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in df.columns]
        if callable(lab):
            heads = [str(lab(k)) for k in keys]
            lab = dict(zip(keys, heads, strict=True))
        else:
            lab = dict(lab or {})
            heads = [str(lab.get(k, narrative.label(k, self.lang))) for k in keys]
            lab = {**{k: h for k, h in zip(keys, heads, strict=True)}, **lab}
        sets = {k: _resolve(spec.get(k), lab, self.lang) for k in ("money", "pct", "ints", "dates")}
        name = sheet_title(spec["name"], self.used)
        ws = self.wb.add_worksheet(name)
        kinds, widths, cols = [], [], []
        for j, key in enumerate(keys):
            col = df.iloc[:, j]
            k = kind_of(key, col)
            if key in sets["money"] or heads[j] in sets["money"]:
                k = "money"
            elif key in sets["pct"] or heads[j] in sets["pct"]:
                k = "pct"
            elif key in sets["ints"] or heads[j] in sets["ints"]:
                k = "int"
            elif k is None and (key in sets["dates"] or heads[j] in sets["dates"]):
                col = pd.to_datetime(col, errors="coerce")
                k = "date"
            if k in ("money", "pct", "int", "dec", "plain") and not (
                pd.api.types.is_numeric_dtype(col)
            ):
                k = None  # text that looks like a count (a label column) stays text
            kinds.append(k)
            values = _values(col)
            cols.append(values)
            sample = [v for v in values[:300] if isinstance(v, str)]
            w = max([text_width(heads[j])] + [text_width(v) for v in sample])
            if k in ("date",):
                w = max(w, 11)
            elif k == "stamp":
                w = max(w, 16)
            elif k in ("money", "dec", "int", "pct"):
                w = max(w, 12)
            widths.append(min(60, max(8, w + 2)))
            ws.set_column(j, j, widths[-1], self.fmts[k] if k else None)
        ws.set_row(0, None if max(map(text_width, heads), default=0) <= 60 else 30)
        for j, h in enumerate(heads):
            ws.write_string(0, j, h, self.fmts["head"])
        hl = spec.get("highlight")
        hl = np.asarray(hl, dtype=bool) if hl is not None else None
        for i in range(len(df)):
            red = hl is not None and i < len(hl) and hl[i]
            for j, values in enumerate(cols):
                v = values[i]
                if v is None or v == "":
                    if red:
                        ws.write_blank(i + 1, j, None, self.late)
                    continue
                k = kinds[j]
                f = self.fmts[k] if k else None
                if red:
                    key = k or "text"
                    if key not in self.late_fmts:
                        props = {"bg_color": "#F8D7DA"}
                        num = {
                            "money": "#,##0.00",
                            "pct": "0.0%",
                            "int": "#,##0",
                            "dec": "#,##0.00",
                            "plain": "0",
                            "date": "yyyy-mm-dd",
                            "stamp": "yyyy-mm-dd hh:mm",
                        }.get(key)
                        if num:
                            props["num_format"] = num
                        self.late_fmts[key] = self.wb.add_format(props)
                    f = self.late_fmts[key]
                if isinstance(v, str):
                    ws.write_string(i + 1, j, v, f)
                elif isinstance(v, bool):
                    ws.write_boolean(i + 1, j, v, f)
                elif k in ("date", "stamp"):
                    ws.write_datetime(i + 1, j, v, f)
                else:
                    ws.write_number(i + 1, j, v, f)
        ws.freeze_panes(1, 0)
        if keys:
            ws.autofilter(0, 0, max(len(df), 1), len(keys) - 1)
        ch = spec.get("chart")
        if ch and len(df):
            _chart(self.wb, ws, name, ch, heads, lab, len(df), self.lang)
        self.listed.append((name, len(df), spec.get("about")))

    def close(self, contents: bool = True) -> Path:
        """The contents sheet (unless ``contents`` is False), then the file; returns its path."""
        try:
            if contents and self.toc is not None:
                _contents(self.toc, self.listed, self.fmts, self.lang)
        finally:
            self.wb.close()
        return self.path


def _chart(
    wb, ws, name: str, ch: dict, heads: list[str], lab: dict, n: int, lang: str = "zh"
) -> None:
    """A native chart of ``ch``'s columns (raw keys, headers or catalogue keys) beside the
    table."""
    from helpers.present import narrative

    def at(c: str) -> int | None:
        c = str(c)
        for name_ in (c, lab.get(c), narrative.label(c, lang)):
            if name_ is not None and name_ in heads:
                return heads.index(name_)
        return None

    xi = at(ch["x"])
    ys = [j for j in (at(y) for y in ch.get("y", ())) if j is not None]
    if xi is None or not ys:
        return
    chart = wb.add_chart({"type": ch.get("type", "column")})
    for yi in ys:
        chart.add_series(
            {
                "name": [name, 0, yi],
                "categories": [name, 1, xi, n, xi],
                "values": [name, 1, yi, n, yi],
            }
        )
    lines = [j for j in (at(y) for y in ch.get("line", ())) if j is not None]
    if lines:
        line = wb.add_chart({"type": "line"})
        for yi in lines:
            line.add_series(
                {
                    "name": [name, 0, yi],
                    "categories": [name, 1, xi, n, xi],
                    "values": [name, 1, yi, n, yi],
                    "y2_axis": True,
                }
            )
        chart.combine(line)
    chart.set_title({"name": ch.get("title", name)})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 720, "height": 360})
    ws.insert_chart(1, len(heads) + 1, chart)


def _contents(ws, listed: list[tuple[str, int, str]], fmts: dict, lang: str) -> None:
    """The contents sheet: each sheet linked, with its row count and what it holds."""
    from helpers.present import narrative

    about = any(a for _, _, a in listed)  # the third column only when some sheet says
    heads = [narrative.label(k, lang) for k in ("xl_sheet", "rows", "xl_about")][
        : 3 if about else 2
    ]
    for j, h in enumerate(heads):
        ws.write_string(0, j, h, fmts["head"])
    for i, (name, rows, text) in enumerate(listed, start=1):
        ws.write_url(
            i, 0, f"internal:'{name.replace(chr(39), chr(39) * 2)}'!A1", fmts["link"], name
        )
        ws.write_number(i, 1, rows, fmts["int"])
        if about and text:
            ws.write_string(i, 2, str(text))
    w0 = max([text_width(heads[0])] + [text_width(n) for n, _, _ in listed])
    ws.set_column(0, 0, min(40, w0 + 2))
    ws.set_column(1, 1, 10)
    if about:
        w2 = max([text_width(heads[2])] + [text_width(str(a or "")) for _, _, a in listed])
        ws.set_column(2, 2, min(80, w2 + 2))
    ws.freeze_panes(1, 0)


def labelled(df: pd.DataFrame, label: Callable[[str], str]) -> dict[str, str]:
    """``{column: label(column)}`` for a table's columns."""
    return {str(c): label(str(c)) for c in df.columns}
