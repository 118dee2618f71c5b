"""Normalise and validate what people type: phone numbers, VINs and Chinese plates.

Each ``normalize_*`` returns the canonical form or raises ``ValidationError`` with a
translatable message. Forms, services and the DMS sync all call these, so a value is
judged the same wherever it comes from.
"""

import re
import unicodedata
from datetime import date

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# ---------------------------------------------------------------- phone numbers

_PHONE_NOISE = re.compile(r"[\s\-().·/]")
_CN_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def normalize_phone(value: str) -> str:
    """A Chinese mobile or landline number in any common spelling -> E.164 (+86…)."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    text = _PHONE_NOISE.sub("", text)
    if text.startswith("0086"):
        text = "+86" + text[4:]
    if not text:
        raise ValidationError(_("请填写电话号码。"), code="phone_required")
    if not re.fullmatch(r"\+?\d+", text):
        raise ValidationError(
            _("电话号码只能包含数字（可带 +86 前缀）：%(value)s"),
            code="phone_format",
            params={"value": value},
        )
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("不是有效的手机号或固定电话（固话请带区号）：%(value)s"),
            code="phone_invalid",
            params={"value": value},
        ) from exc
    if phonenumbers.region_code_for_number(number) != "CN":
        raise ValidationError(
            _("请填写中国大陆的手机号或固定电话：%(value)s"),
            code="phone_not_cn",
            params={"value": value},
        )
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _CN_TYPES
    ):
        raise ValidationError(
            _("不是有效的手机号或固定电话（固话请带区号）：%(value)s"),
            code="phone_invalid",
            params={"value": value},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """+8613812345678 -> 138****5678; landlines keep the area code and last four."""
    if not e164:
        return ""
    national = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    if len(national) <= 7:
        return national[:2] + "*" * (len(national) - 4) + national[-4:]
    return national[:3] + "****" + national[-4:]


def display_phone(e164: str) -> str:
    """The national spelling a Chinese user reads: 13812345678 or 010-12345678."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, "CN")
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE:
        return str(number.national_number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL).replace(
        " ", "-"
    )


# ---------------------------------------------------------------- VIN (ISO 3779 / GB 16735)

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


class VinCheckDigitError(ValidationError):
    """The VIN is well formed but its check digit (9th character) does not match."""


def vin_check_digit(vin: str) -> str:
    """The check digit a 17-character VIN should carry in position 9."""
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def clean_vin_text(value: str) -> str:
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", str(value or ""))).upper()


def normalize_vin(value: str, *, allow_bad_check_digit: bool = False) -> str:
    """Upper-case a VIN and verify it: 17 characters, no I/O/Q, check digit in position 9.

    ``allow_bad_check_digit`` is the advisor's recorded override for an imported car
    whose VIN follows no check-digit scheme; every other rule still applies.
    """
    vin = clean_vin_text(value)
    if not vin:
        raise ValidationError(_("请填写车架号（VIN）。"), code="vin_required")
    if len(vin) != 17:
        raise ValidationError(
            _("车架号（VIN）必须是 17 位，现在是 %(length)s 位。"),
            code="vin_length",
            params={"length": len(vin)},
        )
    forbidden = sorted({ch for ch in vin if ch in "IOQ"})
    if forbidden:
        raise ValidationError(
            _("车架号（VIN）不能包含字母 I、O、Q（发现：%(chars)s），请核对是否为数字 1 或 0。"),
            code="vin_forbidden_letter",
            params={"chars": "、".join(forbidden)},
        )
    if any(ch not in VIN_ALPHABET for ch in vin):
        raise ValidationError(_("车架号（VIN）只能包含字母和数字。"), code="vin_characters")
    expected = vin_check_digit(vin)
    if vin[8] != expected and not allow_bad_check_digit:
        raise VinCheckDigitError(
            _(
                "车架号（VIN）校验位不符：第 9 位应为 %(expected)s，实际为 %(actual)s。"
                "请核对车架号；进口车如确实如此，可勾选“确认校验位例外”。"
            ),
            code="vin_check_digit",
            params={"expected": expected, "actual": vin[8]},
        )
    return vin


# ---------------------------------------------------------------- licence plates

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTER = "A-HJ-NP-Z"
_PLATE_CHAR = "A-HJ-NP-Z0-9"
PLATE_PATTERNS = (
    # Ordinary blue/yellow plates: 京A12345, 粤B1234挂, 沪A1234学
    re.compile(
        rf"^[{PROVINCES}][{_PLATE_LETTER}][{_PLATE_CHAR}]{{4}}[{_PLATE_CHAR}挂学警港澳领试超]$"
    ),
    # New-energy small cars: 粤BD12345, 京AF1A234 (D electric, F other new energy)
    re.compile(rf"^[{PROVINCES}][{_PLATE_LETTER}][DF][{_PLATE_CHAR}]\d{{4}}$"),
    # New-energy large vehicles: 沪A12345D
    re.compile(rf"^[{PROVINCES}][{_PLATE_LETTER}]\d{{5}}[DF]$"),
)
_PLATE_NOISE = re.compile(r"[\s.·•・\-_]")


def clean_plate_text(value: str) -> str:
    """Full-width to half-width, upper case, spaces and dots removed."""
    return _PLATE_NOISE.sub("", unicodedata.normalize("NFKC", str(value or ""))).upper()


def normalize_plate(value: str) -> str:
    plate = clean_plate_text(value)
    if not plate:
        raise ValidationError(_("请填写车牌号。"), code="plate_required")
    if plate[0] not in PROVINCES:
        raise ValidationError(
            _("车牌号应以省份简称开头（如 京、沪、粤）：%(value)s"),
            code="plate_province",
            params={"value": value},
        )
    if not any(pattern.match(plate) for pattern in PLATE_PATTERNS):
        raise ValidationError(
            _(
                "不是有效的车牌号：%(value)s"
                "（普通车牌 7 位，如 京A12345；新能源 8 位，如 粤BD12345）"
            ),
            code="plate_invalid",
            params={"value": value},
        )
    return plate


def looks_like_plate(text: str) -> bool:
    plate = clean_plate_text(text)
    return bool(plate) and any(pattern.match(plate) for pattern in PLATE_PATTERNS)


# ---------------------------------------------------------------- the vehicle's facts

MODEL_YEAR_FIRST = 1950
ODOMETER_MAX_KM = 2_000_000


def model_year_last() -> int:
    """A model year runs at most one year ahead of the calendar."""
    return timezone.localdate().year + 1


def check_model_year(year: int | None) -> None:
    if year is not None and not (MODEL_YEAR_FIRST <= year <= model_year_last()):
        raise ValidationError(
            _("年款应在 %(first)s 到 %(last)s 之间。")
            % {"first": MODEL_YEAR_FIRST, "last": model_year_last()}
        )


def check_registration_date(day: date | None) -> None:
    if day and day > timezone.localdate():
        raise ValidationError(_("上牌日期不能晚于今天。"))
