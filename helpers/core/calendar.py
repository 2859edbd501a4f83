"""The calendar behind target setting: public holidays, retail festivals, fiscal periods.

Every calendar belongs to a **market** (an ISO 3166 country code, ``shop.yaml`` ``market:``; a
subdivision may follow, ``GB-SCT``): :class:`MarketCalendar` carries the market and the shop's
festival overrides, and every function below that takes ``overrides`` accepts one. A plain list of
overrides, or None, means the Chinese market (the calendar every shop had before markets).

Four things live here, each a pure function returning plain pandas objects:

* **Public holidays**: for CN the statutory holidays (法定节假日) with their make-up working days
  (调休), from ``chinese_calendar`` for the years it covers (:func:`covered_by_chinese_calendar`)
  and from ``holidays.China`` (lunar rules, and the few make-up days that library knows) outside
  them; for every other market the ``holidays`` package's public holidays (England's bank
  holidays for GB unless a subdivision is given), with make-up workdays where the country has
  them. No holiday date is typed in this module.
* **Retail festival nodes**: for CN the platform nodes (年货节, 3.8, 520, 618, 七夕, 99, 双11, 双12)
  in ``helpers/data_files/festivals.yaml``; for other markets the retail calendars beside it
  (``retail_calendar_*.yaml``: Valentine's Day, Mother's Day, Easter, Prime Day, Back to School,
  BFCM, Christmas up to the shipping cut-off, Boxing Day and the January sales, ...). Rules are
  turned into dated windows (pre-sale, then the main phase around the node date) by
  :func:`festival_nodes`; a shop's ``shop.yaml`` can change, disable or add nodes.
  :func:`festival_days` puts nodes and holidays on one row per day.
* **Fiscal periods**: a fiscal year starting in any month, named by the calendar year in which it
  starts, split into halves, quarters, fiscal months, weeks (the article's 48 weeks, four per
  month, or ISO weeks) and days (:func:`fiscal_days`, :func:`period_key`).
* **Exact apportionment** of an amount in cents (:func:`split_cents`), so that targets at every
  level add up to the level above to the cent.

All dates are naive ``datetime64[ns]`` at midnight.

Above 600 lines: fiscal periods, public holidays and retail calendars per market are one date model.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.resources
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import chinese_calendar
import holidays as holidays_lib
import numpy as np
import pandas as pd
from dateutil.easter import easter as western_easter
from lunardate import LunarDate

from helpers.core.errors import ConfigError
from helpers.data_files import DATA_DIR, read_yaml

__all__ = [
    "MarketCalendar",
    "as_calendar",
    "covered_by_chinese_calendar",
    "easter_sunday",
    "festival_days",
    "festival_nodes",
    "fiscal_days",
    "fiscal_year_bounds",
    "fiscal_year_of",
    "calendar_words",
    "market_calendar",
    "market_events",
    "market_of",
    "period_key",
    "split_cents",
    "spring_festival",
    "statutory_holidays",
]

FESTIVALS_FILE = DATA_DIR / "festivals.yaml"
MARKETS_FILE = DATA_DIR / "markets.yaml"
DEFAULT_MARKET = "CN"

DateLike = str | dt.date | dt.datetime | pd.Timestamp | np.datetime64

# Names only (never dates): chinese_calendar's English holiday name -> Chinese name used here.
_NAME_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
# holidays.China (zh_CN) base names -> the English names above. 除夕 is part of the Spring
# Festival holiday.
_ZH_TO_EN = {zh: en for en, zh in _NAME_ZH.items()} | {"农历除夕": "Spring Festival"}

_HOLIDAY_COLUMNS = ["date", "name", "name_zh", "kind"]
_NODE_COLUMNS = [
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
_NODE_FIELDS = {
    "key",
    "name_zh",
    "name_en",
    "rule",
    "duration_days",
    "presale_days",
    "weight",
    "enabled",
    "days_after",
    "start",
    "end",
    "peak",
    "presale_start",
    "presale_end",
}
_DATE_FIELDS = ("start", "end", "peak", "presale_start", "presale_end")
_RULE_KINDS = (
    {"month", "day"},
    {"lunar_month", "lunar_day"},
    {"spring_festival_offset"},
    {"easter_offset"},
    {"month", "weekday", "nth"},
)
# optional extras of a {month, weekday, nth} rule
_RULE_EXTRAS = {"offset_days", "avoid_easter_offset", "from_day"}
_LEVELS = ("year", "half", "quarter", "month", "week", "day")


# --------------------------------------------------------------------------------------------
# small utilities


def _ts(value: DateLike) -> pd.Timestamp:
    """A naive midnight :class:`pandas.Timestamp` from a date-like value."""
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"not a date: {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize().as_unit("ns")


def _days(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="D").as_unit("ns")


def _check_start_month(start_month: int) -> int:
    if isinstance(start_month, bool) or not isinstance(start_month, int | np.integer):
        raise TypeError(f"start_month must be an integer 1..12, got {start_month!r}")
    if not 1 <= int(start_month) <= 12:
        raise ValueError(f"start_month must be 1..12, got {start_month}")
    return int(start_month)


# --------------------------------------------------------------------------------------------
# markets


@dataclass(frozen=True, eq=True)
class MarketCalendar:
    """A shop's calendar: its market and its ``shop.yaml`` festival overrides.

    Parameters
    ----------
    market : str
        ISO 3166-1 alpha-2 country code (``"CN"``, ``"GB"``, ``"US"``, ``"DE"``, ...), optionally
        followed by a subdivision for the public holidays (``"GB-SCT"``, ``"US-CA"``).
    overrides : tuple of dict
        Festival overrides as :func:`festival_nodes` takes them (a list is converted).
    """

    market: str = DEFAULT_MARKET
    overrides: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "market", str(self.market).upper())
        object.__setattr__(self, "overrides", tuple(_override_list(self.overrides)))

    @property
    def country(self) -> str:
        """The country code (the market without its subdivision)."""
        return self.market.split("-", 1)[0]

    @property
    def subdivision(self) -> str | None:
        """The subdivision given after the country, else the market's default (ENG for GB)."""
        if "-" in self.market:
            return self.market.split("-", 1)[1]
        return _markets_data()["default_subdivisions"].get(self.country)

    @property
    def is_cn(self) -> bool:
        """Whether the Chinese platform calendar and vocabulary apply."""
        return self.country == "CN"


