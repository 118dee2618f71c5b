"""Domain errors: raised by services, turned into a form error or a 400 by the caller."""


class DomainError(Exception):
    """A business rule refused the operation; ``message`` is translatable and user-facing."""

    def __init__(self, message, *, code: str = "refused", field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.field = field


class DuplicateFound(DomainError):
    """The record already exists; ``existing`` is offered to the user instead."""

    def __init__(self, message, *, existing, field: str):
        super().__init__(message, code="duplicate", field=field)
        self.existing = existing
