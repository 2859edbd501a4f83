"""Tests for helpers.core.calendar: holidays against the libraries, nodes, fiscal periods, cents."""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
from fractions import Fraction

import chinese_calendar
import holidays as holidays_lib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lunardate import LunarDate

from helpers.core import calendar as cal
from helpers.core.errors import ConfigError

CC_FIRST = min(d.year for d in chinese_calendar.holidays)
CC_LAST = max(d.year for d in chinese_calendar.holidays)
T = pd.Timestamp


# --------------------------------------------------------------------------------------------
# statutory holidays


def test_coverage_matches_chinese_calendar():
    assert CC_FIRST <= 2004 and CC_LAST >= 2025  # the data this project relies on
    assert cal.covered_by_chinese_calendar(CC_FIRST)
    assert cal.covered_by_chinese_calendar(CC_LAST)
    assert not cal.covered_by_chinese_calendar(CC_FIRST - 1)
    assert not cal.covered_by_chinese_calendar(CC_LAST + 1)


def test_statutory_holidays_equal_chinese_calendar_every_covered_year():
    df = cal.statutory_holidays(dt.date(CC_FIRST, 1, 1), dt.date(CC_LAST, 12, 31))
    assert list(df.columns) == ["date", "name", "name_zh", "kind"]
    assert df["date"].dtype == "datetime64[ns]"
    assert df["date"].is_monotonic_increasing and df["date"].is_unique
    off = df[df["kind"] == "holiday"]
    work = df[df["kind"] == "workday"]
    assert len(off) + len(work) == len(df)
    assert {d.date() for d in off["date"]} == set(chinese_calendar.holidays)
    assert {d.date() for d in work["date"]} == set(chinese_calendar.workdays)
    names = dict(zip((d.date() for d in df["date"]), df["name"], strict=True))
    assert names == {**chinese_calendar.holidays, **chinese_calendar.workdays}
    assert set(df["name_zh"]) >= {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}


def test_festival_days_offdays_equal_chinese_calendar_on_every_day():
    fd = cal.festival_days(dt.date(CC_FIRST, 1, 1), dt.date(CC_LAST, 12, 31))
    days = [d.date() for d in fd["date"]]
    assert days[0] == dt.date(CC_FIRST, 1, 1) and days[-1] == dt.date(CC_LAST, 12, 31)
    assert len(days) == (days[-1] - days[0]).days + 1
    expected_off = [chinese_calendar.is_holiday(d) for d in days]
    assert fd["is_offday"].tolist() == expected_off
    assert fd["is_workday_makeup"].tolist() == [d in chinese_calendar.workdays for d in days]
    assert fd["holiday"].notna().tolist() == [d in chinese_calendar.holidays for d in days]


def test_statutory_holidays_2025_examples():
    df = cal.statutory_holidays("2025-01-01", "2025-12-31").set_index("date")
    assert df.loc[T("2025-01-29"), "name_zh"] == "春节"
    assert df.loc[T("2025-01-26"), "kind"] == "workday"  # Sunday worked for Spring Festival
    assert df.loc[T("2025-10-06"), "name"] == "Mid-autumn Festival"
    assert df.loc[T("2025-10-01"), "name_zh"] == "国庆节"
    assert T("2025-03-03") not in df.index


def test_spring_festival_known_years_and_libraries():
    assert cal.spring_festival(2024) == T("2024-02-10")
    assert cal.spring_festival(2025) == T("2025-01-29")
    assert cal.spring_festival(2026) == T("2026-02-17")
    for year in range(CC_FIRST, CC_LAST + 1):  # inside chinese_calendar's Spring Festival block
        day = cal.spring_festival(year).date()
        assert chinese_calendar.holidays[day] == "Spring Festival", year
    lib = holidays_lib.China(years=range(1950, 2100), language="en_US")
    first_day = {}
    for day, name in sorted(lib.items()):
        if name == "Chinese New Year (Spring Festival)":
            first_day.setdefault(day.year, day)
    assert len(first_day) == 150
    for year, day in first_day.items():
        assert cal.spring_festival(year).date() == day, year


