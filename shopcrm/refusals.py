"""One way to refuse.

Services refuse with a DomainError (a business rule said no; DuplicateFound offers the record
that exists) or Django's ValidationError (what is wrong with which field). Callers never
write their own except blocks for these:

- pages use `RefusalMixin.attempt`, which runs the service and puts a refusal on the form
  (field errors on their fields, the rest at the top) or, without a form, in the page's
  messages;
- the REST API uses `api_exception_handler` (settings REST_FRAMEWORK), which answers a 400
  with the field errors (`{"field": ["message"]}`, `detail` for a rule's message).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, DuplicateFound


class Refused:
    """What `attempt` returns when the service refused (its result may legitimately be None)."""

    def __bool__(self):
        return False

    def __repr__(self):
        return "REFUSED"


REFUSED = Refused()


def errors_of(error: Exception, field_map: dict | None = None) -> dict[str | None, list[str]]:
    """{field or None: [messages]} of a refusal; ``field_map`` renames a service's field to
    the form's (None: not a field of its own)."""
    field_map = field_map or {}
    if isinstance(error, DomainError):
        field = field_map.get(error.field, error.field) if error.field else None
        return {field: [str(error.message)]}
    if hasattr(error, "error_dict"):
        return {
            field_map.get(name, name): list(found) for name, found in error.message_dict.items()
        }
    return {None: list(error.messages)}


def message_of(error: Exception) -> str:
    return "; ".join(message for found in errors_of(error).values() for message in found)


def put_on_form(form, error: Exception, field_map: dict | None = None) -> None:
    """A refusal's messages on the form: on their field when the form has it, else on top."""
    for field, found in errors_of(error, field_map).items():
        form.add_error(field if field in form.fields else None, found)


class RefusalMixin:
    """For class-based views: run a service, and show a refusal where the user looks.

    ``field_map`` renames the services' fields to the form's. After a refusal,
    ``self.refusal`` is the error and ``self.duplicate`` the record a DuplicateFound offered
    (to show "use this one")."""

    field_map: dict = {}
    duplicate = None
    refusal = None

    def attempt(
        self,
        service,
        /,
        *,
        form=None,
        rules_as_messages: bool = False,
        level: int = messages.ERROR,
        **kwargs,
    ):
        """``service(**kwargs)``'s result, or REFUSED after putting the refusal on ``form``
        (or in the messages at ``level``, when there is no form, or for a DomainError when
        ``rules_as_messages``: the form keeps only its field errors)."""
        try:
            return service(**kwargs)
        except (DomainError, ValidationError) as error:
            self.refusal = error
            if isinstance(error, DuplicateFound):
                self.duplicate = error.existing
            to_messages = form is None or (rules_as_messages and isinstance(error, DomainError))
            if to_messages:
                messages.add_message(self.request, level, message_of(error))
            else:
                put_on_form(form, error, self.field_map)
            return REFUSED


def api_exception_handler(error, context):
    """DRF's handler, plus: a DomainError or a Django ValidationError from a service is a
    400 with field errors, never a 500."""
    if isinstance(error, DomainError | ValidationError):
        body = {(field or "non_field_errors"): found for field, found in errors_of(error).items()}
        if isinstance(error, DomainError):
            body["detail"] = str(error.message)
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(error, context)