def market_calendar(market: str | None, overrides=None) -> MarketCalendar:
    """A :class:`MarketCalendar` for ``market`` (None: CN) with the shop's ``overrides``."""
    return MarketCalendar(market or DEFAULT_MARKET, tuple(_override_list(overrides)))


def as_calendar(overrides) -> MarketCalendar:
    """``overrides`` as a :class:`MarketCalendar`: a plain list or None is the CN calendar."""
    if isinstance(overrides, MarketCalendar):
        return overrides
    return MarketCalendar(DEFAULT_MARKET, tuple(_override_list(overrides)))


@cache
def _markets_data() -> dict[str, Any]:
    data = read_yaml(MARKETS_FILE) or {}
    for key in ("currencies", "timezones", "default_subdivisions"):
        if not isinstance(data.get(key), dict):
            raise ConfigError(str(MARKETS_FILE), f"expected a '{key}:' mapping")
    data["timezones"] = {**_zone_countries(), **data["timezones"]}
    return data


def _zone_countries() -> dict[str, str]:
    """Timezone -> country code from tzdata's ``zone.tab`` (empty when it is not installed)."""
    try:
        text = (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                out[parts[2]] = parts[0]
    return out


def calendar_words(market=DEFAULT_MARKET) -> dict[str, dict[str, str]]:
    """``{"presale": {"zh": .., "en": ..}, "makeup": {..}}`` from ``markets.yaml``: the words
    put next to an event's name, in the platform vocabulary for CN and the Western one else."""
    words = _markets_data().get("words", {})
    mc = market if isinstance(market, MarketCalendar) else MarketCalendar(market)
    return {
        "presale": words["presale" if mc.is_cn else "presale_west"],
        "makeup": words["makeup"],
    }


def market_of(currency: str | None, timezone: str | None) -> tuple[str, str]:
    """The market a shop without ``market:`` in shop.yaml most likely sells in, and why.

    CNY (or RMB) is CN; a currency used in one country is that country (GBP GB, USD US, JPY JP,
    ...); a currency shared by several (EUR) is resolved by the timezone's country (EUR with
    Europe/Berlin is DE); failing both, the timezone's country; failing that, CN (the default of
    a shop.yaml without currency or timezone).

    Parameters
    ----------
    currency, timezone : str or None
        ``shop.yaml`` ``currency`` and ``timezone``.

    Returns
    -------
    tuple of str
        ``(market, evidence)``, evidence being ``"currency"``, ``"currency+timezone"``,
        ``"timezone"`` or ``"default"``.
    """
    data = _markets_data()
    cur = str(currency or "").upper()
    tz_country = data["timezones"].get(str(timezone or ""))
    by_currency = data["currencies"].get(cur)
    if isinstance(by_currency, str):
        return by_currency, "currency"
    if isinstance(by_currency, list) and tz_country in by_currency:
        return tz_country, "currency+timezone"
    if isinstance(by_currency, list) and by_currency:
        return by_currency[0], "currency"
    if tz_country:
        return tz_country, "timezone"
    return DEFAULT_MARKET, "default"


def check_market(market: str) -> str:
    """``market`` upper-cased if the ``holidays`` package knows it; ValueError otherwise."""
    m = str(market).strip().upper()
    country, _, subdiv = m.partition("-")
    if country == "UK":  # not an ISO 3166 code, but what most people write
        country = "GB"
        m = "GB" + (f"-{subdiv}" if subdiv else "")
    supported = holidays_lib.list_supported_countries()
    if country not in supported:
        raise ValueError(
            f"unknown market {market!r}: expected an ISO country code such as CN, GB, US, DE"
        )
    if subdiv and subdiv not in supported[country]:
        raise ValueError(
            f"unknown subdivision {subdiv!r} of {country}: one of {', '.join(supported[country])}"
        )
    return m


# --------------------------------------------------------------------------------------------
# statutory holidays


@cache
def _cc_year_range() -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def covered_by_chinese_calendar(year: int) -> bool:
    """Whether ``chinese_calendar`` has the official holiday schedule for ``year``.

    Parameters
    ----------
    year : int
        Calendar year.

    Returns
    -------
    bool
        True when ``year`` lies between the first and last year of the installed
        ``chinese_calendar`` data (2004-2026 for chinese_calendar 1.11).
    """
    lo, hi = _cc_year_range()
    return lo <= int(year) <= hi


def _cc_name(name: str) -> tuple[str, str]:
    """(English, Chinese) for a chinese_calendar holiday name."""
    if name in _NAME_ZH:
        return name, _NAME_ZH[name]
    try:
        return name, chinese_calendar.Holiday(name).chinese
    except ValueError:
        return name, name


@cache
def _cc_table() -> pd.DataFrame:
    """Every day chinese_calendar lists: days off (``holiday``) and make-up workdays."""
    rows = []
    for kind, table in (
        ("holiday", chinese_calendar.holidays),
        ("workday", chinese_calendar.workdays),
    ):
        for day, name in table.items():
            en, zh = _cc_name(name)
            rows.append((pd.Timestamp(day), en, zh, kind))
    return _holiday_frame(rows)


def _holiday_frame(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=_HOLIDAY_COLUMNS)
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    for col in ("name", "name_zh", "kind"):
        df[col] = df[col].astype(object)
    return df.sort_values("date", kind="stable").reset_index(drop=True)


def _nearest_name(day: dt.date, named: dict[dt.date, tuple[str, str]]) -> tuple[str, str]:
    """The holiday closest in time to ``day`` (earlier one on a tie)."""
    best = min(named, key=lambda d: (abs((d - day).days), d))
    return named[best]


def _fallback_table(years: tuple[int, ...]) -> pd.DataFrame:
    """Holidays from ``holidays.China`` (lunar rules) for years chinese_calendar lacks.

    Days the library calls substituted days off are named after the nearest holiday; weekend days
    touching a holiday block are counted in it (as chinese_calendar does); make-up workdays are
    those the library knows (``weekend_workdays``), usually none for future years.
    """
    if not years:
        return _holiday_frame([])
    h_zh = holidays_lib.China(years=years, language="zh_CN")
    h_en = holidays_lib.China(years=years, language="en_US")
    named: dict[dt.date, tuple[str, str]] = {}
    unnamed: list[dt.date] = []
    for day, zh in h_zh.items():
        base = zh.split(";")[0].strip().replace("（补假）", "")
        if base in _ZH_TO_EN:
            en = _ZH_TO_EN[base]
            named[day] = (en, _NAME_ZH[en])
        elif base.startswith("休息日"):  # "day off (substituted from ...)"
            unnamed.append(day)
        else:  # a holiday this module has no name for: keep the library's names
            named[day] = (h_en[day].split(";")[0].strip(), base)
    if not named:
        return _holiday_frame([])
    off = dict(named)
    for day in unnamed:
        off[day] = _nearest_name(day, named)
    make_up = {d for d in h_zh.weekend_workdays if d.year in years}
    for day in sorted(off):  # weekend days next to a block belong to it
        for step in (1, -1):
            nxt = day + dt.timedelta(days=step)
            while nxt.weekday() >= 5 and nxt not in off and nxt not in make_up:
                off[nxt] = off[day]
                nxt += dt.timedelta(days=step)
    rows = [(pd.Timestamp(d), en, zh, "holiday") for d, (en, zh) in off.items()]
    rows += [(pd.Timestamp(d), *_nearest_name(d, named), "workday") for d in make_up]
    return _holiday_frame(rows)


def statutory_holidays(start: DateLike, end: DateLike, market=DEFAULT_MARKET) -> pd.DataFrame:
    """A market's public holidays and make-up workdays in ``[start, end]``; by default China's
    statutory holidays (法定节假日) and make-up workdays (调休).

    Parameters
    ----------
    start, end : date-like
        First and last day, inclusive.
    market : str or MarketCalendar
        The market (``"CN"``, ``"GB"``, ``"US-CA"``, ...) or a calendar carrying it. Outside CN
        the rows come from :func:`public_holidays`.

    Returns
    -------
    pandas.DataFrame
        One row per listed day, sorted by date, with columns

        ``date``
            ``datetime64[ns]`` at midnight.
        ``name``
            English holiday name, e.g. ``"Spring Festival"``, ``"National Day"``.
        ``name_zh``
            Chinese name: 元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节.
        ``kind``
            ``"holiday"`` for a day off (weekend days inside a holiday block included),
            ``"workday"`` for a make-up working day, named after the holiday it pays for.

    Notes
    -----
    Years :func:`covered_by_chinese_calendar` come from ``chinese_calendar`` exactly. Other years
    come from ``holidays.China``: its lunar rules give the holidays (and the substituted days off
    it knows), but the State Council's make-up days are published a year at a time, so future
    years usually have no ``"workday"`` rows.
    """
    start, end = _ts(start), _ts(end)
    if start > end:
        return _holiday_frame([])
    mc = market if isinstance(market, MarketCalendar) else MarketCalendar(market)
    if not mc.is_cn:
        return public_holidays(start, end, mc.market)
    lo, hi = _cc_year_range()
    parts = []
    if start.year <= hi and end.year >= lo:
        cc = _cc_table()
        parts.append(cc[(cc["date"] >= start) & (cc["date"] <= end)])
    other = tuple(y for y in range(start.year, end.year + 1) if not lo <= y <= hi)
    if other:
        fb = _fallback_table(other)
        parts.append(fb[(fb["date"] >= start) & (fb["date"] <= end)])
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return df.sort_values("date", kind="stable").reset_index(drop=True)


_OBSERVED = (" (observed)", " (substitute day)", " (in lieu)")


@cache
def _public_table(country: str, subdiv: str | None, years: tuple[int, ...]) -> pd.DataFrame:
    h = holidays_lib.country_holidays(country, subdiv=subdiv, years=years, language="en_US")
    rows = []
    for day, names in sorted(h.items()):
        name = names.split(";")[0].strip()
        for suffix in _OBSERVED:  # an observed day off counts as the holiday it replaces
            name = name.replace(suffix, "")
        rows.append((pd.Timestamp(day), name, name, "holiday"))
    make_up = {d for d in getattr(h, "weekend_workdays", set()) if d.year in years}
    named = {r[0].date(): (r[1], r[2]) for r in rows}
    rows += [(pd.Timestamp(d), *_nearest_name(d, named), "workday") for d in sorted(make_up)]
    return _holiday_frame(rows)


def public_holidays(start: DateLike, end: DateLike, market: str) -> pd.DataFrame:
    """Public holidays of a market other than CN, from the ``holidays`` package.

    Parameters
    ----------
    start, end : date-like
        First and last day, inclusive.
    market : str
        ISO country code, optionally with a subdivision (``"GB-SCT"``); GB alone means England's
        bank holidays (``markets.yaml`` ``default_subdivisions``).

    Returns
    -------
    pandas.DataFrame
        As :func:`statutory_holidays`: ``date``, ``name`` (English; an observed or substitute day
        off carries the name of the holiday it replaces), ``name_zh`` (the same English name: the
        package has no Chinese names for these countries), ``kind`` (``"holiday"``, or
        ``"workday"`` for a make-up working day where the country has them).
    """
    start, end = _ts(start), _ts(end)
    if start > end:
        return _holiday_frame([])
    mc = MarketCalendar(market)
    df = _public_table(mc.country, mc.subdivision, tuple(range(start.year, end.year + 1)))
    return df[(df["date"] >= start) & (df["date"] <= end)].reset_index(drop=True)


def easter_sunday(year: int) -> pd.Timestamp:
    """Western (Gregorian) Easter Sunday of ``year``, e.g. 2026-04-05."""
    return _ts(western_easter(int(year)))


def spring_festival(year: int) -> pd.Timestamp:
    """Spring Festival (lunar new year's day, 正月初一) of ``year``.

    Parameters
    ----------
    year : int
        Gregorian year, 1900-2099 (the range of ``lunardate``).

    Returns
    -------
    pandas.Timestamp
        The Gregorian date of lunar 1/1 in ``year``, e.g. 2025-01-29.
    """
    return _ts(LunarDate(int(year), 1, 1).to_solar_date())


# --------------------------------------------------------------------------------------------
# festival nodes


@cache
def _calendar_files() -> dict[str, Path]:
    """Market (or ``"*"`` for every other market) -> the retail calendar file that serves it."""
    out: dict[str, Path] = {DEFAULT_MARKET: FESTIVALS_FILE}
    for path in sorted(DATA_DIR.glob("retail_calendar_*.yaml")):
        data = read_yaml(path) or {}
        markets = data.get("markets") if isinstance(data, dict) else None
        if not isinstance(markets, list) or not markets:
            raise ConfigError(str(path), "expected a top-level 'markets:' list")
        for m in markets:
            if str(m) in out:
                raise ConfigError(str(path), f"market {m} already served by {out[str(m)].name}")
            out[str(m)] = path
    return out


@cache
def _default_specs(country: str = DEFAULT_MARKET) -> tuple[dict[str, Any], ...]:
    files = _calendar_files()
    path = files.get(country) or files.get("*")
    if path is None:
        return ()
    data = read_yaml(path) or {}
    nodes = data.get("nodes", []) if isinstance(data, dict) else None
    if not isinstance(nodes, list):
        raise ConfigError(str(path), "expected a top-level 'nodes:' list")
    specs = []
    for i, raw in enumerate(nodes):
        if isinstance(raw, Mapping) and "markets" in raw:  # a node for some markets of the file
            raw = dict(raw)
            if country not in [str(m) for m in raw.pop("markets")]:
                continue
        spec = _clean_spec(raw, str(path), i)
        if "rule" not in spec:
            raise ConfigError(str(path), f"nodes[{i}] ({spec['key']}): needs a rule")
        _check_rule(spec, str(path), i)
        specs.append(spec)
    keys = [s["key"] for s in specs]
    if len(set(keys)) != len(keys):
        raise ConfigError(str(path), f"a key appears twice for market {country}")
    return tuple(specs)


def market_events(market: str) -> pd.DataFrame:
    """The retail calendar a market gets by default: one row per event rule.

    Returns
    -------
    pandas.DataFrame
        ``key``, ``name_zh``, ``name_en``, ``weight`` in file order.
    """
    specs = _default_specs(MarketCalendar(market).country)
    return pd.DataFrame(
        {
            "key": [s["key"] for s in specs],
            "name_zh": [s.get("name_zh", s["key"]) for s in specs],
            "name_en": [s.get("name_en", s["key"]) for s in specs],
            "weight": [s.get("weight", 1.0) for s in specs],
        },
        columns=["key", "name_zh", "name_en", "weight"],
    )


def _clean_spec(raw: Any, file: str, i: int) -> dict[str, Any]:
    """Validate one node entry's fields and types; key becomes a string."""
    if not isinstance(raw, Mapping) or "key" not in raw:
        raise ConfigError(file, f"festivals[{i}]: expected a mapping with a 'key'")
    spec = dict(raw)
    spec["key"] = str(spec["key"])
    where = f"festivals[{i}] ({spec['key']})"
    unknown = sorted(set(spec) - _NODE_FIELDS)
    if unknown:
        raise ConfigError(file, f"{where}: unknown field(s) {', '.join(unknown)}")
    for name in ("duration_days", "presale_days", "days_after"):
        if name in spec:
            val = spec[name]
            if isinstance(val, bool) or not isinstance(val, int) or val < (name == "duration_days"):
                raise ConfigError(file, f"{where}: {name} must be a whole number, got {val!r}")
    if "weight" in spec:
        w = spec["weight"]
        if isinstance(w, bool) or not isinstance(w, int | float) or not np.isfinite(w) or w < 0:
            raise ConfigError(file, f"{where}: weight must be a number >= 0, got {w!r}")
        spec["weight"] = float(w)
    if "enabled" in spec and not isinstance(spec["enabled"], bool):
        raise ConfigError(file, f"{where}: enabled must be true or false")
    for name in _DATE_FIELDS:
        if name in spec and spec[name] is not None:
            try:
                spec[name] = _ts(spec[name])
            except (ValueError, TypeError):
                raise ConfigError(file, f"{where}: {name} is not a date: {spec[name]!r}") from None
    return spec


def _check_rule(spec: dict[str, Any], file: str, i: int) -> None:
    rule = spec["rule"]
    keys = set(rule) if isinstance(rule, Mapping) else set()
    base = keys - _RULE_EXTRAS if {"weekday", "nth"} <= keys else keys
    ok = isinstance(rule, Mapping) and base in _RULE_KINDS
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in rule.values())
    if ok and "weekday" in rule:
        ok = 0 <= rule["weekday"] <= 6 and rule["nth"] in (-1, 1, 2, 3, 4, 5)
    if not ok:
        raise ConfigError(
            file,
            f"festivals[{i}] ({spec['key']}): rule must be {{month, day}}, "
            f"{{lunar_month, lunar_day}}, {{spring_festival_offset}}, {{easter_offset}} or "
            f"{{month, weekday (0 = Monday), nth (-1 = last)}} with optional offset_days, "
            f"got {rule!r}",
        )


