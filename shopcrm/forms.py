from django import forms
from django.forms.models import ModelChoiceIterator

from .people import person_name


class _ByName(ModelChoiceIterator):
    """The staff in the order of the names a manager reads, not by username: Latin names
    (and bare usernames) alphabetically, then Chinese ones in Unicode order, which is by
    radical and strokes."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        # Iterating the queryset itself (not .iterator()) reads it once per form, however
        # often a template walks the choices.
        staff = sorted(
            self.queryset, key=lambda user: (person_name(user).casefold(), user.username)
        )
        for user in staff:
            yield self.choice(user)


class StaffChoiceField(forms.ModelChoiceField):
    """A drop-down of staff labelled 李娜, not advisor1."""

    iterator = _ByName

    def label_from_instance(self, obj) -> str:
        return person_name(obj)


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Check boxes of staff, labelled and ordered as StaffChoiceField."""

    iterator = _ByName

    def label_from_instance(self, obj) -> str:
        return person_name(obj)
