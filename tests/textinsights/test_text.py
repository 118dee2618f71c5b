"""Segmentation with the shop dictionary, the lexicon's negation and intensifiers, top terms
of hand-built texts, and texts that are empty or long."""

import os
from datetime import datetime

import pytest
from django.conf import settings

from textinsights import segment, selectors, sentiment
from textinsights.selectors import Comment

AT = datetime(2026, 11, 2, 10, 0)


def test_the_shop_dictionary_keeps_parts_services_and_roles_whole():
    assert "刹车片" in segment.terms("新换的刹车片一周就有异响")
    assert "服务顾问" in segment.terms("服务顾问接电话很不耐烦")
    assert {"机油", "保养"} <= set(segment.terms("保养时机油加多了"))
    assert "免费洗车" in segment.terms("承诺的免费洗车没有做")


def test_stop_words_and_counts_are_not_terms():
    terms = segment.terms("说好两小时交车，等了四个多小时，我们很不满意")
    assert "我们" not in terms and "四个" not in terms and "了" not in terms
    assert "交车" in terms


def test_phrases_are_neighbouring_terms_within_one_clause():
    assert segment.phrases("新换的刹车片有异响") == ["新换 刹车片", "刹车片 异响"]
    # A comma ends the clause: no phrase across it.
    assert "刹车片 服务顾问" not in segment.phrases("刹车片，服务顾问")


def test_jieba_loads_once_and_caches_in_the_data_dir():
    assert segment.tokenizer() is segment.tokenizer()
    assert os.path.exists(os.path.join(settings.DATA_DIR, "jieba.cache"))


def test_a_negator_flips_the_word_after_it():
    assert sentiment.score("师傅很专业") > 0
    assert sentiment.score("师傅不专业") < 0
    assert sentiment.score("洗车干净") > 0 > sentiment.score("洗车不干净")
    assert sentiment.score("没有异响了") > 0  # a negated complaint word reads as good
    assert sentiment.score("休息区可以再舒适些") < 0  # a wish: it is not comfortable enough


def test_an_intensifier_strengthens_and_a_softener_weakens():
    assert sentiment.score("等待时间有点长") > sentiment.score("等待时间很长")
    assert sentiment.score("服务不错") == pytest.approx(1.0)


def test_a_text_without_sentiment_words_is_neutral_and_empty_text_is_nothing():
    assert sentiment.score("做了保养") == 0.0
    assert sentiment.score("") == 0.0 and segment.terms("") == [] and segment.phrases("") == []


def test_a_2000_character_text_is_segmented_scored_and_counted():
    long_text = ("服务顾问很热情，刹车片换得及时。" * 125)[:2000]
    assert len(long_text) == 2000
    assert segment.terms(long_text).count("刹车片") == 125
    assert sentiment.score(long_text) > 0
    top = selectors.top_terms([Comment(selectors.SURVEY, 1, long_text, AT)])
    assert {row.term: row.count for row in top["terms"]}["刹车片"] == 1  # counted once a text


def test_top_terms_count_texts_and_average_their_sentiment():
    texts = [
        Comment(selectors.SURVEY, 1, "师傅很专业，刹车片换得好", AT),
        Comment(selectors.CALL, 2, "刹车片有异响", AT),
        Comment(selectors.COMPLAINT, 3, "新换的刹车片又有异响，刹车片质量差", AT, "TS-1"),
        Comment(selectors.SURVEY, 4, "休息区舒适", AT),
    ]
    top = selectors.top_terms(texts)
    rows = {row.term: row for row in top["terms"]}
    assert top["texts"] == 4
    assert top["terms"][0].term == "刹车片" and rows["刹车片"].count == 3  # once per text
    expected = round(sum(sentiment.score(t.text) for t in texts[:3]) / 3, 2)
    assert rows["刹车片"].sentiment == expected
    assert rows["刹车片"].by_kind == {"survey": 1, "call": 1, "complaint": 1}
    assert rows["异响"].count == 2 and rows["异响"].sentiment < 0
    assert rows["休息区"].sentiment > 0
    phrases = {row.term: row.count for row in top["phrases"]}
    assert phrases["刹车片 异响"] == 2 and phrases["新换 刹车片"] == 1
    assert [c.pk for c in selectors.containing(texts, "异响")] == [2, 3]
    assert [c.pk for c in selectors.containing(texts, "新换 刹车片")] == [3]
    assert selectors.containing(texts, "变速箱") == []


def test_a_term_too_long_to_be_one_is_refused():
    assert selectors.clean_term("  刹车片  ") == "刹车片"
    assert selectors.clean_term(None) == ""
    with pytest.raises(ValueError):
        selectors.clean_term("长" * 41)
