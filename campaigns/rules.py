"""The campaigns' rules with no database: the message template's placeholders, and reading
a VIN file into lines (decoding, header, duplicates, format). Tests call them directly."""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.validators import normalize_vin, vin_check_digit

PLACEHOLDERS = ("shop", "plate", "model", "link")
PLACEHOLDER_HELP = gettext_lazy(
    "可用占位符：{shop} 店名，{plate} 车牌，{model} 车型，{link} 在线预约链接（按产能预约）。"
    "营销消息末尾自动加“回复 T 退订”。"
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
OPT_OUT = "回复 T 退订"

MAX_VIN_FILE_BYTES = 1024 * 1024  # 1 MB: ~50,000 VINs, more than any recall list of a shop
MAX_VIN_LINES = 20000
_SEPARATORS = re.compile(r"[,\t;，；|]")
_HEADER_WORDS = ("VIN", "车架", "车辆识别")


def template_errors(template: str) -> list[str]:
    """What is wrong with a message template (empty when nothing)."""
    unknown = sorted({name for name in _PLACEHOLDER.findall(template) if name not in PLACEHOLDERS})
    errors = []
    if unknown:
        errors.append(
            _("消息模板中有未知的占位符：%(names)s（可用：%(known)s）。")
            % {
                "names": "、".join("{" + name + "}" for name in unknown),
                "known": "、".join("{" + name + "}" for name in PLACEHOLDERS),
            }
        )
    if template.count("{") != template.count("}"):
        errors.append(_("消息模板中的花括号不成对。"))
    return errors


def render_message(template: str, values: dict, *, marketing: bool) -> str:
    """The template with its placeholders filled; a marketing message ends with the opt-out."""
    body = _PLACEHOLDER.sub(lambda found: str(values.get(found.group(1), "")), template).strip()
    if marketing and OPT_OUT not in body:
        body = f"{body} {OPT_OUT}"
    return body


@dataclass
class VinLines:
    """A VIN file read: ``good`` [(line number, VIN)], ``bad`` [(line number, text, reason)]."""

    good: list[tuple[int, str]] = field(default_factory=list)
    bad: list[tuple[int, str, str]] = field(default_factory=list)


def decode_vin_file(content: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM) or GBK; anything else is refused."""
    if not content.strip():
        raise ValidationError(_("VIN 文件是空的。"), code="vin_file_empty")
    if len(content) > MAX_VIN_FILE_BYTES:
        raise ValidationError(
            _("VIN 文件太大（最大 %(size)s KB）。") % {"size": MAX_VIN_FILE_BYTES // 1024},
            code="vin_file_too_large",
        )
    if b"\x00" in content:
        raise ValidationError(
            _("VIN 文件不是文本文件（请上传每行一个 VIN 的 CSV 或 TXT）。"), code="vin_file_binary"
        )
    for encoding in ("utf-8-sig", "gbk"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(
        _("无法识别 VIN 文件的编码，请另存为 UTF-8 或 GBK 编码的 CSV/TXT。"),
        code="vin_file_encoding",
    )


def read_vin_lines(text: str) -> VinLines:
    """One VIN per line, in the first column (extra columns, separated by comma, tab or
    semicolon, are ignored); blank lines are skipped; the first non-blank line is a header
    when its first column names the VIN (VIN, 车架号…). Each other line is good or bad:
    malformed (the VIN rules: 17 characters, no I/O/Q), or a duplicate of an earlier line.
    The check digit is ``check_digit_error``'s, asked by the caller."""
    lines = text.splitlines()
    if len(lines) > MAX_VIN_LINES:
        raise ValidationError(
            _("VIN 文件行数太多（最多 %(lines)s 行）。") % {"lines": MAX_VIN_LINES},
            code="vin_file_too_long",
        )
    result, first_line_of, header_seen = VinLines(), {}, False
    for number, raw in enumerate(lines, start=1):
        cell = _SEPARATORS.split(raw, maxsplit=1)[0].strip().strip("\"'")
        if not cell:
            continue
        if not header_seen:
            header_seen = True
            if any(word in cell.upper() for word in _HEADER_WORDS):
                continue
        shown = cell[:40]
        try:
            # A wrong check digit is the shop's recorded exception for some imported cars:
            # the services accept it for a car the shop holds and call it malformed otherwise.
            vin = normalize_vin(cell, allow_bad_check_digit=True)
        except ValidationError as error:
            result.bad.append((number, shown, _("格式错误：%(why)s") % {"why": error.messages[0]}))
            continue
        if vin in first_line_of:
            result.bad.append(
                (number, shown, _("与第 %(line)s 行重复") % {"line": first_line_of[vin]})
            )
            continue
        first_line_of[vin] = number
        result.good.append((number, vin))
    return result


def check_digit_error(vin: str) -> str:
    """Why a VIN's check digit is wrong ("" when it is right)."""
    expected = vin_check_digit(vin)
    if vin[8] == expected:
        return ""
    return _("格式错误：第 9 位校验位应为 %(expected)s，实际为 %(actual)s") % {
        "expected": expected,
        "actual": vin[8],
    }
