"""The playbook command as a user types it: new-shop, check, one-line errors."""

from pathlib import Path

import yaml

from helpers.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def test_new_shop_detects_formats_and_check_loads(tmp_path, capsys):
    src = SAMPLE / "taobao"
    dest = tmp_path / "shop"
    files = [str(src / "订单报表.csv"), str(src / "宝贝报表.csv"), str(src / "products.csv")]
    assert main(["new-shop", str(dest), "--from", *files]) == 0
    cfg = yaml.safe_load((dest / "shop.yaml").read_text(encoding="utf-8"))
    assert cfg["orders"] == ["订单报表.csv", "宝贝报表.csv"]
    assert cfg["products"] == "products.csv"
    assert len(cfg["salt"]) == 32  # a fresh secret salt per shop
    capsys.readouterr()
    assert main(["check", str(dest), "--rejects", str(tmp_path / "rejects.csv")]) == 0
    out = capsys.readouterr().out
    assert "订单报表.csv" in out and "summary row (合计)" in out


def test_check_bad_input_is_one_line(tmp_path, capsys):
    (tmp_path / "orders.csv").write_text("order_id,foo\n1,2\n", encoding="utf-8")
    assert main(["check", str(tmp_path), "--rejects", str(tmp_path / "rejects.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "orders.csv" in err and "\n" not in err


def test_new_shop_refuses_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "x").write_text("x")
    assert (
        main(["new-shop", str(tmp_path), "--from", str(SAMPLE / "shopify" / "orders_export.csv")])
        == 2
    )
    assert "not empty" in capsys.readouterr().err
