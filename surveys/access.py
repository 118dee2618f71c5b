"""Who may read and export survey responses, and loading one by id (pages, exports and the
API's read-back). The customer's own page needs no login: its token is the key."""

from shopcrm.access import has_perm, object_for

from .models import SurveyResponse

VIEW = "surveys.view_surveyresponse"
EXPORT = "surveys.export_surveyresponse"


def can_export(user) -> bool:
    return has_perm(user, EXPORT)


def response_for(user, pk, *, queryset=None) -> SurveyResponse:
    return object_for(user, SurveyResponse if queryset is None else queryset, pk, permission=VIEW)
