"""CSV (with a BOM, so Excel opens Chinese correctly) and XLSX answers for any table.

Text that a spreadsheet would read as a formula (a customer's name or a complaint written
as "=HYPERLINK(…)", "+…", "-…", "@…") is written with a leading apostrophe, so opening an
export never runs anything (OWASP's CSV injection advice). Numbers and dates stay as they
are."""

import csv
import io
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def table_response(
    *, name: str, header: list, rows, fmt: str, sheet: str | None = None
) -> HttpResponse:
    """``rows``: any iterable of lists; ``name`` the file's name (with today's date);
    ``sheet`` the XLSX sheet's title (default: the name)."""
    stamp = timezone.localdate().isoformat()
    header = [str(label) for label in header]
    if fmt == "xlsx":
        return workbook_response(name=name, sheets=[(sheet or name, header, rows)])
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return response


def workbook_response(*, name: str, sheets) -> HttpResponse:
    """An XLSX answer of several sheets: ``sheets`` is (title, header, rows) each, titles
    unique (Excel keeps 31 characters of them)."""
    from openpyxl import Workbook

    stamp = timezone.localdate().isoformat()
    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        worksheet = book.create_sheet(str(title)[:31])
        worksheet.append([str(label) for label in header])
        for row in rows:
            worksheet.append([safe_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.xlsx"'
    return response


def json_response(*, name: str, data) -> HttpResponse:
    """A JSON file to download (UTF-8, Chinese as characters, indented)."""
    stamp = timezone.localdate().isoformat()
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.json"'
    return response
