"""POST /api/v1/sync/survey-responses/: batch rules, answers validated against the
template, per-record errors, replays that create nothing, alerts from imports."""

import pytest
from django.utils import timezone

from followups.models import FollowUpTask
from surveys.models import Answer, SurveyResponse
from tests.api.conftest import post
from tests.factories import UserFactory
from tests.surveys.conftest import make_delivered_visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
ENDPOINT = "survey-responses"


@pytest.fixture
def visits():
    found = []
    for n in range(3):
        visit = make_delivered_visit(hours_ago=48 + n)
        visit.external_id = f"R{n}"
        visit.save()
        found.append(visit)
    return found


def record(n, visit_n=0, **extra):
    return {
        "external_id": f"S{n}",
        "visit_external_id": f"R{visit_n}",
        "submitted_at": timezone.now().isoformat(),
        "answers": {"rel_fixed_right": 5, "rel_on_time": 4, "nps": 9, "comment": "好"},
        **extra,
    }


def test_import_creates_scored_responses_and_a_replay_creates_nothing(dms, visits):
    batch = [record(0, 0), record(1, 1, channel="phone"), record(2, 2, answers={"nps": 3})]
    answer = post(dms, ENDPOINT, batch)
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "errors": [],
    }
    first = SurveyResponse.objects.get(external_id="S0")
    # reliability (100 + 60) / 2 = 80, the only dimension answered
    assert (first.csi, first.channel, first.nps_class) == (80, "import", "promoter")
    assert SurveyResponse.objects.get(external_id="S1").channel == "phone"
    detractor = SurveyResponse.objects.get(external_id="S2")
    assert detractor.csi is None and detractor.is_alert
    assert FollowUpTask.objects.filter(source_key=f"survey_response:{detractor.pk}").count() == 1
    again = post(dms, ENDPOINT, batch).json()
    assert (again["created"], again["unchanged"]) == (0, 3)
    assert SurveyResponse.objects.count() == 3 and Answer.objects.count() == 9


def test_bad_records_get_errors_by_index_and_the_good_ones_are_written(dms, visits):
    batch = [
        record(0, 0),
        record(1, 1, answers={"rel_fixed_right": 7}),
        record(2, 2, answers={"bogus_code": 3, "nps": 9}),
        record(3, visit_n=99),
        record(4, 1, answers={}),
        record(5, 1, submitted_at="yesterday"),
        record(6, 1, channel="pigeon"),
        record(7, 2, answers={"nps": "10"}),
    ]
    answer = post(dms, ENDPOINT, batch).json()
    assert answer["created"] == 2 and answer["failed"] == 6
    errors = {error["index"]: error["errors"] for error in answer["errors"]}
    assert "answers.rel_fixed_right" in errors[1]
    assert "answers.bogus_code" in errors[2]
    assert "visit_external_id" in errors[3]
    assert "answers" in errors[4]
    assert "submitted_at" in errors[5]
    assert "channel" in errors[6]
    assert set(SurveyResponse.objects.values_list("external_id", flat=True)) == {"S0", "S7"}
    assert Answer.objects.filter(response__external_id="S1").count() == 0


@pytest.mark.parametrize(
    "payload",
    [{"external_id": "S0"}, [], [{"external_id": 5, "visit_external_id": "R0"}], ["x"]],
)
def test_malformed_batches_are_refused_whole(dms, visits, payload):
    response = post(dms, ENDPOINT, payload)
    assert response.status_code == 400 and "detail" in response.json()
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize("answers", ["nps=9", [{"nps": 9}], 9, True])
def test_answers_that_are_not_an_object_are_a_400_like_any_wrong_type(dms, visits, answers):
    response = post(dms, ENDPOINT, [record(0), record(1, answers=answers)])
    assert response.status_code == 400
    assert response.json() == {
        "detail": "请求中有未知字段或类型错误的值，整批未写入。",
        "errors": [{"index": 1, "errors": {"answers": ["类型错误：应为JSON 对象。"]}}],
    }
    assert not SurveyResponse.objects.exists()


def test_answers_left_out_are_an_error_for_that_record(dms, visits):
    left_out = {k: v for k, v in record(1, 1).items() if k != "answers"}
    answer = post(dms, ENDPOINT, [record(0), left_out, record(2, 2, answers=None)]).json()
    assert (answer["created"], answer["failed"]) == (1, 2)
    assert [error["errors"] for error in answer["errors"]] == [
        {"answers": ["必填：题目代码 → 答案的 JSON 对象。"]},
        {"answers": ["必填：题目代码 → 答案的 JSON 对象。"]},
    ]


def test_only_sync_clients_may_import(client, visits):
    from rest_framework.test import APIClient

    agent = APIClient()
    agent.force_authenticate(UserFactory(role="agent", username="agent-api"))
    assert post(agent, ENDPOINT, [record(0)]).status_code == 403
    assert post(APIClient(), ENDPOINT, [record(0)]).status_code in (401, 403)
    assert not SurveyResponse.objects.exists()


def test_responses_read_back_with_filters(dms, visits, manager):
    from rest_framework.test import APIClient

    post(dms, ENDPOINT, [record(0, 0), record(1, 1, answers={"nps": 2})])
    listed = dms.get("/api/v1/survey-responses/").json()["results"]
    assert [r["external_id"] for r in listed] == ["S0", "S1"]
    first = listed[0]
    assert first["answers"] == {"rel_fixed_right": 5, "rel_on_time": 4, "nps": 9, "comment": "好"}
    assert first["csi"] == 80 and first["csi_dimensions"] == {"reliability": 80}
    alerts = dms.get("/api/v1/survey-responses/", {"is_alert": "true"}).json()["results"]
    assert [r["external_id"] for r in alerts] == ["S1"]
    by_visit = dms.get("/api/v1/survey-responses/", {"visit_external_id": "R1"}).json()
    assert [r["external_id"] for r in by_visit["results"]] == ["S1"]
    assert dms.get("/api/v1/survey-responses/", {"submitted_from": "soon"}).status_code == 400
    detail = dms.get(f"/api/v1/survey-responses/{first['id']}/")
    assert detail.status_code == 200 and detail.json()["visit_external_id"] == "R0"

    staff = APIClient()
    staff.force_authenticate(manager)
    assert staff.get("/api/v1/survey-responses/").status_code == 200
    staff.force_authenticate(UserFactory(role="advisor", username="advisor-api"))
    assert staff.get("/api/v1/survey-responses/").status_code == 403