def test_fallback_year_2031_from_holidays_library():
    assert not cal.covered_by_chinese_calendar(2031)
    df = cal.statutory_holidays("2031-01-01", "2031-12-31")
    sf = cal.spring_festival(2031)
    lib = holidays_lib.China(years=2031, language="en_US")
    assert lib[sf.date()] == "Chinese New Year (Spring Festival)"
    on_sf = df[df["date"] == sf]
    assert on_sf[["name", "name_zh", "kind"]].values.tolist() == [
        ["Spring Festival", "春节", "holiday"]
    ]
    assert {d.date() for d in df["date"]} >= set(lib)  # every library day off is there
    assert set(df["name_zh"]) == {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}
    # the library knows no make-up days for 2031
    assert not [d for d in lib.weekend_workdays if d.year == 2031]
    assert (df["kind"] == "holiday").all()
    # weekend days touching a block count in it: Sunday 2031-01-26 between 01-25 and 01-27
    assert df.loc[df["date"] == T("2031-01-26"), "name_zh"].tolist() == ["春节"]


def test_fallback_year_2003_uses_library_make_up_days():
    df = cal.statutory_holidays("2003-01-01", "2003-12-31")
    lib = holidays_lib.China(years=2003)
    work = {d.date() for d in df.loc[df["kind"] == "workday", "date"]}
    assert work == {d for d in lib.weekend_workdays if d.year == 2003}
    # 2003-02-06 is a "day off (substituted)": named after the nearest holiday
    assert df.loc[df["date"] == T("2003-02-06"), "name_zh"].tolist() == ["春节"]


def test_range_across_coverage_edge_mixes_sources():
    df = cal.statutory_holidays(f"{CC_LAST}-12-01", f"{CC_LAST + 1}-02-28")
    assert T(f"{CC_LAST + 1}-01-01") in set(df["date"])  # New Year from holidays.China
    assert df["date"].is_monotonic_increasing
    assert cal.statutory_holidays("2025-02-01", "2025-01-01").empty


# --------------------------------------------------------------------------------------------
# festival nodes


def _node(df: pd.DataFrame, key: str) -> pd.Series:
    rows = df[df["key"] == key]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_festival_nodes_2025_defaults():
    df = cal.festival_nodes("2025-01-01", "2025-12-31")
    assert list(df.columns) == [
        "key",
        "name_zh",
        "name_en",
        "start",
        "end",
        "peak",
        "presale_start",
        "presale_end",
        "weight",
    ]
    assert set(df["key"]) == {"nianhuo", "38", "520", "618", "qixi", "99", "double11", "double12"}
    assert df["start"].is_monotonic_increasing
    d11 = _node(df, "double11")
    assert (d11["peak"], d11["start"], d11["end"]) == (
        T("2025-11-11"),
        T("2025-11-01"),
        T("2025-11-11"),
    )
    assert T("2025-10-15") <= d11["presale_start"] <= T("2025-10-31")
    assert d11["presale_end"] == T("2025-10-31") and d11["weight"] == 3.0
    qixi = _node(df, "qixi")
    assert qixi["peak"] == T("2025-08-29") == T(LunarDate(2025, 7, 7).to_solar_date())
    m618 = _node(df, "618")
    assert (m618["start"], m618["peak"]) == (T("2025-06-01"), T("2025-06-18"))
    assert T("2025-05-20") <= m618["presale_start"] <= T("2025-05-31")
    assert m618["presale_end"] == T("2025-05-31")
    nianhuo = _node(df, "nianhuo")
    assert nianhuo["end"] == cal.spring_festival(2025) - pd.Timedelta(days=7) == T("2025-01-22")
    assert nianhuo["start"] == T("2025-01-02") and pd.isna(nianhuo["presale_start"])
    assert _node(df, "38")["peak"] == T("2025-03-08")
    assert _node(df, "38")["presale_start"] == T("2025-03-01")
    assert _node(df, "520")["peak"] == T("2025-05-20")
    assert _node(df, "99")["peak"] == T("2025-09-09")
    assert _node(df, "double12")["peak"] == T("2025-12-12")


def test_festival_nodes_follow_lunar_rules_in_other_years():
    df = cal.festival_nodes("2024-01-01", "2024-12-31")
    assert _node(df, "qixi")["peak"] == T("2024-08-10")
    assert _node(df, "nianhuo")["end"] == T("2024-02-03")  # Spring Festival 2024-02-10 - 7


