"""The hand-over workbooks: segment lists (04), the execution plan (05) and the review (06),
each written through :func:`helpers.deliver.excel.write_workbook`, the one workbook writer.

The analyses compute the tables; these functions only lay them out and write the files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from helpers.analysis.customers import list_rows
from helpers.deliver.excel import write_workbook

__all__ = [
    "EXCEL_MAX_IDS",
    "EXCEL_MAX_ROWS",
    "export_segments",
    "write_plan_xlsx",
    "write_review_xlsx",
]

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
EXCEL_MAX_ROWS = 1_000_000  # customers per sheet (Excel's limit is 1,048,576 rows)
# ids in all lists together above which the workbook lists the CSVs only: a multi-million-row
# workbook opens badly and takes a minute to write; ad platforms import the CSVs anyway
EXCEL_MAX_IDS = 1_000_000


def export_segments(
    segments: pd.DataFrame,
    out_dir,
    sheet_names: dict[str, str] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """Write re-marketing lists: ``segments/<list>.csv`` and ``segments.xlsx`` in ``out_dir``.

    Only the pseudonymised ``customer_id`` leaves: one column, no other field. The workbook
    (:func:`helpers.deliver.excel.write_workbook` in constant-memory mode, strings never turned into
    formulas, numbers or links) has a ``lists`` sheet and one sheet per list (``sheet_names``
    maps list keys to sheet titles; lists over :data:`EXCEL_MAX_ROWS` customers continue on
    further sheets). With ``lang`` the headers, the ``lists`` sheet's title and its list
    names are in the report language (the returned table keeps the keys).
    When the lists hold more than :data:`EXCEL_MAX_IDS` ids together, the workbook has the
    ``lists`` sheet only and ``sheet`` is empty: the lists are in the CSVs.

    Returns
    -------
    pandas.DataFrame
        ``list, customers, file`` (the CSV path relative to ``out_dir``), ``sheet``.
    """
    out_dir = Path(out_dir)
    folder = out_dir / "segments"
    folder.mkdir(parents=True, exist_ok=True)
    ids = segments["customer_id"].to_numpy()
    names = sheet_names or {}
    rows, used, lists = [], {"lists"}, {}
    for key, at in list_rows(segments).items():
        lists[key] = ids[at]
        pd.DataFrame({"customer_id": lists[key]}).to_csv(folder / f"{key}.csv", index=False)
        base = _SHEET_BAD.sub(" ", str(names.get(key, key))).strip()[:28].strip("'") or key[:28]
        title, i = base, 2
        while title.lower() in used:
            title, i = f"{base}~{i}", i + 1
        used.add(title.lower())
        rows.append(
            {"list": key, "customers": len(at), "file": f"segments/{key}.csv", "sheet": title}
        )
    if sum(r["customers"] for r in rows) > EXCEL_MAX_IDS:
        for r in rows:
            r["sheet"] = None
    index = pd.DataFrame(rows)
    from helpers.present.narrative import label

    def say(key: str) -> str:
        return label(key, lang) if lang else key

    shown = index.assign(
        list=index["list"].map(lambda k: names.get(k, k)) if lang else index["list"]
    )
    specs = [
        {
            "name": label("xl_lists", lang) if lang else "lists",
            "df": shown,
            "labels": {c: say(c) for c in shown.columns},
            "ints": ["customers"],
            "chart": {"type": "bar", "x": "list", "y": ["customers"], "title": say("customers")},
        }
    ]
    for row in (r for r in rows if r["sheet"]):
        part = lists[row["list"]]
        for j, lo in enumerate(range(0, max(len(part), 1), EXCEL_MAX_ROWS)):
            specs.append(
                {
                    "name": row["sheet"] if j == 0 else f"{row['sheet']}~{j + 1}",
                    "df": pd.DataFrame(
                        {"customer_id": [str(x) for x in part[lo : lo + EXCEL_MAX_ROWS]]}
                    ),
                    "labels": {
                        "customer_id": label("xl_customer_id", lang) if lang else "customer_id"
                    },
                }
            )
    write_workbook(
        out_dir / "segments.xlsx", specs, lang=lang or "en", contents=False, constant_memory=True
    )
    return index


def write_plan_xlsx(
    path: str | Path,
    tasks: pd.DataFrame,
    labels: dict[str, str] | None = None,
    campaigns: pd.DataFrame | None = None,
    sheet_names: tuple[str, str] = ("execution plan", "campaigns"),
    status_labels: dict[str, str] | None = None,
    lang: str = "zh",
) -> Path:
    """The execution plan as a workbook a team can work from, after a contents sheet
    (written by :func:`helpers.deliver.excel.write_workbook`, the one writer).

    Dates formatted ``yyyy-mm-dd``, column widths fitted, header frozen, autofilter on, late
    tasks highlighted; text never becomes a formula or a link. ``labels`` renames columns
    (e.g. to the report language; other columns take the catalogue's label in ``lang``);
    ``campaigns`` (optional) goes on a second sheet; codes (campaign type, status) are shown
    by their labels; the internal campaign id is left out (the campaign's name is there).
    """
    from helpers.present.narrative import label

    labels = labels or {}
    t = tasks.drop(columns=["campaign_id"], errors="ignore")
    late = (t["status"] == "late").to_numpy() if "status" in t else None
    if status_labels and "status" in t:
        t = t.assign(status=t["status"].map(lambda s: status_labels.get(s, s)))
    specs = [
        {
            "name": sheet_names[0],
            "df": t,
            "labels": {c: labels[c] for c in t.columns if c in labels},
            "highlight": late,
            "ints": ["days"],
        }
    ]
    if campaigns is not None:
        ids = {"campaign_id", labels.get("campaign_id"), label("campaign_id", lang)}
        c = campaigns.drop(columns=[x for x in campaigns.columns if x in ids])
        specs.append(
            {
                "name": sheet_names[1],
                "df": c,
                "labels": {x: labels.get(x, x) for x in c.columns} if labels else None,
                "money": [
                    x
                    for k in ("expected_sales", "sales_low", "sales_high", "target_sales", "budget")
                    for x in (k, labels.get(k))
                    if x
                ],
                "ints": ["days"],
                "chart": {
                    "type": "column",
                    "x": "campaign",
                    "y": ["expected_sales"],
                    "line": ["target_sales"],
                    "title": label("expected_sales", lang),
                },
            }
        )
    return write_workbook(path, specs, lang=lang, translate_codes=True)


def write_review_xlsx(path, sheets: list[dict], lang: str = "zh") -> str:
    """Every summary table on its own sheet, each with a native Excel chart, after a
    contents sheet (written by :func:`helpers.deliver.excel.write_workbook`, the one writer).

    Parameters
    ----------
    path : the workbook to write.
    sheets : dicts with ``name`` (sheet title), ``df`` (the table, columns already in the
        report language), optional ``chart``: ``{"type": "column"|"line"|"bar", "x": column,
        "y": [columns], "title": str, "line": [columns]}`` (``line`` columns are drawn as lines
        on a secondary axis over a column chart), and optional ``money``/``pct`` column lists
        for number formats.
    lang : the report language (contents sheet, headers of any column not yet labelled).

    Returns
    -------
    The path. Text never becomes a formula or a link; the header row is frozen and filtered.
    """
    specs = []
    for spec in sheets:
        df = spec["df"].copy()
        for c in df.columns:
            if df[c].dtype == bool:
                df[c] = df[c].astype(int)
        specs.append({**spec, "df": df, "labels": {str(c): str(c) for c in df.columns}})
    write_workbook(path, specs, lang=lang)
    return str(path)
