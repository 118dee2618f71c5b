"""The campaign pages: managers only (advisors and agents 403), the form's refusals with
nothing written, the audience preview, a recall from a VIN file with its bad lines on the
progress page, and the buttons that schedule, end and cancel."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, CampaignVehicle
from followups.models import FollowUpTask
from tests.campaigns.helpers import TODAY, campaign, customer_with_car
from tests.factories import VehicleFactory, valid_vin

pytestmark = pytest.mark.django_db


def _form(**changes) -> dict:
    data = {
        "name": "冬季保养",
        "kind": "marketing",
        "audience": "vehicle_model",
        "vehicle_model": "朗逸",
        "channel": "both",
        "message_template": "【{shop}】{plate} 冬季保养八折，预约：{link}",
        "starts_at": f"{TODAY.isoformat()}T13:00",
        "ends_on": (TODAY + timedelta(days=20)).isoformat(),
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("role", ["advisor", "agent"])
def test_advisors_and_agents_are_refused(client, role):
    from tests.factories import UserFactory

    client.force_login(UserFactory(role=role, username=f"c-{role}"))
    existing = campaign()
    for url in (
        reverse("campaigns:list"),
        reverse("campaigns:create"),
        reverse("campaigns:detail", args=[existing.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("campaigns:create"), _form()).status_code == 403
    assert client.post(reverse("campaigns:close", args=[existing.pk])).status_code == 403
    assert Campaign.objects.count() == 1


def test_an_unknown_campaign_is_a_404(manager_client):
    assert manager_client.get(reverse("campaigns:detail", args=[999999])).status_code == 404


def test_a_manager_creates_a_campaign_and_sees_it_listed(manager_client, manager):
    customer_with_car()
    answer = manager_client.post(reverse("campaigns:create"), _form())
    created = Campaign.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("campaigns:detail", args=[created.pk])
    assert created.created_by == manager and created.status == "scheduled"
    assert "冬季保养" in manager_client.get(reverse("campaigns:list")).content.decode()
    page = manager_client.get(reverse("campaigns:detail", args=[created.pk])).content.decode()
    assert "活动尚未开始" in page


def test_the_preview_counts_the_audience_and_saves_nothing(manager_client):
    customer_with_car()
    customer_with_car(marketing_consent=False)
    answer = manager_client.post(reverse("campaigns:create"), _form(preview="1"))
    assert answer.status_code == 200
    assert "目标客户 2 位，其中 1 位" in answer.content.decode()
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"name": ""}, "该字段是必填项"),
        ({"audience": "service_due", "due_within_days": ""}, "请为所选目标客户填写此项"),
        ({"message_template": "{name}"}, "未知的占位符"),
        ({"message_template": ""}, "需要填写消息模板"),
        ({"ends_on": (TODAY - timedelta(days=1)).isoformat()}, "结束日期不能早于"),
        ({"starts_at": "明天"}, "输入一个有效的日期/时间"),
        ({"kind": "recall"}, "VIN 清单"),
        ({"channel": "fax"}, "选择一个有效的选项"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_written(manager_client, changes, says):
    answer = manager_client.post(reverse("campaigns:create"), _form(**changes))
    assert answer.status_code == 400
    assert says in answer.content.decode()
    assert not Campaign.objects.exists()


def test_a_recall_from_a_vin_file_keeps_the_good_lines_and_lists_the_bad(manager_client):
    cars = [VehicleFactory(vin=valid_vin(7000 + n)) for n in range(2)]
    content = f"VIN\n{cars[0].vin}\nLSV1\n{cars[1].vin}\n{cars[0].vin}\n{valid_vin(7100)}\n"
    upload = SimpleUploadedFile("recall.csv", content.encode("gbk"), content_type="text/csv")
    answer = manager_client.post(
        reverse("campaigns:create"),
        _form(
            kind="recall", audience="vin_list", channel="call", message_template="", vin_file=upload
        ),
        follow=True,
    )
    recall = Campaign.objects.get()
    assert CampaignVehicle.objects.filter(campaign=recall).count() == 2
    page = answer.content.decode()
    assert "已导入 2 辆车；3 行有误" in page
    for line, reason in ((3, "17 位"), (5, "与第 2 行重复"), (6, "本店没有这辆车")):
        assert f"<td>{line}</td>" in page and reason in page


def test_a_vin_file_without_a_good_line_creates_no_campaign(manager_client):
    upload = SimpleUploadedFile("recall.txt", b"", content_type="text/plain")
    answer = manager_client.post(
        reverse("campaigns:create"),
        _form(
            kind="recall", audience="vin_list", channel="call", message_template="", vin_file=upload
        ),
    )
    assert answer.status_code == 400
    assert not Campaign.objects.exists()


def test_more_vins_for_a_recall_not_yet_started(manager_client):
    cars = [VehicleFactory(vin=valid_vin(7200 + n)) for n in range(2)]
    recall = campaign(
        kind="recall", audience="vin_list", starts_at=campaign().starts_at + timedelta(days=1)
    )
    CampaignVehicle.objects.create(campaign=recall, vehicle=cars[0], line=1)
    upload = SimpleUploadedFile("more.csv", f"{cars[0].vin}\n{cars[1].vin}".encode())
    answer = manager_client.post(
        reverse("campaigns:vins", args=[recall.pk]), {"vin_file": upload}, follow=True
    )
    assert "已在本活动中" in answer.content.decode()
    assert CampaignVehicle.objects.filter(campaign=recall).count() == 2
    bad = SimpleUploadedFile("bad.csv", b"\xff\xfe\xfa")
    refused = manager_client.post(reverse("campaigns:vins", args=[recall.pk]), {"vin_file": bad})
    assert refused.status_code == 400 and "编码" in refused.content.decode()


def test_schedule_end_and_cancel_buttons(manager_client):
    customer_with_car()
    draft = campaign(status="draft")
    manager_client.post(reverse("campaigns:schedule", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == "scheduled"
    services.campaigns_run()
    manager_client.post(reverse("campaigns:close", args=[draft.pk]), {"action": "cancel"})
    draft.refresh_from_db()
    assert draft.status == "cancelled"
    assert FollowUpTask.objects.get(kind="campaign").status == "cancelled"
    answer = manager_client.post(reverse("campaigns:close", args=[draft.pk]), follow=True)
    assert "活动已经结束或取消" in answer.content.decode()


def test_the_progress_page_shows_the_figures_and_the_contacts(manager_client):
    owner, _car = customer_with_car()
    customer_with_car(do_not_contact=True)
    running = campaign()
    services.campaigns_run()
    page = manager_client.get(reverse("campaigns:detail", args=[running.pk])).content.decode()
    assert 'id="figure-audience">2<' in page and 'id="figure-skipped">1<' in page
    assert owner.name in page
    skipped = manager_client.get(reverse("campaigns:detail", args=[running.pk]) + "?state=skipped")
    assert owner.name not in skipped.content.decode()
    junk = manager_client.get(reverse("campaigns:detail", args=[running.pk]) + "?state=x&page=zz")
    assert junk.status_code == 200
