"""Making and sending the morning digests. The database is the truth: a digest row, unique
per (recipient, day), is made by the beat once the policy's time has passed; its e-mail goes
into the outbox (once per digest: the outbox's own unique key) and ``enqueued_at`` is set;
any digest made but not yet enqueued — the process or the broker died in between — is sent
by the next beat. Two beats at once make one digest and one e-mail per recipient and day."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from complaints.models import Notification
from messaging.models import Message
from messaging.services import message_enqueue_staff
from shopcalendar.rules import local_day

from . import selectors
from .models import Digest, DigestPolicy, DigestReader

PURPOSE = Message.Purpose.MORNING_DIGEST


def digest_day(now: datetime) -> date | None:
    """The day whose digest is due at ``now`` (yesterday), or None before the policy's time."""
    policy = DigestPolicy.current()
    local = timezone.localtime(now, timezone.get_default_timezone())
    if local.time() < policy.send_at:
        return None
    return local_day(now) - timedelta(days=1)


def digests_make(*, now: datetime | None = None) -> int:
    """Beat: yesterday's digest for each recipient who has none yet. Returns how many were
    made (0 before the policy's time). An in-app notification comes with each."""
    now = now or timezone.now()
    day = digest_day(now)
    if day is None:
        return 0
    done = set(Digest.objects.filter(day=day).values_list("recipient_id", flat=True))
    made = 0
    for user, scope in selectors.recipients(DigestPolicy.current()):
        if user.pk in done:
            continue
        try:
            with transaction.atomic():
                digest = Digest.objects.create(recipient=user, day=day, scope=scope)
                _notify(digest)
        except IntegrityError:  # another beat made it first
            continue
        made += 1
    return made


def _notify(digest: Digest) -> None:
    with translation.override(language_of(digest.recipient)):
        text = _("%(day)s 的晨报已生成") % {"day": digest.day.isoformat()}
    Notification.objects.get_or_create(
        user=digest.recipient,
        key=f"digest:{digest.day.isoformat()}",
        defaults={"text": text, "url": page_url(digest)},
    )


def page_url(digest: Digest) -> str:
    return reverse("digest:day", args=[digest.day.isoformat()])


def digests_send_pending(*, now: datetime | None = None) -> int:
    """Beat, after ``digests_make``: each digest not yet in the outbox goes there (an e-mail
    to a recipient with an address; the others read it in the app only). Returns how many
    e-mails were queued."""
    now = now or timezone.now()
    queued = 0
    pending = Digest.objects.filter(enqueued_at__isnull=True).select_related("recipient")
    for digest in pending.order_by("pk"):
        email = digest.recipient.email.strip()
        if email:
            _message, created = message_enqueue_staff(
                purpose=PURPOSE,
                email=email,
                object_key=f"digest:{digest.pk}",
                body=email_body(digest),
            )
            queued += created
        Digest.objects.filter(pk=digest.pk, enqueued_at__isnull=True).update(enqueued_at=now)
    return queued


def language_of(user) -> str:
    reader = DigestReader.objects.filter(user=user).first()
    return reader.language if reader else settings.LANGUAGE_CODE


def remember_language(user, language: str) -> None:
    """The page's language becomes the e-mail's (the only language a member of staff sets)."""
    if language in dict(settings.LANGUAGES):
        DigestReader.objects.update_or_create(user=user, defaults={"language": language})


def content_of(digest: Digest) -> selectors.DigestContent:
    advisor = digest.recipient if digest.scope == Digest.Scope.ADVISOR else None
    return selectors.content(digest.day, advisor=advisor)


def email_body(digest: Digest) -> str:
    """The plain-text e-mail, in the recipient's language, with the page's address."""
    with translation.override(language_of(digest.recipient)):
        return render_to_string(
            "digest/email.txt",
            {
                "digest": digest,
                "c": content_of(digest),
                "url": settings.SHOPCRM_PUBLIC_URL.rstrip("/") + page_url(digest),
            },
        )
