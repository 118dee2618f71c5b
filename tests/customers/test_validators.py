"""The validators: examples a desk meets every day, and properties checked by hypothesis."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from customers.validators import (
    PROVINCES,
    VIN_ALPHABET,
    VinCheckDigitError,
    display_phone,
    looks_like_plate,
    mask_phone,
    normalize_phone,
    normalize_plate,
    normalize_vin,
    vin_check_digit,
)

# ---------------------------------------------------------------- phones


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "0086 13812345678",
        "+86-138-1234-5678",
        "１３８１２３４５６７８",
        " 13812345678 ",
    ],
)
def test_mobile_spellings_normalise_to_e164(typed):
    assert normalize_phone(typed) == "+8613812345678"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("010-12345678", "+861012345678"),
        ("(0755) 2345 6789", "+8675523456789"),
        ("+86 21 6123 4567", "+862161234567"),
    ],
)
def test_landlines_with_area_code_are_accepted(typed, expected):
    assert normalize_phone(typed) == expected


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "phone_required"),
        ("1381234567", "phone_invalid"),
        ("12345", "phone_invalid"),
        ("138123456789", "phone_invalid"),
        ("abc", "phone_format"),
        ("+1 650 253 0000", "phone_not_cn"),
        ("+852 9123 4567", "phone_not_cn"),
        ("138-1234-567x", "phone_format"),
    ],
)
def test_bad_phones_are_refused_with_a_reason(typed, code):
    with pytest.raises(ValidationError) as info:
        normalize_phone(typed)
    assert info.value.code == code


def test_phone_message_is_chinese_first_and_english_on_request():
    with pytest.raises(ValidationError) as info:
        normalize_phone("12345")
    with translation.override("zh-hans"):
        assert "不是有效的手机号" in info.value.messages[0]
    with translation.override("en"):
        assert "not a valid mobile or landline" in info.value.messages[0]


def test_masking_and_display():
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("+861012345678") == "101****5678"
    assert display_phone("+8613812345678") == "13812345678"
    assert display_phone("+861012345678") == "010-1234-5678"


MOBILE_PREFIXES = ["130", "135", "138", "139", "150", "158", "186", "188", "177"]


@given(
    prefix=st.sampled_from(MOBILE_PREFIXES),
    rest=st.integers(0, 10**8 - 1),
    style=st.sampled_from(["plain", "spaces", "dashes", "plus86", "0086", "fullwidth"]),
)
def test_any_spelling_of_a_mobile_gives_the_same_e164(prefix, rest, style):
    digits = f"{prefix}{rest:08d}"
    typed = {
        "plain": digits,
        "spaces": f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        "dashes": f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
        "plus86": f"+86 {digits}",
        "0086": f"0086{digits}",
        "fullwidth": digits.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    }[style]
    e164 = normalize_phone(typed)
    assert e164 == f"+86{digits}"
    assert normalize_phone(e164) == e164  # idempotent
    assert mask_phone(e164) == f"{digits[:3]}****{digits[-4:]}"


@given(st.text(max_size=20))
def test_phone_normaliser_never_crashes(text):
    try:
        result = normalize_phone(text)
    except ValidationError:
        return
    assert result.startswith("+86")


# ---------------------------------------------------------------- VIN


def test_known_valid_vins():
    assert normalize_vin("1M8GDM9AXKP042788") == "1M8GDM9AXKP042788"  # check digit X
    assert normalize_vin("1m8gdm9axkp042788") == "1M8GDM9AXKP042788"
    assert vin_check_digit("11111111111111111") == "1"


def test_vin_rules_give_each_its_own_message():
    with pytest.raises(ValidationError) as info:
        normalize_vin("LSV123")
    assert info.value.code == "vin_length"
    with pytest.raises(ValidationError) as info:
        normalize_vin("1M8GDM9AXKP04278O")
    assert info.value.code == "vin_forbidden_letter"
    assert "O" in info.value.messages[0]
    with pytest.raises(VinCheckDigitError) as info:
        normalize_vin("1M8GDM9A1KP042788")
    assert "X" in info.value.messages[0]


def test_override_accepts_a_wrong_check_digit_but_nothing_else():
    assert normalize_vin("1M8GDM9A1KP042788", allow_bad_check_digit=True) == "1M8GDM9A1KP042788"
    with pytest.raises(ValidationError):
        normalize_vin("1M8GDM9A1KP04278I", allow_bad_check_digit=True)


vin_body = st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17)


def with_check_digit(body: str) -> str:
    return body[:8] + vin_check_digit(body) + body[9:]


@given(vin_body, st.booleans(), st.booleans())
def test_a_vin_with_its_check_digit_passes_in_any_case_and_spacing(body, lower, spaced):
    vin = with_check_digit(body)
    typed = vin.lower() if lower else vin
    if spaced:
        typed = f" {typed[:3]} {typed[3:9]}-{typed[9:]} "
    assert normalize_vin(typed) == vin


@given(vin_body, st.integers(0, 16), st.sampled_from(VIN_ALPHABET))
def test_changing_one_character_is_caught_unless_it_keeps_the_sum(body, position, char):
    vin = with_check_digit(body)
    changed = vin[:position] + char + vin[position + 1 :]
    if changed == vin:
        return
    if vin_check_digit(changed) == changed[8]:
        return  # a transliteration collision (A and J both count 1): no checksum catches it
    with pytest.raises(VinCheckDigitError):
        normalize_vin(changed)


@given(vin_body, st.sampled_from("IOQ"), st.integers(0, 16))
def test_i_o_q_are_never_accepted(body, letter, position):
    vin = with_check_digit(body)
    with pytest.raises(ValidationError) as info:
        normalize_vin(vin[:position] + letter + vin[position + 1 :], allow_bad_check_digit=True)
    assert info.value.code == "vin_forbidden_letter"


# ---------------------------------------------------------------- plates


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("京A12345", "京A12345"),
        ("京a·12345", "京A12345"),
        ("粤 B 1234 5", "粤B12345"),
        ("粤BD12345", "粤BD12345"),
        ("粤b.d12345", "粤BD12345"),
        ("沪A12345D", "沪A12345D"),
        ("京ADA1234", "京ADA1234"),
        ("粤Ｂ１２３４５", "粤B12345"),
        ("湘A1234挂", "湘A1234挂"),
    ],
)
def test_plates_normalise(typed, expected):
    assert normalize_plate(typed) == expected


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "plate_required"),
        ("A12345", "plate_province"),
        ("京A1234", "plate_invalid"),
        ("京A123456789", "plate_invalid"),
        ("京AI2345", "plate_invalid"),
        ("粤BX12345", "plate_invalid"),
        ("京12345A", "plate_invalid"),
    ],
)
def test_bad_plates_are_refused(typed, code):
    with pytest.raises(ValidationError) as info:
        normalize_plate(typed)
    assert info.value.code == code


PLATE_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
ordinary_plate = st.builds(
    lambda province, letter, tail: province + letter + tail,
    st.sampled_from(PROVINCES),
    st.sampled_from("ABCDEFGHJKLMNPRSTUVWXYZ"),
    st.text(alphabet=PLATE_CHARS, min_size=5, max_size=5),
)
new_energy_plate = st.builds(
    lambda province, letter, kind, char, digits: province + letter + kind + char + digits,
    st.sampled_from(PROVINCES),
    st.sampled_from("ABCDEFGHJKLMNPRSTUVWXYZ"),
    st.sampled_from("DF"),
    st.sampled_from(PLATE_CHARS),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)


def messy(plate: str, draw_choices) -> str:
    fullwidth = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in PLATE_CHARS})
    spaced = " ".join(plate) if draw_choices[0] else plate
    dotted = spaced[:2] + "·" + spaced[2:] if draw_choices[1] else spaced
    lowered = dotted.lower() if draw_choices[2] else dotted
    return lowered.translate(fullwidth) if draw_choices[3] else lowered


@given(st.one_of(ordinary_plate, new_energy_plate), st.tuples(*[st.booleans()] * 4))
def test_any_messy_spelling_of_a_plate_normalises_to_the_plate(plate, choices):
    typed = messy(plate, choices)
    assert normalize_plate(typed) == plate
    assert normalize_plate(plate) == plate  # idempotent
    assert looks_like_plate(typed)
    assert len(plate) in (7, 8)


@given(st.text(max_size=12))
def test_plate_normaliser_never_crashes(text):
    try:
        plate = normalize_plate(text)
    except ValidationError:
        return
    assert plate[0] in PROVINCES and len(plate) in (7, 8)