def _nth_weekday(
    year: int, month: int, weekday: int, nth: int, from_day: int = 1
) -> pd.Timestamp | None:
    """The ``nth`` ``weekday`` (0 = Monday) of a month on or after day ``from_day``;
    ``nth = -1`` is the last one of the month."""
    first = dt.date(year, month, from_day)
    if nth > 0:
        day = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    else:
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        last = nxt - dt.timedelta(days=1)
        day = last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    return _ts(day) if day.month == month else None


def _rule_date(rule: Mapping[str, int], year: int) -> pd.Timestamp | None:
    """The node date of ``rule`` in ``year``; None when it does not exist that year."""
    try:
        if "spring_festival_offset" in rule:
            return spring_festival(year) + pd.Timedelta(days=rule["spring_festival_offset"])
        if "easter_offset" in rule:
            return easter_sunday(year) + pd.Timedelta(days=rule["easter_offset"])
        if "lunar_month" in rule:
            return _ts(LunarDate(year, rule["lunar_month"], rule["lunar_day"]).to_solar_date())
        if "weekday" in rule:
            day = _nth_weekday(
                year, rule["month"], rule["weekday"], rule["nth"], rule.get("from_day", 1)
            )
            if day is None:
                return None
            if "avoid_easter_offset" in rule:  # e.g. France: not on Whit Sunday, a week later
                clash = easter_sunday(year) + pd.Timedelta(days=rule["avoid_easter_offset"])
                day = day + pd.Timedelta(days=7) if day == clash else day
            return day + pd.Timedelta(days=rule.get("offset_days", 0))
        return _ts(dt.date(year, rule["month"], rule["day"]))
    except ValueError:  # 29 Feb in a common year, lunar day 30 of a short month, ...
        return None


