"""Review and search-term mining (helpers.analysis.text): segmentation rules, lift arithmetic, planted
terms found."""

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import text
from helpers.datasets import sample


def terms_of(s: str) -> list[str]:
    return text.segment(pd.Series([s]))["term"].tolist()


def test_segment_rules_glue_negation_and_single_characters():
    assert terms_of("质量很好，客服态度差") == ["质量好", "客服", "态度差"]
    assert terms_of("有色差，但是不太合身") == ["色差", "不太合身"]
    assert terms_of("很满意，会回购，尺码偏小") == ["尺码", "偏小"]  # verdicts are no reasons
    assert terms_of("线头多") == ["线头多"]
    assert terms_of("Great fit, the fabric is not soft.") == ["fit", "fabric", "not soft"]


def test_segment_keeps_doc_labels_and_clauses():
    s = pd.Series(["面料舒服，发货很快", None, "面料舒服，发货很快"], index=[10, 11, 12])
    seg = text.segment(s)
    assert sorted(seg["doc"].unique()) == [10, 12]
    assert seg[seg["doc"] == 10]["clause"].tolist() == [
        "面料舒服",
        "面料舒服",
        "发货很快",
        "发货很快",
    ]


def test_whole_words_and_no_memory_between_calls():
    seg = text.segment(pd.Series(["T恤女宽松"]), words=("T恤",), glue=False)
    assert seg["term"].tolist() == ["t恤", "女", "宽松"]
    assert "t恤" not in terms_of("t恤女宽松")  # the earlier call taught the tokenizer nothing


def test_lift_arithmetic_on_a_hand_table():
    reviews = pd.DataFrame(
        {
            "rating": [5, 5, 5, 5, 1, 1],
            "text": ["起球", "好看", "好看", "好看", "起球", "起球"],
        }
    )
    st = text.term_stats(reviews, min_docs=1, alpha=0.5).set_index("term")
    # 起球: 1 of 4 high, 2 of 2 low → p_low = 2.5/3, p_high = 1.5/5
    assert st.loc["起球", "mentions"] == 3
    assert st.loc["起球", "lift_low"] == pytest.approx((2.5 / 3) / (1.5 / 5))
    assert st.loc["起球", "share"] == pytest.approx(0.5)
    # 好看: 3 of 4 high, 0 low → lift_high = (3.5/5) / (0.5/3)
    assert st.loc["好看", "lift_high"] == pytest.approx((3.5 / 5) / (0.5 / 3))
    assert st.loc["好看", "mean_rating"] == 5


