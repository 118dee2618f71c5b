"""Model constraints a user can hit (an administrator editing a policy in the admin, a form
that validates the model) answer with a clear message on the field it is about, not
Django's "Constraint “policy_calling_hours_order” is violated".

A model lists ``constraint_fields`` (constraint name → the field its message belongs on) and
inherits ``ConstraintErrorsOnFields``; each such constraint carries its
``violation_error_message`` where it is declared."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class ConstraintErrorsOnFields:
    constraint_fields: dict[str, str] = {}

    def validate_constraints(self, exclude=None):
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            raise _on_fields(error, self.constraint_fields, exclude or set()) from None


def _on_fields(error: ValidationError, fields: dict[str, str], exclude) -> ValidationError:
    moved: dict[str, list] = {}
    for field, errors in error.error_dict.items():
        for item in errors:
            target = fields.get(item.code, field) if field == NON_FIELD_ERRORS else field
            if target in exclude:  # not on the form: said at the top instead
                target = NON_FIELD_ERRORS
            moved.setdefault(target, []).append(item)
    return ValidationError(moved)
