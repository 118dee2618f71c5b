"""Fill locale/en from a {Chinese: English} table kept beside it (locale/en_table.py).

Run after `manage.py makemessages -l en`: new strings show up as missing, so nothing
user-facing goes untranslated silently (tests/test_translations.py checks it too)."""

import runpy
import sys
from pathlib import Path

import polib

root = Path(__file__).resolve().parent.parent
table = runpy.run_path(str(root / "locale" / "en_table.py"))
po = polib.pofile(str(root / "locale" / "en" / "LC_MESSAGES" / "django.po"))
missing = []
for entry in [e for e in po if e.obsolete]:
    po.remove(entry)  # strings no longer in the code
for entry in po:
    if entry.msgid_plural:
        pair = table["PLURALS"].get(entry.msgid)
        if pair:
            entry.msgstr_plural = {0: pair[0], 1: pair[1]}
        else:
            missing.append(entry.msgid)
    elif entry.msgid in table["EN"]:
        entry.msgstr = table["EN"][entry.msgid]
    else:
        missing.append(entry.msgid)
    if "fuzzy" in entry.flags:
        entry.flags.remove("fuzzy")
po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
po.metadata["Plural-Forms"] = "nplurals=2; plural=(n != 1);"
po.save()
if missing:
    print("Missing English for:", *missing, sep="\n  ")
    sys.exit(1)
print(f"English: {len(po)} strings translated.")
