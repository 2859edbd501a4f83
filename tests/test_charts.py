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
    """pyplot's post-execute draw_all drew each open figure in full before the inline backend
    drew it for its PNG (a layout pass for the tight bounding box, then the render); after
    use_style only the PNG's two passes remain."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _DRAWS], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[-3:] == ["draws", "3", "2"]