@pytest.fixture(scope="module")
def planted_reviews(small_tables):
    r = small_tables["reviews"].reset_index(drop=True).copy()
    rng = np.random.default_rng(11)
    high = np.flatnonzero(r["rating"].to_numpy() >= 4)
    low = np.flatnonzero(r["rating"].to_numpy() <= 3)
    # real shops: a good review also mentions a small flaw now and then
    some = rng.choice(high, size=len(high) // 5, replace=False)
    flaws = rng.choice(sample.BAD, size=len(some))
    r.loc[some, "text"] = [f"{t}，就是{b}" for t, b in zip(r.loc[some, "text"], flaws)]
    # the rare planted complaint: only in a few low ratings
    plant = rng.choice(low, size=8, replace=False)
    r.loc[plant, "text"] = r.loc[plant, "text"] + "，有甲醛味"
    return r


def test_miner_ranks_a_planted_rare_complaint_first(planted_reviews):
    m = text.mine_reviews(planted_reviews, min_docs=5)
    assert m.complaints["term"].iloc[0] == "甲醛味"
    assert m.complaints["example"].iloc[0] == "有甲醛味"
    # ... although far more frequent complaints exist
    freq = m.terms.set_index("term")["mentions"]
    assert freq["甲醛味"] == 8
    assert freq["甲醛味"] < freq["起球"]
    # the common praise terms come out as selling points, not complaints
    assert {"性价比高", "颜色正"} <= set(m.terms[m.terms["lift_high"] > 1.5]["term"])
    assert not set(m.complaints["term"]) & {"性价比高", "颜色正"}


def test_selling_points_per_product():
    reviews = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(8)],
            "product_id": ["A", "A", "A", "B", "B", "B", "A", "B"],
            "rating": [5, 5, 1, 5, 1, 1, 5, 5],
            "text": [
                "面料舒服",
                "面料舒服，发货很快",
                "有色差",
                "发货很快",
                "有色差",
                "起球",
                "发货很快",
                "发货很快",
            ],
        }
    )
    m = text.mine_reviews(reviews, min_docs=1, min_lift=1.0)
    p = m.products.set_index("product_id")
    assert p.loc["A", "reviews"] == 4 and p.loc["B", "reviews"] == 4
    assert p.loc["A", "poor_share"] == pytest.approx(0.25)
    # A: 面料舒服 and 发货很快 each in 2 of its high reviews (shown as themes, not words)
    assert set(p.loc["A", "selling_points"].split(" / ")[:2]) == {"面料舒服", "发货很快"}
    assert p.loc["B", "selling_points"] == "发货很快"
    assert set(p.loc["B", "complaints"].split(" / ")) == {"有色差", "起球"}
    assert p.loc["A", "complaints"] == "有色差"


def test_search_terms_volume_shares_and_growth():
    months = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    rows = []
    for k, v0, v1 in (("法式连衣裙", 10.0, 20.0), ("碎花连衣裙", 5.0, 5.0), ("长款连衣裙", 0, 0)):
        for m in months:
            rows.append(
                {
                    "keyword": k,
                    "month": m,
                    "group": "连衣裙",
                    "search_volume": v0 if m.year == 2023 else v1,
                }
            )
    st = text.search_terms(pd.DataFrame(rows), as_of="2024-12-31").set_index("term")
    assert st.loc["连衣裙", "search_volume"] == 300
    assert st.loc["连衣裙", "keywords"] == 3 and bool(st.loc["连衣裙", "is_group"])
    assert st.loc["法式", "search_volume"] == 240
    assert st.loc["法式", "share"] == pytest.approx(240 / 300)
    assert st.loc["法式", "growth"] == pytest.approx(1.0)
    assert st.loc["碎花", "growth"] == pytest.approx(0.0)
    assert list(st.index[:2]) == ["连衣裙", "法式"]
    # 连衣裙 is in all three keywords (> 25% of them): generic, says little
    assert bool(st.loc["连衣裙", "generic"]) and not bool(st.loc["法式", "generic"])


def test_tokenizer_reads_jiebas_cache_whole_or_builds_it(tmp_path, monkeypatch):
    """The dictionary read from jieba's cache file in one piece is jieba's own; without a
    cache, or with a broken one, jieba builds it (and writes the cache) as it would."""
    import tempfile

    import jieba

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cache = tmp_path / "jieba.cache"
    built = text.tokenizer.__wrapped__()  # no cache yet: jieba builds and writes one
    assert cache.exists() and built.initialized
    read = text.tokenizer.__wrapped__()  # read from that cache
    ref = jieba.Tokenizer()
    ref.initialize()  # jieba's own reading of the same file
    assert read.total == ref.total == built.total and len(read.FREQ) > 300_000
    assert read.FREQ == ref.FREQ == built.FREQ
    review = "连衣裙质量很好，物流很快，客服态度一般"
    assert (
        read.lcut(review)
        == ref.lcut(review)
        == ["连衣裙", "质量", "很", "好", "，", "物流", "很快", "，", "客服", "态度", "一般"]
    )
    cache.write_bytes(b"\x00broken")
    again = text.tokenizer.__wrapped__()
    assert again.FREQ == ref.FREQ and cache.stat().st_size > 1_000_000  # rebuilt, rewritten
