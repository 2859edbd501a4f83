"""Selling points and complaints (卖点挖掘) from review text and search terms.

Chinese text is segmented with jieba (its bundled dictionary only: nothing is downloaded),
initialised once, quietly and deterministically; English text goes through the same path
(jieba splits Latin words on spaces and punctuation), so one shop can mix both.

A review becomes a set of **terms**. Segmentation is followed by three small rules that make
review words read as selling points rather than single characters:

* a negation (不, 没, 没有, 无, 未, not, no, ...) is glued to the next word: 不满意, not fit;
* degree adverbs (很, 太, 非常, 有点, very, ...) are dropped;
* a single-character word (好, 差, 多, 薄, 正 ...) is glued to the word before it in the same
  clause: 质量很好 → 质量好, 客服态度差 → 客服 + 态度差, 线头多 → 线头多.

Stop words, bare verdicts (满意, 不满意, 回购, great, ...: they say *whether* a buyer liked the
item, not *what* about it) and other single characters are dropped. Each term keeps the clause it came from,
so every term can be shown with a real example phrase.

**Lift** compares how often reviews with high and low ratings mention a term (document
frequencies, additively smoothed)::

    p_low  = (mentions_low  + alpha) / (n_low  + 2 alpha)
    p_high = (mentions_high + alpha) / (n_high + 2 alpha)
    lift_low = p_low / p_high,   lift_high = p_high / p_low

A complaint theme is a term with a high ``lift_low``; a selling point one with a high
``lift_high`` (both among terms in at least ``min_docs`` reviews).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core.codes import distinct_per_group

__all__ = [
    "ReviewMining",
    "mine_reviews",
    "product_points",
    "search_terms",
    "segment",
    "term_stats",
    "tokenizer",
]

NEGATIONS = frozenset(
    ["不", "没", "没有", "无", "未", "别", "不是", "不太", "不够", "不会", "不能"]
    + ["not", "no", "never", "don't", "didn't", "isn't", "wasn't", "doesn't", "won't"]
)
DEGREE = frozenset(
    ["很", "太", "非常", "特别", "超", "超级", "挺", "比较", "真", "真的", "蛮", "有点", "有些"]
    + ["略", "略微", "稍微", "十分", "相当", "更", "最", "还", "都", "也", "就", "好好"]
    + ["very", "really", "too", "so", "quite", "pretty", "super", "bit", "little", "rather"]
)
STOP = frozenset(
    ["的", "了", "是", "我", "也", "和", "就", "都", "在", "有", "这", "那", "个", "会", "还"]
    + ["吧", "啊", "呢", "吗", "哦", "嗯", "呀", "哈", "啦", "么", "着", "给", "对", "又", "跟"]
    + ["但是", "但", "不过", "可是", "而且", "并且", "就是", "还是", "感觉", "觉得", "东西"]
    + ["宝贝", "这个", "一个", "一下", "已经", "还有", "收到", "购买", "买", "卖家", "商品"]
    + ["以后", "之前", "现在", "然后", "因为", "所以", "如果", "虽然", "一直", "这次", "一点"]
    + ["the", "a", "an", "and", "or", "but", "is", "are", "was", "were", "be", "been", "it"]
    + ["this", "that", "these", "those", "i", "me", "my", "we", "our", "you", "your", "they"]
    + ["to", "of", "in", "on", "for", "with", "at", "by", "from", "as", "have", "has", "had"]
    + ["do", "does", "did", "will", "would", "can", "could", "just", "also", "than", "then"]
    + ["one", "get", "got", "item", "product", "bought", "buy", "order", "ordered", "its"]
)
# Verdicts, not reasons: they say whether a buyer liked the item, not what about it.
SENTIMENT = frozenset(
    ["满意", "不满意", "好评", "差评", "中评", "失望", "很失望", "不错", "推荐", "喜欢"]
    + ["不喜欢", "一般", "回购", "会回购", "不会回购", "五星", "好好", "给力", "垃圾"]
    + ["great", "good", "bad", "love", "like", "recommend", "disappointed", "happy"]
    + ["unhappy", "satisfied", "not satisfied", "not happy", "not good", "terrible"]
    + ["awesome", "perfect", "excellent", "poor", "nice", "not recommend"]
)
# Clause breaks: punctuation, spaces and the conjunctions that turn a review around.
_CLAUSE = re.compile(r"[，,。.!！?？;；:：、~～/|()（）\[\]【】\"“”‘’\n\t]+|但是|不过|可是|就是|但")
_WORD = re.compile(r"^[\w'\-]+$")
_CJK = re.compile(r"[\u3400-\u9fff]")


@cache
def tokenizer():
    """The jieba tokenizer from the bundled dictionary, initialised once and silently.

    Returns
    -------
    jieba.Tokenizer
        A private instance (the global ``jieba.dt`` is never touched, so other code cannot
        change how a text here is cut). jieba's log is silenced (``jieba.setLogLevel``); its
        dictionary cache goes to the system temp folder; the result is deterministic.

    Notes
    -----
    The dictionary's cache (jieba's own file) is read here in one piece: jieba's
    ``marshal.load`` on the open file reads it in small pieces, 0.63 s against 0.20 s for
    the same 500,000 words. Without a readable cache, jieba builds and writes it as usual.
    """
    import marshal
    import tempfile

    import jieba

    jieba.setLogLevel(logging.ERROR)
    tok = jieba.Tokenizer()
    cache = Path(tok.tmp_dir or tempfile.gettempdir()) / (tok.cache_file or "jieba.cache")
    try:  # jieba reads this file for its bundled dictionary whenever it exists
        freq, total = marshal.loads(cache.read_bytes())
        if isinstance(freq, dict) and isinstance(total, int) and freq:
            tok.FREQ, tok.total, tok.initialized = freq, total, True
    except (OSError, ValueError, EOFError, TypeError):
        pass
    if not tok.initialized:
        tok.initialize()
    return tok


def _cut(clause: str, tok, whole: re.Pattern | None) -> list[str]:
    """jieba's words of a clause; the words matching ``whole`` are kept in one piece."""
    if whole is None:
        return tok.lcut(clause)
    out: list[str] = []
    pos = 0
    for m in whole.finditer(clause):
        if m.start() > pos:
            out += tok.lcut(clause[pos : m.start()])
        out.append(m.group(0))
        pos = m.end()
    if pos < len(clause):
        out += tok.lcut(clause[pos:])
    return out


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(text) if c]


