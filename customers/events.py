"""The "contact withdrawn" event: a customer may no longer be contacted for something they
could be before (marked do-not-contact, consent withdrawn, or merged into a customer who
was). Apps that keep planned contact (the call queue, the outbox, survey invitations)
cancel what the contact rules now refuse, inside the same transaction as the change, so a
rolled-back change cancels nothing. The senders and the sweeps still ask the rules when
they act (customers.contact); this is the fast path that empties the queues at once.

Receivers: ``contact_withdrawn.connect(handler)``; a handler gets ``customer_ids`` (a set)
and must re-check the rules itself (the set is candidates, not verdicts)."""

from collections.abc import Iterable

from django.dispatch import Signal

contact_withdrawn = Signal()


def emit_contact_withdrawn(*, customer_ids: Iterable[int]) -> None:
    ids = set(customer_ids)
    if ids:
        contact_withdrawn.send(sender="customers", customer_ids=ids)
