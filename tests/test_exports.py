"""Every CSV/XLSX export goes through shopcrm.exports: Chinese opens in Excel, and text that
a spreadsheet would run as a formula is written as text."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from shopcrm.exports import safe_cell, table_response
from tests.factories import CustomerFactory, VisitFactory
from visits.models import Visit


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+8613800000000", "'+8613800000000"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("张三", "张三"),
        ("", ""),
        (-20, -20),
        (Decimal("-1.5"), Decimal("-1.5")),
        (None, None),
        (date(2026, 11, 23), date(2026, 11, 23)),
    ],
)
def test_formula_text_is_neutralised_and_nothing_else(value, written):
    assert safe_cell(value) == written


def test_csv_and_xlsx_write_formulas_as_text():
    rows = [["=1+2", -3, "客户"]]
    body = table_response(name="t", header=["甲", "乙", "丙"], rows=rows, fmt="csv").content
    assert body.decode("utf-8-sig").splitlines() == ["甲,乙,丙", "'=1+2,-3,客户"]
    xlsx = table_response(name="t", header=["甲", "乙", "丙"], rows=rows, fmt="xlsx", sheet="表")
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = next(book["表"].iter_rows(min_row=2, values_only=True))
    assert cells == ("'=1+2", -3, "客户")
    assert book["表"]["A2"].data_type == "s"  # text, not a formula


@pytest.mark.django_db
def test_a_customer_named_like_a_formula_exports_as_text(manager_client):
    customer = CustomerFactory(name="=cmd|' /C calc'!A0")
    moment = timezone.now() - timedelta(days=500)
    VisitFactory(
        vehicle__owner=customer,
        status=Visit.Status.DELIVERED,
        checked_in_at=moment - timedelta(hours=2),
        delivered_at=moment,
    )
    exported = manager_client.get(reverse("reports:customers_csv"), {"state": "lapsed"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[1][0] == "'=cmd|' /C calc'!A0"
