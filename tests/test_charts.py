import os
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from helpers.present import charts


def test_chinese_labels_render_without_missing_glyphs():
    font = charts.use_style()
    assert font, "no CJK font found: run scripts/setup.sh (installs fonts-wqy-microhei)"
    df = pd.DataFrame({"角色": ["引流款", "利润款", "形象款"], "销售额": [3.0, 5.0, 1.0]})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ax = charts.bar(df, "角色", "销售额", "双11 销售额（万元）")
        ax.figure.canvas.draw()
    missing = [x for x in w if "Glyph" in str(x.message) and "missing" in str(x.message)]
    assert not missing, [str(x.message) for x in missing]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["引流款", "利润款", "形象款"]
    assert [p.get_height() for p in ax.patches] == [3.0, 5.0, 1.0]
    plt.close("all")


def test_stacked_bar_heights():
    df = pd.DataFrame({"new": [1, 2], "returning": [3, 4]}, index=["2025-01", "2025-02"])
    ax = charts.stacked_bar(df, "t")
    tops = sorted((p.get_x(), p.get_y() + p.get_height()) for p in ax.patches)
    assert [t[1] for t in tops] == pytest.approx([1, 4, 2, 6])
    plt.close("all")


# drawing counted or compared: every chart drawn, none taken from the PNG cache
_UNCACHED = {**os.environ, "PLAYBOOK_CHART_CACHE": "off"}

_DRAWS = r"""
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from IPython.core.interactiveshell import InteractiveShell
from matplotlib_inline import backend_inline

shell = InteractiveShell.instance()
backend_inline._enable_matplotlib_integration()
draws = []
draw = Figure.draw
Figure.draw = lambda self, renderer: (draws.append(1), draw(self, renderer))[1]
shell.run_cell("import matplotlib.pyplot as plt; plt.subplots()[1].plot([1, 2, 3]);")
before = len(draws)
from helpers.present import charts
charts.use_style("en")
shell.run_cell("plt.subplots()[1].plot([1, 2, 3]);")
print("draws", before, len(draws) - before)
"""


def test_a_chart_is_drawn_once_per_cell_with_the_inline_backend():
    """pyplot's post-execute draw_all drew each open figure in full, then the inline backend
    drew it twice for its PNG (a layout pass for the tight bounding box, then the render);
    after use_style only the render remains."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _DRAWS], capture_output=True, text=True, check=True, env=_UNCACHED
    ).stdout.split()
    assert out[-3:] == ["draws", "3", "1"]


_PLAIN_KERNEL = r"""
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
from matplotlib.figure import Figure
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_cell("import matplotlib.pyplot as plt")  # as a notebook's first cell: no figure yet
draws = []
draw = Figure.draw
Figure.draw = lambda self, renderer: (draws.append(1), draw(self, renderer))[1]
from helpers.present import charts
charts.use_style("en")
shell.run_cell("plt.subplots()[1].plot([1, 2, 3]);")
print("draws", len(draws))
"""


def test_a_plain_kernel_draws_each_chart_once_too():
    """In a kernel as papermill or JupyterLab start it, pyplot loads the inline backend (and
    its PNG formatter) only at the first figure: use_style loads it first, so the first
    chart is drawn once as well, not three times."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _PLAIN_KERNEL],
        capture_output=True,
        text=True,
        check=True,
        env=_UNCACHED,
    ).stdout.split()
    assert out[-2:] == ["draws", "1"]


