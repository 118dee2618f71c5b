"""manage.py customer_erase: by id or DMS number, a prompt that only "yes" passes (or
--yes), a clear error and nothing written for a customer that is not there."""

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from privacy.models import ErasureRecord
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def erase(*args, answer=None, monkeypatch=None):
    if answer is not None:
        monkeypatch.setattr("builtins.input", lambda prompt: answer)
    call_command("customer_erase", *args)


def test_by_id_with_yes(capsys):
    customer = CustomerFactory(name="命令行客户")
    erase("--id", str(customer.pk), "--yes")
    customer.refresh_from_db()
    assert customer.name == f"已删除客户 #{customer.pk}"
    record = ErasureRecord.objects.get()
    assert record.via == "command" and record.erased_by is None
    assert f"客户 #{customer.pk} 的个人信息已删除" in capsys.readouterr().out


def test_by_dms_number_recording_who_asked():
    customer = CustomerFactory(external_id="C-77")
    manager = UserFactory(role="manager", username="asked-by")
    erase("--external-id", "C-77", "--yes", "--by", "asked-by")
    record = ErasureRecord.objects.get()
    assert (record.customer_id, record.external_id, record.erased_by) == (
        customer.pk,
        "C-77",
        manager,
    )
    assert Customer.objects.get(pk=customer.pk).external_id is None


def test_the_prompt_names_the_customer_and_yes_erases(monkeypatch):
    customer = CustomerFactory(name="要删的人")
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "yes")
    erase("--id", str(customer.pk))
    assert "要删的人" in prompts[0] and f"#{customer.pk}" in prompts[0]
    assert ErasureRecord.objects.count() == 1


@pytest.mark.parametrize("answer", ["", "no", "y", "是"])
def test_anything_but_yes_refuses_and_writes_nothing(monkeypatch, answer):
    customer = CustomerFactory(name="不删的人")
    with pytest.raises(CommandError, match="已取消"):
        erase("--id", str(customer.pk), answer=answer, monkeypatch=monkeypatch)
    customer.refresh_from_db()
    assert customer.name == "不删的人" and not ErasureRecord.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "999999", "--yes"], "没有编号为 999999 的客户"),
        (["--external-id", "NOPE", "--yes"], "没有 DMS 编号为 NOPE 的客户"),
        (["--id", "1", "--yes", "--by", "nobody"], "没有用户名为 nobody 的用户"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    CustomerFactory(pk=1)
    with pytest.raises(CommandError, match=message):
        erase(*args)
    assert not ErasureRecord.objects.exists()
    assert Customer.objects.get(pk=1).name.startswith("客户")


def test_a_merged_record_names_the_customer_to_erase():
    target = CustomerFactory()
    merged = CustomerFactory(merged_into=target)
    with pytest.raises(CommandError, match=f"已合并到客户 #{target.pk}"):
        erase("--id", str(merged.pk), "--yes")
    assert not ErasureRecord.objects.exists()


def test_id_and_external_id_are_one_or_the_other():
    with pytest.raises(CommandError):
        erase("--id", "1", "--external-id", "C-1", "--yes")
    with pytest.raises(CommandError):
        erase("--yes")