def _rule_node(spec: dict[str, Any], peak: pd.Timestamp) -> dict[str, Any]:
    node_start = peak - pd.Timedelta(days=spec.get("duration_days", 1) - 1)
    presale = spec.get("presale_days", 0)
    return {
        "key": spec["key"],
        "name_zh": spec.get("name_zh", spec["key"]),
        "name_en": spec.get("name_en", spec["key"]),
        "start": node_start,
        "end": peak + pd.Timedelta(days=spec.get("days_after", 0)),
        "peak": peak,
        "presale_start": node_start - pd.Timedelta(days=presale) if presale else pd.NaT,
        "presale_end": node_start - pd.Timedelta(days=1) if presale else pd.NaT,
        "weight": spec.get("weight", 1.0),
    }


def _dated_node(spec: dict[str, Any], base: dict[str, Any], i: int) -> dict[str, Any]:
    """A one-off node with fixed dates (``start``/``end``, optional ``peak`` and pre-sale)."""
    where = f"festivals[{i}] ({spec['key']})"
    if spec.get("start") is None or spec.get("end") is None:
        raise ConfigError("shop.yaml", f"{where}: fixed dates need both start and end")
    start, end = spec["start"], spec["end"]
    peak = spec.get("peak") or end
    if not start <= peak <= end:
        raise ConfigError("shop.yaml", f"{where}: needs start <= peak <= end")
    pre_start, pre_end = spec.get("presale_start"), spec.get("presale_end")
    if pre_end is not None and pre_start is None:
        raise ConfigError("shop.yaml", f"{where}: presale_end given without presale_start")
    if pre_start is not None:
        pre_end = pre_end if pre_end is not None else start - pd.Timedelta(days=1)
        if not pre_start <= pre_end < start:
            raise ConfigError("shop.yaml", f"{where}: pre-sale must end before start")
    merged = {**base, **{k: v for k, v in spec.items() if k not in _DATE_FIELDS}}
    return {
        "key": spec["key"],
        "name_zh": merged.get("name_zh", spec["key"]),
        "name_en": merged.get("name_en", spec["key"]),
        "start": start,
        "end": end,
        "peak": peak,
        "presale_start": pre_start if pre_start is not None else pd.NaT,
        "presale_end": pre_end if pre_end is not None else pd.NaT,
        "weight": merged.get("weight", 1.0),
    }


