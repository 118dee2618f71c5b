"""Events of the outbox, for the apps whose messages they are (messaging imports none of
them). Sent inside the transaction that changes the message; a receiver gets ``message``
(its ``purpose`` and ``object_key`` say what it was about, e.g. "survey_invitation:7").

- ``message_gave_up``: the last try failed; the message is not delivered.
- ``message_retried``: a manager sent a message that gave up again.
"""

from django.dispatch import Signal

message_gave_up = Signal()
message_retried = Signal()
