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
        [sys.executable, "-c", _DRAWS], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[-3:] == ["draws", "3", "1"]


_SAME_PIXELS = r"""
import hashlib
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from IPython.core.interactiveshell import InteractiveShell
from matplotlib_inline import backend_inline
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


for build in (legend_right, legend_below, pareto, heatmap, legend_above):
    a, b = build(), build()  # each printer gets a figure never drawn before
    print(*(hashlib.sha256(p.encode()).hexdigest()[:12] for p in (once(a), plain(b))))
    plt.close("all")
"""


def test_the_inline_png_is_the_same_image_with_one_draw():
    """The bounding box found without matplotlib's layout pass gives the same PNG, byte for
    byte: legends outside the axes (right, below, above the figure), a twin axis, a heatmap,
    a figure title, rotated and money tick labels."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _SAME_PIXELS], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    pairs = [line.split() for line in out if line.strip()]
    assert len(pairs) == 5
    assert all(a == b for a, b in pairs), pairs
