"""The dirt of real exports, cleaned one small vectorised function at a time.

Everything here works on whole columns (pandas / pyarrow string kernels); nothing loops over
rows in Python except over *unique* values where a library call has no vector form (hashing).

Parsers return :class:`Parsed`: the parsed values, a boolean ``bad`` mask for cells that held
something that could not be parsed (empty cells are missing, not bad) and a ``reason`` text for
the bad ones, so adapters can reject the row saying exactly what was wrong.

Row accounting lives in :class:`Ledger`: every raw row is either kept or rejected with a reason,
and blank rows (dropped by :func:`read_raw`) are counted as rejected, so that for every file
``read == kept + rejected``.

Above 600 lines: the shared cleaners every adapter uses (Arrow text, money, dates, ids, PII, the ledger); candidates to split next: parse, privacy, ledger.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from helpers.core.errors import LoadError
from helpers.load.adapters.base import REJECT_COLUMNS, FileCount

__all__ = [
    "arrow_csv_options",
    "CURRENCY_MARKERS",
    "NULL_TOKENS",
    "PII_PATTERNS",
    "Ledger",
    "Parsed",
    "Part",
    "Source",
    "apportion",
    "as_text",
    "body_frame",
    "concat_sources",
    "drop_pii",
    "duplicate_first",
    "extract_groups",
    "first_filled",
    "header_names",
    "is_pii",
    "is_summary_row",
    "isin",
    "larger_than",
    "lookup",
    "normalise_text",
    "on_uniques",
    "parse_datetime",
    "parse_id",
    "parse_int",
    "parse_money",
    "parse_number",
    "parse_rate",
    "pick",
    "pseudonymise",
    "re_has",
    "re_sub",
    "read_raw",
    "row_values_text",
    "says",
    "sniff_csv",
    "sniff_encoding",
    "summary_label",
    "take",
    "text_or_none",
]

XLSX_SUFFIXES = (".xlsx", ".xlsm")
SOURCE_ROW = "_source_row"
SOURCE_FILE = "_source_file"

# Characters stripped from header names: whitespace (incl. full-width space), BOM, zero-width
# space, no-break space and stray quotes.
_HEADER_STRIP = " \t\r\n\u3000\ufeff\u200b\xa0\"'"

# Cell texts that mean "nothing here".
NULL_TOKENS = ("", "-", "--", "—", "null", "NULL", "Null", "None", "none", "nan", "NaN", "N/A")
_NULL_DATES = NULL_TOKENS + ("0000-00-00 00:00:00", "0000-00-00")

# Header names that are personal data (full match, case-insensitive, after header cleaning).
# Columns matching these are dropped at load: they never reach the canonical table nor the
# ``values`` text of rejects. Adapters read the few they need (buyer id to hash, address to
# keep province/city) before dropping them.
PII_PATTERNS: tuple[str, ...] = (
    # Taobao / Tmall / JD
    r"买家会员名",
    r"买家昵称",
    r"买家会员ID",
    r"买家ID",
    r"买家支付宝账号",
    r"支付宝账号",
    r"买家留言",
    r"主订单买家留言",
    r"收货人(姓名)?",
    r"收件人(姓名)?",
    r"(修改后的)?收货地址",
    r"详细地址",
    r"联系(电话|手机|方式)",
    r"联系方式备注",
    r"(手机|电话)(号码|号)?",
    r"固定电话",
    r"身份证(号码|号)?",
    r"(电子)?邮箱",
    r"电子邮件",
    r"发票抬头",
    r"(订单|卖家|商家|买家)?备注",
    # Shopify and other English exports
    r"e-?mail",
    r"customer (e-?mail|name|phone)",
    r"(billing|shipping) (name|street|address ?\d*|phone|company|zip)",
    r"phone",
    r"first name",
    r"last name",
    r"notes?",
    r"note attributes",
    r"employee",
)
_PII_RE = re.compile(r"(?:" + "|".join(PII_PATTERNS) + r")", re.IGNORECASE)


class Parsed(NamedTuple):
    """What a column parser returns.

    Attributes
    ----------
    values : pandas.Series
        The parsed values (missing — NaN / NaT — where the cell was empty or bad).
    bad : pandas.Series
        Boolean: the cell held text that could not be parsed.
    reason : pandas.Series
        Why, for the bad cells (empty string elsewhere), quoting the cell.
    """

    values: pd.Series
    bad: pd.Series
    reason: pd.Series


# --------------------------------------------------------------------------------------------
# small string helpers
# --------------------------------------------------------------------------------------------


def as_text(s: Sequence | pd.Series) -> pd.Series:
    """Any series as a pandas string series with ``""`` for missing values."""
    s = s if isinstance(s, pd.Series) else pd.Series(s)
    if str(s.dtype) != "str":
        s = s.astype("object").where(s.notna(), "").astype("str")
    return s.fillna("") if s.hasnans else s


def _arrow(s: pd.Series) -> pa.ChunkedArray | pa.Array:
    """The pyarrow array behind a string series (converting if needed)."""
    arr = getattr(s.array, "_pa_array", None)
    if arr is None:
        arr = pa.array(as_text(s).astype("object").to_numpy(), type=pa.large_string())
    return arr


def _wrap(arr: pa.ChunkedArray | pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(arr, dtype="str"), index=index)


def re_sub(s: pd.Series, pattern: str, repl: str) -> pd.Series:
    """Regex replace with pyarrow's RE2 (``\\1`` back-references; ``\\s`` / ``\\d`` are
    ASCII, which is what we want after :func:`normalise_text`)."""
    s = as_text(s)
    if s.empty:
        return s
    return _wrap(pc.replace_substring_regex(_arrow(s), pattern=pattern, replacement=repl), s.index)


def re_has(s: pd.Series, pattern: str) -> np.ndarray:
    """Boolean array: the regex (RE2, search semantics: anchor it yourself) matches."""
    s = as_text(s)
    if s.empty:
        return np.zeros(0, dtype=bool)
    out = pc.match_substring_regex(_arrow(s), pattern=pattern)
    return np.asarray(out.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def isin(s: pd.Series, values: Iterable | pd.Series) -> np.ndarray:
    """Boolean array: ``s`` (text) is one of ``values`` (pyarrow hash set; pandas' own
    ``isin`` on Arrow strings walks the values in Python)."""
    v = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="object")
    v = v.dropna()
    if len(s) == 0 or len(v) == 0:
        return np.zeros(len(s), dtype=bool)
    vs = pc.unique(pc.cast(_arrow(as_text(v)), pa.large_string()))
    arr = pc.cast(_arrow(as_text(s)), pa.large_string())
    out = pc.is_in(arr, value_set=vs)
    hit = np.asarray(out.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return hit & s.notna().to_numpy()


def lookup(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """Position in ``keys`` of each of ``values`` (first occurrence), -1 when absent.

    One factorisation of both sides (Arrow strings stay Arrow: no Python objects).
    """
    both = pd.concat([as_text(keys).where(keys.notna()), as_text(values).where(values.notna())])
    codes, _ = pd.factorize(both.reset_index(drop=True))
    kc, vc = codes[: len(keys)], codes[len(keys) :]
    table = np.full(int(codes.max()) + 2 if len(codes) else 1, -1, dtype=np.int64)
    pos = np.arange(len(keys))[kc >= 0][::-1]
    table[kc[kc >= 0][::-1]] = pos  # reversed: the first occurrence is written last
    return np.where(vc >= 0, table[vc], -1)


def on_uniques(s: pd.Series, func, max_share: float = 0.5) -> pd.Series:
    """Apply a vectorised ``func`` to the distinct values of ``s`` and spread the result back.

    Worth it for columns with few distinct values (statuses, prices, dates, quantities).
    ``func`` takes and returns a Series; used directly when most values are distinct.
    """
    s = as_text(s)
    codes, uniq = pd.factorize(s)
    if len(uniq) > max_share * len(s):
        return func(s)
    r = func(pd.Series(np.asarray(uniq, dtype=object), dtype="str"))
    out = r.iloc[codes]
    out.index = s.index
    return out


def extract_groups(s: pd.Series, pattern: str) -> pd.DataFrame:
    """Named regex groups of ``pattern`` as columns (pyarrow RE2: fast, vectorised).

    Rows that do not match, and groups that did not take part (or matched nothing), are
    missing.
    """
    s = as_text(s)
    out = pc.extract_regex(_arrow(s), pattern)
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks() if out.num_chunks else pa.array([], type=out.type)
    names = [out.type.field(i).name for i in range(out.type.num_fields)]
    valid = np.asarray(out.is_valid())
    frame = {}
    for i, name in enumerate(names):
        col = pd.Series(pd.array(out.field(i), dtype="str"), index=s.index)
        frame[name] = col.where(valid & (col != ""))  # RE2 gives "" for unmatched groups
    return pd.DataFrame(frame, index=s.index)


def normalise_text(s: Sequence | pd.Series) -> pd.Series:
    """Unicode NFKC (full-width digits, ``，：（）￥`` and ideographic space → ASCII forms) and
    strip whitespace. Only cells holding non-ASCII characters are normalised."""
    s = as_text(s)
    nonascii = re_has(s, r"[^\x00-\x7f]")
    if nonascii.any():
        s = s.copy()
        part = s[nonascii]
        s[nonascii] = _wrap(pc.utf8_normalize(_arrow(part), form="NFKC"), part.index)
    return s.str.strip()


def _unwrap(t: pd.Series) -> pd.Series:
    """Remove Excel's text guards: ``="123"``, a leading ``'``."""
    t = re_sub(t, r'^="(.*)"$', r"\1")
    return re_sub(t, r"^'", "").str.strip()


def _reasons(raw: pd.Series, bad: np.ndarray, prefix: str, suffix: str = "") -> pd.Series:
    """``<prefix>'<cell>'<suffix>`` for the bad cells, ``""`` elsewhere."""
    r = pd.Series("", index=raw.index, dtype="str")
    if bad.any():
        r[bad] = prefix + "'" + raw[bad].str.slice(0, 60) + "'" + suffix
    return r


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------


def sniff_encoding(data: bytes) -> str:
    """The text encoding of a CSV export: ``utf-8-sig``, ``utf-16``, ``utf-8`` or ``gb18030``.

    Parameters
    ----------
    data : bytes
        The start of the file (a megabyte is plenty); a UTF-8 guess that the rest of the
        file contradicts is corrected by :func:`read_raw`.

    Returns
    -------
    str
        A codec name Python, pandas and pyarrow accept. GB18030 is a superset of GBK and
        GB2312, the encodings of Chinese Excel and of Taobao's exports.

    Raises
    ------
    ValueError
        If the bytes are valid in none of them.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as err:
        if err.start >= len(data) - 4 and err.reason == "unexpected end of data":
            return "utf-8"  # a character cut by the end of the sample
    try:  # GB18030 decodes nearly any bytes; reading the whole file checks the rest
        data.decode("gb18030")
    except UnicodeDecodeError as err:
        if err.start < len(data) - 4:
            raise ValueError("not UTF-8, UTF-16 nor GB18030/GBK text") from None
    return "gb18030"


