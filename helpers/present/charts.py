"""Drawing only: every function takes a computed table and returns a matplotlib Axes.

One style for the whole playbook (:func:`use_style`): a seaborn theme, fixed colours per role,
segment and channel, and a CJK font found on the machine so Chinese labels render.

Above 600 lines: one function per chart, each short; split by page would scatter the shared style.
"""

from __future__ import annotations

import logging
import warnings
from functools import cache

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager

from helpers.present import png_cache

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


_LANG = {"lang": "zh"}


def use_style(lang: str = "zh") -> str | None:
    """Apply the playbook's chart style; returns the CJK font used (None if none found).

    ``lang`` sets how axis amounts read: 万/亿 in Chinese, K/M in English.
    """
    import seaborn as sns

    _LANG["lang"] = lang

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
            # glyphs rasterised unhinted: less time per chart (PNG rendering is most of a
            # notebook's time), the same look at report resolution
            "text.hinting": "none",
        }
    )
    _draw_once()
    warnings.filterwarnings("ignore", message=".*tight_layout.*")
    # CJK fonts often lack a bold face: matplotlib falls back to synthetic weight, and says so
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    return font


def _draw_once() -> None:
    """Each chart drawn once per cell, not three times, in a notebook with the inline backend.

    pyplot hooks ``draw_all`` into IPython's post-execute event: every figure still open at a
    cell's end is drawn in full, for an interactive window to show. The inline backend's own
    hook then draws it again into the PNG it displays, and closes it. Without a window the
    first draw is lost work (~1 s of CPU over the seven demo notebooks), so it is removed.

    The inline PNG is cropped to the figure's tight bounding box. matplotlib finds that box
    after a layout pass that draws the whole figure without rendering it, then draws it
    again for real; measuring the box alone (``get_tightbbox``) is still a walk over every
    artist. For a figure without a layout engine or an axes locator, the figure is
    instead rendered once with :data:`_ROOM` inches of background around it and cropped to
    the pixels that differ from the background, plus the usual pad: the same drawing, at
    whole pixels (anti-aliasing may differ), a few pixels smaller where the box held blank
    space (a legend's frameless border). A drawing that reaches the room's edge is measured
    as before.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    hook = getattr(plt, "_draw_all_if_interactive", None)
    if shell is None or hook is None or "inline" not in matplotlib.get_backend():
        return
    # pyplot loads its backend at the first figure, and the inline backend registers its PNG
    # formatter then: load it now (a kernel papermill or JupyterLab starts) to wrap it
    import matplotlib_inline.backend_inline  # noqa: F401

    if hook in shell.events.callbacks.get("post_execute", []):
        shell.events.unregister("post_execute", hook)
    _tight_png_once(shell.display_formatter.formatters["image/png"])


# Blank room drawn around a figure for the inline PNG, in inches, from which it is cropped to
# what was drawn: tick labels and legends outside the axes fit in it (wider: a fallback).
_ROOM = 2.0


def _tight_png_once(formatter) -> None:
    """Wrap the PNG formatter of figures (``bbox_inches="tight"``) as :func:`_draw_once`
    says; any other configuration is left as it is."""
    from matplotlib.figure import Figure

    try:
        printer = formatter.lookup_by_type(Figure)
    except KeyError:
        return
    kw = getattr(printer, "keywords", None) or {}
    if getattr(printer, "tight_once", False) or kw.get("bbox_inches") != "tight":
        return

    def png(fig):
        renderer = getattr(fig.canvas, "get_renderer", None)  # an Agg canvas, as inline's is
        if renderer is None or not fig.axes or fig.get_layout_engine() is not None:
            return printer(fig)
        if any(ax.get_axes_locator() is not None for ax in fig.axes):
            return printer(fig)
        pad = kw.get("pad_inches", plt.rcParams["savefig.pad_inches"])
        settings = {k: v for k, v in kw.items() if k != "base64"}
        key = png_cache.key(fig, {**settings, "pad": pad, "lang": _LANG["lang"]})
        data = png_cache.get(key)
        if data is None:
            data = _tight_png(fig, pad, printer, renderer)
            png_cache.put(key, data)
        if kw.get("base64"):
            from binascii import b2a_base64

            return b2a_base64(data, newline=False).decode("ascii")
        return data

    png.tight_once = True
    formatter.for_type(Figure, png)


def _tight_png(fig, pad: float, printer, renderer) -> bytes:
    """The figure's PNG cropped to what was drawn (:func:`_inked_png`), or to its measured
    tight box when the drawing reaches the edge of the room."""
    unplaced = _placed_without_measuring(fig)
    data = _inked_png(fig, pad)
    if data is None:  # something reached the edge of the room: measure it instead
        for axis in unplaced:  # an empty label counts in a measured box: where it belongs
            axis._autolabelpos = True
        data = printer(fig, bbox_inches=fig.get_tightbbox(renderer()).padded(pad), base64=False)
    return data


def _placed_without_measuring(fig) -> list:
    """Skip what a draw measures only to place a title or an empty axis label.

    matplotlib places each axis label below (beside) its tick labels, and each title above
    anything on top of its axes, by measuring every tick label first (a fifth of the Python
    calls of a chart's drawing). An empty label draws nothing, so it is left where it is; a title goes where
    that measuring puts it (just above the axes, at its pad) unless some axes of the figure
    has ticks or a label on top, or a y-axis offset text (``1e6``) it could meet, when it is
    measured as before. Returns the axes whose empty label was left unplaced.
    """
    from matplotlib.ticker import ScalarFormatter

    def offset_shown(axis) -> bool:
        fmt = axis.get_major_formatter()
        if not isinstance(fmt, ScalarFormatter):
            return False
        fmt.set_locs(axis.get_majorticklocs())
        return bool(fmt.get_offset())

    unplaced = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.label.get_text() and getattr(axis, "_autolabelpos", False):
                axis._autolabelpos = False
                unplaced.append(axis)

    def top_side(axis) -> bool:  # tick marks or labels on top (our style draws no marks,
        # which matplotlib's ``get_ticks_position`` calls "unknown" and measures)
        tick = axis.get_tick_params(which="major")
        return bool(
            tick.get("top", plt.rcParams["xtick.top"])
            or tick.get("labeltop", plt.rcParams["xtick.labeltop"])
            or axis.get_label_position() == "top"
        )

    on_top = any(top_side(ax.xaxis) or offset_shown(ax.yaxis) for ax in fig.axes)
    if not on_top:
        for ax in fig.axes:
            if getattr(ax, "_autotitlepos", None):
                ax._autotitlepos = False
    return unplaced


def _inked_png(fig, pad: float) -> bytes | None:
    """The figure drawn once with :data:`_ROOM` inches of its background around it, cropped
    to the pixels that differ from that background plus ``pad`` inches: the PNG of
    ``bbox_inches="tight"`` without the pass that measures every artist first (~15% of a
    chart's time). None when the drawing reaches the room's edge."""
    import io

    import numpy as np
    from matplotlib.colors import to_rgba_array

    dpi, face, room = fig.dpi, fig.get_facecolor(), fig.bbox_inches.padded(_ROOM)
    buf = io.BytesIO()
    fig.canvas.print_figure(
        buf, format="rgba", dpi=dpi, facecolor=face, edgecolor=fig.get_edgecolor(), bbox_inches=room
    )
    w, h = (round(v * dpi) for v in room.size)
    px = np.frombuffer(buf.getbuffer(), dtype=np.uint32)
    if px.size != w * h:
        return None
    px = px.reshape(h, w)
    bg = (to_rgba_array(face) * 255).round().astype(np.uint8).view(np.uint32)[0]
    ink = px != bg
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    p = round(pad * dpi)
    if not rows.size or min(rows[0], cols[0], h - 1 - rows[-1], w - 1 - cols[-1]) <= p:
        return None
    crop = px[rows[0] - p : rows[-1] + p + 1, cols[0] - p : cols[-1] + p + 1]
    out = io.BytesIO()
    matplotlib.image.imsave(out, crop.view(np.uint8).reshape(*crop.shape, 4), format="png", dpi=dpi)
    return out.getvalue()


def axis_amount(v: float) -> str:
    """A tick label for an amount: 1.5万 / 2亿 in Chinese, 15K / 2M in English."""
    a = abs(v)
    if _LANG["lang"] == "zh":
        if a >= 1e8:
            return f"{v / 1e8:,.4g}亿"
        return f"{v / 1e4:,.4g}万" if a >= 1e4 else f"{v:,.0f}"
    if a >= 1e6:
        return f"{v / 1e6:,.4g}M"
    return f"{v / 1e3:,.4g}K" if a >= 1e4 else f"{v:,.0f}"


def _tick_amount(v: float, _pos=None) -> str:
    return axis_amount(v)


def _fmt_money(ax, axis: str = "y") -> None:
    fmt = matplotlib.ticker.FuncFormatter(_tick_amount)  # a named function: figures pickle
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
        colors = color[::-1] if isinstance(color, list) else color  # same order as the bars
        ax.barh(labels[::-1], df[y].to_numpy()[::-1], color=colors or PALETTE[0])
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


# --- market & targets charts ---
# Used by 01_market_positioning and 02_target_setting.


def _pct_axis(ax, axis: str = "x") -> None:
    fmt = matplotlib.ticker.PercentFormatter(1.0)
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def range_bars(
    df: pd.DataFrame,
    label: str,
    mid: str,
    low: str,
    high: str,
    title: str,
    ref: str | None = None,
    labels: dict[str, str] | None = None,
    ax=None,
):
    """Horizontal bars of ``mid`` with a ``low``–``high`` whisker; ``ref`` as a dot (e.g. last
    year). Rows are drawn top to bottom in the table's order."""
    ax = ax or plt.subplots(figsize=(9, max(2.5, 0.45 * len(df) + 1)))[1]
    names = df[label].astype(str).tolist()[::-1]
    m = df[mid].to_numpy(dtype=float)[::-1]
    lo = df[low].to_numpy(dtype=float)[::-1]
    hi = df[high].to_numpy(dtype=float)[::-1]
    y = range(len(names))
    lab = labels or {}
    ax.barh(y, m, color=PALETTE[0], alpha=0.85, label=lab.get(mid, mid))
    ax.errorbar(
        m,
        y,
        xerr=[m - lo, hi - m],
        fmt="none",
        ecolor="#333333",
        capsize=4,
        linewidth=1.2,
        label=lab.get("range", f"{low}–{high}"),
    )
    if ref is not None:
        ax.scatter(
            df[ref].to_numpy(dtype=float)[::-1],
            y,
            color=PALETTE[1],
            zorder=3,
            s=28,
            label=lab.get(ref, ref),
        )
    ax.set_yticks(list(y), names)
    ax.set_title(title)
    ax.legend(frameon=False, loc="lower right", fontsize="small")
    _fmt_money(ax, "x")
    return ax


def paired_bars(
    df: pd.DataFrame,
    x: str,
    cols: list[str],
    title: str,
    labels: dict[str, str] | None = None,
    pct: bool = True,
    colors: list[str] | None = None,
    ax=None,
):
    """Side-by-side bars of several columns per ``x`` value (e.g. shop vs market share)."""
    import numpy as np

    ax = ax or plt.subplots()[1]
    n = len(cols)
    xs = np.arange(len(df))
    width = 0.8 / max(n, 1)
    for i, c in enumerate(cols):
        ax.bar(
            xs + (i - (n - 1) / 2) * width,
            df[c].to_numpy(dtype=float),
            width,
            label=(labels or {}).get(c, c),
            color=(colors or PALETTE)[i % len(colors or PALETTE)],
        )
    ax.set_xticks(xs, df[x].astype(str).tolist())
    if len(df) > 8:
        ax.tick_params(axis="x", labelrotation=45)
    ax.set_title(title)
    ax.legend(frameon=False)
    if pct:
        _pct_axis(ax, "y")
    return ax


def share_panels(
    df: pd.DataFrame,
    panel: str,
    label: str,
    value: str,
    titles: dict[str, str],
    title: str,
    top: int = 8,
    pct: bool = True,
    colors: dict[str, str] | None = None,
):
    """Small multiples: one horizontal bar panel per value of ``panel`` (in ``titles`` order),
    each with its first ``top`` rows. Returns the array of Axes."""
    keys = [k for k in titles if (df[panel] == k).any()]
    n = max(len(keys), 1)
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.9 * rows), squeeze=False)
    for ax, k in zip(axes.ravel(), keys):
        d = df[df[panel] == k].head(top)
        ax.barh(
            d[label].astype(str).tolist()[::-1],
            d[value].to_numpy(dtype=float)[::-1],
            color=(colors or {}).get(k, PALETTE[0]),
        )
        ax.set_title(titles[k], fontsize="medium")
        if pct:
            _pct_axis(ax, "x")
    for ax in axes.ravel()[len(keys) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return axes


def bars_with_line(
    df: pd.DataFrame,
    x: str,
    bar_col: str,
    line_col: str | None,
    title: str,
    labels: dict[str, str] | None = None,
    ax=None,
):
    """Bars of ``bar_col`` (e.g. the target) with ``line_col`` as a line with markers (e.g.
    last year's actual), money on the y axis."""
    ax = ax or plt.subplots()[1]
    names = df[x].astype(str).tolist()
    lab = labels or {}
    ax.bar(
        names,
        df[bar_col].to_numpy(dtype=float),
        color=PALETTE[0],
        alpha=0.85,
        label=lab.get(bar_col, bar_col),
    )
    if line_col is not None and df[line_col].notna().any():
        ax.plot(
            names,
            df[line_col].to_numpy(dtype=float),
            color=PALETTE[1],
            marker="o",
            linewidth=1.4,
            label=lab.get(line_col, line_col),
        )
    if len(names) > 8:
        ax.tick_params(axis="x", labelrotation=45)
    ax.set_title(title)
    ax.legend(frameon=False)
    _fmt_money(ax)
    return ax


def calendar_heatmap(
    matrix: pd.DataFrame, title: str, cbar_label: str = "", log2: bool = True, ax=None
):
    """A month × day-of-month heatmap (rows = months, columns = 1..31) of multiples of an
    average day. ``log2``: colours on a log scale centred on 1× (blue below, red above), so
    one huge node day does not wash out the rest; the colour bar reads in multiples."""
    import numpy as np
    import seaborn as sns

    ax = ax or plt.subplots(figsize=(11, max(3, 0.38 * len(matrix) + 1)))[1]
    data = np.log2(matrix.where(matrix > 0)) if log2 else matrix
    lim = float(np.nanmax(np.abs(data.to_numpy()))) if log2 else None
    sns.heatmap(
        data,
        cmap="RdBu_r" if log2 else "YlOrRd",
        center=0 if log2 else None,
        vmin=-lim if log2 else None,
        vmax=lim if log2 else None,
        ax=ax,
        cbar=True,
        cbar_kws={"label": cbar_label},
        linewidths=0.3,
        linecolor="white",
    )
    if log2:
        cbar = ax.collections[0].colorbar
        ticks = [t for t in range(-4, 5) if abs(t) <= lim + 1e-9]
        cbar.set_ticks(ticks)
        cbar.set_ticklabels([f"{2.0**t:g}×" for t in ticks])
    ax.grid(False)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="y", labelrotation=0)
    return ax


