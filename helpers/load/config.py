"""``shop.yaml``: what a shop folder says about itself, checked key by key.

A misspelt key or a value of the wrong type is a :class:`~helpers.core.errors.ConfigError` whose
one line names the key and, for a misspelling, the key that was probably meant.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from helpers.core import calendar as cal
from helpers.core.errors import ConfigError
from helpers.core.schema import ROLES, TABLES

__all__ = [
    "DEFAULT_ASSUMPTIONS",
    "RETURNS_DEFAULTS",
    "KNOWN_KEYS",
    "TableSource",
    "ShopConfig",
    "EXPORT_SUFFIXES",
    "load_config",
]

# Assumptions later notebooks use when the shop's own data cannot tell them.
DEFAULT_ASSUMPTIONS: dict[str, Any] = {
    "conversion_rate": 0.03,  # category 支付转化率 when no traffic data
    "click_rate": 0.05,  # keyword click-through when keywords carry none
    "avg_order_value": None,  # None: from the shop's orders
    "ambition": 0.15,  # growth on top of the market's, for targets
    "gross_margin": 0.35,  # when products carry no cost
    "lead_time_days": 21,  # restocking lead time when products carry none
    "service_level": 0.95,  # safety stock: chance a lead time's demand stays within stock
    "receive_buffer_days": 3,  # a restock must be in the warehouse this long before a campaign
    "hot_min_orders": 5,  # 爆款倾向: orders in the last 4 weeks before a product can be flagged
    "hot_min_days": 28,
    "marketplace": None,  # sells on Taobao/Tmall/JD (跨店满减 etc.); None: when the currency is CNY
    "free_shipping_expected": None,  # buyers expect 包邮; None: on a marketplace  # 爆款倾向: days on sale before a product can be flagged
    "role_mix": {"traffic": 0.2, "profit": 0.6, "image": 0.1, "custom": 0.1},
    "repeat_member_orders": 2,  # orders to count as 老会员 (repeat member)
    "fan_orders": 4,  # orders to count as 品牌粉丝 (brand fan)
    "holding_cost_rate": 0.25,
    "market_growth": None,  # the market's yearly growth, when known outside the keyword table
    "momentum_damping": 0.5,  # share of the shop's recent trend carried into next year's target
}

# Credit notes: matched to an earlier purchase of the same customer and product within
# window_days; invoice_prefix (text or list) marks a credit-note number (None: the defaults
# C / RET / 退 followed by a digit). A negative quantity or amount is a return in any case.
RETURNS_DEFAULTS: dict[str, Any] = {"window_days": 90, "invoice_prefix": None}

KNOWN_KEYS = {
    "name": str,
    "currency": str,
    "timezone": str,
    "market": str,
    "fiscal_year_start_month": int,
    "lang": str,
    "salt": str,
    "assumptions": dict,
    "festivals": (list, dict),
    "owners": dict,
    "targets": dict,
    "returns": dict,
    "non_merchandise": dict,
    **{t: (str, list, dict) for t in TABLES},
}


def _suggest(key: str, choices) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class TableSource:
    """Where a table comes from: files, and an optional column mapping."""

    files: list[Path]
    columns: dict[str, str] | None = None


@dataclass
class ShopConfig:
    name: str
    path: Path
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    fiscal_year_start_month: int = 1
    lang: str = "zh"
    salt: str = ""
    assumptions: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ASSUMPTIONS))
    festivals: list[dict] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    targets: dict[int, float] = field(default_factory=dict)  # fiscal year -> owner's net sales
    # return / credit-note lines: {window_days, invoice_prefix} (see helpers.load.lines)
    returns: dict[str, Any] = field(default_factory=lambda: dict(RETURNS_DEFAULTS))
    # shop-specific non-merchandise lines: {ids: [...], title_patterns: [...]}
    non_merchandise: dict[str, list] = field(default_factory=dict)
    sources: dict[str, TableSource] = field(default_factory=dict)
    # ISO country code (optionally -subdivision) selecting public holidays and retail calendar
    market: str = cal.DEFAULT_MARKET
    # how the market was found: "shop.yaml", or the inference's evidence ("currency",
    # "currency+timezone", "timezone", "default")
    market_source: str = "default"

    @property
    def slug(self) -> str:
        return self.path.name

    @property
    def calendar(self) -> cal.MarketCalendar:
        """The shop's market with its festival overrides, for :mod:`helpers.core.calendar`."""
        return cal.MarketCalendar(self.market, tuple(self.festivals))