def _clean_header(h: object) -> str:
    text = "" if h is None else str(h)
    return text.strip(_HEADER_STRIP)


def _cell_text(v: object) -> str:
    """One XLSX cell as the text a CSV export would hold.

    Integral floats beyond 2**53 cannot hold an 18–19 digit id exactly: they are rendered in
    scientific notation so that :func:`parse_id` rejects them instead of inventing digits.
    """
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return ""
        if v.is_integer() and abs(v) < 2**53:
            return str(int(v))
        return repr(v)
    if hasattr(v, "isoformat"):
        try:
            return v.isoformat(sep=" ")  # datetime
        except TypeError:
            return v.isoformat()  # date, time
    return str(v)


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise LoadError(path.name, f"not a valid .xlsx workbook ({type(e).__name__})") from None
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    while rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in rows[-1]):
        rows.pop()  # trailing formatted-but-empty rows are not rows of the export
    if not rows:
        return pd.DataFrame()
    width = max(len(r) for r in rows)
    grid = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
    return pd.DataFrame({c: grid[c].map(_cell_text) for c in grid.columns}, dtype="str")


def _sep_and_width(head: str) -> tuple[str, int]:
    first = next(csv.reader(io.StringIO(head)), [])
    if "\t" in head.split("\n", 1)[0] and len(first) <= 1:
        return "\t", len(next(csv.reader(io.StringIO(head), delimiter="\t"), []))
    return ",", max(len(first), 1)


def _count_records_upper(path: Path) -> int:
    """Text lines in the file (a record per line unless a quoted cell spans lines)."""
    n, last = 0, b""
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 24), b""):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (1 if last not in (b"\n", b"") else 0)


def arrow_csv_options(
    enc: str,
    sep: str,
    width: int,
    newlines: bool,
    invalid: list,
    block_size: int | None = None,
    columns: Sequence[int] | None = None,
) -> dict:
    """Arrow's CSV options for an export read as text: ``width`` columns named by position,
    every cell a string (``""`` when empty), blank lines kept, rows of another width
    appended to ``invalid`` and skipped; ``columns``: only these positions."""
    names = [str(i) for i in range(width)]

    def handler(row: object) -> str:
        invalid.append(row)
        return "skip"

    return {
        "read_options": pv.ReadOptions(
            column_names=names,
            encoding="utf8" if enc.startswith("utf-8") else enc,
            **({"block_size": block_size} if block_size else {}),
        ),
        "parse_options": pv.ParseOptions(
            delimiter=sep,
            ignore_empty_lines=False,
            newlines_in_values=newlines,
            invalid_row_handler=handler,
        ),
        "convert_options": pv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.large_string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            include_columns=[names[i] for i in columns] if columns is not None else None,
        ),
    }


def _read_csv_arrow(
    path: Path, enc: str, sep: str, width: int, newlines: bool
) -> pd.DataFrame | None:
    """Fast path (pyarrow, multi-threaded). None when some row is ragged or blank-but-short
    (the pandas path then reads the file, keeping every row) or the text is not valid."""
    invalid: list = []
    try:
        table = pv.read_csv(path, **arrow_csv_options(enc, sep, width, newlines, invalid))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, LookupError, UnicodeError):
        return None
    if invalid:
        return None
    return pd.DataFrame(
        {int(n): pd.array(table.column(n), dtype="str") for n in table.column_names}
    )


def _read_csv(path: Path, name: str, enc: str, sep: str, width: int) -> pd.DataFrame:
    """Every record of a CSV as text: pyarrow when the file is regular, pandas otherwise."""
    grid = None
    if not enc.startswith("utf-16"):
        grid = _read_csv_arrow(path, enc, sep, width, newlines=False)
        if grid is not None and len(grid) != _count_records_upper(path):
            grid = None  # a quoted cell spans lines: parse records properly
    if grid is None:
        grid = _read_csv_arrow(path, enc, sep, width, newlines=True)
    if grid is None:
        grid = _read_csv_pandas(path, name, enc, sep, width)
    return grid


def _read_csv_pandas(path: Path, name: str, enc: str, sep: str, width: int) -> pd.DataFrame:
    for _ in range(8):
        try:
            return pd.read_csv(
                path,
                sep=sep,
                header=None,
                names=range(width),
                index_col=False,
                dtype=str,
                na_filter=False,
                keep_default_na=False,
                skip_blank_lines=False,
                encoding=enc,
                encoding_errors="strict",
            )
        except pd.errors.ParserError as err:
            m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
            if not m:
                raise LoadError(name, f"cannot parse CSV: {err}") from None
            width = int(m.group(3))
    raise LoadError(name, "cannot parse CSV: rows of too many different widths")


def _all_blank(cols: Sequence[pd.Series], n: int) -> np.ndarray:
    """Rows whose cells are all empty or whitespace (checks only rows still in question)."""
    cand = np.arange(n)
    for s in cols:
        if len(cand) == 0:
            break
        arr = _arrow(s)
        sub = arr.take(pa.array(cand)) if len(cand) < n else arr
        empty = pc.or_(pc.equal(pc.utf8_length(sub), 0), pc.utf8_is_space(sub))
        cand = cand[np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)]
    out = np.zeros(n, dtype=bool)
    out[cand] = True
    return out