def _override_list(overrides: list[dict] | dict | None) -> list[dict[str, Any]]:
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        if "key" in overrides:  # one node
            return [dict(overrides)]
        out = []
        for key, fields in overrides.items():  # {key: {fields}}, and off: [keys]
            if key == "off" or key is False:  # YAML 1.1 reads a bare `off:` key as false
                if isinstance(fields, str) or not isinstance(fields, Iterable):
                    raise ConfigError("shop.yaml", "festivals.off: expected a list of event keys")
                out += [{"key": str(k), "enabled": False} for k in fields]
                continue
            if not isinstance(fields, Mapping):
                raise ConfigError("shop.yaml", f"festivals.{key}: expected a mapping of fields")
            out.append({**fields, "key": key})
        return out
    if isinstance(overrides, Iterable) and not isinstance(overrides, str | bytes):
        return list(overrides)
    raise ConfigError("shop.yaml", f"festivals: expected a list or mapping, got {overrides!r}")


def _node_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=_NODE_COLUMNS)
    for col in ("start", "end", "peak", "presale_start", "presale_end"):
        df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    for col in ("key", "name_zh", "name_en"):
        df[col] = df[col].astype(object)
    df["weight"] = df["weight"].astype(float)
    return df


def festival_nodes(
    start: DateLike,
    end: DateLike,
    overrides: list[dict] | dict | None = None,
) -> pd.DataFrame:
    """Platform festival nodes whose pre-sale or main phase touches ``[start, end]``.

    Parameters
    ----------
    start, end : date-like
        First and last day of interest, inclusive.
    overrides : MarketCalendar, list of dict, dict or None
        The shop's market and its changes to the market's defaults (``festivals.yaml`` for CN,
        ``retail_calendar_*.yaml`` for other markets), applied in order; a list, dict or None
        changes the CN calendar. Each entry is a mapping with a ``key`` and any of the fields of the defaults
        (``name_zh``, ``name_en``, ``rule``, ``duration_days``, ``presale_days``, ``weight``),
        ``enabled``, or fixed dates:

        * ``{key: double11, enabled: false}`` removes a node (every year, fixed dates included).
        * ``{key: "618", weight: 2.0, presale_days: 0}`` changes fields of a node's rule.
        * ``{key: brand_day, name_zh: 品牌日, rule: {month: 8, day: 8}, duration_days: 3}`` adds
          a yearly node.
        * ``{key: double11, start: 2025-10-31, end: 2025-11-11, presale_start: 2025-10-24}``
          gives a node fixed dates for one occurrence (``peak`` defaults to ``end``,
          ``presale_end`` to the day before ``start``); it replaces the rule's occurrence whose
          node date falls in the same year, or adds a one-off node for a new key.

        A mapping ``{key: {fields}}`` (where ``off: [key, ...]`` disables those nodes) or a
        single mapping with a ``key`` is accepted too.

    Returns
    -------
    pandas.DataFrame
        One row per node occurrence, sorted by ``start`` then ``key``, with columns ``key``,
        ``name_zh``, ``name_en``, ``start`` and ``end`` (main phase, inclusive), ``peak`` (the
        node date), ``presale_start`` and ``presale_end`` (NaT when there is no pre-sale) and
        ``weight`` (the prior uplift multiplier for main-phase days).

    Raises
    ------
    helpers.core.errors.ConfigError
        An override with an unknown field, a bad rule or dates, or a key that is neither a
        default nor given a rule or dates.
    """
    start, end = _ts(start), _ts(end)
    df = _year_nodes(as_calendar(overrides), start.year - 1, end.year + 1)
    first = df["presale_start"].fillna(df["start"])
    df = df[(first <= end) & (df["end"] >= start)]
    return df.sort_values(["start", "key"], kind="stable").reset_index(drop=True)


