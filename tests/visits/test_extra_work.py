"""Extra work (增项, issue 17): the advisor puts a found item to the customer with photos;
the customer answers on the status page, or the advisor records a phone answer; the answer
is recorded once with its time and channel; approved items join the estimate; the board says
how long an item has waited. Bad input: a 50 MB photo, a file that is not an image, a second
answer, an answer after delivery, an expired link — a clear message, nothing half-written."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from shopcrm.errors import DomainError
from tests.factories import UserFactory, VisitFactory
from visits import events, status, workitems
from visits.models import Visit, WorkItem, WorkItemPhoto

pytestmark = pytest.mark.django_db
S, W = Visit.Status, WorkItem.Status


def jpeg(width=2400, height=1200, orientation=None, name="brake.jpg") -> SimpleUploadedFile:
    """A landscape photo; with EXIF orientation 6 the camera held it turned (portrait)."""
    out = BytesIO()
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, format="JPEG", exif=exif.tobytes())
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def visit():
    return VisitFactory(status=S.IN_PROGRESS, estimated_amount=500)


def request(visit, advisor, **extra):
    fields = {
        "visit": visit,
        "description": "前刹车片剩余 2 mm，建议更换",
        "labour_estimate": "120",
        "parts_estimate": "380.5",
        "urgency": WorkItem.Urgency.SAFETY,
        "by": advisor,
    }
    fields.update(extra)
    return workitems.extra_work_request(**fields)


def test_a_found_item_with_photos_is_put_to_the_customer(
    visit, advisor, django_capture_on_commit_callbacks
):
    sent = []
    events.extra_work_requested.connect(
        lambda sender, item, **kw: sent.append(item), weak=False, dispatch_uid="test-extra"
    )
    with django_capture_on_commit_callbacks(execute=True):
        item = request(
            visit, advisor, photos_in=[jpeg(orientation=6), jpeg(800, 600, name="b.png")]
        )
    assert (item.status, item.requested_by, item.kind) == (W.AWAITING, advisor, "extra")
    photos = list(item.photos.all())
    assert len(photos) == 2
    upright = Image.open(photos[0].image.path)
    assert upright.format == "JPEG" and max(upright.size) <= 1600
    assert upright.size[1] > upright.size[0]  # turned upright by its EXIF orientation
    assert not upright.getexif()  # no EXIF block leaves the shop
    assert sent == [item]
    # Only this test's receiver: clearing them all took the service messages' one away
    # for every later test of the session.
    events.extra_work_requested.disconnect(dispatch_uid="test-extra")


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (SimpleUploadedFile("big.jpg", b"0" * (50 * 1024 * 1024), "image/jpeg"), "太大"),
        (
            SimpleUploadedFile("notes.pdf", b"%PDF-1.4 not an image", "application/pdf"),
            "不是可以识别的图片",
        ),
    ],
)
def test_a_bad_photo_is_refused_and_nothing_is_written(visit, advisor, photo, message):
    with pytest.raises(ValidationError) as refused:
        request(visit, advisor, photos_in=[jpeg(), photo])
    assert message in " ".join(refused.value.message_dict["photos"])
    assert not WorkItem.objects.exists() and not WorkItemPhoto.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"description": " "}, "description"),
        ({"labour_estimate": "-1"}, "labour_estimate"),
        ({"parts_estimate": "abc"}, "parts_estimate"),
        ({"urgency": "now"}, "urgency"),
    ],
)
def test_bad_fields_are_refused(visit, advisor, extra, field):
    with pytest.raises(ValidationError) as refused:
        request(visit, advisor, **extra)
    assert field in refused.value.message_dict
    assert not WorkItem.objects.exists()


def test_no_extra_work_on_a_car_that_left(advisor):
    delivered = VisitFactory(status=S.DELIVERED, delivered_at=timezone.now())
    with pytest.raises(DomainError):
        request(delivered, advisor, photos_in=[jpeg()])
    assert not WorkItemPhoto.objects.exists()


def test_the_answer_is_recorded_once_and_joins_the_estimate(visit, advisor):
    item = request(visit, advisor)
    assert workitems.current_estimate(visit) == 500
    answered = workitems.extra_work_answer(
        item=item, decision=W.APPROVED, channel=WorkItem.Channel.STATUS_PAGE
    )
    assert answered.status == W.APPROVED and answered.answered_at and answered.answered_by is None
    assert workitems.current_estimate(visit) == 1000.5
    with pytest.raises(DomainError, match="已经答复过了"):
        workitems.extra_work_answer(item=item, decision=W.DECLINED, channel="status_page")
    item.refresh_from_db()
    assert item.status == W.APPROVED


def test_a_safety_item_cannot_wait_and_a_phone_answer_names_the_advisor(visit, advisor):
    item = request(visit, advisor)
    with pytest.raises(ValidationError):
        workitems.extra_work_answer(item=item, decision=W.DEFERRED, channel="phone", by=advisor)
    answered = workitems.extra_work_answer(
        item=item, decision=W.DECLINED, channel="phone", by=advisor
    )
    assert (answered.answer_channel, answered.answered_by) == ("phone", advisor)


def test_no_answer_after_delivery(visit, advisor):
    item = request(visit, advisor)
    Visit.objects.filter(pk=visit.pk).update(status=S.DELIVERED, delivered_at=timezone.now())
    with pytest.raises(DomainError, match="不能再答复"):
        workitems.extra_work_answer(item=item, decision=W.APPROVED, channel="status_page")
    item.refresh_from_db()
    assert item.status == W.AWAITING


def test_the_customer_answers_on_the_status_page(client, visit, advisor):
    item = request(visit, advisor, photos_in=[jpeg()])
    link = "/" + status.status_link_create(visit=visit).split("/", 3)[3]
    page = client.get(link).content.decode()
    photo = item.photos.get()
    assert "前刹车片剩余 2 mm" in page and f"{link}photos/{photo.pk}/" in page
    assert client.get(f"{link}photos/{photo.pk}/")["Content-Type"] == "image/jpeg"
    answer = client.post(f"{link}items/{item.pk}/", {"decision": "approved"})
    assert answer.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.answer_channel) == (W.APPROVED, "status_page")
    again = client.post(f"{link}items/{item.pk}/", {"decision": "declined"})
    assert again.status_code == 400 and "已经答复过了" in again.content.decode()
    assert "¥1000.50" in client.get(link).content.decode()  # the new total


def test_another_visits_item_or_photo_is_not_reachable_by_a_link(client, visit, advisor):
    item = request(visit, advisor, photos_in=[jpeg()])
    other = VisitFactory(status=S.IN_PROGRESS)
    link = "/" + status.status_link_create(visit=other).split("/", 3)[3]
    assert client.post(f"{link}items/{item.pk}/", {"decision": "approved"}).status_code == 404
    assert client.get(f"{link}photos/{item.photos.get().pk}/").status_code == 404
    item.refresh_from_db()
    assert item.status == W.AWAITING


def test_an_expired_link_answers_nothing(client, visit, advisor):
    item = request(visit, advisor)
    link = "/" + status.status_link_create(visit=visit).split("/", 3)[3]
    Visit.objects.filter(pk=visit.pk).update(
        status=S.DELIVERED,
        checked_in_at=timezone.now() - timedelta(days=41),
        delivered_at=timezone.now() - timedelta(days=40),
    )
    assert client.post(f"{link}items/{item.pk}/", {"decision": "approved"}).status_code == 410
    item.refresh_from_db()
    assert item.status == W.AWAITING


def test_the_advisor_records_extra_work_and_a_phone_answer_on_the_visit_page(advisor_client, visit):
    url = reverse("visits:extra_work", args=[visit.pk])
    bad = advisor_client.post(url, {"description": "", "urgency": "safety"})
    assert bad.status_code == 400 and "请填写发现的问题" in bad.content.decode()
    not_image = SimpleUploadedFile("x.jpg", b"not really", "image/jpeg")
    refused = advisor_client.post(
        url,
        {
            "description": "空调滤芯脏",
            "labour_estimate": "30",
            "parts_estimate": "90",
            "urgency": "can_wait",
            "photos": [not_image],
        },
    )
    assert refused.status_code == 400 and "不是可以识别的图片" in refused.content.decode()
    assert not WorkItem.objects.exists()
    done = advisor_client.post(
        url,
        {
            "description": "空调滤芯脏",
            "labour_estimate": "30",
            "parts_estimate": "90",
            "urgency": "can_wait",
            "photos": [jpeg()],
        },
    )
    assert done.status_code == 302
    item = WorkItem.objects.get()
    page = advisor_client.get(reverse("visits:detail", args=[visit.pk])).content.decode()
    photo_url = reverse("visits:photo", args=[visit.pk, item.photos.get().pk])
    assert "空调滤芯脏" in page and photo_url in page
    assert advisor_client.get(photo_url).status_code == 200
    board = advisor_client.get(reverse("visits:board")).content.decode()
    assert "待客户确认 0 分钟" in board
    advisor_client.post(
        reverse("visits:extra_work_answer", args=[visit.pk, item.pk]), {"decision": "deferred"}
    )
    item.refresh_from_db()
    assert (item.status, item.answer_channel) == (W.DEFERRED, "phone")
    assert item.answered_by.username.startswith("advisor")


def test_an_agent_cannot_put_or_answer_extra_work(client, agent, visit):
    client.force_login(agent)
    assert client.post(reverse("visits:extra_work", args=[visit.pk]), {}).status_code == 403


@pytest.fixture
def advisor():
    return UserFactory(role="advisor", username="advisor-x", last_name="李", first_name="娜")


def test_erasing_the_customer_deletes_the_photos_and_what_was_found(
    visit, advisor, django_capture_on_commit_callbacks
):
    from privacy.services import customer_erase

    item = request(visit, advisor, photos_in=[jpeg()])
    path = item.photos.get().image.path
    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(customer=visit.customer, by=advisor)
    item.refresh_from_db()
    assert item.description == "" and not item.photos.exists()
    import os

    assert not os.path.exists(path)
