"""The sync declarations (shopcrm.sync): one list of fields per record gives the shape check,
the per-record validation, the upsert columns and the request schema, so a field added to a
declaration is picked up by all four."""

import pytest
from django.urls import path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from api.schema import SYNC_RECORDS
from customers.models import Vehicle
from customers.sync import CUSTOMER_RECORD, VEHICLE_RECORD
from shopcrm import bulk, sync
from shopcrm.sync import BatchRejected
from surveys.sync import SURVEY_RESPONSE_RECORD
from tests.factories import CustomerFactory, valid_vin
from visits.sync import APPOINTMENT_RECORD, VISIT_RECORD, WORK_ITEM_RECORD

DECLARATIONS = [
    CUSTOMER_RECORD,
    VEHICLE_RECORD,
    VISIT_RECORD,
    WORK_ITEM_RECORD,
    SURVEY_RESPONSE_RECORD,
    APPOINTMENT_RECORD,
]


@pytest.fixture(scope="module")
def components():
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def names(declaration):
    return [field.name for field in declaration.fields]


def rejected(declaration, payload) -> BatchRejected:
    with pytest.raises(BatchRejected) as caught:
        declaration.check_shape(payload)
    return caught.value


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.name)
def test_one_field_list_for_shape_parsing_columns_and_schema(declaration, components):
    fields = names(declaration)
    everything_null = dict.fromkeys(fields)
    assert declaration.check_shape([everything_null]) == [everything_null]
    assert list(declaration.shape) == fields
    assert list(declaration.parse([everything_null])[0].values) == fields
    written = [f.name for f in declaration.fields if f.written and f.name != "external_id"]
    columns = [column.name for column in declaration.columns]
    derived = [column.name for column in declaration.derived]
    assert columns == written + derived + list(declaration.insert_only)
    schema = components[f"{declaration.name}Request"]
    assert list(schema["properties"]) == fields
    assert sorted(schema["required"]) == sorted(f.name for f in declaration.fields if f.required)
    assert schema["additionalProperties"] is False


def test_the_schema_post_processing_names_every_declaration():
    assert {f"{d.name}Request" for d in DECLARATIONS} == set(SYNC_RECORDS)


def rules(declaration) -> dict:
    """Each column's SQL as bulk.upsert renders it (None: written on insert only)."""
    return {
        column.name: (
            column.on_update.format(name=f'"{column.name}"') if column.on_update else None,
            column.compare,
        )
        for column in declaration.columns
    }


def test_the_upsert_keeps_its_rules():
    customer, vehicle, visit = rules(CUSTOMER_RECORD), rules(VEHICLE_RECORD), rules(VISIT_RECORD)
    assert customer["name"] == ('excluded."name"', True)
    assert customer["do_not_contact"] == ('(t."do_not_contact" OR excluded."do_not_contact")', True)
    assert customer["marketing_consent_at"] == (
        'CASE WHEN t."marketing_consent" = excluded."marketing_consent" '
        'THEN t."marketing_consent_at" ELSE excluded."marketing_consent_at" END',
        False,
    )
    assert customer["marketing_consent_source"] == (None, True)
    assert vehicle["odometer_km"] == (
        'CASE WHEN t."odometer_km" IS NULL OR excluded."odometer_km" > t."odometer_km" '
        'THEN excluded."odometer_km" ELSE t."odometer_km" END',
        True,
    )
    assert visit["odometer_km"] == ('excluded."odometer_km"', True)
    assert CUSTOMER_RECORD.insert_only == {
        "phone2": "",
        "wechat_openid": "",
        "preferred_channel": "sms",
        "contact_window": "any",
        # Issue 17: service messages on, in Chinese, for a customer the DMS creates.
        "service_messages": True,
        "preferred_language": "zh-hans",
        # Issue 18: what the DMS sends is verified (the booking page's records are not).
        "verified": True,
        "verification_note": "",
    }
    assert VEHICLE_RECORD.insert_only == {
        "is_active": True,
        "vin_check_override": False,
        "colour": "",
        "verified": True,
        "verification_note": "",
    }
    assert VISIT_RECORD.insert_only == {
        "walkaround_notes": "",
        "odometer_lower_confirmed": False,
        "cancel_reason": "",
    }
    for declaration in (CUSTOMER_RECORD, VEHICLE_RECORD, VISIT_RECORD):
        assert all(rules(declaration)[name][0] is None for name in declaration.insert_only)
    # References and the advisor are resolved into foreign keys, never written as sent.
    assert "customer_external_id" not in vehicle and "owner_id" in vehicle
    assert {"vehicle_id", "customer_id", "advisor_id", "advisor_code"} <= set(visit)
    assert not {"vehicle_external_id", "customer_external_id", "advisor"} & set(visit)