_SAME_PIXELS = r"""
import base64
import io
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from IPython.core.interactiveshell import InteractiveShell
from matplotlib_inline import backend_inline
from PIL import Image
from helpers.present import charts

shell = InteractiveShell.instance()
backend_inline._enable_matplotlib_integration()
png = shell.display_formatter.formatters["image/png"]
plain = png.lookup_by_type(Figure)
charts.use_style("zh")
once = png.lookup_by_type(Figure)
assert once is not plain and once.tight_once


def months():
    return pd.DataFrame(
        {"新客": [1200.0, 2400, 1800, 900] * 3, "老客": [300.0, 800, 2500, 400] * 3},
        index=[f"2025-{m:02d}" for m in range(1, 13)],
    )


def legend_right():
    return charts.legend_outside(charts.stacked_bar(months(), "新老客销售额"), "right").figure


def legend_below():
    ax = charts.stacked_bar(months(), "新老客销售额（下方图例）")
    charts.money_axis(charts.legend_outside(ax, "below"))
    return ax.figure


def pareto():
    share = pd.DataFrame({"s": np.linspace(0.2, 0.01, 30)})
    share["c"] = share["s"].cumsum() / share["s"].sum()
    return charts.pareto(share, "s", "c", "二八分布").figure


def heatmap():
    grid = pd.DataFrame(np.linspace(0, 1, 48).reshape(6, 8), columns=[f"M{i}" for i in range(8)])
    return charts.heatmap(grid, "留存").figure


def legend_above():
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([1, 2, 3], label="一")
    b.plot([3, 2, 1], label="二")
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 1.08), ncol=2)
    fig.suptitle("并排")
    return fig


def offset_title():  # a "1e7" above the y axis, under a title as wide as the axes
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [12_000_000, 25_000_000, 31_000_000])
    ax.set_title("一个很长很长的标题，横跨整个坐标轴的宽度，" * 2, loc="left")
    return fig


def ticks_on_top():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    ax.xaxis.tick_top()
    ax.set_title("上方刻度")
    return fig


def long_labels():
    names = [f"一个很长很长很长很长的商品名称 第{i}款 → 另一个很长很长的搭配商品名称" for i in range(12)]
    return charts.bar(pd.DataFrame({"p": names, "v": range(12)}), "p", "v", "提升度").figure


def ink(png: str):  # the pixels that differ from the white background, cropped to their box
    px = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB")).astype(int)
    on = (px != 255).any(axis=2)
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    return px[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


for build in (
    legend_right, legend_below, pareto, heatmap, legend_above, offset_title, ticks_on_top,
    long_labels,
):
    a, b = build(), build()  # each printer gets a figure never drawn before
    pa, pb = once(a), plain(b)
    ia, ib = ink(pa), ink(pb)
    h, w = min(ia.shape[0], ib.shape[0]), min(ia.shape[1], ib.shape[1])
    off = np.abs(ia[:h, :w] - ib[:h, :w]).max(axis=2) > 64  # anti-aliasing at another offset
    placed = int(any(getattr(ax, "_autotitlepos", None) is False for ax in a.axes))
    print(build.__name__, int(pa == pb), ia.shape[0] - ib.shape[0], ia.shape[1] - ib.shape[1],
          round(float(off.mean()), 4), placed)
    plt.close("all")
"""


def test_the_inline_png_is_the_same_image_with_one_draw():
    """The figure drawn once with room around it and cropped to what was drawn shows what
    matplotlib's tight bounding box shows: the same drawing, to the pixel, in legends outside
    the axes (right, below, above the figure), a twin axis, a heatmap, a figure title, rotated
    and money tick labels; only anti-aliasing differs, the drawing sitting at whole pixels.
    A title over a y-axis "1e7", and one over ticks on top, are still placed above them (the
    box's height tells). Labels reaching past the room fall back to the measured box: the
    same bytes."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _SAME_PIXELS],
        capture_output=True,
        text=True,
        check=True,
        env=_UNCACHED,
    ).stdout.split("\n")
    rows = {r[0]: [float(v) for v in r[1:]] for r in (ln.split() for ln in out if ln.strip())}
    assert len(rows) == 8
    assert rows.pop("long_labels")[0] == 1  # the fallback: byte for byte
    # titles placed without measuring where nothing is on top (our style draws no tick
    # marks, which matplotlib calls "unknown"), measured over a "1e7" or ticks on top
    placed = {name: r.pop() for name, r in rows.items()}
    assert placed == {
        "legend_right": 1,
        "legend_below": 1,
        "pareto": 1,
        "heatmap": 1,
        "legend_above": 1,
        "offset_title": 0,
        "ticks_on_top": 0,
    }
    for name, (same, dh, dw, off) in rows.items():
        assert same == 0, name  # the cropped path was taken
        assert abs(dh) <= 1 and abs(dw) <= 1, (name, dh, dw)  # the same drawing's box
        assert off < 0.06, (name, off)  # pixels apart by more than a quarter of the range
