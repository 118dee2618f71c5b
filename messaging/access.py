"""Who may see the outbox: administrators, in the Django admin (no page of its own, so
the admin's model permissions are the check; nothing is loaded by id outside it)."""

VIEW = "messaging.view_message"