_GLOBS = {
    "orders": ["orders*.csv", "orders*.xlsx", "订单*.csv", "订单*.xlsx", "宝贝*.csv"],
    **{t: [f"{t}*.csv", f"{t}*.xlsx"] for t in TABLES if t != "orders"},
}


def _discover(shop_dir: Path, table: str) -> list[Path]:
    found: list[Path] = []
    for pattern in _GLOBS[table]:
        found += [p for p in sorted(shop_dir.glob(pattern)) if p not in found]
    return found


EXPORT_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


def _expand(shop_dir: Path, entry: str, table: str, file: Path) -> list[Path]:
    """One ``file:`` entry as files: a name, a glob (``by-day/*.csv``) or a folder, sorted.

    A glob or a folder that matches no export is an error naming the pattern; a plain name
    is left for the loader (which says when it does not exist).
    """
    if any(ch in entry for ch in "*?["):
        found = sorted(p for p in shop_dir.glob(entry) if p.is_file() and p.name != "shop.yaml")
        if not found:
            raise ConfigError(file, f"'{table}': pattern '{entry}' matches no file")
        return found
    path = shop_dir / entry
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in EXPORT_SUFFIXES)
        if not found:
            raise ConfigError(file, f"'{table}': folder '{entry}' holds no .csv / .xlsx file")
        return found
    return [path]


def _files(shop_dir: Path, entries: list[str], table: str, file: Path) -> list[Path]:
    out: list[Path] = []
    for e in entries:
        out += [p for p in _expand(shop_dir, e, table, file) if p not in out]
    return out


def _source(shop_dir: Path, table: str, spec, file: Path) -> TableSource:
    if isinstance(spec, str):
        return TableSource(_files(shop_dir, [spec], table, file))
    if isinstance(spec, list):
        if not all(isinstance(f, str) for f in spec):
            raise ConfigError(file, f"'{table}' must list file names")
        return TableSource(_files(shop_dir, spec, table, file))
    unknown = set(spec) - {"file", "files", "columns"}
    if unknown:
        k = sorted(unknown)[0]
        raise ConfigError(
            file, f"unknown key '{table}.{k}'{_suggest(k, ['file', 'files', 'columns'])}"
        )
    files = spec.get("files") or [spec.get("file")]
    if isinstance(files, str):
        files = [files]
    if not all(isinstance(f, str) for f in files):
        raise ConfigError(file, f"'{table}.file' must be a file name")
    columns = spec.get("columns")
    if columns is not None and not isinstance(columns, dict):
        raise ConfigError(file, f"'{table}.columns' must map canonical names to file columns")
    return TableSource(_files(shop_dir, files, table, file), columns)