def test_lengths_and_choices_come_from_the_model():
    fields = {field.name: field for field in VEHICLE_RECORD.fields + VISIT_RECORD.fields}
    assert (fields["brand"].max_length, fields["model"].max_length) == (40, 60)
    assert fields["vin"].max_length == 17
    assert fields["customer_external_id"].max_length == 64  # the customer's external_id
    assert fields["ro_number"].max_length == 32
    assert fields["status"].values[0] == "checked_in"


def test_the_browsers_validators_judge_and_normalise():
    customer = {"external_id": "C1", "name": " 张伟 ", "phone": "+86 138-1234-5678"}
    [record] = CUSTOMER_RECORD.parse([{**customer, "email": "zhang@example.cn"}])
    assert record.ok and record.values["phone"] == "+8613812345678"
    assert record.values["name"] == "张伟" and record.values["kind"] == "individual"
    [record] = CUSTOMER_RECORD.parse([{**customer, "email": "not-mail", "kind": "robot"}])
    assert record.errors == {
        "email": ["不是有效的电子邮件地址。"],
        "kind": ["可选值：individual, company。"],
    }
    vehicle = {"external_id": "V1", "customer_external_id": "C1", "vin": valid_vin(1).lower()}
    [record] = VEHICLE_RECORD.parse([{**vehicle, "plate": "粤b·d12345", "model_year": 1949}])
    assert (record.values["vin"], record.values["plate"]) == (valid_vin(1), "粤BD12345")
    assert record.errors == {"model_year": ["不能小于 1950。"]}
    [record] = VEHICLE_RECORD.parse([{**vehicle, "vin": None}])
    assert record.errors == {"vin": ["请填写车架号（VIN）。"]}  # the validator's own words


def test_rules_across_fields_run_after_the_fields():
    visit = {
        "external_id": "R1",
        "ro_number": "RO-1",
        "vehicle_external_id": "V1",
        "service_type": "repair",
        "status": "delivered",
        "checked_in_at": "2026-11-20T09:00:00+08:00",
    }
    [record] = VISIT_RECORD.parse([visit])
    assert record.errors == {"delivered_at": ["已交车的工单必须有交车时间。"]}
    [record] = VISIT_RECORD.parse([{**visit, "delivered_at": "2026-11-19T09:00:00+08:00"}])
    assert record.errors == {"delivered_at": ["交车时间不能早于接车时间。"]}


# ---------------------------------------------------------------- the 400s, kind by kind


@pytest.mark.parametrize(
    ("declaration", "name", "value", "expected"),
    [
        (CUSTOMER_RECORD, "name", 42, "字符串"),
        (CUSTOMER_RECORD, "phone", 13900000002, "字符串"),
        (CUSTOMER_RECORD, "email", ["a@b.cn"], "字符串"),
        (CUSTOMER_RECORD, "kind", 1, "字符串"),
        (CUSTOMER_RECORD, "marketing_consent", "yes", "true 或 false"),
        (CUSTOMER_RECORD, "do_not_contact", 1, "true 或 false"),
        (CUSTOMER_RECORD, "source_updated_at", 1700000000, "字符串"),
        (VEHICLE_RECORD, "customer_external_id", 7, "字符串"),
        (VEHICLE_RECORD, "model_year", "2020", "整数"),
        (VEHICLE_RECORD, "odometer_km", 1.5, "整数"),
        (VEHICLE_RECORD, "odometer_km", True, "整数"),
        (VEHICLE_RECORD, "registration_date", 20200101, "字符串"),
        (VISIT_RECORD, "labour_amount", True, "数字或数字字符串"),
        (VISIT_RECORD, "total_amount", [1], "数字或数字字符串"),
        (VISIT_RECORD, "by_appointment", "true", "true 或 false"),
        (SURVEY_RESPONSE_RECORD, "answers", "nps=9", "JSON 对象"),
        (SURVEY_RESPONSE_RECORD, "answers", [{"nps": 9}], "JSON 对象"),
        (SURVEY_RESPONSE_RECORD, "answers", 9, "JSON 对象"),
        (SURVEY_RESPONSE_RECORD, "answers", True, "JSON 对象"),
        (SURVEY_RESPONSE_RECORD, "channel", 3, "字符串"),
    ],
)
def test_a_value_of_the_wrong_json_type_is_a_400(declaration, name, value, expected):
    error = rejected(declaration, [{"external_id": "X1"}, {"external_id": "X2", name: value}])
    assert error.detail == "请求中有未知字段或类型错误的值，整批未写入。"
    assert error.errors == [{"index": 1, "errors": {name: [f"类型错误：应为{expected}。"]}}]


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.name)
def test_unknown_fields_and_malformed_batches_are_a_400(declaration):
    error = rejected(declaration, [{"external_id": "X1", "colour": "red", "\ud800": 1}])
    assert error.errors == [
        {"index": 0, "errors": {"colour": ["未知字段。"], "\\ud800": ["未知字段。"]}}
    ]
    assert rejected(declaration, {"external_id": "X1"}).detail == (
        "请求体必须是 JSON 数组（1 到 1000 条记录）。"
    )
    assert rejected(declaration, []).detail == "请求体是空数组：至少要有 1 条记录。"
    assert rejected(declaration, [{}] * 1001).detail == (
        "一次最多 1000 条记录，本次有 1001 条，请分批发送。"
    )
    assert rejected(declaration, ["X1"]).errors == [
        {"index": 0, "errors": {"non_field_errors": ["每条记录必须是 JSON 对象。"]}}
    ]


