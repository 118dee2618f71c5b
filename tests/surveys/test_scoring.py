"""Scoring against METRICS.md, with hand-computed examples (no database)."""

import pytest

from surveys.scoring import ScoredQuestion, nps_class, nps_of, points_map, score

REL_FIXED = ScoredQuestion("rel_fixed_right", "scale", "reliability")
REL_TIME = ScoredQuestion("rel_on_time", "scale", "reliability")
RES_1 = ScoredQuestion("res_prompt_reception", "scale", "responsiveness")
RES_2 = ScoredQuestion("res_progress_updates", "scale", "responsiveness")
ASR_1 = ScoredQuestion("asr_explanation", "scale", "assurance")
EMP_1 = ScoredQuestion("emp_care", "scale", "empathy")
TAN_1 = ScoredQuestion("tan_facility", "scale", "tangibles")
NPS = ScoredQuestion("nps", "nps")
COMMENT = ScoredQuestion("comment", "text")


def test_points_of_a_five_point_answer():
    assert points_map(None) == {1: 0, 2: 20, 3: 40, 4: 60, 5: 100}
    # "acceptable" is worth 40 and "satisfied" 60; only "very satisfied" is full marks.
    result = score([(REL_FIXED, 3), (REL_TIME, 4)])
    assert result.points == {"rel_fixed_right": 40, "rel_on_time": 60}


def test_full_response_weighted_by_servqual():
    # reliability (5, 4) → (100 + 60) / 2 = 80; responsiveness (3, 5) → 70;
    # assurance 4 → 60; empathy 5 → 100; tangibles 2 → 20.
    # CSI = .32·80 + .22·70 + .19·60 + .16·100 + .11·20 = 25.6 + 15.4 + 11.4 + 16 + 2.2 = 70.6
    result = score(
        [
            (REL_FIXED, 5),
            (REL_TIME, 4),
            (RES_1, 3),
            (RES_2, 5),
            (ASR_1, 4),
            (EMP_1, 5),
            (TAN_1, 2),
            (NPS, 9),
            (COMMENT, "很好"),
        ]
    )
    assert result.dimensions == {
        "reliability": 80,
        "responsiveness": 70,
        "assurance": 60,
        "empathy": 100,
        "tangibles": 20,
    }
    assert result.csi == pytest.approx(70.6)
    assert (result.nps_score, result.nps_class, result.is_alert) == (9, "promoter", False)


def test_partially_answered_response_uses_only_the_answered_dimensions():
    # Only reliability (5 → 100) and tangibles (1 → 0) answered:
    # CSI = (.32·100 + .11·0) / (.32 + .11) = 32 / .43 = 74.4186…
    result = score([(REL_FIXED, 5), (REL_TIME, None), (TAN_1, 1)])
    assert result.dimensions == {"reliability": 100, "tangibles": 0}
    assert result.csi == pytest.approx(32 / 0.43)
    assert result.nps_class == "" and result.nps_score is None


def test_no_scale_answer_means_no_csi():
    result = score([(NPS, 10), (COMMENT, "无")])
    assert result.csi is None and result.dimensions == {}
    assert result.nps_class == "promoter" and not result.is_alert


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_nps_classes(value, expected):
    assert nps_class(value) == expected


def test_nps_only_from_the_flagged_question():
    # A scale question that happens to be answered 10 is not an NPS answer.
    assert score([(REL_FIXED, 5)]).nps_class == ""
    assert nps_of(promoters=3, detractors=1, answered=5) == pytest.approx(40)
    assert nps_of(promoters=0, detractors=0, answered=0) is None


def test_alert_rules():
    # CSI < 60: reliability 4 → 60 and responsiveness 2 → 20: (.32·60 + .22·20)/.54 = 43.7
    assert score([(REL_TIME, 4), (RES_1, 2)]).is_alert
    # exactly 60 is not an alert
    assert not score([(REL_TIME, 4), (NPS, 7)]).is_alert
    # a detractor alone
    assert score([(REL_TIME, 5), (NPS, 6)]).is_alert
    # rel_fixed_right answered 1 or 2, even with a high CSI
    high_but_not_fixed = score([(REL_FIXED, 2), (RES_1, 5), (ASR_1, 5), (EMP_1, 5), (TAN_1, 5)])
    # (.32·20 + .22·100 + .19·100 + .16·100 + .11·100) / 1 = 74.4
    assert high_but_not_fixed.csi == pytest.approx(74.4)
    assert high_but_not_fixed.is_alert
    assert not score([(REL_FIXED, 3), (RES_1, 5)]).is_alert  # (.32·40+.22·100)/.54 = 64.4


def test_template_can_override_the_points():
    result = score([(REL_FIXED, 4)], {"1": 0, "2": 25, "3": 50, "4": 75, "5": 100})
    assert result.csi == 75


def test_all_top_marks():
    assert score([(REL_FIXED, 5), (TAN_1, 5), (NPS, 3)]).all_top_marks
    assert not score([(REL_FIXED, 5), (TAN_1, 4)]).all_top_marks
    assert not score([(NPS, 10)]).all_top_marks


def test_a_low_score_is_defined_once():
    from surveys.scoring import LOW_SCORE, is_low

    assert [value for value in range(1, 6) if is_low("scale", value)] == list(
        range(1, LOW_SCORE + 1)
    )
    assert not is_low("scale", None) and not is_low("nps", 1) and not is_low("yes_no", 0)
    # the alert's "not fixed right" uses the same line
    assert score([(REL_FIXED, LOW_SCORE), (RES_1, 5)]).is_alert
    assert not score([(REL_FIXED, LOW_SCORE + 1), (RES_1, 5)]).is_alert
