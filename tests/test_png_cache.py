"""The charts' PNG cache: the same figure gives the same key in any process, anything that
changes the pixels changes the key, code the key cannot see gives no key, and a cached PNG
is the very bytes the drawing gives."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from helpers.present import charts, png_cache

_FIGURE = r"""
import matplotlib
matplotlib.use("Agg")
import numpy as np
import pandas as pd
from helpers.present import charts, png_cache

charts.use_style("zh")
share = pd.DataFrame({"s": np.linspace(0.2, 0.01, 30)})
share["c"] = share["s"].cumsum() / share["s"].sum()
ax = charts.pareto(share, "s", "c", "二八分布")  # a twin axis: a grouper of two axes
ax.legend(["份额"])
import matplotlib.pyplot as plt
grid = plt.subplots(2, 3, sharex=True, sharey=True)[1]  # shared axes: groupers of six
for i, a in enumerate(grid.flat):
    a.plot([1, 2, 3], [i, i * 2, i * 3], label=f"第{i}组")
print(png_cache.key(ax.figure, {"dpi": 100}), png_cache.key(grid[0, 0].figure, {"dpi": 100}))
"""


def _keys_in_new_process(seed: str) -> tuple[str, ...]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-c", _FIGURE], capture_output=True, text=True, check=True, env=env
    )
    return tuple(out.stdout.split()[-2:])


def test_the_same_figures_have_the_same_keys_in_any_process():
    """Object ids and string hashes differ between processes; the keys do not."""
    keys = {_keys_in_new_process(seed) for seed in ("1", "2", "3", "random")}
    assert len(keys) == 1
    (pair,) = keys
    assert all(len(k) == 40 for k in pair) and pair[0] != pair[1]


def _bars(values=(3.0, 5.0, 1.0), title="双11 销售额"):
    df = pd.DataFrame({"角色": ["引流款", "利润款", "形象款"], "销售额": list(values)})
    return charts.bar(df, "角色", "销售额", title, money=True).figure


@pytest.fixture
def style():
    charts.use_style("zh")
    yield
    charts.use_style("zh")
    plt.close("all")


def test_what_changes_the_pixels_changes_the_key(style):
    base = png_cache.key(_bars(), {"dpi": 100})
    assert base is not None
    assert png_cache.key(_bars(), {"dpi": 100}) == base  # built again: the same key
    assert png_cache.key(_bars(values=(3.0, 5.0, 1.5)), {"dpi": 100}) != base  # a value
    assert png_cache.key(_bars(title="双12 销售额"), {"dpi": 100}) != base  # a text
    assert png_cache.key(_bars(), {"dpi": 200}) != base  # the PNG's settings
    with plt.rc_context({"text.antialiased": False}):  # read when drawing, not when built
        assert png_cache.key(_bars(), {"dpi": 100}) != base
    fig = _bars()
    fig.axes[0].patches[0].set_color("red")
    assert png_cache.key(fig, {"dpi": 100}) != base


def _notebook_formatter(v, _pos=None):  # as if defined in a notebook: code the key cannot see
    return f"{v:.0f}"


def test_code_outside_the_key_gives_no_key(style):
    from matplotlib.ticker import FuncFormatter

    fig = _bars()
    assert png_cache.key(fig, {}) is not None
    _notebook_formatter.__module__ = "__main__"
    fig.axes[0].yaxis.set_major_formatter(FuncFormatter(_notebook_formatter))
    assert png_cache.key(fig, {}) is None
    fig.axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v}"))
    assert png_cache.key(fig, {}) is None  # a lambda does not pickle


@pytest.mark.parametrize("var", ["PLAYBOOK_CACHE", "PLAYBOOK_CHART_CACHE"])
def test_the_cache_turned_off_gives_no_key(style, monkeypatch, var):
    monkeypatch.setenv(var, "off")
    assert png_cache.folder() is None
    assert png_cache.key(_bars(), {}) is None
    png_cache.put("abc", b"png")  # nothing stored, nothing found
    assert png_cache.get("abc") is None


def test_prune_removes_the_least_recently_used_first(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYBOOK_CACHE", str(tmp_path))
    for i, name in enumerate(["a", "b", "c", "d"]):
        png_cache.put(name, bytes(100))
        os.utime(png_cache.folder() / f"{name}.png", ns=(i * 10**9, i * 10**9))
    assert png_cache.get("a") == bytes(100)  # a use: "a" is now the newest
    assert png_cache.prune(max_bytes=250) == 2  # 400 bytes → 200: "b" and "c" go
    assert sorted(p.stem for p in png_cache.folder().glob("*.png")) == ["a", "d"]
    assert png_cache.prune(max_bytes=250) == 0


_INLINE = r"""
import hashlib
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from IPython.core.interactiveshell import InteractiveShell
from matplotlib_inline import backend_inline
from helpers.present import charts

shell = InteractiveShell.instance()
backend_inline._enable_matplotlib_integration()
charts.use_style("zh")
png = shell.display_formatter.formatters["image/png"]
draws = []
draw = Figure.draw
Figure.draw = lambda self, renderer: (draws.append(1), draw(self, renderer))[1]
sales = pd.DataFrame({"月份": [f"2025-{m:02d}" for m in range(1, 13)],
                      "销售额": [12_000.0, 24_000, 18_000, 90_000] * 3})
for lang in ("zh", "en"):  # the same figure, tick labels in 万 or in K
    charts.use_style(lang)
    fig = charts.bar(sales, "月份", "销售额", "月度销售额", money=True).figure
    before = len(draws)
    data = png(fig)
    print(lang, len(draws) - before, hashlib.sha256(data.encode()).hexdigest())
"""


def _inline(env: dict) -> dict[str, tuple[int, str]]:
    out = subprocess.run(
        [sys.executable, "-c", _INLINE], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    rows = [ln.split() for ln in out[-2:]]
    return {lang: (int(draws), digest) for lang, draws, digest in rows}


def test_a_notebook_chart_is_drawn_once_then_taken_from_the_cache(tmp_path):
    """A kernel's inline PNG: the first kernel draws it and stores it; the next kernel
    showing the same figure draws nothing and shows the same bytes; with the chart cache
    off it is drawn again, to the same bytes. The chart language (万 or K on the axis) is
    part of the key: two entries, two images."""
    env = {**os.environ, "PLAYBOOK_CACHE": str(tmp_path)}
    first, second = _inline(env), _inline(env)
    uncached = _inline({**env, "PLAYBOOK_CHART_CACHE": "off"})
    for lang in ("zh", "en"):
        assert (first[lang][0], second[lang][0], uncached[lang][0]) == (1, 0, 1)
        assert first[lang][1] == second[lang][1] == uncached[lang][1]
    assert first["zh"][1] != first["en"][1]
    assert len(list((tmp_path / "charts").glob("*.png"))) == 2
