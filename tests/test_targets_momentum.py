"""Targets a consultant can defend: the momentum baseline, the scenarios, the warnings, the
backtest, the owner's target, 06's reference and 02's what-if, each against a hand
calculation on generated daily sales."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.analysis import targets as tg
from helpers.load import config, plans
from helpers.run import runner


def steady(start="2023-01-01", end="2025-12-31", yearly=1.0, level=1000.0):
    """Daily sales growing ``yearly`` a year, smoothly: day t sells level × (1+yearly)^(t/365)."""
    days = pd.date_range(start, end, freq="D")
    t = (days - days[0]).days.to_numpy() / 365.0
    return pd.DataFrame({"date": days, "net_sales": level * (1 + yearly) ** t})


def month_sum(d, first, last):
    m = (d["date"] >= first) & (d["date"] <= last)
    return float(d.loc[m, "net_sales"].sum())


def flat() -> tg.Seasonality:
    return tg.Seasonality(
        month=pd.Series(1.0, index=range(1, 13)),
        weekday=pd.Series(1.0, index=range(7)),
        events=pd.DataFrame(
            columns=["event", "kind", "node", "phase", "uplift", "days", "years", "source"]
        ),
        trend=0.0,
        levels=pd.DataFrame(),
        start=pd.Timestamp("2024-01-01"),
        end=pd.Timestamp("2024-12-31"),
    )


NO_MARKET = {"growth_mean": 0.0, "growth_low": 0.0, "growth_high": 0.0, "source": "none"}


# --- the baseline -----------------------------------------------------------------------------


def test_doubling_shop_baseline_is_last12_times_damped_trend():
    d = steady()
    b = tg.momentum_baseline(d, "2025-12-31", 2026, 1)
    last12 = month_sum(d, "2025-01-01", "2025-12-31")
    # Oct-Dec 2025 against Oct-Dec 2024: every day is 365 days on, so exactly 2x
    assert b.method == "momentum" and b.history_months == 36 and b.trend_months == 3
    assert b.trend == pytest.approx(1.0, abs=1e-9)
    assert b.carried == pytest.approx(0.5, abs=1e-9)  # 100% × damping 0.5, under the 60% cap
    assert not b.capped
    # tripling: 200% × 0.5 = 100% is capped at +60%
    b3 = tg.momentum_baseline(steady(yearly=2.0), "2025-12-31", 2026, 1)
    assert b3.trend == pytest.approx(2.0) and b3.carried == 0.6 and b3.capped
    assert b.last12 == pytest.approx(last12)
    assert b.annual == pytest.approx(1.5 * last12)
    assert b.spread == 0.08  # 36 months of history
    assert b.low == pytest.approx(1.25 * 0.92 * last12)  # half the carried growth, − 8%
    assert b.high == pytest.approx(1.75 * 1.08 * last12)  # 1.5× the carried growth, + 8%


def test_scenario_table_hand_numbers():
    d = steady()
    b = tg.momentum_baseline(d, "2025-12-31", 2026, 1)
    last12 = b.last12
    mk = {"growth_mean": 0.10, "growth_low": 0.05, "growth_high": 0.20, "source": "keywords"}
    sc = tg.scenarios(b, mk, 0.15).set_index("scenario")
    assert sc.loc["conservative", "annual_target"] == round(1.25 * 0.92 * last12 * 1.05)
    assert sc.loc["base", "annual_target"] == round(1.5 * last12 * (1 + 0.10 + 0.15))
    assert sc.loc["stretch", "annual_target"] == round(1.75 * 1.08 * last12 * (1 + 0.20 + 0.15))
    assert sc.loc["base", "vs_last12"] == pytest.approx(round(1.5 * last12 * 1.25) / last12)
    assert sc.loc["conservative", "ambition"] == 0.0  # ambition counted once, not in the floor


def test_doubling_shop_base_target_above_last_year_in_every_month():
    d = steady()
    seas = tg.learn_seasonality(d)
    base, plan = tg.plan_from_inputs(d, "2025-12-31", 2026, 1, seas, NO_MARKET, 0.15)
    assert plan.annual == round(1.5 * base.last12 * 1.15)
    t = plan.daily.groupby(plan.daily["date"].dt.month)["target_cents"].sum() / 100
    ly = d[d["date"].dt.year == 2025].groupby(d["date"].dt.month)["net_sales"].sum()
    assert (t > ly).all()
    # months follow the baseline: each month is 1.5 × 1.15 = 1.725 × the same month of 2025
    assert (t / ly).to_numpy() == pytest.approx(np.full(12, 1.725), abs=1e-6)
    assert plan.daily["target_cents"].sum() == round(plan.annual * 100)
    assert [k for k, _ in plan.warnings] == []  # 1.725× the last 12 months: no warning


def test_thirteen_month_shop_without_market_data_is_within_085_to_2x():
    d = steady("2024-12-01", "2025-12-31", yearly=0.3)
    seas = tg.learn_seasonality(d)
    base, plan = tg.plan_from_inputs(d, "2025-12-31", 2026, 1, seas, NO_MARKET, 0.15)
    # 13 complete months: one month (Dec 2025 vs Dec 2024) gives the trend, 1.3x
    assert base.trend_months == 1 and base.trend == pytest.approx(1.3 - 1, abs=1e-9)
    # a trend read off 1 month of 3 weighs a third: 30% × 0.5 × 1/3 = 5%
    assert base.carried == pytest.approx(0.05, abs=1e-9) and not base.capped
    assert base.spread == pytest.approx(0.12 + 0.05)  # 12-23 months, thin trend
    ratio = plan.annual / base.last12
    assert ratio == pytest.approx(1.05 * 1.15, abs=1e-6)
    assert 0.85 <= ratio <= 2.0


def test_two_month_shop_gets_wide_range_and_the_warning():
    d = steady("2025-11-01", "2025-12-31", yearly=0.0)  # 1000 a day, 61 days
    b = tg.momentum_baseline(d, "2025-12-31", 2026, 1)
    assert b.method == "profile" and np.isnan(b.last12)
    assert b.spread == pytest.approx(0.55)  # under 3 months: ±50% + 5 points without a trend
    assert b.low == pytest.approx(0.45 * b.annual) and b.high == pytest.approx(1.55 * b.annual)
    # Nov-Dec hold Double 11 and 12: annualising by the profile gives less than × 365/61 days
    assert b.annual < 61_000 * 365 / 61
    prof_seen = tg.calendar_profile("2025-11-01", "2025-12-31")["weight"].sum()
    prof_year = tg.calendar_profile("2026-01-01", "2026-12-31")["weight"].sum()
    assert b.annual == pytest.approx(61_000 * prof_year / prof_seen)
    assert prof_seen > 61  # the festival days weigh more than ordinary ones
    seas = tg.learn_seasonality(d)
    _, plan = tg.plan_from_inputs(d, "2025-12-31", 2026, 1, seas, NO_MARKET, 0.15)
    assert [k for k, _ in plan.warnings] == ["short_history"]
    sc = plan.scenarios.set_index("scenario")["annual_target"]
    assert sc["stretch"] / sc["conservative"] > 3  # (1.55 × 1.15) / 0.45


def test_no_sales_is_a_target_error():
    d = steady("2025-11-01", "2025-12-31")
    with pytest.raises(tg.TargetError, match="no sales"):
        tg.momentum_baseline(d, "2025-10-31", 2026, 1)


# --- market growth --------------------------------------------------------------------------


def test_market_term_only_from_market_data():
    shop_growth = {"growth_mean": 1.34, "growth_low": 1.0, "growth_high": 1.5, "source": "shop"}
    assert tg.market_term(shop_growth)["growth_mean"] == 0.0
    assert tg.market_term(shop_growth)["source"] == "none"
    kw = {"growth_mean": 0.09, "growth_low": 0.07, "growth_high": 0.11, "source": "keywords"}
    assert tg.market_term(kw)["growth_high"] == 0.11
    assert tg.market_term(shop_growth, 0.05) == {
        "growth_mean": 0.05,
        "growth_low": 0.05,
        "growth_high": 0.05,
        "source": "shop_yaml",
    }


# --- warnings -------------------------------------------------------------------------------


def test_warnings_above_2x_below_last12_and_month_below():
    d = steady()
    b = tg.momentum_baseline(d, "2025-12-31", 2026, 1)
    seas = tg.learn_seasonality(d)
    hi = tg.target_plan(b, NO_MARKET, 0.15, seas, 1, owner=3 * b.last12)
    assert hi.warnings[0][0] == "above_2x"
    assert hi.warnings[0][1]["ratio"] == pytest.approx(3.0)
    lo = tg.target_plan(b, NO_MARKET, 0.15, seas, 1, owner=0.9 * b.last12)
    assert lo.warnings[0][0] == "below_last12"
    assert lo.warnings[0][1]["ratio"] == pytest.approx(0.9)
    # a growing shop (trend +100%) whose January target (90) is below last January (100)
    dt = pd.DataFrame(
        {"date": pd.to_datetime(["2026-01-15", "2026-02-15"]), "target_cents": [9000, 20000]}
    )
    ly = pd.Series([100.0, 150.0], index=pd.to_datetime(["2025-01-01", "2025-02-01"]))
    w = tg.target_warnings(b, 1.5 * b.last12, dt, ly)
    assert w == [("month_below", {"months": ["2026-01"]})]


# --- backtest -------------------------------------------------------------------------------


def test_backtest_last_complete_year_hand_numbers():
    d = steady()
    bt = tg.backtest(d, "2025-12-31", 1)
    r = month_sum(d, "2024-10-01", "2024-12-31") / month_sum(d, "2023-10-01", "2023-12-31")
    s24, s25 = month_sum(d, "2024-01-01", "2024-12-31"), month_sum(d, "2025-01-01", "2025-12-31")
    forecast = round(s24 * (1 + 0.5 * (r - 1)))
    assert bt["fy"] == 2025 and bt["as_of"] == pd.Timestamp("2024-12-31")
    assert r == pytest.approx(2 ** (366 / 365))  # 2024 is a leap year
    assert bt["forecast"] == forecast
    assert bt["actual"] == pytest.approx(s25)
    assert bt["error"] == pytest.approx(forecast / s25 - 1)
    assert bt["error"] == pytest.approx(-0.25, abs=0.01)  # a doubling shop damped by half
    assert bt["in_range"] is False
    # two years only (2024-2025): 12 months before 2025, no trend, forecast = 2024's sales
    bt2 = tg.backtest(steady("2024-01-01"), "2025-12-31", 1)
    assert bt2["trend"] != bt2["trend"]  # NaN
    assert bt2["forecast"] == round(month_sum(steady("2024-01-01"), "2024-01-01", "2024-12-31"))
    assert tg.backtest(steady("2024-06-01"), "2025-12-31", 1) is None  # < 2 full years


# --- the owner's target ---------------------------------------------------------------------


def owner_shop(tmp_path, targets_yaml="targets:\n  2026: 3000000\n"):
    (tmp_path / "shop.yaml").write_text("name: t\n" + targets_yaml, encoding="utf-8")
    return tmp_path


def test_owner_target_replaces_computed_everywhere(tmp_path):
    cfg = config.load_config(owner_shop(tmp_path))
    assert cfg.targets == {2026: 3000000.0}
    d = steady()
    seas = tg.learn_seasonality(d)
    owner = tg.owner_target(cfg.targets, 2026)
    base, plan = tg.plan_from_inputs(d, "2025-12-31", 2026, 1, seas, NO_MARKET, 0.15, owner=owner)
    assert plan.annual == 3_000_000 and plan.source == "owner"
    assert plan.daily["target_cents"].sum() == 300_000_000  # to the cent
    # the gap is carried in the baseline's proportions
    m = plan.months
    assert m["gap"].sum() == pytest.approx(3_000_000 - base.annual)
    assert (m["target"] / m["baseline"]).to_numpy() == pytest.approx(
        np.full(12, 3_000_000 / base.annual)
    )
    ly = tg.last_year_actual(d, "2025-12-31", 1)
    meta = tg.targets_meta(plan, base, NO_MARKET, 0.15, 1, "48", ly)
    assert meta["annual_target"] == 3_000_000 and meta["target_source"] == "owner"
    assert meta["base_target"] == round(1.5 * base.last12 * 1.15)
    assert meta["last_year_actual"] == pytest.approx(base.last12)
    assert meta["growth"] == pytest.approx(3_000_000 / base.last12 - 1)
    # run.json's target_annual comes from the saved meta
    art = tmp_path / "out" / "artifacts"
    art.mkdir(parents=True)
    (art / "targets_meta.json").write_text(json.dumps(meta), encoding="utf-8")
    tg.targets_daily_artifact(plan.daily).to_parquet(art / "targets_daily.parquet")
    out = runner.report_target_kpis(
        {"target_fy": None, "target_annual": None, "last_year_actual": None},
        pd.Series(dtype=float),
        tmp_path / "out",
        "2025-12-31",
    )
    assert out["target_annual"] == 3_000_000 and out["target_fy"] == "2026"
    assert out["last_year_actual"] == round(base.last12, 2)


def test_06_paces_against_the_owners_target_of_the_year_under_review():
    d = steady("2023-01-01", "2026-06-30")
    t, src = tg.review_targets(d, 2026, 1, owner=3_000_000)
    assert src == "owner" and t["target_sales"].sum() == pytest.approx(3_000_000, abs=0.005)
    assert len(t) == 365 and t["date"].min() == pd.Timestamp("2026-01-01")


def test_06_without_a_target_compares_with_last_year_not_a_backcast(tmp_path):
    d = steady("2023-01-01", "2025-12-31")
    t, src = tg.review_targets(d, 2025, 1)
    assert src == "last_year"
    ref = d[d["date"].dt.year == 2024].set_index("date")["net_sales"]
    # 2025-03-01's reference is 2024-03-01 (the same calendar day)
    assert t.set_index("date").loc["2025-03-01", "target_sales"] == round(ref["2024-03-01"], 2)
    assert t["target_sales"].sum() == pytest.approx(ref.drop(pd.Timestamp("2024-02-29")).sum())
    with pytest.raises(tg.TargetError, match="no sales in FY2022"):
        tg.review_targets(d, 2023, 1)


def test_saved_plan_in_plans_folder_is_reviewed_against(tmp_path):
    (tmp_path / "plans").mkdir()
    days = pd.date_range("2025-01-01", "2025-12-31")
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "target_sales": 100.0}).to_csv(
        tmp_path / "plans" / "targets_2025.csv", index=False
    )
    saved = plans.load_saved_plan(tmp_path, 2025, 1)
    t, src = tg.review_targets(steady(), 2025, 1, saved=saved)
    assert src == "plan" and t["target_sales"].sum() == 36_500
    (tmp_path / "plans" / "targets_2025.csv").write_text("date,target_sales\n2025-01-01,x\n")
    with pytest.raises(Exception, match="targets_2025.csv: column 'target_sales': row 2"):
        plans.load_saved_plan(tmp_path, 2025, 1)
    assert plans.load_saved_plan(tmp_path, 2024, 1) is None
    # an earlier run's report folder copied into plans/: its 02 set FY2024
    d = steady("2021-01-01", "2023-12-31")
    _, plan = tg.plan_from_inputs(d, "2023-12-31", 2024, 1, tg.learn_seasonality(d), NO_MARKET, 0.1)
    art = tmp_path / "plans" / "report-2023-12" / "artifacts"
    art.mkdir(parents=True)
    tg.targets_daily_artifact(plan.daily).to_parquet(art / "targets_daily.parquet")
    saved = plans.load_saved_plan(tmp_path, 2024, 1)
    assert len(saved) == 366 and saved["target_sales"].sum() == pytest.approx(plan.annual)


def test_config_targets_are_checked(tmp_path):
    with pytest.raises(config.ConfigError, match="'targets.2026' must be a positive"):
        config.load_config(owner_shop(tmp_path, "targets:\n  2026: lots\n"))
    with pytest.raises(config.ConfigError, match="fiscal years"):
        config.load_config(owner_shop(tmp_path, "targets:\n  next: 100\n"))


# --- customers ------------------------------------------------------------------------------


def test_returning_share_starts_from_the_measured_mix_and_moves_gradually(small_tables):
    orders = small_tables["orders"]
    end = orders["order_time"].max().normalize()
    dt = tg.decompose(120_000, tg.day_weights(end.year + 1, 1, flat()))
    g = tg.customer_goals(orders, dt, end - pd.Timedelta(days=364), end, 1, start_share=0.72)
    rate = g.monthly["target_repeat_rate"].to_numpy()
    assert rate[0] == pytest.approx(0.72 + 0.02 / 12)
    assert rate[-1] == pytest.approx(0.74)
    assert np.diff(rate) == pytest.approx(np.full(11, 0.02 / 12))


# --- the what-if ----------------------------------------------------------------------------


def test_untouched_widget_equals_the_static_table_and_moves_together(tmp_path):
    pytest.importorskip("ipywidgets")
    from helpers.present import target_whatif as tw

    (tmp_path / "shop.yaml").write_text("name: t\nassumptions:\n  ambition: 0.15\n")
    d = steady()
    seas = tg.learn_seasonality(d)
    inputs = {
        "daily": d,
        "as_of": pd.Timestamp("2025-12-31"),
        "fy": 2026,
        "start_month": 1,
        "seas": seas,
        "market": NO_MARKET,
        "owner": None,
        "festivals": None,
        "week_scheme": "48",
    }
    ef = tg.event_factors(seas, "2026-01-01", "2026-12-31")
    nodes = ef[(ef["kind"] == "node") & (ef["phase"] == "main")].drop_duplicates("node")
    # an ambition that a 0.01 slider shows rounded: the page's value must still be used
    amb = 0.1537
    _, plan = tg.plan_from_inputs(ambition=amb, damping=0.5, **inputs)
    static = tg.month_table(plan, d, 1, "48")
    w = tw.TargetWhatIf(
        inputs,
        amb,
        0.5,
        nodes.assign(label=nodes["name_en"])[["node", "label", "uplift"]],
        shop_dir=tmp_path,
    )
    pd.testing.assert_frame_equal(w.table, static)
    w.ambition.value = 0.15  # a browser snapping the slider to its step changes nothing
    pd.testing.assert_frame_equal(w.table, static)
    assert w.total.value.endswith(f"{plan.annual}</b>")
    w.ambition.value = 0.30
    moved = w.table
    annual = round(1.5 * plan.months["baseline"].sum() / 1.5 * 1.30)
    assert moved["target_sales"].sum() == pytest.approx(annual, abs=0.005)
    assert w.total.value.endswith(f"{float(annual)}</b>")
    assert (moved["target_sales"] > static["target_sales"]).all()  # every month moved with it
    w.damping.value = 0.25
    w.save()
    saved = yaml.safe_load((tmp_path / "shop.yaml").read_text())
    assert saved["assumptions"] == {"ambition": 0.3, "momentum_damping": 0.25}
    assert saved["name"] == "t"
    assert config.load_config(tmp_path).assumptions["momentum_damping"] == 0.25


def test_widgets_only_in_a_jupyter_server_kernel(monkeypatch):
    from helpers.present import target_whatif as tw

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert tw.widgets_wanted(None) is False  # papermill / nbval: static
    assert tw.widgets_wanted(True) is True
    monkeypatch.setenv("JPY_SESSION_NAME", "/work/02_target_setting.ipynb")
    assert tw.widgets_wanted(None) is (
        __import__("importlib").util.find_spec("ipywidgets") is not None
    )
    assert tw.widgets_wanted(False) is False


def test_target_errors_read_as_a_sentence_in_both_languages():
    from helpers.present import narrative

    cat = narrative.catalogue()
    d = steady("2023-01-01", "2025-12-31")
    errors = []
    for call in (
        lambda: tg.momentum_baseline(d, "2022-12-31", 2023, 1),
        lambda: tg.year_targets(d, 2023, 1, "2025-12-31", 0.15),
        lambda: tg.review_targets(d, 2023, 1),
    ):
        with pytest.raises(tg.TargetError) as e:
            call()
        errors.append(e.value)
    assert [e.key for e in errors] == ["no_sales", "no_sales", "no_last_year"]
    for e in errors:
        for lang in ("zh", "en"):
            text = cat[f"tg_err_{e.key}"][lang].format(**e.fields)
            assert "{" not in text and text
    assert "2023" in cat["tg_err_no_last_year"]["en"].format(**errors[2].fields)
