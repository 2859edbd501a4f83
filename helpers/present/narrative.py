"""Words for the report: labels and "what it means / what to do" text from computed numbers.

Messages live in ``data_files/messages/*.yaml`` (one file per notebook), each key holding a
``zh`` and an ``en`` template. Narrative functions never compute: they format numbers that a
helper computed. Shop-provided text (titles, reviews) is HTML-escaped by :func:`esc` before it
goes into Markdown, because Markdown passes raw HTML through.
"""

from __future__ import annotations

import math

from helpers.core.catalogue import MESSAGES_DIR, catalogue, label, labels  # noqa: F401 (re-exported)

__all__ = ["esc", "titled", "money", "pct", "num", "zhe", "say", "show", "in_language"]

_ESC = str.maketrans(
    {c: f"&#{ord(c)};" for c in "&<>\"'[]*_`|#\\"}  # one pass: no entity is escaped twice
)


def esc(text) -> str:
    """Escape shop-provided text for HTML/Markdown (also neutralises Markdown link syntax)."""
    return str(text).translate(_ESC)


def titled(titles, ids) -> list[str]:
    """Titles for a table, with the id added where two rows share a title
    (``连衣裙 (6500011508)``), so products with the same name are told apart."""
    t = [str(x) for x in titles]
    seen: dict[str, int] = {}
    for x in t:
        seen[x] = seen.get(x, 0) + 1
    return [f"{x} ({i})" if seen[x] > 1 else x for x, i in zip(t, ids)]


def money(x: float, currency: str = "CNY", lang: str = "zh") -> str:
    """``¥1.2万`` / ``¥12,345`` style amounts."""
    if _missing(x):
        return "–"
    sym = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}.get(
        currency, currency + " "
    )
    sign = "-" if x < 0 else ""
    x = abs(x)
    if lang == "zh" and x >= 1e8:
        return f"{sign}{sym}{x / 1e8:,.2f}亿"
    if lang == "zh" and x >= 1e5:
        return f"{sign}{sym}{x / 1e4:,.1f}万"
    if lang == "en" and x >= 1e6:
        return f"{sign}{sym}{x / 1e6:,.2f}M"
    return f"{sign}{sym}{x:,.0f}"


def _missing(x) -> bool:
    """None, NaN, NaT or ±inf: nothing a reader can use ("–" on the page)."""
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return x != x  # NaT is not equal to itself


def pct(x: float, digits: int = 1) -> str:
    if _missing(x):
        return "–"
    return f"{x * 100:.{digits}f}%"


def num(x: float, digits: int = 0) -> str:
    if _missing(x):
        return "–"
    return f"{x:,.{digits}f}"


def zhe(discount: float, lang: str = "zh") -> str:
    """A discount as the reader says it: 20% off is ``8折`` in Chinese (the price paid, in
    tenths), ``20% off`` in English; 25% off is ``7.5折``. "–" when missing."""
    if _missing(discount):
        return "–"
    if lang != "zh":
        return f"{discount * 100:.0f}% off"
    tenths = round((1 - float(discount)) * 10, 1)
    return f"{tenths:g}折"


def say(key: str, lang: str = "zh", **values) -> str:
    """The message ``key`` in ``lang`` with ``values`` filled in."""
    entry = catalogue()[key]
    template = entry.get(lang) or entry["en"]
    return template.format(**values).strip()


def show(text: str) -> None:
    """Display Markdown in a notebook (plain print elsewhere).

    A ``$`` is written as ``&#36;``: two dollar amounts in one paragraph would otherwise be
    read as a math span, and the Markdown between them (``**``) would reach the page raw.
    """
    text = text.replace("$", "&#36;")
    try:
        from IPython.display import Markdown, display

        display(Markdown(text))
    except ImportError:  # pragma: no cover
        print(text)


def in_language(df, lang: str = "zh", words=("campaign", "task", "role", "owner")):
    """A table whose words come in both languages (``task_zh``/``task_en`` …) with the
    report's kept under the plain name (``task``), in the same place."""
    cols = []
    for c in df.columns:
        base, _, tag = str(c).rpartition("_")
        if base in words and tag in ("zh", "en"):
            if tag == "zh":
                cols.append(base)
            continue
        cols.append(c)
    out = df.assign(**{w: df[f"{w}_{lang if lang == 'en' else 'zh'}"] for w in words})
    return out[cols]