_YEAR_NODES: dict[tuple[str, int, int], pd.DataFrame] = {}


def _year_nodes(mc: MarketCalendar, first_year: int, last_year: int) -> pd.DataFrame:
    """Every node of ``first_year`` to ``last_year`` (and every dated one), kept for the next
    call with the same calendar and years: a notebook asks for many windows of few years."""
    key = (repr(mc), first_year, last_year)
    if key not in _YEAR_NODES:
        if len(_YEAR_NODES) >= 64:
            _YEAR_NODES.pop(next(iter(_YEAR_NODES)))
        _YEAR_NODES[key] = _build_year_nodes(mc, first_year, last_year)
    return _YEAR_NODES[key]


def _build_year_nodes(mc: MarketCalendar, first_year: int, last_year: int) -> pd.DataFrame:
    specs: dict[str, dict[str, Any]] = {
        s["key"]: copy.deepcopy(s) for s in _default_specs(mc.country)
    }
    dated: list[tuple[dict[str, Any], int]] = []
    for i, raw in enumerate(mc.overrides):
        spec = _clean_spec(raw, "shop.yaml", i)
        key = spec["key"]
        if spec.get("start") is not None or spec.get("end") is not None:
            dated.append((spec, i))
            continue
        if key in specs:
            specs[key].update(spec)
        elif spec.get("enabled", True) is False:
            raise ConfigError("shop.yaml", f"festivals[{i}]: no festival node '{key}' to disable")
        elif "rule" not in spec:
            raise ConfigError(
                "shop.yaml",
                f"festivals[{i}] ({key}): a new node needs a rule or start/end dates",
            )
        else:
            specs[key] = spec
        if "rule" in spec:
            _check_rule(specs[key], "shop.yaml", i)
    disabled = {k for k, s in specs.items() if s.get("enabled", True) is False}

    rows: list[dict[str, Any]] = []
    fixed_years: set[tuple[str, int]] = set()
    for spec, i in dated:
        if spec["key"] in disabled:
            continue
        node = _dated_node(spec, specs.get(spec["key"], {}), i)
        rows.append(node)
        fixed_years.add((node["key"], node["peak"].year))
    for key, spec in specs.items():
        if key in disabled or "rule" not in spec:
            continue
        for year in range(first_year, last_year + 1):
            peak = _rule_date(spec["rule"], year)
            if peak is not None and (key, peak.year) not in fixed_years:
                rows.append(_rule_node(spec, peak))
    return _node_frame(rows)