def test_festival_nodes_window_includes_presale_overlap():
    df = cal.festival_nodes("2025-10-25", "2025-10-25")
    assert df["key"].tolist() == ["double11"]
    assert cal.festival_nodes("2025-07-01", "2025-07-31").empty


def test_overrides_disable_change_add():
    df = cal.festival_nodes("2025-01-01", "2025-12-31", [{"key": "double11", "enabled": False}])
    assert "double11" not in set(df["key"]) and len(df) == 7
    df = cal.festival_nodes("2025-01-01", "2025-12-31", {618: {"weight": 2.0, "presale_days": 0}})
    m618 = _node(df, "618")
    assert m618["weight"] == 2.0 and pd.isna(m618["presale_start"])
    assert m618["start"] == T("2025-06-01")
    brand = {"key": "brand", "name_zh": "品牌日", "rule": {"month": 8, "day": 8}, "weight": 1.4}
    df = cal.festival_nodes("2025-01-01", "2025-12-31", [{**brand, "duration_days": 3}])
    b = _node(df, "brand")
    assert (b["start"], b["end"], b["name_zh"], b["name_en"]) == (
        T("2025-08-06"),
        T("2025-08-08"),
        "品牌日",
        "brand",
    )
    # defaults are not mutated by overrides
    assert _node(cal.festival_nodes("2025-01-01", "2025-12-31"), "618")["weight"] == 2.5


def test_override_fixed_dates_replace_one_year_only():
    over = [
        {
            "key": "double11",
            "start": dt.date(2025, 10, 31),
            "end": "2025-11-11",
            "presale_start": "2025-10-24",
        },
        {
            "key": "anniv",
            "name_zh": "店庆",
            "start": "2025-07-01",
            "end": "2025-07-03",
            "weight": 2,
        },
    ]
    df = cal.festival_nodes("2024-01-01", "2025-12-31", over)
    d11 = df[df["key"] == "double11"].set_index(df.loc[df["key"] == "double11", "peak"].dt.year)
    assert d11.loc[2025, "start"] == T("2025-10-31")
    assert (d11.loc[2025, "presale_start"], d11.loc[2025, "presale_end"]) == (
        T("2025-10-24"),
        T("2025-10-30"),
    )
    assert d11.loc[2025, "weight"] == 3.0  # kept from the default
    assert d11.loc[2024, "start"] == T("2024-11-01")  # rule still applies to 2024
    anniv = _node(df, "anniv")
    assert (anniv["peak"], anniv["weight"], anniv["name_zh"]) == (T("2025-07-03"), 2.0, "店庆")


@pytest.mark.parametrize(
    "overrides",
    [
        [{"key": "nope", "enabled": False}],  # unknown key
        [{"key": "new_node", "weight": 2.0}],  # new node without rule or dates
        [{"key": "618", "wieght": 2.0}],  # typo
        [{"key": "618", "rule": {"month": 6}}],  # incomplete rule
        [{"key": "618", "duration_days": 0}],
        [{"key": "x", "start": "2025-07-05", "end": "2025-07-01"}],
        [{"key": "x", "start": "2025-07-01"}],
        "double11",
    ],
)
def test_bad_overrides_raise_config_error(overrides):
    with pytest.raises(ConfigError):
        cal.festival_nodes("2025-01-01", "2025-12-31", overrides)


def test_festival_days_2025():
    fd = cal.festival_days("2025-01-01", "2025-12-31").set_index("date")
    assert len(fd) == 365
    assert list(fd.columns) == ["node", "phase", "holiday", "is_offday", "is_workday_makeup"]
    assert tuple(fd.loc[T("2025-06-10"), ["node", "phase"]]) == ("618", "peak")
    assert tuple(fd.loc[T("2025-05-25"), ["node", "phase"]]) == ("618", "presale")
    assert tuple(fd.loc[T("2025-05-20"), ["node", "phase"]]) == ("520", "peak")  # beats presale
    assert tuple(fd.loc[T("2025-11-11"), ["node", "phase"]]) == ("double11", "peak")
    assert fd.loc[T("2025-07-15"), "node"] is None and fd.loc[T("2025-07-15"), "phase"] is None
    row = fd.loc[T("2025-01-28")]
    assert (row["holiday"], row["is_offday"], row["is_workday_makeup"]) == ("春节", True, False)
    row = fd.loc[T("2025-01-26")]  # Sunday, make-up workday
    assert (row["holiday"], row["is_offday"], row["is_workday_makeup"]) == (None, False, True)
    assert fd.loc[T("2025-10-06"), "holiday"] == "中秋节"
    assert fd.loc[T("2025-03-04"), "is_offday"] == False  # noqa: E712  (plain Tuesday)
    # main phases do not overlap in 2025: 21 + 3 + 1 + 18 + 3 + 9 + 11 + 3 days
    assert (fd["phase"] == "peak").sum() == 69
    # pre-sales 5 + 12 + 12 + 5, less 2025-05-20 taken by 520's main phase
    assert (fd["phase"] == "presale").sum() == 33


