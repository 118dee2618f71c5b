"""Chinese first, English second: every user-facing string has its English."""

from pathlib import Path

import polib
from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_every_string_has_english():
    po = polib.pofile(str(PO))
    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    assert untranslated == [] and fuzzy == []
    assert len(po) > 200


def test_placeholders_survive_translation():
    import re

    po = polib.pofile(str(PO))
    for entry in po:
        if entry.msgid_plural:
            continue
        assert sorted(re.findall(r"%\(\w+\)s", entry.msgid)) == sorted(
            re.findall(r"%\(\w+\)s", entry.msgstr)
        ), entry.msgid


def test_the_compiled_catalogue_is_used():
    from visits.models import Visit

    with translation.override("en"):
        assert str(Visit.Status.QUALITY_CHECK.label) == "Quality check"
    with translation.override("zh-hans"):
        assert str(Visit.Status.QUALITY_CHECK.label) == "质检中"
