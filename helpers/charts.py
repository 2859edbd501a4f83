"""Drawing only: every function takes a computed table and returns a matplotlib Axes.

One style for the whole playbook (:func:`use_style`): a seaborn theme, fixed colours per role,
segment and channel, and a CJK font found on the machine so Chinese labels render.
"""

from __future__ import annotations

import warnings
from functools import cache

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager

CJK_FONTS = [
    "PingFang SC",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Heiti SC",
    "AR PL UMing CN",
]
PALETTE = ["#2F6DB5", "#E07B39", "#3A9E6F", "#C94C4C", "#8C6BB1", "#8C8C8C", "#D4A72C", "#4FB3BF"]
ROLE_COLORS = {"traffic": "#4FB3BF", "profit": "#3A9E6F", "image": "#8C6BB1", "custom": "#D4A72C"}


@cache
def cjk_font() -> str | None:
    """Name of an installed font with Chinese glyphs, or None."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    return None


def use_style() -> str | None:
    """Apply the playbook's chart style; returns the CJK font used (None if none found)."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.95)
    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams.update(
        {
            "axes.unicode_minus": False,
            "figure.figsize": (9, 4),
            "figure.dpi": 100,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
            "svg.hashsalt": "playbook",
        }
    )
    warnings.filterwarnings("ignore", message=".*tight_layout.*")
    return font


def _fmt_money(ax, axis: str = "y") -> None:
    fmt = matplotlib.ticker.FuncFormatter(
        lambda v, _: f"{v / 1e4:,.1f}万" if abs(v) >= 1e5 else f"{v:,.0f}"
    )
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def line(
    df: pd.DataFrame,
    x: str,
    ys: list[str],
    title: str,
    labels: dict[str, str] | None = None,
    money: bool = True,
    ax=None,
):
    """Lines of one or more columns against ``x``."""
    ax = ax or plt.subplots()[1]
    for y in ys:
        ax.plot(df[x], df[y], label=(labels or {}).get(y, y), linewidth=1.4)
    ax.set_title(title)
    ax.set_xlabel("")
    if len(ys) > 1:
        ax.legend(frameon=False)
    if money:
        _fmt_money(ax)
    return ax


def bar(
    df: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    color: str | list | None = None,
    horizontal: bool = False,
    money: bool = False,
    ax=None,
):
    """Bars of ``y`` by ``x`` in the table's order."""
    ax = ax or plt.subplots()[1]
    labels = df[x].astype(str).tolist()
    if horizontal:
        ax.barh(labels[::-1], df[y].to_numpy()[::-1], color=color or PALETTE[0])
    else:
        ax.bar(labels, df[y].to_numpy(), color=color or PALETTE[0])
        if len(labels) > 8:
            ax.tick_params(axis="x", labelrotation=45)
    ax.set_title(title)
    if money:
        _fmt_money(ax, "x" if horizontal else "y")
    return ax


def stacked_bar(df: pd.DataFrame, title: str, colors: dict | None = None, ax=None):
    """Stacked bars: index on x, one column per stack part."""
    ax = ax or plt.subplots()[1]
    bottom = None
    for col in df.columns:
        vals = df[col].to_numpy()
        ax.bar(
            df.index.astype(str),
            vals,
            bottom=bottom,
            label=str(col),
            color=(colors or {}).get(col),
        )
        bottom = vals if bottom is None else bottom + vals
    ax.set_title(title)
    ax.legend(frameon=False, ncol=min(4, len(df.columns)))
    if len(df) > 8:
        ax.tick_params(axis="x", labelrotation=45)
    return ax


def pareto(df: pd.DataFrame, share_col: str, cum_col: str, title: str, ax=None):
    """Pareto chart: bars of each item's share, line of the cumulative share."""
    ax = ax or plt.subplots()[1]
    x = range(1, len(df) + 1)
    ax.bar(x, df[share_col], color=PALETTE[0], width=1.0)
    ax2 = ax.twinx()
    ax2.plot(x, df[cum_col], color=PALETTE[1])
    ax2.axhline(0.8, color=PALETTE[3], linestyle="--", linewidth=0.8)
    ax2.set_ylim(0, 1.02)
    ax2.grid(False)
    ax.set_title(title)
    return ax


def heatmap(df: pd.DataFrame, title: str, fmt: str = ".0%", ax=None, cmap: str = "Blues"):
    """A heatmap of a computed matrix (e.g. cohort retention)."""
    import seaborn as sns

    ax = ax or plt.subplots(figsize=(10, max(3, 0.35 * len(df))))[1]
    sns.heatmap(df, annot=len(df.columns) <= 14, fmt=fmt, cmap=cmap, cbar=False, ax=ax)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    return ax
