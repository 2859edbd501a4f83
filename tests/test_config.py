import pytest

from helpers.core.errors import ConfigError
from helpers.load.config import load_config


def write(tmp_path, text):
    (tmp_path / "shop.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "orders.csv").write_text("order_id\n", encoding="utf-8")
    return tmp_path


def test_defaults_and_discovery(tmp_path):
    cfg = load_config(write(tmp_path, "name: 小店\n"))
    assert cfg.name == "小店"
    assert cfg.fiscal_year_start_month == 1
    assert cfg.sources["orders"].files == [tmp_path / "orders.csv"]
    assert cfg.assumptions["repeat_member_orders"] == 2


def test_misspelt_key_suggests(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "name: x\nfiscal_year_start_mnth: 4\n"))
    msg = str(e.value)
    assert "unknown key 'fiscal_year_start_mnth'" in msg
    assert "did you mean 'fiscal_year_start_month'" in msg
    assert "\n" not in msg


def test_wrong_type(tmp_path):
    with pytest.raises(ConfigError, match="'fiscal_year_start_month' must be int, got str"):
        load_config(write(tmp_path, "fiscal_year_start_month: April\n"))
    with pytest.raises(ConfigError, match="must be 1..12"):
        load_config(write(tmp_path, "fiscal_year_start_month: 13\n"))


def test_mapping_form(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            "orders:\n  file: export.csv\n  columns:\n    customer_id: cust\n    quantity: qty\n",
        )
    )
    src = cfg.sources["orders"]
    assert src.files == [tmp_path / "export.csv"]
    assert src.columns == {"customer_id": "cust", "quantity": "qty"}


def test_assumption_typo(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'conversion_rate'"):
        load_config(write(tmp_path, "assumptions:\n  convertion_rate: 0.02\n"))


def test_bad_yaml_names_line(tmp_path):
    with pytest.raises(ConfigError, match="line 2"):
        load_config(write(tmp_path, "name: a\n  bad: [\n"))