def test_festival_days_uses_overrides():
    fd = cal.festival_days("2025-10-01", "2025-11-30", [{"key": "double11", "enabled": False}])
    assert fd["node"].eq("double11").sum() == 0


# --------------------------------------------------------------------------------------------
# fiscal periods


def test_fiscal_year_bounds_and_of():
    assert cal.fiscal_year_bounds(2025, 1) == (T("2025-01-01"), T("2025-12-31"))
    assert cal.fiscal_year_bounds(2025, 4) == (T("2025-04-01"), T("2026-03-31"))
    assert cal.fiscal_year_bounds(2023, 10) == (T("2023-10-01"), T("2024-09-30"))
    assert cal.fiscal_year_of("2026-03-31", 4) == 2025
    assert cal.fiscal_year_of("2026-04-01", 4) == 2026
    assert cal.fiscal_year_of(dt.date(2025, 12, 31), 1) == 2025
    s = pd.Series(pd.to_datetime(["2025-06-30", "2025-07-01", "2026-01-15"]))
    assert cal.fiscal_year_of(s, 7).tolist() == [2024, 2025, 2025]
    with pytest.raises(ValueError):
        cal.fiscal_year_bounds(2025, 13)


@pytest.mark.parametrize("start_month", [1, 4, 7, 10])
@pytest.mark.parametrize("fy", [2023, 2024, 2025])
def test_fiscal_days_structure(fy, start_month):
    df = cal.fiscal_days(fy, start_month)
    first, last = cal.fiscal_year_bounds(fy, start_month)
    feb_year = fy if start_month <= 2 else fy + 1
    assert len(df) == (366 if stdlib_calendar.isleap(feb_year) else 365)
    assert df["date"].iloc[0] == first and df["date"].iloc[-1] == last
    assert (df["date"].diff().dropna() == pd.Timedelta(days=1)).all()
    assert (df["fy"] == fy).all()
    assert (cal.fiscal_year_of(df["date"], start_month) == fy).all()
    for col, n in (("half", 2), ("quarter", 4), ("month", 12), ("week", 48)):
        assert df[col].is_monotonic_increasing, col  # contiguous blocks in order
        assert sorted(df[col].unique()) == list(range(1, n + 1)), col
    assert (df["cal_month"] == df["date"].dt.month).all()
    assert (df.loc[df["month"] == 1, "cal_month"] == start_month).all()
    assert (df["half"] == (df["month"] - 1) // 6 + 1).all()
    assert (df["quarter"] == (df["month"] - 1) // 3 + 1).all()
    weeks = df.groupby("month")["week"].agg(["nunique", "min", "max"])
    assert (weeks["nunique"] == 4).all()
    assert (weeks["min"] == (weeks.index - 1) * 4 + 1).all()
    lengths = df.groupby("week").size()
    assert (lengths[lengths.index % 4 != 0] == 7).all()
    days_in_month = df.groupby("month").size()
    assert (lengths[lengths.index % 4 == 0].to_numpy() == days_in_month.to_numpy() - 21).all()
    assert (df["weekday"] == df["date"].dt.day_of_week).all()


def test_fiscal_days_iso_scheme():
    df = cal.fiscal_days(2025, 1, week_scheme="iso").set_index("date")
    assert df.loc[T("2025-02-10"), "week"] == "2025-W07"
    assert df.loc[T("2025-12-29"), "week"] == "2026-W01"
    assert df.loc[T("2025-01-01"), "week"] == "2025-W01"
    for day, row in df.iterrows():
        y, w, d = day.date().isocalendar()
        assert (row["iso_year"], row["iso_week"], row["weekday"]) == (y, w, d - 1)
        assert row["week"] == f"{y}-W{w:02d}"
    with pytest.raises(ValueError):
        cal.fiscal_days(2025, 1, week_scheme="52")


def test_period_key_labels():
    df = cal.fiscal_days(2025, 7)
    at = df.set_index("date").index
    rows = {T("2025-07-01"): 0, T("2026-03-15"): at.get_loc(T("2026-03-15"))}
    expected = {
        T("2025-07-01"): [
            "FY2025",
            "FY2025-H1",
            "FY2025-Q1",
            "FY2025-M01 (2025-07)",
            "FY2025-W01",
            "2025-07-01",
        ],
        T("2026-03-15"): [
            "FY2025",
            "FY2025-H2",
            "FY2025-Q3",
            "FY2025-M09 (2026-03)",
            "FY2025-W35",
            "2026-03-15",
        ],
    }
    levels = ["year", "half", "quarter", "month", "week", "day"]
    keys = {level: cal.period_key(df, level) for level in levels}
    for day, i in rows.items():
        assert [keys[level].iloc[i] for level in levels] == expected[day]
    for level, n in zip(levels, [1, 2, 4, 12, 48, len(df)], strict=True):
        assert keys[level].nunique() == n and keys[level].name == level
        assert keys[level].is_monotonic_increasing, level  # string order is time order
    iso = cal.period_key(cal.fiscal_days(2025, 7, "iso"), "week")
    assert iso.iloc[0] == "2025-W27"
    with pytest.raises(ValueError):
        cal.period_key(df, "fortnight")


# --------------------------------------------------------------------------------------------
# split_cents


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (1000, [1, 1, 1], [334, 333, 333]),
        (100, [1, 2, 3], [17, 33, 50]),  # 16.67, 33.33, 50 -> the .67 gets the spare cent
        (2, [1, 1, 1], [1, 1, 0]),  # ties go to the earlier position
        (3, [0.5, 0.25, 0.25], [1, 1, 1]),  # 1.5, .75, .75 -> floors 1, 0, 0 + 2 spare
        (5, [0, 1, 0, 1], [0, 3, 0, 2]),
        (10, [0, 0, 0], [4, 3, 3]),  # all-zero: equal split
        (-1000, [1, 1, 1], [-334, -333, -333]),
        (0, [3, 1], [0, 0]),
        (7, [5], [7]),
    ],
)
def test_split_cents_examples(total, weights, expected):
    out = cal.split_cents(total, weights)
    assert out.dtype == np.int64
    assert out.tolist() == expected