def _terms_of(
    text: str, tok, glue: bool = True, whole: re.Pattern | None = None
) -> list[tuple[str, str]]:
    """(term, clause) pairs of one text, in order, each term once."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for clause in _clauses(str(text).lower()):
        words: list[str] = []
        neg = ""
        for w in _cut(clause, tok, whole):
            w = w.strip()
            if not w or not _WORD.match(w):
                continue
            if w in NEGATIONS:
                neg = w
                continue
            if w in DEGREE:
                continue
            if neg:
                words.append(neg + (" " if neg.isascii() else "") + w)
                neg = ""
                continue
            if glue and len(w) == 1 and _CJK.match(w) and w not in STOP and words:
                words[-1] = words[-1] + w
                continue
            words.append(w)
        for w in words:
            short = 1 if not glue else 2
            keep = (
                w not in STOP
                and w not in SENTIMENT
                and (len(w) >= short if _CJK.search(w) else len(w) >= 3)
            )
            keep = keep and not w.replace(".", "").isdigit()
            if keep and w not in seen:
                seen.add(w)
                out.append((w, clause))
    return out


def segment(texts: pd.Series, words: tuple[str, ...] = (), glue: bool = True) -> pd.DataFrame:
    """Terms of each text: one row per (text, term), with the clause the term came from.

    Parameters
    ----------
    texts : pandas.Series of str
        Review texts or search terms (Chinese, English or mixed); missing values give no rows.
    words : tuple of str
        Words kept in one piece (e.g. category names such as ``t恤``), matched longest first
        before jieba cuts the rest.
    glue : bool
        Apply the single-character rule of the module docstring (reviews). Search terms use
        ``glue=False``: there a single character such as 女 is a term of its own.

    Returns
    -------
    pandas.DataFrame
        Columns ``doc`` (the index label of the text in ``texts``), ``term`` and ``clause``.
        Each distinct text is segmented once (reviews repeat a lot), so the cost grows with
        the number of distinct texts.
    """
    s = texts.dropna().astype(str)
    text_i, uniq = pd.factorize(s)
    tok = tokenizer()
    keep = sorted({w.lower() for w in words if w}, key=lambda w: (-len(w), w))
    whole = re.compile("|".join(map(re.escape, keep))) if keep else None
    pairs = [_terms_of(t, tok, glue, whole) for t in uniq]
    lens = np.fromiter((len(p) for p in pairs), dtype=np.int64, count=len(pairs))
    flat = [p for ps in pairs for p in ps]
    by_text = pd.DataFrame({"term": [p[0] for p in flat], "clause": [p[1] for p in flat]})
    # every text's rows, in text order: row j of text i is by_text row first[i] + j
    n = lens[text_i]
    first = np.cumsum(lens) - lens
    doc = np.repeat(np.arange(len(s)), n)
    rows = np.repeat(first[text_i] - (np.cumsum(n) - n), n) + np.arange(n.sum())
    out = by_text.take(rows).reset_index(drop=True)
    out.insert(0, "doc", s.index[doc])
    return out


def term_stats(
    reviews: pd.DataFrame,
    low_max: float = 3,
    high_min: float = 4,
    min_docs: int = 5,
    alpha: float = 0.5,
    terms: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Frequency and rating lift of every term in the review texts.

    Parameters
    ----------
    reviews : pandas.DataFrame
        Canonical reviews (``rating``, ``text``; ``product_id`` optional).
    low_max, high_min : float
        A review is *low* when ``rating <= low_max`` and *high* when ``rating >= high_min``
        (Taobao: 中差评 1-3 stars, 好评 4-5).
    min_docs : int
        Terms in fewer reviews are dropped (rare words make noisy lifts).
    alpha : float
        Additive smoothing of the document frequencies (see the module docstring).
    terms : pandas.DataFrame, optional
        Output of :func:`segment` on ``reviews["text"]`` when already computed.

    Returns
    -------
    pandas.DataFrame
        One row per term, sorted by ``mentions`` (descending) then term: ``term``,
        ``mentions`` (reviews mentioning it), ``share`` (of reviews with text),
        ``mentions_high`` / ``mentions_low`` (high / low reviews mentioning it), ``share_high`` /
        ``share_low`` (of the high / low reviews), ``lift_high``, ``lift_low``,
        ``mean_rating`` and ``example`` (the clause it most often came from).
    """
    cols = [
        "term",
        "mentions",
        "share",
        "mentions_high",
        "mentions_low",
        "share_high",
        "share_low",
        "lift_high",
        "lift_low",
        "mean_rating",
        "example",
    ]
    if terms is None:
        terms = segment(reviews["text"])
    has_text = reviews["text"].notna() & (reviews["text"].astype(str).str.strip() != "")
    rating = reviews["rating"]
    n_all = int(has_text.sum())
    n_low = int((has_text & (rating <= low_max)).sum())
    n_high = int((has_text & (rating >= high_min)).sum())
    if terms.empty or n_all == 0:
        return pd.DataFrame(columns=cols)
    # group on integer codes of the terms (sorted: codes follow the terms' order)
    code, names = pd.factorize(terms["term"], sort=True)
    r = rating.reindex(terms["doc"]).to_numpy()
    t = pd.DataFrame({"rating": r, "low": r <= low_max, "high": r >= high_min})
    g = t[code >= 0].groupby(code[code >= 0], sort=True)  # every code 0..len(names)-1
    out = pd.DataFrame(
        {
            "mentions": distinct_per_group(code, pd.factorize(terms["doc"])[0], len(names)),
            "mentions_high": g["high"].sum().to_numpy(),
            "mentions_low": g["low"].sum().to_numpy(),
            "mean_rating": g["rating"].mean().to_numpy(),
        },
        index=names.rename("term"),
    )
    out["example"] = _top_clause(code, terms["clause"], names).reindex(out.index)
    out = out[out["mentions"] >= min_docs].copy()
    p_low = (out["mentions_low"] + alpha) / (n_low + 2 * alpha)
    p_high = (out["mentions_high"] + alpha) / (n_high + 2 * alpha)
    out["lift_low"] = p_low / p_high
    out["lift_high"] = p_high / p_low
    out["share"] = out["mentions"] / n_all
    out["share_high"] = out["mentions_high"] / n_high if n_high else np.nan
    out["share_low"] = out["mentions_low"] / n_low if n_low else np.nan
    out = out.reset_index().sort_values(
        ["mentions", "term"], ascending=[False, True], kind="stable"
    )
    out[["mentions", "mentions_high", "mentions_low"]] = out[
        ["mentions", "mentions_high", "mentions_low"]
    ].astype("int64")
    return out[cols].reset_index(drop=True)