def sniff_csv(path: Path, name: str) -> tuple[str, str, int]:
    """A text export's encoding, separator (comma or tab) and header width, from its head.

    Raises
    ------
    LoadError
        Empty file, or text in no known encoding.
    """
    with path.open("rb") as fh:
        head_bytes = fh.read(1 << 20)
    blank_head = not head_bytes.strip(b" \t\r\n\x00" + codecs.BOM_UTF8)
    if blank_head and path.stat().st_size <= len(head_bytes):
        raise LoadError(name, "empty file")
    try:
        encoding = sniff_encoding(head_bytes)
    except ValueError as err:
        raise LoadError(name, f"cannot decode: {err}") from None
    head = head_bytes[:65536].decode(encoding, errors="ignore").lstrip("\ufeff")
    sep, width = _sep_and_width(head)
    return encoding, sep, width


def read_raw(path: str | Path, sheet: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read an export as text, exactly as it is, with its row numbers.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` / ``.txt`` (comma or tab separated) or ``.xlsx`` file.
    sheet : str, optional
        XLSX sheet name; the first sheet by default.

    Returns
    -------
    frame : pandas.DataFrame
        One column per named header (names stripped of spaces, BOM, full-width spaces), every
        cell a string (``""`` when empty; ids never become floats), plus ``_source_row``: the
        1-based row number in the file, header = 1 (the row number Excel shows; it equals the
        text line unless a quoted cell spans lines). Blank rows are dropped; their row numbers
        are in ``frame.attrs["blank_rows"]``. Rows with values beyond the named columns are
        kept and listed in ``frame.attrs["overlong_rows"]``.
    encoding : str
        ``utf-8``, ``utf-8-sig``, ``utf-16``, ``gb18030`` or ``xlsx``.

    Raises
    ------
    LoadError
        Empty file, undecodable text, or duplicated column names.
    """
    path = Path(path)
    name = path.name
    if path.suffix.lower() in XLSX_SUFFIXES:
        grid = _read_xlsx(path, sheet)
        encoding = "xlsx"
        if grid.empty:
            raise LoadError(name, "empty file")
    else:
        encoding, sep, width = sniff_csv(path, name)
        try:
            grid = _read_csv(path, name, encoding, sep, width)
        except UnicodeDecodeError:
            if encoding != "utf-8":
                raise LoadError(name, f"cannot decode as {encoding}") from None
            encoding = "gb18030"  # UTF-8 at the start only: a GBK file with an ASCII head
            try:
                grid = _read_csv(path, name, encoding, sep, width)
            except UnicodeDecodeError:
                raise LoadError(name, "cannot decode: not UTF-8 nor GB18030 text") from None
    header = header_names(grid.iloc[0].tolist(), name)
    return body_frame(grid.iloc[1:].reset_index(drop=True), header, 2), encoding


def header_names(cells: Sequence[object], name: str) -> list[str]:
    """The cleaned header of a file (``""`` for a column without a name).

    Raises
    ------
    LoadError
        No named column, or a name used twice.
    """
    header = [_clean_header(h) for h in cells]
    names = [h for h in header if h]
    if not names:
        raise LoadError(name, "no header row (the first row is empty)")
    counts: dict[str, int] = {}
    for h in names:
        counts[h] = counts.get(h, 0) + 1
    dups = [h for h, k in counts.items() if k > 1]
    if dups:
        raise LoadError(name, "duplicated column name", column=dups[0])
    return header


def body_frame(body: pd.DataFrame, header: Sequence[str], first_row: int) -> pd.DataFrame:
    """Records below the header (columns by position) as :func:`read_raw`'s frame.

    ``first_row`` is the file row number of ``body``'s first record (2 for the whole file;
    later for a batch of a file read in parts), so ``_source_row``, ``blank_rows`` and
    ``overlong_rows`` are the file's own row numbers whatever part of it ``body`` is.
    """
    named = [i for i, h in enumerate(header) if h]
    names = [header[i] for i in named]
    named_set = set(named)
    unnamed = [c for i, c in enumerate(body.columns) if i not in named_set]
    df = body[[body.columns[i] for i in named]]
    df.columns = names
    df = df.fillna("") if df.isna().any().any() else df
    n = len(df)
    rows_no = np.arange(first_row, n + first_row, dtype=np.int64)
    over = ~_all_blank([body[c].fillna("") for c in unnamed], n) if unnamed else np.zeros(n, bool)
    blank = _all_blank([df[c] for c in names], n) & ~over
    df = df.assign(**{SOURCE_ROW: rows_no})
    out = df.loc[~blank].reset_index(drop=True) if blank.any() else df
    out.attrs["blank_rows"] = rows_no[blank].tolist()
    out.attrs["overlong_rows"] = rows_no[over & ~blank].tolist()
    return out


# --------------------------------------------------------------------------------------------
# parsers
# --------------------------------------------------------------------------------------------


def _to_float(s: pd.Series) -> np.ndarray:
    """Texts already validated as plain numbers → float64 (pyarrow cast)."""
    out = pc.cast(_arrow(as_text(s)), pa.float64())
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype="float64")


_NUMBER_RE = r"^(?:[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)$"
_PLAIN_NUMBER_RE = r"^-?\d+(?:\.\d+)?$"
_COMMON_MONEY_RE = r"^\s*-?[¥￥$]?\s*-?\d{1,3}(?:,\d{3})*(?:\.\d+)?\s*元?\s*$"


def _clean_numbers(u: pd.Series, zero_words: tuple[str, ...]) -> pd.DataFrame:
    """Value and bad flag of number texts that are not plain ``-12.5``."""
    t = _unwrap(normalise_text(u))
    null = t.isin(NULL_TOKENS).to_numpy()
    zero = t.isin(zero_words).to_numpy() if zero_words else np.zeros(len(t), bool)
    paren = re_has(t, r"^\(.*\)$")
    t = re_sub(t, r"^\((.*)\)$", r"\1")
    t = re_sub(t, r"(?i)us\$|rmb|cny|usd|[¥$€£元\s]", "")
    ok = re_has(t, _NUMBER_RE)
    num = np.full(len(t), np.nan)
    if ok.any():
        num[ok] = _to_float(t[ok].str.replace(",", "", regex=False))
    num = np.where(paren, -num, num)
    num = np.where(zero, 0.0, num)
    bad = ~null & ~zero & np.isnan(num)
    return pd.DataFrame({"value": num, "bad": bad}, index=u.index)


def parse_number(s: Sequence | pd.Series, zero_words: Iterable[str] = ()) -> Parsed:
    """Numbers as exports write them: ``1,234.50``, ``¥ 12``, ``(3.00)``, ``12元``.

    Parameters
    ----------
    s : Series
        Text cells.
    zero_words : iterable of str
        Cell texts that mean zero (e.g. Taobao's ``无退款申请`` in 退款金额).

    Returns
    -------
    Parsed
        Float values; ``bad`` where a non-empty cell is not a number (thousands separators
        must group by three: ``1,2`` is bad, never 12).
    """
    raw = as_text(s)
    n = len(raw)
    vals = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    simple = re_has(raw, _PLAIN_NUMBER_RE)
    if simple.any():
        vals[simple] = _to_float(raw[simple])
    rest = ~simple & (raw.str.len() > 0).to_numpy()
    if rest.any():  # second fast path: ￥1,234.50 / $12 / 12元 / 1 234
        sub = raw[rest]
        common = re_has(sub, _COMMON_MONEY_RE)
        if common.any():
            idx = np.flatnonzero(rest)[common]
            vals[idx] = _to_float(re_sub(sub[common], r"[¥￥$,\s元]", ""))
            rest[idx] = False
    if rest.any():
        zw = tuple(zero_words)
        got = on_uniques(raw[rest], lambda u: _clean_numbers(u, zw))
        vals[rest] = got["value"].to_numpy()
        bad[rest] = got["bad"].to_numpy()
    values = pd.Series(vals, index=raw.index)
    return Parsed(
        values, pd.Series(bad, index=raw.index), _reasons(raw, bad, "unparseable number ")
    )


# Currency markers, in the order they are looked for and removed: the specific signs
# (``HK$``, ``US$``, ``JP¥``, ``美元``) before the bare ``$`` / ``¥`` / ``元`` they contain.
# Letter codes match in any case; texts are NFKC-normalised first (``￥`` → ``¥``, ``＄`` → ``$``).
# ``¥`` alone is the yuan (Chinese shops); the yen is written ``JP¥``, ``円`` or ``JPY``.
CURRENCY_MARKERS: tuple[tuple[str, str], ...] = (
    (r"JP¥|JPY|円|日元", "JPY"),
    (r"HK\$|HKD|港元|港币", "HKD"),
    (r"NT\$|TWD|新台币|台币", "TWD"),
    (r"US\$|USD|美元", "USD"),
    (r"CA\$|C\$|CAD|加元", "CAD"),
    (r"AU\$|A\$|AUD|澳元", "AUD"),
    (r"SG\$|S\$|SGD|新加坡元|新元", "SGD"),
    (r"€|EUR|欧元", "EUR"),
    (r"£|GBP|英镑", "GBP"),
    (r"\$", "USD"),
    (r"¥|RMB|CNY|人民币|元", "CNY"),
)
_CURRENCY_ALIASES = {"RMB": "CNY"}
# A cell made of these characters only carries no currency marker (or only the signs that
# :func:`parse_number` already strips and that can only mean the shop's own currency).
_NEUTRAL_MONEY = r"0-9.,+\-()\s'=\""
_OWN_SIGNS = {"CNY": "¥￥元", "USD": "$＄", "EUR": "€", "GBP": "£￡"}


def _money_markers(u: pd.Series, zero_words: tuple[str, ...]) -> pd.DataFrame:
    """Currency named by each (distinct) money text, and its amount once markers are removed.

    Columns: ``code`` (ISO code, ``""`` without a marker), ``several`` (markers of more than
    one currency), ``value`` / ``bad`` (the amount parsed without its markers).
    """
    t = normalise_text(u)
    n = len(t)
    code = np.full(n, "", dtype=object)
    several = np.zeros(n, dtype=bool)
    for pattern, iso in CURRENCY_MARKERS:
        rx = "(?i)" + pattern
        hit = re_has(t, rx)
        if not hit.any():
            continue
        several |= hit & (code != "") & (code != iso)
        code[hit & (code == "")] = iso
        t = re_sub(t, rx, "")
    marked = code != ""
    value = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    if marked.any():
        p = parse_number(t[marked], zero_words)
        value[marked] = p.values.to_numpy()
        bad[marked] = p.bad.to_numpy() | p.values.isna().to_numpy()  # a marker, no amount
    return pd.DataFrame(
        {"code": pd.array(code, dtype="str"), "several": several, "value": value, "bad": bad},
        index=u.index,
    )


def parse_money(
    s: Sequence | pd.Series, zero_words: Iterable[str] = (), currency: str | None = None
) -> Parsed:
    """Money cells: ``¥`` ``￥`` ``$`` signs, thousands separators, ``元``, spaces and
    parentheses negatives (``(12.50)`` → -12.5). Unparseable → NaN and ``bad``.

    Parameters
    ----------
    s, zero_words
        See :func:`parse_number`.
    currency : str, optional
        ISO code of the shop's currency (``CNY``, ``USD``…). When given, currency markers are
        recognised (:data:`CURRENCY_MARKERS`: ``¥ ￥ 元 RMB CNY`` → CNY, ``$ US$ USD`` → USD,
        ``HK$`` → HKD, ``NT$`` → TWD, ``A$`` → AUD, ``C$`` → CAD, ``S$`` → SGD, ``€`` → EUR,
        ``£`` → GBP, ``JP¥ 円 JPY`` → JPY) and a cell marked with another currency is ``bad``:
        "amount '$100.00' is in USD, the shop's currency is CNY" — never loaded as if it
        were the shop's money. Cells without a marker are the shop's currency. None: markers
        are not checked (``$`` and ``¥`` are stripped alike).
    """
    raw = as_text(s)
    zw = tuple(zero_words)
    p = parse_number(raw, zw)
    if currency is None:
        bad = p.bad.to_numpy()
        return Parsed(p.values, p.bad, _reasons(raw, bad, "unparseable amount "))
    shop = currency.strip().upper()
    shop = _CURRENCY_ALIASES.get(shop, shop)
    values = p.values.to_numpy().copy()
    bad = p.bad.to_numpy().copy()
    foreign = np.zeros(len(raw), dtype=bool)
    cand = re_has(raw, "[^" + _NEUTRAL_MONEY + "]")
    own = _OWN_SIGNS.get(shop, "")
    if own and cand.any():  # only the shop's own signs (¥12.00 in a CNY shop): nothing to do
        cand &= ~re_has(raw, "^[" + _NEUTRAL_MONEY + own + "]*$")
    codes = pd.Series("", index=raw.index, dtype="str")
    if cand.any():
        got = on_uniques(raw[cand], lambda u: _money_markers(u, zw))
        marked = (got["code"] != "").to_numpy()
        idx = np.flatnonzero(cand)[marked]
        got = got[marked]
        values[idx] = got["value"].to_numpy()
        bad[idx] = got["bad"].to_numpy()
        other = ~bad[idx] & ((got["code"] != shop).to_numpy() | got["several"].to_numpy())
        foreign[idx[other]] = True
        named = got["code"].where(~got["several"], "more than one currency")
        codes.iloc[idx] = named.to_numpy()
    reason = _reasons(raw, bad, "unparseable amount ")
    if foreign.any():
        values[foreign] = np.nan
        bad |= foreign
        reason[foreign] = (
            "amount '"
            + raw[foreign].str.slice(0, 60)
            + "' is in "
            + codes[foreign]
            + f", the shop's currency is {shop}"
        )
    return Parsed(pd.Series(values, index=raw.index), pd.Series(bad, index=raw.index), reason)


def parse_int(s: Sequence | pd.Series) -> Parsed:
    """Whole numbers (``1,200``, ``3.0``); ``2.5`` is bad ("not a whole number")."""
    raw = as_text(s)
    p = parse_number(raw)
    v = p.values.to_numpy()
    frac = ~np.isnan(v) & (v != np.floor(np.nan_to_num(v)))
    bad = p.bad.to_numpy() | frac
    reason = p.reason
    if frac.any():
        reason = reason.copy()
        reason[frac] = _reasons(raw, frac, "not a whole number ")[frac]
    return Parsed(p.values.where(~frac), pd.Series(bad, index=raw.index), reason)


def parse_rate(s: Sequence | pd.Series) -> Parsed:
    """Rates: ``3.5%`` → 0.035, ``0.035`` → 0.035. A value above 1 without ``%`` is bad
    (write ``3.5%`` for percent), as is a negative rate."""
    raw = as_text(s)
    t = normalise_text(raw)
    pct = t.str.endswith("%").to_numpy()
    p = parse_number(re_sub(t, r"%$", ""))
    v = np.where(pct, p.values.to_numpy() / 100.0, p.values.to_numpy())
    out = ~np.isnan(v) & ((v > 1.0) | (v < 0.0))
    bad = p.bad.to_numpy() | out
    reason = _reasons(raw, p.bad.to_numpy(), "unparseable rate ")
    if out.any():
        reason[out] = _reasons(raw, out, "rate ", " outside 0–1 (write 3.5%)")[out]
    values = pd.Series(np.where(out, np.nan, v), index=raw.index)
    return Parsed(values, pd.Series(bad, index=raw.index), reason)


_SCI_RE = r"^(?:[+-]?\d+(?:\.\d+)?[eE][+-]\d+|\d+\.\d+[eE]\d+)$"
_ID_NEEDS_WORK = r"^\s|\s$|^[=']|\.\d*$|\d[eE][+-]?\d|[^\x00-\x7f]"


def parse_id(s: Sequence | pd.Series) -> Parsed:
    """Identifiers as text, every digit kept.

    Removes Excel's guards (``="123…"``, a leading ``'``), trailing ``.0`` / ``.00`` and
    surrounding spaces; full-width digits become ASCII. Scientific notation (``1.23E+18``,
    what Excel shows for an 18–19 digit number) cannot be turned back into the id: it is
    ``bad`` with reason "in scientific notation loses digits", never rounded.

    Returns
    -------
    Parsed
        String series (missing when empty or bad).
    """
    raw = as_text(s)
    n = len(raw)
    t = raw
    sci = np.zeros(n, dtype=bool)
    work = re_has(raw, _ID_NEEDS_WORK)
    if work.any():
        t = raw.copy()
        guarded = work & re_has(raw, r'^="[0-9A-Za-z_#-]*"$')  # Taobao's ="123…"
        if guarded.any():
            t[guarded] = raw[guarded].str.slice(2, -1)
            work &= ~guarded
    if work.any():
        sub = _unwrap(normalise_text(raw[work]))
        sci[work] = re_has(sub, _SCI_RE)
        t[work] = re_sub(sub, r"^(\d+)\.0+$", r"\1")
    null = t.isin(NULL_TOKENS).to_numpy()
    values = t.where(~null & ~sci)
    reason = _reasons(raw, sci, "in scientific notation loses digits (", ")")
    return Parsed(values, pd.Series(sci, index=raw.index), reason)


_DT_RE = (
    r"^(?P<year>\d{4})-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2}))?"
    r"(?:\s+(?P<hour>\d{1,2})(?::(?P<minute>\d{1,2}))?"
    r"(?::(?P<second>\d{1,2})(?:[.,](?P<frac>\d{1,9}))?)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?$"
)


def _parse_dt_general(u: pd.Series, tz: str | None) -> pd.Series:
    """Parse distinct date texts in any of the supported shapes (see :func:`parse_datetime`)."""
    t = normalise_text(u)
    t = re_sub(t, r"(\d)\s*年\s*(\d)", r"\1-\2")
    t = re_sub(t, r"(\d)\s*月\s*(\d)", r"\1-\2")
    t = re_sub(t, r"(\d)\s*[日号]", r"\1 ")
    t = re_sub(t, r"(\d)\s*月$", r"\1")
    t = re_sub(t, r"(\d)\s*[时点]\s*", r"\1:")
    t = re_sub(t, r"(\d)\s*分\s*", r"\1:")
    t = re_sub(t, r"(\d)\s*秒", r"\1")
    t = re_sub(t, r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3")
    t = re_sub(t, r"^(\d{4})[/.](\d{1,2})$", r"\1-\2")
    t = re_sub(t, r"(\d)T(\d)", r"\1 \2")
    t = re_sub(t, r":\s*$", "").str.strip()
    parts = extract_groups(t, _DT_RE)
    num = {
        k: pd.to_numeric(parts[k], errors="coerce")
        for k in ("year", "month", "day", "hour", "minute", "second")
    }
    comp = pd.DataFrame(
        {
            "year": num["year"],
            "month": num["month"],
            "day": num["day"].fillna(1),
            "hour": num["hour"].fillna(0),
            "minute": num["minute"].fillna(0),
            "second": num["second"].fillna(0),
        }
    )
    frac = parts["frac"].fillna("").str.pad(9, side="right", fillchar="0").str.slice(0, 9)
    comp["ns"] = pd.to_numeric(frac.where(frac != "000000000", "0"), errors="coerce").fillna(0)
    matched = comp["year"].notna() & comp["month"].notna()
    out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    if matched.any():
        out[matched] = pd.to_datetime(comp[matched].astype("int64"), errors="coerce")
    # offsets: convert to the shop's timezone, then drop the zone
    off = parts["tz"]
    has_off = off.notna() & out.notna()
    if has_off.any():
        o = off[has_off].str.replace(":", "", regex=False)
        o = o.where(~o.isin(["Z", "UTC", "GMT"]), "+0000")
        sign = np.where(o.str.slice(0, 1) == "-", -1, 1)
        minutes = sign * (
            pd.to_numeric(o.str.slice(1, 3)).to_numpy() * 60
            + pd.to_numeric(o.str.slice(3, 5)).to_numpy()
        )
        utc = out[has_off] - pd.to_timedelta(minutes, unit="min")
        out[has_off] = _to_shop_time(utc.dt.tz_localize("UTC"), tz)
    # Excel serial day numbers (a date cell exported as its number)
    serial = re_has(t, r"^\d{5}(?:\.\d+)?$") & out.isna().to_numpy()
    if serial.any():
        v = pd.to_numeric(t[serial], errors="coerce")
        v = v.where((v >= 20000) & (v <= 80000))
        out[serial] = pd.Timestamp("1899-12-30") + pd.to_timedelta(v, unit="D").dt.round("s")
    return out


def _to_shop_time(aware: pd.Series, tz: str | None) -> pd.Series:
    return (aware.dt.tz_convert(tz) if tz else aware).dt.tz_localize(None)


def _parse_dt_unique(u: pd.Series, tz: str | None, general: bool = True) -> pd.Series:
    """Date texts → naive shop-local datetimes: fast paths for the usual shapes, then (when
    ``general``) every other supported shape."""
    out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    plain = re_has(u, r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
    if plain.any():
        out[plain] = pd.to_datetime(u[plain], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    offset = re_has(u, r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$")
    if offset.any():
        v = u[offset]
        local = pd.to_datetime(v.str.slice(0, 19), format="%Y-%m-%d %H:%M:%S", errors="coerce")
        off = v.str.slice(20, 25)
        sign = np.where((off.str.slice(0, 1) == "-").to_numpy(), -1, 1)
        minutes = sign * (
            off.str.slice(1, 3).astype("int64").to_numpy() * 60
            + off.str.slice(3, 5).astype("int64").to_numpy()
        )
        utc = local - pd.to_timedelta(minutes, unit="min")
        out[offset] = _to_shop_time(utc.dt.tz_localize("UTC"), tz)
    rest = ~plain & ~offset & (u != "").to_numpy()
    if general and rest.any():
        out[rest] = _parse_dt_general(u[rest], tz)
    return out


def parse_datetime(s: Sequence | pd.Series, tz: str | None = "Asia/Shanghai") -> Parsed:
    """Dates and times in the mixed formats exports use, as naive shop-local datetimes.

    Understands ``2025-01-03 12:00:00``, ``2025/1/3 12:00``, ``2025.1.3``, ``2025年1月3日``
    (with ``12时30分``), ``2025-01`` (first of the month), ISO ``T`` and fractions, offsets
    (``+0800``, ``+08:00``, ``Z``: converted to ``tz`` then made naive; texts without an offset
    are taken as shop-local already) and Excel serial day numbers.

    Parameters
    ----------
    s : Series
        Text cells.
    tz : str, optional
        The shop's IANA timezone, e.g. ``"Asia/Shanghai"``.

    Returns
    -------
    Parsed
        ``datetime64[ns]`` values; ``bad`` for non-empty cells that are no valid date
        (``2025-13-45``), with reason ``unparseable date '2025-13-45'``.
    """
    raw = as_text(s)
    values = _parse_dt_unique(raw, tz, general=False)
    rest = values.isna().to_numpy() & (raw.str.len() > 0).to_numpy()
    if rest.any():
        sub = raw[rest].str.strip()
        got = on_uniques(sub, lambda u: _parse_dt_unique(u, tz))
        values[rest] = got.to_numpy()
    null = raw.str.strip().isin(_NULL_DATES).to_numpy()
    values = values.where(~null)
    bad = rest & ~null & values.isna().to_numpy()
    return Parsed(values, pd.Series(bad, index=raw.index), _reasons(raw, bad, "unparseable date "))


# --------------------------------------------------------------------------------------------
# summary rows, duplicates, personal data
# --------------------------------------------------------------------------------------------

_SUMMARY_RE = (
    r"(?i)^\s*(?P<label>合\s*计|总\s*计|小\s*计|汇\s*总|grand\s+total|sub\s*-?\s*total|totals?)"
    r"(?:[\s:(].*)?$"
)


def _data_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if not str(c).startswith("_")]


def summary_label(df: pd.DataFrame, id_col: str | None = None) -> pd.Series:
    """The summary word (合计/总计/小计/汇总/Total…) of summary rows, NaN for other rows.

    A row is a summary row when its first non-empty cell, or its id cell, is such a word
    (optionally followed by ``:`` / a space / a bracket and more text).
    """
    cols = _data_columns(df)
    if not cols or df.empty:
        return pd.Series(np.nan, index=df.index, dtype="object")
    first = as_text(df[cols[0]]).str.strip()
    for c in cols[1:]:
        empty = (first == "").to_numpy()
        if not empty.any():
            break
        first = first.copy()
        first[empty] = as_text(df[c])[empty].str.strip()
    label = pd.Series(np.nan, index=df.index, dtype="object")
    texts = [first]
    if id_col is not None and id_col in df.columns:
        texts.append(as_text(df[id_col]).str.strip())
    for text in texts:
        cand = re_has(text, r"(?i)计|总|total") & label.isna().to_numpy()
        if cand.any():
            got = extract_groups(normalise_text(text[cand]), _SUMMARY_RE)["label"]
            got = got[got.notna()]
            label[got.index] = re_sub(got, r"\s+", "").to_numpy(dtype=object)
    return label


def is_summary_row(df: pd.DataFrame, id_col: str | None = None) -> pd.Series:
    """Boolean: rows whose first non-empty cell or id cell is 合计/总计/小计/汇总/Total."""
    return summary_label(df, id_col).notna()


def duplicate_first(df: pd.DataFrame, cols: Sequence[str] | None = None) -> np.ndarray:
    """For each row, the position of the earlier row it exactly duplicates, else -1.

    Narrows candidates column by column (factorising only rows still tied), so files whose
    first column is an id cost little more than one factorisation.
    """
    cols = list(cols) if cols is not None else _data_columns(df)
    n = len(df)
    first = np.full(n, -1, dtype=np.int64)
    if n < 2 or not cols:
        return first
    step = max(1, n // 20000)
    sample = df.iloc[::step]
    cols = sorted(cols, key=lambda c: -sample[c].nunique())  # most telling columns first
    cand = np.arange(n)
    gid = np.zeros(n, dtype=np.int64)
    for c in cols:
        codes, uniq = pd.factorize(df[c].iloc[cand], use_na_sentinel=False)
        key = gid * (len(uniq) + 1) + codes
        gid, _ = pd.factorize(key)
        counts = np.bincount(gid)
        tied = counts[gid] > 1
        cand, gid = cand[tied], gid[tied]
        if len(cand) == 0:
            return first
        gid, _ = pd.factorize(gid)
    order = np.lexsort((cand, gid))
    g_sorted, c_sorted = gid[order], cand[order]
    starts = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    head = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    dup = ~starts
    first[c_sorted[dup]] = c_sorted[head[dup]]
    return first


def is_pii(header: str) -> bool:
    """Whether a header name is personal data (see :data:`PII_PATTERNS`)."""
    return bool(_PII_RE.fullmatch(_clean_header(header)))


def drop_pii(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop personal-data columns. Returns the frame and the names dropped."""
    gone = [c for c in df.columns if is_pii(str(c))]
    return df.drop(columns=gone), gone


def pseudonymise(ids: Sequence | pd.Series, salt: str) -> pd.Series:
    """Salted SHA-256 pseudonyms: ``sha256(f"{salt}:{id}")`` hex, first 16 characters.

    Parameters
    ----------
    ids : Series
        Identifiers (buyer nick, e-mail, customer id). Missing or blank stays None.
    salt : str
        The shop's secret salt; must not be empty.

    Returns
    -------
    pandas.Series
        Object series of 16-character lowercase hex strings or None, same index.
    """
    if not salt:
        raise ValueError("pseudonymise needs a non-empty salt")
    s = ids if isinstance(ids, pd.Series) else pd.Series(ids)
    text = as_text(s)
    valid = (text.str.strip() != "").to_numpy() & s.notna().to_numpy()
    out = np.full(len(s), None, dtype=object)
    if valid.any():
        codes, uniq = pd.factorize(text[valid])
        prefix = f"{salt}:".encode()
        values = np.asarray(uniq, dtype=object).tolist()  # plain str: fast to iterate
        hashed = np.array(
            [hashlib.sha256(prefix + u.encode("utf-8")).hexdigest()[:16] for u in values],
            dtype=object,
        )
        out[valid] = hashed[codes]
    return pd.Series(out, index=s.index, dtype="object")


# --------------------------------------------------------------------------------------------
# money apportionment
# --------------------------------------------------------------------------------------------


def apportion(total: pd.Series, weight: pd.Series, group: pd.Series) -> pd.Series:
    """Split each group's total across its rows in proportion to ``weight``, exact to the cent.

    Largest-remainder rounding on integer cents: the parts of a group always sum to the
    group's total (rounded to the cent). Groups whose weights are all zero split equally.

    Parameters
    ----------
    total : Series
        The group total, repeated on every row of the group.
    weight : Series
        Non-negative weights (e.g. price × quantity).
    group : Series or array
        Group key (e.g. order id), or non-negative integer group codes.

    Returns
    -------
    pandas.Series
        Float amounts in currency units, same index.
    """
    idx = total.index
    g = np.asarray(group)
    if g.dtype.kind not in "iu" or (len(g) and g.min() < 0):
        g = pd.factorize(pd.Series(group, index=idx))[0]
    t_c = np.round(pd.Series(total, index=idx).to_numpy(dtype="float64") * 100.0)
    w = np.clip(pd.Series(weight, index=idx).to_numpy(dtype="float64"), 0.0, None)
    w = np.nan_to_num(w)
    ng = g.max() + 1 if len(g) else 0
    wsum = np.bincount(g, weights=w, minlength=ng)
    zero = wsum[g] <= 0
    w = np.where(zero, 1.0, w)
    wsum = np.bincount(g, weights=w, minlength=ng)
    exact = t_c * w / wsum[g]
    base = np.floor(exact + 1e-9)
    with np.errstate(invalid="ignore"):  # 0/0 for codes without rows (rejected orders)
        rem = np.round(np.bincount(g, weights=t_c, minlength=ng) / np.bincount(g, minlength=ng))
    rem = rem - np.bincount(g, weights=base, minlength=ng)
    frac = exact - base
    order = np.lexsort((np.arange(len(g)), -frac, g))
    pos = np.empty(len(g), dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(g[order])) + 1] if len(g) else np.array([], int)
    run = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    pos[order] = run
    cents = base + (pos < rem[g])
    return pd.Series(cents / 100.0, index=idx)


# --------------------------------------------------------------------------------------------
# row accounting
# --------------------------------------------------------------------------------------------


def row_values_text(df: pd.DataFrame, limit: int = 400) -> pd.Series:
    """Each row as ``column=value; …`` over its non-empty data cells (for rejects)."""
    cols = _data_columns(df)
    out = pd.Series("", index=df.index, dtype="str")
    for c in cols:
        v = as_text(df[c]).str.strip()
        has = v != ""
        piece = (str(c) + "=" + v).where(has, "")
        sep = pd.Series(np.where((out != "") & has, "; ", ""), index=df.index, dtype="str")
        out = out + sep + piece
    long = out.str.len() > limit
    return out.where(~long, out.str.slice(0, limit - 1) + "…")


@dataclass
class Source:
    """One input file, read and recognised.

    Attributes
    ----------
    file : str
        Display name (the file name; the full path when two inputs share a name).
    format : str
        Detected format name.
    raw : pandas.DataFrame
        :func:`read_raw` output (still holding personal data: adapters drop it).
    encoding : str
        Detected text encoding.
    """

    file: str
    format: str
    raw: pd.DataFrame
    encoding: str = ""
    blank_rows: list[int] = field(default_factory=list)
    overlong_rows: list[int] = field(default_factory=list)

    @classmethod
    def read(cls, path: str | Path, file: str, fmt: str = "") -> Source:
        raw, enc = read_raw(path)
        return cls(
            file=file,
            format=fmt,
            raw=raw,
            encoding=enc,
            blank_rows=list(raw.attrs.get("blank_rows", [])),
            overlong_rows=list(raw.attrs.get("overlong_rows", [])),
        )

    @property
    def headers(self) -> list[str]:
        return _data_columns(self.raw)


def concat_sources(sources: Sequence[Source]) -> pd.DataFrame:
    """Stack the raw frames of several files of one format (union of columns, ``""`` filled)
    and add ``_source_file`` (categorical: one code per file)."""
    frames = [s.raw for s in sources]
    if not frames:
        return pd.DataFrame({SOURCE_FILE: [], SOURCE_ROW: []})
    df = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    df = df.reset_index(drop=True)
    for c in _data_columns(df):
        if df[c].hasnans:
            df[c] = df[c].fillna("")
    codes = np.repeat(np.arange(len(frames), dtype=np.int32), [len(f) for f in frames])
    files = pd.Categorical.from_codes(codes, categories=pd.Index([s.file for s in sources]))
    df = df.assign(**{SOURCE_FILE: files})
    df.attrs = {}
    return df


def take(s: pd.Series | None, pos: np.ndarray) -> pd.Series | None:
    """Rows at positions ``pos`` with a fresh RangeIndex (dtype kept; None stays None)."""
    if s is None:
        return None
    out = s.iloc[pos]
    out.index = pd.RangeIndex(len(pos))
    return out


class Ledger:
    """Row accounting for the raw rows of one or more files of one format.

    Every row starts alive; :meth:`reject` moves rows to the rejects with a reason (the first
    reason wins). Noise rejections (blank, summary, duplicate rows) do not invalidate the
    order a row belongs to; other rejections do (see :meth:`cascade`).

    Parameters
    ----------
    raw : pandas.DataFrame
        Rows with personal data already dropped, a RangeIndex, ``_source_file`` and
        ``_source_row``.
    table : str
        Canonical table name (for the rejects' ``table`` column).
    sources : sequence of Source
        The files these rows come from (for blank rows, overlong rows and per-file counts).
    """

    def __init__(self, raw: pd.DataFrame, table: str, sources: Sequence[Source]):
        self.raw = raw.reset_index(drop=True)
        self.table = table
        self.sources = list(sources)
        n = len(self.raw)
        self.alive = np.ones(n, dtype=bool)
        self.invalid = np.zeros(n, dtype=bool)
        self.key: pd.Series | None = None
        self._parts: list[pd.DataFrame] = []
        self._sci: list[pd.DataFrame] = []  # order ids lost to scientific notation
        if n and any(s.overlong_rows for s in self.sources):
            over = pd.Series(False, index=self.raw.index)
            for s in self.sources:
                if s.overlong_rows:
                    over |= (self.raw[SOURCE_FILE] == s.file) & self.raw[SOURCE_ROW].isin(
                        s.overlong_rows
                    )
            self.reject(over, "value in a column without a header")

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def alive_mask(self) -> pd.Series:
        return pd.Series(self.alive, index=self.raw.index)

    def _files_at(self, pos: np.ndarray) -> np.ndarray:
        col = self.raw[SOURCE_FILE]
        return np.asarray(col.cat.categories, dtype=object)[col.cat.codes.to_numpy()[pos]]

    def where(self, pos: np.ndarray) -> pd.Series:
        """``"<file> row N"`` labels of rows at positions ``pos``."""
        rows = self.raw[SOURCE_ROW].to_numpy()[pos].astype(str)
        return pd.Series(self._files_at(pos), dtype="str") + " row " + pd.Series(rows, dtype="str")

    def reject(
        self,
        mask: pd.Series | np.ndarray,
        reason: str | pd.Series | np.ndarray | Callable[[np.ndarray], Sequence[str]],
        column: str | None = None,
        noise: bool = False,
    ) -> int:
        """Reject the alive rows in ``mask``; returns how many were rejected.

        ``reason`` is one text, a series / array aligned with the rows (positionally), or a
        function of the rejected positions returning their reasons (so that texts are only
        built for rejected rows).
        """
        m = np.asarray(mask, dtype=bool) & self.alive
        if not m.any():
            return 0
        pos = np.flatnonzero(m)
        if isinstance(reason, str):
            r = reason
        elif callable(reason):
            r = np.asarray(reason(pos), dtype=object)
        elif isinstance(reason, pd.Series):
            r = reason.iloc[pos].to_numpy(dtype=object)
        else:
            r = np.asarray(reason, dtype=object)[pos]
        self._parts.append(pd.DataFrame({"pos": pos, "column": column, "reason": r}))
        self.alive[pos] = False
        if not noise:
            self.invalid[pos] = True
        return len(pos)

    def reject_parsed(self, p: Parsed, column: str, label: str = "") -> int:
        """Reject rows whose cell failed to parse, with the parser's reason."""
        reason = (label + " " + p.reason) if label else p.reason
        return self.reject(p.bad, reason, column)

    def reject_summary(self, id_col: str | None) -> int:
        lab = summary_label(self.raw, id_col)
        return self.reject(lab.notna(), "summary row (" + lab.fillna("") + ")", noise=True)

    def reject_duplicates(self, full: pd.DataFrame | None = None) -> int:
        """Reject exact duplicates of an earlier row (compared on ``full``'s data columns:
        pass the frame that still has personal data, so rows differing only there differ)."""
        src = full if full is not None else self.raw
        first = duplicate_first(src, _data_columns(src))
        dup = first >= 0
        if not dup.any():
            return 0
        pos = np.flatnonzero(dup)
        codes = self.raw[SOURCE_FILE].cat.codes.to_numpy()
        ref_file = self._files_at(first[pos])
        same = codes[first[pos]] == codes[pos]
        ref_row = self.raw[SOURCE_ROW].to_numpy()[first[pos]].astype(str)
        text = np.where(
            same,
            "duplicate of row " + ref_row.astype(object),
            "duplicate of " + ref_file.astype(object) + " row " + ref_row.astype(object),
        )
        reason = np.full(len(self.raw), "", dtype=object)
        reason[pos] = text
        return self.reject(dup, reason, noise=True)

    def reject_missing(self, values: pd.Series, column: str, what: str) -> int:
        """Reject alive rows where ``values`` is missing, reason ``missing <what>``."""
        return self.reject(values.isna().to_numpy(), f"missing {what}", column)

    def reject_repeated(self, key: pd.Series, column: str | None, label: str) -> int:
        """Reject alive rows whose ``key`` an earlier alive row already has (first one kept).

        Reason: ``<label> <key> already at <file> row N``. Counted as noise: the first row
        stands for the key.
        """
        k = key.where(self.alive_mask)
        present = k.notna()
        rep = present & k.duplicated(keep="first")
        if not rep.any():
            return 0
        firsts = present & ~k.duplicated(keep="first")
        first_pos = pd.Series(np.flatnonzero(firsts.to_numpy()), index=k[firsts].to_numpy())
        ref = k[rep].map(first_pos).to_numpy(dtype=np.int64)
        reason = np.full(len(k), "", dtype=object)
        text = label + " " + k[rep].astype("str") + " already at " + self.where(ref).to_numpy()
        reason[np.flatnonzero(rep.to_numpy())] = text.to_numpy()
        return self.reject(rep, reason, column, noise=True)

    def note_scientific(self, text: pd.Series, bad: pd.Series) -> None:
        """Remember the order ids of these rows that are in scientific notation, as the range
        of ids each could stand for (``5.12346E+18`` → 5.123455e18 … 5.123465e18)."""
        pos = np.flatnonzero(np.asarray(bad, dtype=bool))
        if not len(pos):
            return
        parts = extract_groups(
            normalise_text(text.iloc[pos]),
            r"^(?P<m>[+-]?\d+(?:\.(?P<f>\d+))?)[eE](?P<e>[+-]?\d+)$",
        )
        m = pd.to_numeric(parts["m"], errors="coerce").to_numpy(float)
        e = pd.to_numeric(parts["e"], errors="coerce").to_numpy(float)
        d = parts["f"].str.len().fillna(0).to_numpy(float)
        half = 0.5 * 10.0 ** (e - d)
        self._sci.append(
            pd.DataFrame({"lo": m * 10.0**e - half, "hi": m * 10.0**e + half, "pos": pos})
        )

    def reject_near_scientific(self, others: Sequence[Ledger] = ()) -> None:
        """Reject orders that may own a row whose order id was lost to scientific notation.

        Such a row cannot be joined to its order; loading the order without it would leave
        the order with a line (and, in Taobao's split reports, money) missing. Every order
        whose id falls in the range the lost id stands for is rejected with the row named.
        """
        ledgers = [self, *others]
        ranges = []
        for led in ledgers:
            for frame in led._sci:
                ranges.append(frame.assign(where=led.where(frame["pos"].to_numpy()).to_numpy()))
        if not ranges:
            return
        r = pd.concat(ranges, ignore_index=True).dropna(subset=["lo", "hi"])
        r = r.sort_values("lo", kind="stable").reset_index(drop=True)
        lo = r["lo"].to_numpy()
        hi_max = np.maximum.accumulate(r["hi"].to_numpy())
        for led in ledgers:
            if led.key is None or not led.alive.any():
                continue
            num = pd.to_numeric(led.key.where(led.alive_mask), errors="coerce").to_numpy(float)
            idx = np.searchsorted(lo, num, side="right") - 1
            hit = (idx >= 0) & ~np.isnan(num)
            hit[hit] = num[hit] <= hi_max[idx[hit]]
            if hit.any():
                where = r["where"].to_numpy()
                keys = led.key

                def reason(pos: np.ndarray, keys=keys, idx=idx, where=where) -> np.ndarray:
                    k = keys.iloc[pos].to_numpy(dtype=object)
                    w = where[idx[pos]]
                    return np.array(
                        [
                            f"order {a} may own {b}, whose order id is in scientific notation"
                            for a, b in zip(k, w, strict=True)
                        ],
                        dtype=object,
                    )

                led.reject(hit, reason)

    def cascade(self, others: Sequence[Ledger] = (), what: str = "order") -> None:
        """Reject every alive row sharing a ``key`` with a row rejected as invalid.

        Orders are all-or-nothing: a line that cannot be read takes its order (all lines, and
        the order row in another file) to the rejects, so no order reaches the table with
        lines missing. ``others`` are ledgers of the same orders in other files.
        """
        ledgers = [self, *others]
        recs = []
        for led in ledgers:
            if led.key is None:
                continue
            pos = np.flatnonzero(led.invalid & led.key.notna().to_numpy())
            if len(pos):
                recs.append(
                    pd.DataFrame(
                        {"key": led.key.iloc[pos].to_numpy(), "where": led.where(pos).to_numpy()}
                    )
                )
        if not recs:
            return
        ref = pd.concat(recs, ignore_index=True).drop_duplicates("key").set_index("key")["where"]
        for led in ledgers:
            if led.key is None:
                continue
            hit = isin(led.key, ref.index.to_series()) & led.alive
            if hit.any():
                where = led.key.map(ref).fillna("")
                reason = what + " " + led.key.astype("str") + " incomplete: " + where + " rejected"
                led.reject(hit, reason.to_numpy())

    def rejects(self) -> pd.DataFrame:
        """The rejected rows (:data:`REJECT_COLUMNS`), blank rows included, in file order."""
        frames = []
        if self._parts:
            parts = pd.concat(self._parts, ignore_index=True)
            sub = self.raw.iloc[parts["pos"].to_numpy()]
            frames.append(
                pd.DataFrame(
                    {
                        "table": self.table,
                        "file": self._files_at(parts["pos"].to_numpy()),
                        "row": sub[SOURCE_ROW].to_numpy(dtype=np.int64),
                        "column": parts["column"].to_numpy(),
                        "reason": parts["reason"].astype("object").to_numpy(),
                        "values": row_values_text(sub).to_numpy(),
                    }
                )
            )
        for s in self.sources:
            if s.blank_rows:
                frames.append(
                    pd.DataFrame(
                        {
                            "table": self.table,
                            "file": s.file,
                            "row": np.asarray(s.blank_rows, dtype=np.int64),
                            "column": None,
                            "reason": "blank row",
                            "values": "",
                        }
                    )
                )
        if not frames:
            return pd.DataFrame(columns=REJECT_COLUMNS)
        out = pd.concat(frames, ignore_index=True)[REJECT_COLUMNS]
        return out.sort_values(["file", "row"], kind="stable").reset_index(drop=True)

    def counts(self) -> list[FileCount]:
        """``read == kept + rejected`` per file (blank rows are read and rejected)."""
        out = []
        codes = self.raw[SOURCE_FILE].cat.codes.to_numpy() if len(self.raw) else np.array([])
        cats = list(self.raw[SOURCE_FILE].cat.categories) if len(self.raw) else []
        for s in self.sources:
            mine = codes == (cats.index(s.file) if s.file in cats else -2)
            n = int(mine.sum())
            kept = int((mine & self.alive).sum())
            blanks = len(s.blank_rows)
            out.append(
                FileCount(
                    file=s.file,
                    table=self.table,
                    format=s.format,
                    read=n + blanks,
                    kept=kept,
                    rejected=n - kept + blanks,
                )
            )
        return out


def says(prefix: str, values: pd.Series, suffix: str = "") -> Callable[[np.ndarray], np.ndarray]:
    """A reason builder for :meth:`Ledger.reject`: ``<prefix>'<value>'<suffix>``, built only
    for the rejected positions."""

    def build(pos: np.ndarray) -> np.ndarray:
        v = as_text(values.iloc[pos]).str.slice(0, 60)
        return (prefix + "'" + v + "'" + suffix).to_numpy(dtype=object)

    return build


def larger_than(what: str, a: pd.Series, b_what: str, b: pd.Series) -> Callable:
    """Reason builder ``<what> 120.00 larger than <b_what> 100.00`` for rejected positions."""

    def build(pos: np.ndarray) -> np.ndarray:
        x, y = a.to_numpy()[pos], b.to_numpy()[pos]
        return np.array(
            [f"{what} {u:.2f} larger than {b_what} {w:.2f}" for u, w in zip(x, y, strict=True)],
            dtype=object,
        )

    return build


@dataclass
class Part:
    """Canonical order lines read from the files of one export format.

    Attributes
    ----------
    format : str
        Format name.
    lines : pandas.DataFrame
        Canonical columns plus ``_source_file`` / ``_source_row``; its index is the row
        position in ``line_ledger.raw``.
    line_ledger : Ledger
        The ledger whose rows are the lines.
    ledgers : list of Ledger
        Every ledger of this format (the line ledger and, e.g., Taobao's 订单报表 ledger), each
        with ``key`` = order id per row.
    notes : list of str
        What the reader should know (missing buyer id, dropped personal-data columns…).
    """

    format: str
    lines: pd.DataFrame
    line_ledger: Ledger
    ledgers: list[Ledger]
    notes: list[str] = field(default_factory=list)

    def reject_orders(self, reasons: pd.Series) -> None:
        """Reject every row of the given orders (``reasons``: order id → reason)."""
        if reasons.empty:
            return
        for led in self.ledgers:
            if led.key is None:
                continue
            hit = isin(led.key, reasons.index.to_series()) & led.alive
            if hit.any():
                led.reject(hit, led.key.map(reasons).fillna("").to_numpy(), None)
        keep = self.line_ledger.alive[self.lines.index.to_numpy()]
        self.lines = self.lines[keep]


def pick(df: pd.DataFrame, *names: str) -> str | None:
    """The first of ``names`` that is a column of ``df`` (None if none is)."""
    for n in names:
        if n in df.columns:
            return n
    return None


def first_filled(*series: pd.Series | None) -> pd.Series:
    """Row-wise first non-missing, non-empty value across text series."""
    out: pd.Series | None = None
    for s in series:
        if s is None:
            continue
        s = as_text(s)
        s = s.where(s != "")
        out = s if out is None else out.where(out.notna(), s)
    return out if out is not None else pd.Series(dtype="str")


def text_or_none(s: pd.Series) -> pd.Series:
    """Stripped text (not otherwise changed), missing for empty cells."""
    t = as_text(s).str.strip()
    return t.where(t != "")
