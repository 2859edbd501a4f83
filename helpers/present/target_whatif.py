"""02's what-if: sliders over the target's assumptions, on the page's own code path.

:class:`TargetWhatIf` holds the inputs 02 computed once (daily sales, seasonality, market
term, owner's target) and recomputes the plan with :func:`helpers.analysis.targets.plan_from_inputs`
and :func:`helpers.analysis.targets.month_table`, the very calls behind the page's static table: with
the sliders untouched the widget shows the page's numbers to the cent. A festival slider is
passed on only once moved (the slider shows a rounded uplift; the learned one is used until
it moves). The annual total and every month update together; "save" writes the ambition and
the momentum damping to shop.yaml's ``assumptions:`` so the next run and the batch use them.

:func:`widgets_wanted` decides the notebook's ``interactive = None`` default: sliders only in a
kernel started by a Jupyter server (``JPY_SESSION_NAME`` set) with ipywidgets importable, so
papermill and nbval runs stay static and deterministic.
"""

from __future__ import annotations

import importlib.util
import os

import pandas as pd

from helpers.analysis import targets as tg
from helpers.load import plans

__all__ = ["widgets_wanted", "TargetWhatIf"]


def widgets_wanted(interactive: bool | None) -> bool:
    """``interactive`` when set; None: True in a Jupyter server's kernel with ipywidgets."""
    if interactive is not None:
        return bool(interactive)
    return bool(os.environ.get("JPY_SESSION_NAME")) and (
        importlib.util.find_spec("ipywidgets") is not None
    )


class TargetWhatIf:
    """Sliders for ambition, momentum damping and festival main-phase uplifts.

    Parameters
    ----------
    inputs : dict
        Keyword arguments of :func:`helpers.analysis.targets.plan_from_inputs` other than
        ``ambition``, ``damping`` and ``node_weights`` (``daily``, ``as_of``, ``fy``,
        ``start_month``, ``seas``, ``market``, ``owner``, ``festivals``, ``week_scheme``).
    ambition, damping : float
        The page's values (the sliders' start).
    nodes : pandas.DataFrame
        ``node``, ``label``, ``uplift``: one slider per festival node.
    shop_dir : path, optional
        Where "save" writes shop.yaml (None: no save button).
    labels : dict
        Slider/button captions: ``ambition``, ``damping``, ``save``, ``saved``, ``total``.
    columns : list, optional
        The month table's columns shown (the page's).
    show : callable, optional
        ``show(table)`` renders the month table inside the output area (the notebook passes
        its table renderer); None: nothing is drawn.
    """

    def __init__(
        self,
        inputs: dict,
        ambition: float,
        damping: float,
        nodes: pd.DataFrame,
        shop_dir=None,
        labels: dict | None = None,
        show=None,
        columns: list | None = None,
        money=str,
    ):
        import ipywidgets as widgets

        self.inputs, self.shop_dir, self.show, self.money = inputs, shop_dir, show, money
        self.columns = columns
        self.labels = {
            "ambition": "ambition",
            "damping": "momentum",
            "save": "save",
            "saved": "saved",
            "total": "total",
            **(labels or {}),
        }
        self.start = {"ambition": float(ambition), "damping": float(damping)}
        self.ambition = widgets.FloatSlider(
            value=float(ambition),
            min=-0.3,
            max=1.0,
            step=0.01,
            description=self.labels["ambition"],
            readout_format=".0%",
        )
        self.damping = widgets.FloatSlider(
            value=float(damping),
            min=0.0,
            max=1.0,
            step=0.05,
            description=self.labels["damping"],
            readout_format=".0%",
        )
        self.node_start = {r["node"]: float(r["uplift"]) for _, r in nodes.iterrows()}
        self.nodes = {
            r["node"]: widgets.FloatSlider(
                value=round(float(r["uplift"]), 2),
                min=0.3,
                max=max(5.0, round(2 * float(r["uplift"]), 1)),
                step=0.05,
                description=str(r["label"])[:18],
            )
            for _, r in nodes.iterrows()
        }
        self._node_shown = {k: s.value for k, s in self.nodes.items()}
        self.total = widgets.HTML()
        self.out = widgets.Output()
        self.status = widgets.HTML()
        self.save_button = widgets.Button(description=self.labels["save"])
        self.save_button.on_click(lambda _: self.save())
        for s in (self.ambition, self.damping, *self.nodes.values()):
            s.observe(lambda _: self.redraw(), names="value")
        self.table = None
        self.redraw()

    def values(self) -> dict:
        """The assumptions the sliders hold (exact start values while untouched)."""

        def kept(slider, start: float) -> float:
            # a slider shows (and a browser may snap to) the nearest step: within half a step
            # of the page's value it still means the page's value
            v = float(slider.value)
            return start if abs(v - start) <= slider.step / 2 + 1e-12 else v

        return {
            "ambition": kept(self.ambition, self.start["ambition"]),
            "damping": kept(self.damping, self.start["damping"]),
            "node_weights": {
                k: s.value
                for k, s in self.nodes.items()
                if abs(s.value - self._node_shown[k]) > s.step / 2 + 1e-12
            }
            or None,
        }

    def plan(self):
        v = self.values()
        return tg.plan_from_inputs(
            ambition=v["ambition"],
            damping=v["damping"],
            node_weights=v["node_weights"],
            **self.inputs,
        )

    def redraw(self) -> pd.DataFrame:
        """Recompute; the month table (also kept in ``self.table``) and the annual total."""
        _, plan = self.plan()
        i = self.inputs
        self.table = tg.month_table(plan, i["daily"], i["start_month"], i["week_scheme"])
        self.total.value = f"<b>{self.labels['total']}: {self.money(plan.annual)}</b>"
        if self.show is not None:
            with self.out:
                self.out.clear_output(wait=True)
                self.show(self.table if self.columns is None else self.table[self.columns])
        return self.table

    def save(self):
        """Write ambition and momentum damping to shop.yaml ``assumptions:``."""
        v = self.values()
        file = plans.save_assumptions(
            self.shop_dir,
            {"ambition": round(float(v["ambition"]), 4), "momentum_damping": float(v["damping"])},
        )
        self.status.value = f"{self.labels['saved']} {file.name}"
        return file

    def widget(self):
        import ipywidgets as widgets

        parts = [self.ambition, self.damping, *self.nodes.values(), self.total]
        if self.shop_dir is not None:
            parts += [widgets.HBox([self.save_button, self.status])]
        return widgets.VBox([*parts, self.out])
