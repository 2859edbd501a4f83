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