def festival_days(
    start: DateLike,
    end: DateLike,
    overrides: list[dict] | dict | None = None,
) -> pd.DataFrame:
    """One row per day in ``[start, end]`` with its festival node and holiday status.

    Parameters
    ----------
    start, end : date-like
        First and last day, inclusive.
    overrides : MarketCalendar, list of dict, dict or None
        The market and its festival overrides, as for :func:`festival_nodes`.

    Returns
    -------
    pandas.DataFrame
        Columns

        ``date``
            ``datetime64[ns]`` at midnight, every day once.
        ``node``
            Key of the festival node the day belongs to, or None.
        ``phase``
            ``"presale"``, ``"peak"`` (the node's main phase) or None.
        ``holiday``
            Name of the public holiday when the day is one of its days off (Chinese for CN,
            English elsewhere), else None (make-up workdays are None here and flagged in
            ``is_workday_makeup``).
        ``is_offday``
            True on weekends and statutory days off, False on make-up workdays.
        ``is_workday_makeup``
            True on a make-up working day (调休上班).

    Notes
    -----
    When nodes overlap, a main phase beats a pre-sale, then the higher weight wins, then the
    earlier start.
    """
    start, end = _ts(start), _ts(end)
    days = _days(start, end) if start <= end else pd.DatetimeIndex([], dtype="datetime64[ns]")
    n = len(days)
    node = np.full(n, None, dtype=object)
    phase = np.full(n, None, dtype=object)
    if n:
        nodes = festival_nodes(start, end, overrides)
        spans = []
        for row in nodes.itertuples(index=False):
            if pd.notna(row.presale_start):
                spans.append(
                    (
                        0,
                        row.weight,
                        -row.start.value,
                        row.presale_start,
                        row.presale_end,
                        row.key,
                        "presale",
                    )
                )
            spans.append((1, row.weight, -row.start.value, row.start, row.end, row.key, "peak"))
        for _, _, _, s, e, key, ph in sorted(spans, key=lambda t: t[:3]):  # paint low to high
            i0 = max((s - start).days, 0)
            i1 = min((e - start).days, n - 1)
            if i0 <= i1:
                node[i0 : i1 + 1] = key
                phase[i0 : i1 + 1] = ph

    hol = statutory_holidays(start, end, as_calendar(overrides)) if n else _holiday_frame([])
    off = hol[hol["kind"] == "holiday"]
    holiday = pd.Series(off["name_zh"].to_numpy(), index=off["date"]).reindex(days)
    makeup = days.isin(hol.loc[hol["kind"] == "workday", "date"])
    is_hol = holiday.notna().to_numpy()
    weekend = days.day_of_week >= 5
    return pd.DataFrame(
        {
            "date": days,
            "node": pd.Series(node, dtype=object),
            "phase": pd.Series(phase, dtype=object),
            "holiday": pd.Series(
                np.where(is_hol, holiday.to_numpy(dtype=object), None), dtype=object
            ),
            "is_offday": (weekend | is_hol) & ~makeup,
            "is_workday_makeup": makeup,
        }
    )


# --------------------------------------------------------------------------------------------
# fiscal periods