def load_config(shop_dir: str | Path) -> ShopConfig:
    """Read and check ``shop.yaml`` in ``shop_dir`` (a folder without one gets defaults)."""
    shop_dir = Path(shop_dir)
    if not shop_dir.is_dir():
        raise ConfigError(shop_dir, "not a folder: a shop is a folder with shop.yaml and tables")
    file = shop_dir / "shop.yaml"
    raw: dict = {}
    if file.exists():
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8-sig")) or {}
        except UnicodeDecodeError:
            raise ConfigError(file, "not UTF-8 text: save shop.yaml as UTF-8") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            raise ConfigError(file, f"{where}not valid YAML") from None
        if not isinstance(raw, dict):
            raise ConfigError(file, "must be a mapping of keys to values")
    for key, value in raw.items():
        if key not in KNOWN_KEYS:
            raise ConfigError(file, f"unknown key '{key}'{_suggest(str(key), KNOWN_KEYS)}")
        expected = KNOWN_KEYS[key]
        if not isinstance(value, expected) or isinstance(value, bool) and expected is int:
            names = (
                " or ".join(t.__name__ for t in expected)
                if isinstance(expected, tuple)
                else expected.__name__
            )
            raise ConfigError(
                file, f"'{key}' must be {names}, got {type(value).__name__} {value!r}"
            )
    start = raw.get("fiscal_year_start_month", 1)
    if not 1 <= start <= 12:
        raise ConfigError(file, f"'fiscal_year_start_month' must be 1..12, got {start}")
    lang = raw.get("lang", "zh")
    if lang not in ("zh", "en"):
        raise ConfigError(file, f"'lang' must be zh or en, got {lang!r}")
    tz = raw.get("timezone", "Asia/Shanghai")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            file,
            f"unknown timezone {tz!r}{_suggest(tz, zoneinfo.available_timezones())}",
        ) from None
    currency = raw.get("currency", "CNY")
    if "market" in raw:
        try:
            market, market_source = cal.check_market(raw["market"]), "shop.yaml"
        except ValueError as e:
            raise ConfigError(file, f"'market': {e}") from None
    else:
        market, market_source = cal.market_of(currency, tz)
    try:
        festivals = cal.MarketCalendar(market, raw.get("festivals") or ()).overrides
    except ConfigError as e:
        raise ConfigError(file, e.message) from None
    assumptions = dict(DEFAULT_ASSUMPTIONS)
    for key, value in (raw.get("assumptions") or {}).items():
        if key not in DEFAULT_ASSUMPTIONS:
            raise ConfigError(
                file, f"unknown key 'assumptions.{key}'{_suggest(key, DEFAULT_ASSUMPTIONS)}"
            )
        default = DEFAULT_ASSUMPTIONS[key]
        if isinstance(default, (int, float)) and not isinstance(value, (int, float)):
            raise ConfigError(file, f"'assumptions.{key}' must be a number, got {value!r}")
        assumptions[key] = value
    mg = assumptions["market_growth"]
    if mg is not None and (not isinstance(mg, (int, float)) or isinstance(mg, bool)):
        raise ConfigError(file, f"'assumptions.market_growth' must be a number, got {mg!r}")
    targets = {}
    for year, value in (raw.get("targets") or {}).items():
        if not isinstance(year, int) or isinstance(year, bool) or not 1900 < year < 3000:
            raise ConfigError(
                file, f"'targets' keys must be fiscal years such as 2026, got {year!r}"
            )
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ConfigError(
                file, f"'targets.{year}' must be a positive net sales figure, got {value!r}"
            )
        targets[year] = float(value)
    mix = assumptions["role_mix"]
    if not isinstance(mix, dict) or set(mix) - set(ROLES):
        raise ConfigError(file, f"'assumptions.role_mix' keys must be among {', '.join(ROLES)}")
    returns = dict(RETURNS_DEFAULTS)
    for key, value in (raw.get("returns") or {}).items():
        if key not in RETURNS_DEFAULTS:
            raise ConfigError(file, f"unknown key 'returns.{key}'{_suggest(key, RETURNS_DEFAULTS)}")
        if key == "window_days" and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise ConfigError(
                file, f"'returns.window_days' must be a whole number ≥ 0, got {value!r}"
            )
        if key == "invoice_prefix" and not (
            isinstance(value, str)
            or isinstance(value, list)
            and all(isinstance(v, str) for v in value)
        ):
            raise ConfigError(
                file, f"'returns.invoice_prefix' must be text or a list, got {value!r}"
            )
        returns[key] = value
    non_merch = {}
    for key, value in (raw.get("non_merchandise") or {}).items():
        if key not in ("ids", "title_patterns"):
            raise ConfigError(
                file,
                f"unknown key 'non_merchandise.{key}'{_suggest(key, ['ids', 'title_patterns'])}",
            )
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise ConfigError(file, f"'non_merchandise.{key}' must be a list of texts")
        non_merch[key] = [str(v) for v in value]
        for pattern in non_merch[key] if key == "title_patterns" else []:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ConfigError(
                    file, f"'non_merchandise.title_patterns': {pattern!r} is not a pattern ({e})"
                ) from None
    sources = {}
    for table in TABLES:
        if table in raw:
            sources[table] = _source(shop_dir, table, raw[table], file)
        else:
            found = _discover(shop_dir, table)
            if found:
                sources[table] = TableSource(found)
    return ShopConfig(
        name=str(raw.get("name", shop_dir.name)),
        path=shop_dir,
        currency=currency,
        timezone=tz,
        fiscal_year_start_month=start,
        lang=lang,
        salt=raw.get("salt", ""),
        assumptions=assumptions,
        festivals=list(festivals),
        owners=raw.get("owners", {}),
        targets=targets,
        returns=returns,
        non_merchandise=non_merch,
        sources=sources,
        market=market,
        market_source=market_source,
    )
