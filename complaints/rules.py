"""The complaint's lifecycle, with no database: where a complaint may go from each status."""

from .models import Complaint

S = Complaint.Status

# The lifecycle: from each status, where a complaint may go next.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.NEW: (S.ACKNOWLEDGED,),
    S.ACKNOWLEDGED: (S.IN_PROGRESS, S.RESOLVED),
    S.IN_PROGRESS: (S.RESOLVED,),
    S.RESOLVED: (S.CLOSED, S.IN_PROGRESS),  # closed, or reopened
    S.CLOSED: (S.IN_PROGRESS,),  # reopened
}


def allowed_transitions(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())