def uplift_bars(
    df: pd.DataFrame,
    label: str,
    value: str,
    title: str,
    kind: str | None = None,
    colors: dict | None = None,
    ax=None,
):
    """Horizontal bars of multiples (e.g. festival uplifts) in the table's order, with a line
    at 1× and the value written at each bar's end; ``kind`` picks the colour per row."""
    n = len(df)
    ax = ax or plt.subplots(figsize=(9, max(2.5, 0.28 * n + 1)))[1]
    names = df[label].astype(str).tolist()[::-1]
    vals = df[value].to_numpy(dtype=float)[::-1]
    cols = PALETTE[0]
    if kind is not None:
        cols = [(colors or {}).get(k, PALETTE[0]) for k in df[kind].tolist()[::-1]]
    ax.barh(names, vals, color=cols)
    ax.axvline(1.0, color="#333333", linewidth=0.8, linestyle="--")
    for y, v in enumerate(vals):
        ax.text(v, y, f" {v:.2f}×", va="center", fontsize="x-small")
    ax.set_title(title)
    ax.margins(x=0.08)
    return ax


def money_axis(ax, axis: str = "y"):
    """Format an axis of an existing chart as money (万 above 100,000); returns the Axes."""
    _fmt_money(ax, axis)
    return ax


def legend_outside(ax, loc: str = "right"):
    """Move an existing legend outside the plot (right or below) so it hides no bars."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return ax
    if loc == "right":
        ax.legend(handles, labels, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    else:
        ax.legend(
            handles,
            labels,
            frameon=False,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncol=min(6, len(handles)),
        )
    return ax


# --- promotion & review charts ---
# (notebooks 05 and 06; every function takes a computed table and returns an Axes)
import numpy as np  # noqa: E402

__all__ = [
    "CJK_FONTS",
    "PALETTE",
    "ROLE_COLORS",
    "cjk_font",
    "use_style",
    "axis_amount",
    "line",
    "bar",
    "stacked_bar",
    "pareto",
    "heatmap",
    "range_bars",
    "paired_bars",
    "share_panels",
    "bars_with_line",
    "calendar_heatmap",
    "uplift_bars",
    "money_axis",
    "legend_outside",
    "ROLE_TASK_COLORS",
    "campaign_timeline",
    "campaign_forecast",
    "threshold_chart",
    "execution_gantt",
    "driver_waterfall",
    "anomaly_chart",
    "ads_scatter",
    "SEGMENT_COLORS",
    "customer_curve",
    "segment_shares",
    "rf_grid",
    "role_map",
    "stock_runway",
]

ROLE_TASK_COLORS = {
    "ops": PALETTE[0],
    "design": PALETTE[4],
    "service": PALETTE[2],
    "promotion": PALETTE[1],
    "warehouse": PALETTE[6],
}


def campaign_timeline(
    plan: pd.DataFrame, name_col: str, title: str, labels: dict[str, str] | None = None, ax=None
):
    """The year's campaigns on a time axis: pre-sale (light), main phase (dark), node day (◆).

    ``plan`` needs ``presale_start, start, end, peak`` and ``name_col``; one row per campaign.
    """
    import matplotlib.dates as mdates

    labels = labels or {}
    n = len(plan)
    ax = ax or plt.subplots(figsize=(9, max(2.5, 0.42 * n + 1)))[1]
    y = np.arange(n)[::-1]
    pre = plan["presale_start"].notna().to_numpy()
    ax.barh(
        y[pre],
        (plan["start"] - plan["presale_start"]).dt.days.to_numpy()[pre],
        left=mdates.date2num(plan["presale_start"][pre]),
        color=PALETTE[0],
        alpha=0.35,
        label=labels.get("presale", "presale"),
    )
    ax.barh(
        y,
        (plan["end"] - plan["start"]).dt.days.to_numpy() + 1,
        left=mdates.date2num(plan["start"]),
        color=PALETTE[0],
        label=labels.get("main", "main phase"),
    )
    ax.scatter(
        mdates.date2num(plan["peak"]) + 0.5,
        y,
        marker="D",
        color=PALETTE[3],
        zorder=3,
        s=18,
        label=labels.get("peak", "node day"),
    )
    ax.set_yticks(y, plan[name_col].astype(str).tolist())
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.set_title(title)
    ax.legend(frameon=False, loc="lower left", ncol=3, fontsize=8)
    return ax


def campaign_forecast(
    df: pd.DataFrame, name_col: str, title: str, labels: dict[str, str] | None = None, ax=None
):
    """Expected sales per campaign (bars, low-high range as whiskers) against the target (◆).

    ``df`` needs ``expected_sales, sales_low, sales_high, target_sales`` and ``name_col``; rows
    are drawn top to bottom in the table's order.
    """
    labels = labels or {}
    n = len(df)
    ax = ax or plt.subplots(figsize=(9, max(2.5, 0.45 * n + 1)))[1]
    y = np.arange(n)[::-1]
    exp = df["expected_sales"].to_numpy(float)
    err = np.vstack([exp - df["sales_low"].to_numpy(float), df["sales_high"].to_numpy(float) - exp])
    ax.barh(y, exp, color=PALETTE[0], alpha=0.85, label=labels.get("expected_sales", "expected"))
    ax.errorbar(
        exp, y, xerr=np.clip(err, 0, None), fmt="none", ecolor="#333333", capsize=3, linewidth=1
    )
    if df["target_sales"].notna().any():
        ax.scatter(
            df["target_sales"].to_numpy(float),
            y,
            marker="D",
            color=PALETTE[1],
            zorder=3,
            label=labels.get("target_sales", "target"),
        )
    ax.set_yticks(y, df[name_col].astype(str).tolist())
    ax.set_title(title)
    ax.legend(frameon=False, loc="lower right")
    _fmt_money(ax, "x")
    return ax


def threshold_chart(
    baskets: pd.Series,
    curve: pd.DataFrame,
    suggested: float,
    title: str,
    labels: dict[str, str] | None = None,
    ax=None,
):
    """Basket-value histogram, the baskets each threshold ``spend_x`` lifts (line), the suggestion."""
    labels = labels or {}
    ax = ax or plt.subplots()[1]
    v = np.asarray(baskets, dtype=float)
    hi = float(np.quantile(v, 0.98)) if len(v) else 1.0
    ax.hist(
        v[v <= hi], bins=40, color=PALETTE[5], alpha=0.6, label=labels.get("baskets", "baskets")
    )
    ax2 = ax.twinx()
    ax2.plot(
        curve["spend_x"],
        curve["lifted"],
        color=PALETTE[1],
        marker="o",
        markersize=3,
        label=labels.get("lifted", "lifted"),
    )
    ax2.grid(False)
    ax.axvline(suggested, color=PALETTE[3], linestyle="--", linewidth=1.2)
    ax.set_title(title)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, frameon=False, loc="upper right")
    return ax


def execution_gantt(
    tasks: pd.DataFrame,
    title: str,
    role_col: str = "role_key",
    today=None,
    window: tuple | None = None,
    ax=None,
):
    """Tasks of one campaign as a Gantt chart, coloured by role.

    ``tasks`` needs ``task, start, due`` and ``role_col`` (role keys for colours); a ``role``
    column gives the legend names. ``today`` draws a dashed line, ``window`` (first, last day)
    shades the campaign itself.
    """
    import matplotlib.dates as mdates
    from matplotlib.patches import Patch

    n = len(tasks)
    ax = ax or plt.subplots(figsize=(9, max(2.5, 0.36 * n + 1)))[1]
    y = np.arange(n)[::-1]
    keys = tasks[role_col].astype(str).to_numpy()
    colors = [ROLE_TASK_COLORS.get(k, PALETTE[5]) for k in keys]
    if window is not None:
        ax.axvspan(
            mdates.date2num(pd.Timestamp(window[0])),
            mdates.date2num(pd.Timestamp(window[1]) + pd.Timedelta(days=1)),
            color=PALETTE[5],
            alpha=0.15,
        )
    ax.barh(
        y,
        (tasks["due"] - tasks["start"]).dt.days.to_numpy() + 1,
        left=mdates.date2num(tasks["start"]),
        color=colors,
    )
    if today is not None:
        ax.axvline(mdates.date2num(pd.Timestamp(today)), color=PALETTE[3], linestyle="--")
    ax.set_yticks(y, tasks["task"].astype(str).str.slice(0, 32).tolist(), fontsize=8)
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    names = tasks["role"] if "role" in tasks else tasks[role_col]
    seen = dict(zip(keys, names.astype(str)))
    handles = [Patch(color=ROLE_TASK_COLORS.get(k, PALETTE[5]), label=v) for k, v in seen.items()]
    ax.legend(handles=handles, frameon=False, fontsize=8, loc="upper right")
    ax.set_title(title)
    return ax


def driver_waterfall(
    steps: pd.DataFrame,
    label: str,
    value: str,
    start: float,
    title: str,
    start_label: str = "before",
    end_label: str = "after",
    ax=None,
):
    """A waterfall from ``start`` through each step's signed ``value`` to the end total."""
    ax = ax or plt.subplots()[1]
    vals = steps[value].to_numpy(float)
    bottoms = start + np.concatenate([[0.0], np.cumsum(vals)[:-1]])
    n = len(vals)
    ax.bar(0, start, color=PALETTE[5])
    colors = [PALETTE[2] if v >= 0 else PALETTE[3] for v in vals]
    ax.bar(np.arange(1, n + 1), vals, bottom=bottoms, color=colors)
    ax.bar(n + 1, start + vals.sum(), color=PALETTE[0])
    ax.set_xticks(np.arange(n + 2), [start_label, *steps[label].astype(str).tolist(), end_label])
    ax.set_title(title)
    _fmt_money(ax)
    return ax