def test_answers_left_out_or_empty_are_an_error_for_that_record():
    base = {"external_id": "S1", "visit_external_id": "R1", "submitted_at": "2026-11-20"}
    records = SURVEY_RESPONSE_RECORD.parse(
        [base, {**base, "answers": None}, {**base, "answers": {}}]
    )
    assert [record.errors for record in records] == [
        {"answers": ["必填：题目代码 → 答案的 JSON 对象。"]},
        {"answers": ["必填：题目代码 → 答案的 JSON 对象。"]},
        {"answers": ["必填：题目代码 → 答案的 JSON 对象。"]},
    ]
    [record] = SURVEY_RESPONSE_RECORD.parse([{**base, "answers": {"nps": 9}}])
    assert record.ok and record.values["answers"] == {"nps": 9}
    assert record.values["channel"] == "import"


# ---------------------------------------------------------------- a field added


def with_colour() -> sync.Declaration:
    """The vehicle declaration with one more line: the colour (a column of Vehicle)."""
    return sync.Declaration(
        Vehicle,
        *VEHICLE_RECORD.fields,
        sync.Text("colour"),
        derived=VEHICLE_RECORD.derived,
        insert_only={k: v for k, v in VEHICLE_RECORD.insert_only.items() if k != "colour"},
        clean=VEHICLE_RECORD.clean,
        name="VehicleWithColourSyncRecord",
    )


def vehicle(**extra):
    return {"external_id": "V1", "customer_external_id": "C1", "vin": valid_vin(1), **extra}


def test_a_field_added_to_a_declaration_is_checked_validated_written_and_documented():
    declaration = with_colour()
    assert rejected(VEHICLE_RECORD, [vehicle(colour="红")]).errors == [
        {"index": 0, "errors": {"colour": ["未知字段。"]}}
    ]
    assert rejected(declaration, [vehicle(colour=5)]).errors == [
        {"index": 0, "errors": {"colour": ["类型错误：应为字符串。"]}}
    ]
    [record] = declaration.parse([vehicle(colour="红" * 21)])
    assert record.errors == {"colour": ["最多 20 个字符。"]}  # Vehicle.colour's max_length
    assert bulk.Column("colour") in declaration.columns
    assert "colour" not in declaration.insert_only

    class ThrowawayView(APIView):
        @extend_schema(request=declaration.serializer(many=True), responses={200: None})
        def post(self, request):
            raise NotImplementedError

    schema = SchemaGenerator(patterns=[path("x/", ThrowawayView.as_view())]).get_schema(
        request=None, public=True
    )
    properties = schema["components"]["schemas"]["VehicleWithColourSyncRecordRequest"]["properties"]
    assert list(properties) == [*names(VEHICLE_RECORD), "colour"]
    assert properties["colour"]["maxLength"] == 20


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_field_added_to_a_declaration_is_upserted():
    declaration = with_colour()
    owner = CustomerFactory(external_id="C1")

    def write(colour):
        records = declaration.parse([vehicle(colour=colour)])
        for record in records:
            record.values["owner_id"] = owner.pk
        return sync.write_batch(declaration, records, now=timezone.now(), by=None, checks=[])

    assert write("红").as_dict()["created"] == 1
    assert Vehicle.objects.get().colour == "红"
    assert write("蓝").as_dict()["updated"] == 1
    assert write("蓝").as_dict()["unchanged"] == 1
    assert Vehicle.objects.get().colour == "蓝"
