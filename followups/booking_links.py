"""The booking link a maintenance reminder or a win-back message carries (issue 18):
/book/v/<token>/ opens the booking page for that vehicle with the suggested day picked, and
sends the one-time code to the vehicle owner's mobile (shown masked). The token is signed
with the secret key (not stored): it names the vehicle and the day, and stops working
LINK_DAYS after it was made. It only lets its holder ask for a code to the owner's phone."""

from datetime import date, datetime

from django.conf import settings
from django.core import signing

SALT = "shopcrm.booking-link"
LINK_DAYS = 60


def booking_link(*, vehicle_id: int, suggested: date) -> str:
    token = signing.TimestampSigner(salt=SALT).sign(f"{vehicle_id}.{suggested:%Y%m%d}")
    return f"{settings.SHOPCRM_PUBLIC_URL.rstrip('/')}/book/v/{token}/"


def read_booking_token(token: str) -> tuple[str, int | None, date | None]:
    """("ok", vehicle id, suggested day), ("expired", None, None) or ("invalid", None, None)."""
    if not token or len(token) > 200:
        return "invalid", None, None
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=LINK_DAYS * 86400)
    except signing.SignatureExpired:
        return "expired", None, None
    except signing.BadSignature:
        return "invalid", None, None
    vehicle_id, _dot, day = value.partition(".")
    try:
        return "ok", int(vehicle_id), datetime.strptime(day, "%Y%m%d").date()
    except ValueError:
        return "invalid", None, None