def test_split_cents_errors():
    with pytest.raises(TypeError):
        cal.split_cents(10.5, [1, 1])
    with pytest.raises(ValueError):
        cal.split_cents(10, [1, -1])
    with pytest.raises(ValueError):
        cal.split_cents(10, [[1, 1]])
    with pytest.raises(ValueError):
        cal.split_cents(10, [])
    assert cal.split_cents(0, []).tolist() == []
    assert cal.split_cents(np.int64(9), np.array([1.0, 2.0])).tolist() == [3, 6]


def _check_split(total, weights, out, tol):
    assert out.dtype == np.int64 and len(out) == len(weights)
    assert int(out.sum()) == total
    fw = [Fraction(w) for w in weights]
    if sum(fw) == 0:
        fw = [Fraction(1)] * len(weights)
    for part, w in zip(out.tolist(), fw, strict=True):
        quota = Fraction(total) * w / sum(fw)
        assert abs(part - quota) < 1 + tol
        if w == 0:
            assert part == 0
        assert part * total >= 0  # same sign as the total


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(-(10**12), 10**12),
    weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=60),
)
def test_split_cents_integer_weights_property(total, weights):
    out = cal.split_cents(total, weights)
    _check_split(total, weights, out, tol=0)
    for i in range(len(weights) - 1):  # larger weight never gets less
        if weights[i] > weights[i + 1]:
            assert abs(out[i]) >= abs(out[i + 1])


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(-(10**12), 10**12),
    weights=st.lists(
        st.floats(0, 1e9, allow_nan=False, allow_infinity=False), min_size=1, max_size=60
    ),
)
def test_split_cents_float_weights_property(total, weights):
    out = cal.split_cents(total, weights)
    _check_split(total, weights, out, tol=1e-3)
