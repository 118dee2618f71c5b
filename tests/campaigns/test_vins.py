"""The recall's VIN file: each bad line reported with its number and reason (malformed,
duplicate in the file or already in the campaign, unknown, car no longer in service), the
good lines kept; an unreadable file (empty, too large, binary, unknown encoding) refused with
nothing written."""

import pytest
from django.core.exceptions import ValidationError

from campaigns import rules, services
from campaigns.models import Campaign, CampaignVehicle
from shopcrm.errors import DomainError
from tests.campaigns.helpers import campaign
from tests.factories import VehicleFactory, valid_vin, wrong_check_digit

pytestmark = pytest.mark.django_db


@pytest.fixture
def recall():
    return campaign(kind="recall", audience="vin_list", channel="call", message_template="")


@pytest.fixture
def cars():
    return [VehicleFactory(vin=valid_vin(9000 + n)) for n in range(3)]


def _file(*lines: str, encoding="utf-8") -> bytes:
    return "\n".join(lines).encode(encoding)


def test_bad_lines_are_reported_line_by_line_and_the_good_ones_kept(recall, cars):
    sold = VehicleFactory(vin=valid_vin(9100), is_active=False)
    content = _file(
        "VIN,车型",  # 1: the header
        f"{cars[0].vin},朗逸",  # 2
        "LSV123",  # 3: too short
        "",  # 4: blank, skipped
        f"{cars[1].vin.lower()}",  # 5: lower case is fine
        f"{cars[0].vin}",  # 6: the same as line 2
        valid_vin(9200),  # 7: no such car
        wrong_check_digit(cars[2].vin),  # 8: check digit
        "LSVIO000000000000",  # 9: I and O
        sold.vin,  # 10: sold
    )
    report = services.vins_import(campaign=recall, content=content)
    assert report.added == 2
    assert set(CampaignVehicle.objects.values_list("vehicle_id", flat=True)) == {
        cars[0].pk,
        cars[1].pk,
    }
    reasons = {row["line"]: row["reason"] for row in report.bad}
    assert sorted(reasons) == [3, 6, 7, 8, 9, 10]
    assert "17 位" in reasons[3]
    assert "第 2 行" in reasons[6]
    assert reasons[7] == "本店没有这辆车"
    assert "校验位" in reasons[8]
    assert "I、O" in reasons[9]
    assert "不在用" in reasons[10]
    recall.refresh_from_db()
    assert [row["line"] for row in recall.vin_import_errors] == [3, 6, 7, 8, 9, 10]
    # The bad lines naming a car of the shop keep no VIN (personal data: privacy.inventory).
    values = {row["line"]: row["value"] for row in recall.vin_import_errors}
    assert values[6] == values[10] == "" and values[7] == valid_vin(9200)


def test_a_car_recorded_with_a_check_digit_exception_is_accepted(recall):
    from customers.validators import vin_check_digit

    vin = wrong_check_digit(valid_vin(9400))
    assert vin[8] != vin_check_digit(vin)
    car = VehicleFactory(vin=vin)
    report = services.vins_import(
        campaign=recall, content=_file(vin, wrong_check_digit(valid_vin(9401)))
    )
    assert report.added == 1 and CampaignVehicle.objects.get().vehicle == car
    assert "校验位" in report.bad[0]["reason"]


def test_a_vin_already_in_the_campaign_is_a_duplicate(recall, cars):
    services.vins_import(campaign=recall, content=_file(cars[0].vin))
    report = services.vins_import(campaign=recall, content=_file(cars[0].vin, cars[1].vin))
    assert report.added == 1
    assert report.bad == [{"line": 1, "value": "", "reason": "已在本活动中"}]
    assert CampaignVehicle.objects.count() == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_utf8_with_or_without_bom_and_gbk_are_read(recall, cars, encoding):
    content = _file("车架号,备注", f"{cars[0].vin},召回批次一", encoding=encoding)
    assert services.vins_import(campaign=recall, content=content).added == 1


def test_tabs_semicolons_and_crlf(recall, cars):
    content = f"{cars[0].vin}\t朗逸\r\n{cars[1].vin};x\r\n".encode()
    assert services.vins_import(campaign=recall, content=content).added == 2


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "空的"),
        (b"\n \n", "空的"),
        (b"\x00\x01binary", "不是文本"),
        (b"\xff\xfe\xfa\xfb", "编码"),
        (b"A" * (rules.MAX_VIN_FILE_BYTES + 1), "太大"),
        (b"LSV123\nABC", "没有可导入"),
    ],
)
def test_an_unreadable_file_or_one_without_a_good_line_is_refused(recall, content, says):
    with pytest.raises(ValidationError) as refused:
        services.vins_import(campaign=recall, content=content)
    assert says in " ".join(refused.value.message_dict["vin_file"])
    assert not CampaignVehicle.objects.exists()


def test_a_recall_created_from_a_file_without_a_good_line_is_not_created(cars):
    recall = Campaign(
        name="召回",
        kind="recall",
        audience="vin_list",
        channel="call",
        starts_at=campaign().starts_at,
        ends_on=campaign().ends_on,
    )
    before = Campaign.objects.count()
    with pytest.raises(ValidationError):
        services.campaign_create(campaign=recall, by=None, vin_file=_file(valid_vin(9300)))
    assert Campaign.objects.count() == before


def test_no_import_into_a_running_or_marketing_campaign(recall, cars):
    recall.status = Campaign.Status.RUNNING
    recall.save()
    with pytest.raises(DomainError):
        services.vins_import(campaign=recall, content=_file(cars[0].vin))
    with pytest.raises(DomainError):
        services.vins_import(campaign=campaign(), content=_file(cars[0].vin))