def anomaly_chart(
    daily: pd.DataFrame,
    flagged: pd.DataFrame,
    title: str,
    labels: dict[str, str] | None = None,
    ax=None,
):
    """Daily net sales, their baseline (``expected``) and the flagged days."""
    labels = labels or {}
    ax = ax or plt.subplots()[1]
    ax.plot(
        daily["date"],
        daily["net_sales"],
        color=PALETTE[0],
        linewidth=0.9,
        label=labels.get("net_sales", "net sales"),
    )
    ax.plot(
        daily["date"],
        daily["expected"],
        color=PALETTE[5],
        linewidth=0.9,
        label=labels.get("expected", "expected"),
    )
    if len(flagged):
        ax.scatter(
            flagged["date"],
            flagged["net_sales"],
            color=PALETTE[3],
            zorder=3,
            s=22,
            label=labels.get("anomaly", "anomaly"),
        )
    ax.set_title(title)
    ax.legend(frameon=False)
    _fmt_money(ax)
    return ax


def ads_scatter(
    df: pd.DataFrame,
    breakeven: float,
    title: str,
    labels: dict[str, str] | None = None,
    ax=None,
):
    """Spend (x) against return on ad spend (y) per keyword, with the break-even line."""
    labels = labels or {}
    ax = ax or plt.subplots()[1]
    colors = {"cut": PALETTE[3], "hold": PALETTE[5], "grow": PALETTE[2]}
    for verdict, g in df.groupby("verdict", sort=True):
        ax.scatter(
            g["spend"],
            g["roas"],
            color=colors.get(verdict, PALETTE[0]),
            s=30,
            label=labels.get(verdict, verdict),
        )
    for r in df.head(12).itertuples():
        ax.annotate(
            str(r.keyword), (r.spend, r.roas), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    ax.axhline(breakeven, color=PALETTE[3], linestyle="--", linewidth=0.9)
    ax.set_title(title)
    ax.legend(frameon=False)
    _fmt_money(ax, "x")
    return ax


# --- customer charts ---
# Used by playbook/04_customer_analysis; each takes a table computed in helpers.analysis.customers.

SEGMENT_COLORS = {
    "champions": "#1F5F99",
    "loyal": "#2F6DB5",
    "potential_loyalists": "#3A9E6F",
    "new_customers": "#4FB3BF",
    "promising": "#7CC08F",
    "need_attention": "#D4A72C",
    "about_to_sleep": "#E07B39",
    "at_risk": "#C94C4C",
    "cant_lose": "#8C2D2D",
    "hibernating": "#8C8C8C",
}


def _share_axes(ax, axis: str = "both") -> None:
    fmt = matplotlib.ticker.PercentFormatter(1.0, decimals=0)
    if axis in ("x", "both"):
        ax.xaxis.set_major_formatter(fmt)
    if axis in ("y", "both"):
        ax.yaxis.set_major_formatter(fmt)


def customer_curve(
    curve: pd.DataFrame,
    title: str,
    xlabel: str,
    ylabel: str,
    point: tuple[float, float] | None = None,
    top: tuple[float, float] | None = None,
    ax=None,
):
    """The customer Pareto: cumulative share of sales against the share of top customers.

    ``curve`` has ``customers_pct`` and ``sales_share`` (0–1); ``point`` marks (share of
    customers, 0.8) where 80% of sales is reached, ``top`` the (0.2, share) of the top 20%.
    """
    ax = ax or plt.subplots(figsize=(7, 4.5))[1]
    x, y = curve["customers_pct"].to_numpy(), curve["sales_share"].to_numpy()
    ax.plot(x, y, color=PALETTE[0], linewidth=2)
    ax.fill_between(x, x, y, color=PALETTE[0], alpha=0.08)
    ax.plot([0, 1], [0, 1], color=PALETTE[5], linewidth=0.8, linestyle=":")
    for (px, py), color in ((point, PALETTE[3]), (top, PALETTE[1])):
        if px is None or py is None or px != px or py != py:
            continue
        ax.plot([px, px, 0], [0, py, py], color=color, linestyle="--", linewidth=0.9)
        ax.scatter([px], [py], color=color, zorder=3)
        ax.annotate(
            f"{px:.0%} → {py:.0%}",
            (px, py),
            xytext=(8, -14),
            textcoords="offset points",
            color=color,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _share_axes(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def segment_shares(
    df: pd.DataFrame,
    label_col: str,
    cols: list[str],
    legend: list[str],
    title: str,
    ax=None,
):
    """Paired horizontal bars per segment, e.g. share of customers and share of sales (0–1)."""
    import numpy as np

    ax = ax or plt.subplots(figsize=(9, 0.45 * len(df) + 1.2))[1]
    pos = np.arange(len(df))[::-1]
    h = 0.8 / len(cols)
    for i, (c, name) in enumerate(zip(cols, legend)):
        ax.barh(
            pos + (len(cols) - 1 - 2 * i) * h / 2,
            df[c].to_numpy(),
            height=h,
            label=name,
            color=PALETTE[i % len(PALETTE)],
        )
    ax.set_yticks(pos, df[label_col].astype(str).tolist())
    _share_axes(ax, "x")
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title)
    return ax


def rf_grid(
    counts: pd.DataFrame,
    names: pd.DataFrame,
    title: str,
    xlabel: str,
    ylabel: str,
    colors: dict | None = None,
    ax=None,
):
    """The R/F score grid: each cell coloured by its segment, labelled with segment and count.

    ``counts`` and ``names`` are 5 × 5 (index R score 5…1, columns F score 1…5); ``names`` holds
    the segment label per cell and ``colors`` maps labels to colours.
    """
    from matplotlib.patches import Rectangle

    ax = ax or plt.subplots(figsize=(9, 5.5))[1]
    n_r, n_f = counts.shape
    for i in range(n_r):
        for j in range(n_f):
            name = str(names.iat[i, j])
            ax.add_patch(
                Rectangle(
                    (j, n_r - 1 - i),
                    1,
                    1,
                    facecolor=(colors or {}).get(name, PALETTE[5]),
                    edgecolor="white",
                    linewidth=2,
                    alpha=0.85 if counts.iat[i, j] else 0.3,
                )
            )
            ax.text(
                j + 0.5,
                n_r - 0.5 - i,
                f"{name}\n{int(counts.iat[i, j]):,}",
                ha="center",
                va="center",
                color="white" if counts.iat[i, j] else "#555555",
                fontsize=8.5,
            )
    ax.set_xlim(0, n_f)
    ax.set_ylim(0, n_r)
    ax.set_xticks([j + 0.5 for j in range(n_f)], [str(c) for c in counts.columns])
    ax.set_yticks([n_r - 0.5 - i for i in range(n_r)], [str(r) for r in counts.index])
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


# --- product charts ---


def role_map(
    df: pd.DataFrame,
    x: str,
    y: str,
    hue: str,
    title: str,
    labels: dict[str, str] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    size: str | None = None,
    ax=None,
):
    """Scatter of products (log x), coloured by role (``ROLE_COLORS``; others grey), point size
    by ``size`` (e.g. net sales); ``labels`` maps hue values to legend text."""
    import numpy as np

    ax = ax or plt.subplots(figsize=(9, 4.5))[1]
    d = df[(df[x] > 0) & df[y].notna()]
    s = d[size].to_numpy(dtype=float) if size else np.full(len(d), 30.0)
    s = 15 + 300 * s / s.max() if len(s) and s.max() > 0 else np.full(len(d), 30.0)
    for key in dict.fromkeys(d[hue]):
        m = (d[hue] == key).to_numpy()
        ax.scatter(
            d.loc[m, x],
            d.loc[m, y],
            s=s[m],
            alpha=0.7,
            color=ROLE_COLORS.get(key, PALETTE[5]),
            label=(labels or {}).get(key, key),
            edgecolor="white",
            linewidth=0.5,
        )
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small", markerscale=0.6)
    return ax


def stock_runway(
    df: pd.DataFrame,
    label: str,
    have: str,
    need: str,
    title: str,
    have_label: str = "",
    need_label: str = "",
    ax=None,
):
    """Horizontal bars of what is in stock (``have``) with a dot at what is needed (``need``,
    e.g. units needed until a festival node ends); bars short of their dot are red."""
    import numpy as np

    ax = ax or plt.subplots(figsize=(9, max(3, 0.32 * len(df) + 1.2)))[1]
    names = df[label].astype(str).tolist()[::-1]
    h = df[have].to_numpy(dtype=float)[::-1]
    n = df[need].to_numpy(dtype=float)[::-1]
    ax.barh(names, h, color=np.where(h < n, PALETTE[3], PALETTE[2]), label=have_label)
    ax.scatter(n, names, color="black", zorder=3, s=18, label=need_label)
    ax.set_title(title)
    ax.legend(
        frameon=False, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2
    )
    return ax
