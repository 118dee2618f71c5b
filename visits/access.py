"""Who may see and do what with visits and appointments, and loading them by id."""

from shopcrm.access import find_for, has_perm, object_for

from .models import Appointment, Visit

VIEW = "visits.view_visit"
CHECK_IN = "visits.add_visit"
CHANGE = "visits.change_visit"
VIEW_APPOINTMENT = "visits.view_appointment"
ADD_APPOINTMENT = "visits.add_appointment"
CHANGE_APPOINTMENT = "visits.change_appointment"


def can_change_visit(user, visit) -> bool:
    return has_perm(user, CHANGE)


def visit_for(user, pk, *, permission: str = VIEW) -> Visit:
    allowed = (lambda user, visit: can_change_visit(user, visit)) if permission == CHANGE else None
    return object_for(user, Visit, pk, permission=permission, allowed=allowed)


def appointment_for(user, pk, *, permission: str = VIEW_APPOINTMENT, booked: bool = False):
    appointments = (
        Appointment.objects.filter(status=Appointment.Status.BOOKED) if booked else Appointment
    )
    return object_for(user, appointments, pk, permission=permission)


def find_appointment(user, pk) -> Appointment | None:
    return find_for(user, Appointment, pk, permission=VIEW_APPOINTMENT)