def _top_clause(code: np.ndarray, clauses: pd.Series, names: pd.Index) -> pd.Series:
    """The clause each term (``code`` into ``names``) most often came from (ties: the first
    clause in sort order), indexed by term."""
    c_code, c_names = pd.factorize(clauses, sort=True)
    ok = (code >= 0) & (c_code >= 0)
    width = max(len(c_names), 1)
    pair, n = np.unique(code[ok].astype(np.int64) * width + c_code[ok], return_counts=True)
    term, clause = pair // width, pair % width
    best = np.lexsort((clause, -n, term))
    best = best[np.r_[True, term[best][1:] != term[best][:-1]]] if len(best) else best
    return pd.Series(c_names[clause[best]], index=names[term[best]])


def product_points(
    reviews: pd.DataFrame,
    terms: pd.DataFrame,
    stats: pd.DataFrame,
    products: pd.DataFrame | None = None,
    top: int = 3,
    low_max: float = 3,
    high_min: float = 4,
    min_lift: float = 1.5,
) -> pd.DataFrame:
    """Top selling points and complaints of each reviewed product.

    A selling point of a product is a term with ``lift_high >= min_lift`` mentioned in its
    high-rated reviews; a complaint a term with ``lift_low >= min_lift`` in its low-rated
    reviews. Terms are shown as their theme, the example clause of :func:`term_stats` (发货 and
    很快 are both 发货很快), and a theme is ranked by how many of the product's reviews mention
    it (ties: the higher lift, then the theme).

    Returns
    -------
    pandas.DataFrame
        One row per product with reviews, most reviewed first: ``product_id``, ``title`` (when
        ``products`` or the reviews carry one), ``reviews``, ``mean_rating``, ``poor_share``
        (share of its reviews rated low), ``selling_points`` and ``complaints`` (themes joined
        by " / ").
    """
    # group on integer codes: products (sorted), terms, docs
    prod, prod_names = pd.factorize(reviews["product_id"], sort=True)
    r = reviews[prod >= 0]
    per = r.groupby(prod[prod >= 0], sort=True).agg(
        reviews=("rating", "size"), mean_rating=("rating", "mean")
    )
    per["poor_share"] = (r["rating"] <= low_max).groupby(prod[prod >= 0]).mean()
    per.index = prod_names[per.index].rename("product_id")
    docs = terms["doc"]
    product = pd.Series(prod, index=reviews.index).reindex(docs).fillna(-1).to_numpy(np.int64)
    rating = reviews["rating"].reindex(docs).to_numpy()
    doc = pd.factorize(docs)[0]
    term, term_names = pd.factorize(terms["term"])
    s = stats.set_index("term")
    at = s.index.get_indexer(term_names)  # each term's row in stats (-1: none)
    theme, theme_names = pd.factorize(s["example"], sort=True)
    width = max(len(theme_names), 1)

    def best(mask: np.ndarray, lift: str) -> pd.Series:
        lift_of = np.append(s[lift].to_numpy(dtype=float), np.nan)[at][term]  # at -1: NaN
        theme_of = np.append(theme, -1)[at][term]
        keep = mask & (lift_of >= min_lift) & (theme_of >= 0) & (product >= 0)
        # (product, theme) pairs, sorted as the product ids then the themes sort
        pairs, pair = np.unique(product[keep] * width + theme_of[keep], return_inverse=True)
        c = pd.DataFrame(
            {
                "product_id": prod_names[pairs // width].to_numpy(),
                "theme": theme_names[pairs % width].to_numpy(),
                "n": distinct_per_group(pair, doc[keep], len(pairs)),
                "lift": pd.Series(lift_of[keep]).groupby(pair).max().to_numpy(),
            }
        )
        c = c.sort_values(
            ["product_id", "n", "lift", "theme"],
            ascending=[True, False, False, True],
            kind="stable",
        )
        c = c.groupby("product_id", sort=False).head(top)
        return c.groupby("product_id", sort=True)["theme"].agg(" / ".join)

    per["selling_points"] = best(rating >= high_min, "lift_high")
    per["complaints"] = best(rating <= low_max, "lift_low")
    per[["selling_points", "complaints"]] = per[["selling_points", "complaints"]].fillna("–")
    per = per.reset_index()
    if products is not None and "title" in products and products["title"].notna().any():
        titles = products.drop_duplicates("product_id").set_index("product_id")["title"]
        per.insert(1, "title", titles.reindex(per["product_id"]).to_numpy())
    per = per.sort_values(["reviews", "product_id"], ascending=[False, True], kind="stable")
    return per.reset_index(drop=True)


@dataclass
class ReviewMining:
    """What :func:`mine_reviews` finds."""

    terms: pd.DataFrame  # term_stats: every frequent term
    selling_points: pd.DataFrame  # top terms by lift_high
    complaints: pd.DataFrame  # top terms by lift_low
    products: pd.DataFrame  # product_points
    n_reviews: int
    n_low: int
    n_high: int


def mine_reviews(
    reviews: pd.DataFrame,
    products: pd.DataFrame | None = None,
    top: int = 10,
    low_max: float = 3,
    high_min: float = 4,
    min_docs: int = 5,
    min_lift: float = 1.5,
) -> ReviewMining:
    """Selling points and complaint themes of a shop's reviews, overall and per product.

    Parameters
    ----------
    reviews : pandas.DataFrame
        Canonical reviews.
    products : pandas.DataFrame, optional
        Canonical products, for titles.
    top : int
        Number of selling points and complaints returned.
    low_max, high_min, min_docs
        As in :func:`term_stats`.
    min_lift : float
        A selling point needs ``lift_high >= min_lift``, a complaint ``lift_low >= min_lift``
        (1.5: mentioned at least half again as often on that side).

    Returns
    -------
    ReviewMining
        ``selling_points``: terms with ``lift_high >= min_lift``, highest lift first (ties: more
        reviews, then the term), one term per example clause (发货 and 很快 both come from
        发货很快: the phrase is shown once); ``complaints``: terms with
        ``lift_low >= min_lift``,
        likewise.
    """
    reviews = reviews.reset_index(drop=True)
    terms = segment(reviews["text"])
    stats = term_stats(reviews, low_max, high_min, min_docs, terms=terms)

    def rank(lift: str) -> pd.DataFrame:
        x = stats[stats[lift] >= min_lift]
        x = x.sort_values([lift, "mentions", "term"], ascending=[False, False, True], kind="stable")
        x = x.drop_duplicates("example")  # 发货 and 很快 both come from 发货很快: show it once
        return x.head(top).reset_index(drop=True)

    has_text = reviews["text"].notna()
    return ReviewMining(
        terms=stats,
        selling_points=rank("lift_high"),
        complaints=rank("lift_low"),
        products=product_points(reviews, terms, stats, products, 3, low_max, high_min, min_lift),
        n_reviews=int(has_text.sum()),
        n_low=int((has_text & (reviews["rating"] <= low_max)).sum()),
        n_high=int((has_text & (reviews["rating"] >= high_min)).sum()),
    )


def search_terms(
    keywords: pd.DataFrame,
    as_of=None,
    months: int = 12,
    groups: bool = True,
    generic_share: float = 0.25,
) -> pd.DataFrame:
    """What buyers type: the words inside search keywords, weighted by search volume.

    Parameters
    ----------
    keywords : pandas.DataFrame
        Canonical keywords (``keyword``, ``month``, ``search_volume``; ``group`` optional).
    as_of : date-like, optional
        Last month counted (default: the latest month in the table).
    months : int
        Volume is summed over the last ``months`` months; ``growth`` compares them with the
        ``months`` before (NaN when that earlier window has no volume).
    groups : bool
        Keep the keyword groups (category words such as 连衣裙, T恤) whole; terms equal to a
        group are flagged ``is_group``.
    generic_share : float
        A term in more than this share of the keywords, and in three or more (女 in 女装
        searches), is flagged ``generic``: it says little about what buyers want.

    Returns
    -------
    pandas.DataFrame
        One row per term, by volume (descending) then term: ``term``, ``search_volume``,
        ``share`` (of all keywords' volume: a keyword's volume counts once for each of its
        terms, so shares of different terms overlap), ``keywords`` (how many keywords contain
        it), ``growth``, ``is_group`` and ``generic``.
    """
    kw = keywords[keywords["keyword"].notna()]
    end = pd.Timestamp(as_of) if as_of is not None else kw["month"].max()
    end = end.to_period("M").to_timestamp()
    lo = end - pd.DateOffset(months=months - 1)
    prev_lo = lo - pd.DateOffset(months=months)
    kw = kw[kw["month"] <= end]
    vol = kw[kw["month"] >= lo].groupby("keyword", sort=True)["search_volume"].sum()
    prev = kw[(kw["month"] >= prev_lo) & (kw["month"] < lo)].groupby("keyword")["search_volume"]
    prev = prev.sum().reindex(vol.index)
    group_words: tuple[str, ...] = ()
    if groups and "group" in kw and kw["group"].notna().any():
        group_words = tuple(sorted(kw["group"].dropna().astype(str).str.lower().unique()))
    names = pd.Series(vol.index.to_numpy(), index=vol.index)
    seg = segment(names, group_words, glue=False)
    seg = seg.assign(
        vol=vol.reindex(seg["doc"]).to_numpy(), prev=prev.reindex(seg["doc"]).to_numpy()
    )
    g = seg.groupby("term", sort=True)
    out = pd.DataFrame(
        {
            "search_volume": g["vol"].sum(),
            "keywords": g["doc"].nunique(),
            "prev": g["prev"].sum(min_count=1),
        }
    )
    out["share"] = out["search_volume"] / vol.sum() if vol.sum() > 0 else np.nan
    out["growth"] = out["search_volume"] / out["prev"].where(out["prev"] > 0) - 1
    out["is_group"] = out.index.isin(list(group_words))
    out["generic"] = (out["keywords"] >= 3) & (out["keywords"] > generic_share * len(vol))
    out = out.reset_index().sort_values(
        ["search_volume", "term"], ascending=[False, True], kind="stable"
    )
    cols = ["term", "search_volume", "share", "keywords", "growth", "is_group", "generic"]
    return out[cols].reset_index(drop=True)
