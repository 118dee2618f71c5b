"""Staff are named one way everywhere (李娜: family name first, no space; "Anna Li" for Latin
names; the username only when no name is set): pages, the complaint timeline, every export
and every staff drop-down, which lists staff in the order of those names."""

import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template

from shopcrm.people import person_name

# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("first", "last", "name"),
    [
        ("娜", "李", "李娜"),
        (" 娜 ", " 李", "李娜"),
        ("Anna", "Li", "Anna Li"),
        ("Anna", "", "Anna"),
        ("", "李", "李"),
        ("", "", "advisor1"),
        ("  ", "", "advisor1"),
    ],
)
def test_a_person_is_named_family_name_first_only_in_chinese(first, last, name):
    user = get_user_model()(username="advisor1", first_name=first, last_name=last)
    shown = Template("{% load shopcrm_tags %}{{ user|person }}").render(Context({"user": user}))
    assert person_name(user) == shown == name


def test_nobody_has_no_name():
    assert person_name(None) == ""