def fiscal_year_bounds(fy: int, start_month: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day (inclusive) of fiscal year ``fy``.

    Parameters
    ----------
    fy : int
        Fiscal year, named by the calendar year in which it starts.
    start_month : int
        Calendar month (1-12) in which every fiscal year starts.

    Returns
    -------
    tuple of pandas.Timestamp
        ``(first_day, last_day)``; e.g. FY2025 with ``start_month=4`` is 2025-04-01 to 2026-03-31.
    """
    start_month = _check_start_month(start_month)
    first = _ts(dt.date(int(fy), start_month, 1))
    last = first + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    return first, _ts(last)


def fiscal_year_of(date: DateLike | pd.Series, start_month: int) -> int | pd.Series:
    """Fiscal year a date belongs to.

    Parameters
    ----------
    date : date-like or pandas.Series of datetimes
        The day(s).
    start_month : int
        Calendar month (1-12) in which every fiscal year starts.

    Returns
    -------
    int or pandas.Series
        The fiscal year (calendar year in which it starts); a Series of ints for a Series input.
    """
    start_month = _check_start_month(start_month)
    if isinstance(date, pd.Series):
        d = pd.to_datetime(date)
        return (d.dt.year - (d.dt.month < start_month).astype(int)).rename("fy")
    ts = _ts(date)
    return ts.year if ts.month >= start_month else ts.year - 1


def fiscal_days(fy: int, start_month: int, week_scheme: str = "48") -> pd.DataFrame:
    """Every day of fiscal year ``fy`` with its fiscal periods.

    Parameters
    ----------
    fy : int
        Fiscal year, named by the calendar year in which it starts.
    start_month : int
        Calendar month (1-12) in which every fiscal year starts.
    week_scheme : {"48", "iso"}
        ``"48"``: the article's four weeks per fiscal month (days 1-7, 8-14, 15-21, 22-end),
        numbered 1..48 across the year. ``"iso"``: ISO-8601 weeks, labelled ``"2025-W07"``
        (a week may straddle two fiscal years).

    Returns
    -------
    pandas.DataFrame
        365 or 366 rows with columns ``date``, ``fy``, ``half`` (1-2), ``quarter`` (1-4),
        ``month`` (fiscal month 1-12), ``cal_month`` (1-12), ``week`` (int 1..48 or ISO label
        string), ``iso_year``, ``iso_week``, ``weekday`` (0 = Monday).
    """
    if week_scheme not in ("48", "iso"):
        raise ValueError(f"week_scheme must be '48' or 'iso', got {week_scheme!r}")
    first, last = fiscal_year_bounds(fy, start_month)
    days = _days(first, last)
    cal_month = days.month.to_numpy()
    month = (cal_month - int(start_month)) % 12 + 1
    iso = days.isocalendar()
    iso_year = iso["year"].to_numpy(dtype=np.int64)
    iso_week = iso["week"].to_numpy(dtype=np.int64)
    if week_scheme == "48":
        week: Any = (month - 1) * 4 + np.minimum((days.day.to_numpy() - 1) // 7, 3) + 1
    else:
        week = pd.Series(iso_year).astype(str) + "-W" + pd.Series(iso_week).astype(str).str.zfill(2)
        week = week.to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "date": days,
            "fy": np.full(len(days), int(fy), dtype=np.int64),
            "half": ((month - 1) // 6 + 1).astype(np.int64),
            "quarter": ((month - 1) // 3 + 1).astype(np.int64),
            "month": month.astype(np.int64),
            "cal_month": cal_month.astype(np.int64),
            "week": week if week_scheme == "iso" else week.astype(np.int64),
            "iso_year": iso_year,
            "iso_week": iso_week,
            "weekday": days.day_of_week.to_numpy().astype(np.int64),
        }
    )


def period_key(df: pd.DataFrame, level: str) -> pd.Series:
    """Readable, sortable label of each row's period at ``level``.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows from :func:`fiscal_days` (needs ``fy`` and the column of ``level``; ``month`` and
        ``day`` also need ``date``).
    level : {"year", "half", "quarter", "month", "week", "day"}
        The period.

    Returns
    -------
    pandas.Series
        Labels aligned with ``df`` and named ``level``:

        ========  ==========================================================
        year      ``FY2025``
        half      ``FY2025-H1``
        quarter   ``FY2025-Q3``
        month     ``FY2025-M04 (2025-07)``: fiscal month 4, calendar July 2025
        week      ``FY2025-W07`` (48-week scheme) or ``2025-W07`` (ISO scheme)
        day       ``2025-07-15``
        ========  ==========================================================

        Within one scheme, sorting the labels as strings sorts the periods in time.
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}, got {level!r}")
    if level == "day":
        return pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%d").rename(level)
    if level == "week" and not pd.api.types.is_numeric_dtype(df["week"]):
        return df["week"].astype(str).rename(level)
    fy = "FY" + df["fy"].astype(str)
    if level == "year":
        out = fy
    elif level == "half":
        out = fy + "-H" + df["half"].astype(str)
    elif level == "quarter":
        out = fy + "-Q" + df["quarter"].astype(str)
    elif level == "month":
        cal = pd.to_datetime(df["date"]).dt.strftime("%Y-%m")
        out = fy + "-M" + df["month"].astype(str).str.zfill(2) + " (" + cal + ")"
    else:
        out = fy + "-W" + df["week"].astype(str).str.zfill(2)
    return out.rename(level)


# --------------------------------------------------------------------------------------------
# exact apportionment


def split_cents(total_cents: int, weights: Any) -> np.ndarray:
    """Split an integer amount in proportion to weights so the parts add up exactly.

    Largest-remainder (Hamilton) method: each part gets the floor of its exact share, and the
    cents left over go one each to the parts with the largest fractional remainders, ties going
    to the earlier position.

    Parameters
    ----------
    total_cents : int
        The amount to split, in cents. A negative amount is split as its absolute value and
        negated.
    weights : array-like of float
        One non-negative finite weight per part. All zero means an equal split.

    Returns
    -------
    numpy.ndarray of int64
        Parts that sum exactly to ``total_cents``; a part with zero weight gets zero (unless all
        weights are zero). E.g. ``split_cents(1000, [1, 1, 1])`` is ``[334, 333, 333]``.

    Raises
    ------
    TypeError
        ``total_cents`` is not an integer.
    ValueError
        Weights are not 1-D, negative or not finite, or there are none for a non-zero total.
    """
    if isinstance(total_cents, bool | np.bool_) or not isinstance(total_cents, int | np.integer):
        raise TypeError(f"total_cents must be an integer, got {total_cents!r}")
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1:
        raise ValueError("weights must be one-dimensional")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    total = int(total_cents)
    n = len(w)
    if n == 0:
        if total:
            raise ValueError("cannot split a non-zero total over no weights")
        return np.zeros(0, dtype=np.int64)
    if total < 0:
        return -split_cents(-total, w)
    if not np.any(w > 0):
        w = np.ones(n)

    wsum = float(w.sum())
    exact_int = np.all(w == np.floor(w)) and total * int(wsum) < 2**62 and wsum < 2**53
    if exact_int:  # exact integer arithmetic: ties are true ties
        wi = w.astype(np.int64)
        num = wi * np.int64(total)
        base, rem_key = np.divmod(num, np.int64(int(wsum)))
    else:
        share = total * (w / wsum)
        base = np.floor(share).astype(np.int64)
        rem_key = share - base
    base = base.astype(np.int64)
    zero = w == 0
    deficit = total - int(base.sum())
    if deficit > 0:
        order = np.lexsort((np.arange(n), zero, -rem_key))  # largest remainder, then position
        order = order[~zero[order]]
        reps, extra = divmod(deficit, len(order))  # reps > 0 only through float rounding
        base[order] += reps
        base[order[:extra]] += 1
    elif deficit < 0:  # float rounding overshot: take back from the smallest remainders
        order = np.lexsort((-np.arange(n), rem_key))
        for i in order:
            if deficit == 0:
                break
            take = min(int(base[i]), -deficit)
            base[i] -= take
            deficit += take
    return base
