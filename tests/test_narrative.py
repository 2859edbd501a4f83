from helpers.present import narrative


def test_money_formats():
    assert narrative.money(1234.4) == "¥1,234"
    assert narrative.money(123456) == "¥12.3万"
    assert narrative.money(2.5e8) == "¥2.50亿"
    assert narrative.money(2.5e6, "USD", "en") == "$2.50M"
    assert narrative.money(-500) == "-¥500"


def test_pct_and_missing():
    assert narrative.pct(0.1234) == "12.3%"
    assert narrative.pct(float("nan")) == "–"


def test_esc_neutralises_html_and_markdown():
    s = narrative.esc("<script>alert(1)</script>[x](javascript:1) <img onerror=a>")
    assert "<" not in s and ">" not in s and "[" not in s and "(javascript" in s


def test_every_message_has_both_languages():
    for key, entry in narrative.catalogue().items():
        assert set(entry) >= {"zh", "en"}, key


def test_say_fills_values():
    assert narrative.say("not_available", "en", table="reviews", what="x") == (
        "*Not available: add the reviews table to see x.*"
    )


def test_esc_does_not_double_escape_apostrophes():
    assert narrative.esc("Singles' Day & <b>") == "Singles&#39; Day &#38; &#60;b&#62;"


def test_table_shows_a_missing_label_as_a_dash(monkeypatch, tmp_path):
    """A value column (role, ABC class …) with gaps reads "–", never "None"."""
    from types import SimpleNamespace

    import IPython.display
    import pandas as pd

    from helpers.nb import Context

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    ctx = Context(SimpleNamespace(config=SimpleNamespace(currency="CNY")), tmp_path, "en")
    ctx.table(pd.DataFrame({"abc": ["A", None]}), values=["abc"])
    html = shown[0].data
    assert "None" not in html and "<td>–</td>" in html and "<td>A</td>" in html


def test_packaged_yaml_reads_the_same_with_the_fast_loader():
    """read_yaml (libyaml when PyYAML has it) gives the pure-Python SafeLoader's documents
    for every packaged file: the catalogue, calendars, markets, rules, templates."""
    import yaml

    from helpers.data_files import DATA_DIR, read_yaml

    files = sorted(DATA_DIR.rglob("*.yaml"))
    assert len(files) >= 20
    for f in files:
        assert read_yaml(f) == yaml.safe_load(f.read_text(encoding="utf-8")), f.name
