"""Every text column of every table of the project is either erased with the customer
(privacy.inventory.SCRUBS) or declared not personal (NOT_PERSONAL): a new column has to be
classified before it ships."""

from django.apps import apps
from django.db import models

from privacy.inventory import DELETED_WHEN_MENTIONED, NOT_PERSONAL, SCRUBS
from tests.test_architecture import load_checker

LAYERS = load_checker().LAYERS


def text_columns() -> dict[str, set[str]]:
    found = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in LAYERS or meta.proxy or not meta.managed:
            continue
        columns = {
            field.name
            for field in meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField)
            and not field.choices
        }
        if columns:
            found[meta.label_lower] = columns
    return found


def classified() -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for scrub in SCRUBS:
        known.setdefault(scrub.label, set()).update(scrub.values)
        if scrub.history_owner is not None:
            history = scrub.model.history.model._meta.label_lower
            known.setdefault(history, set()).update(scrub.values)
    for table in (DELETED_WHEN_MENTIONED, NOT_PERSONAL):
        for label, columns in table.items():
            known.setdefault(label, set()).update(columns)
    return known


def test_every_text_column_is_classified():
    known = classified()
    unclassified = {
        label: sorted(columns - known.get(label, set()))
        for label, columns in text_columns().items()
        if columns - known.get(label, set())
    }
    assert unclassified == {}


def test_the_classification_names_only_real_columns():
    columns = text_columns()
    for label, names in NOT_PERSONAL.items():
        assert names <= columns.get(label, set()), label


def test_privacy_is_the_top_layer():
    assert LAYERS[-1] == "privacy"
