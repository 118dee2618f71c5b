"""What a follow-up task is about — its source — built and read in one place. A task is
unique per (kind, source key) (FollowUpTask.source_key), so the key is the business key that
makes a sweep or a retry create nothing twice:

    visit:<id>                      the three-day call after that delivery
    vehicle:<id>:<due day>          the maintenance reminder for that predicted service
    customer:<id>:<last visit day>  the win-back for that lapse
    survey_response:<id>            the service-recovery call for that alert
    complaint:<id>:<round>          the callback after that resolution round
    recommendation:<id>             the call about that declined or deferred work
    appointment:<id>                the call after that missed appointment (no-show)
    campaign:<id>:<customer id>     the campaign's call to that customer (campaigns)
"""

from dataclasses import dataclass
from datetime import date

VISIT = "visit"
VEHICLE = "vehicle"
CUSTOMER = "customer"
SURVEY_RESPONSE = "survey_response"
COMPLAINT = "complaint"
RECOMMENDATION = "recommendation"
APPOINTMENT = "appointment"
CAMPAIGN = "campaign"


@dataclass(frozen=True)
class Source:
    kind: str
    pk: int
    detail: str = ""  # the due day, the last visit day or the resolution round

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.pk}:{self.detail}" if self.detail else f"{self.kind}:{self.pk}"

    @classmethod
    def parse(cls, key: str) -> "Source | None":
        """The source a key names; None for a key of another shape."""
        kind, _sep, rest = (key or "").partition(":")
        pk, _sep, detail = rest.partition(":")
        if not kind or not pk.isdigit():
            return None
        return cls(kind, int(pk), detail)

    def is_a(self, kind: str) -> bool:
        return self.kind == kind


def of_visit(visit_id: int) -> Source:
    return Source(VISIT, visit_id)


def of_vehicle_service(vehicle_id: int, due: date) -> Source:
    return Source(VEHICLE, vehicle_id, due.isoformat())


def of_lapse(customer_id: int, last_day: date) -> Source:
    return Source(CUSTOMER, customer_id, last_day.isoformat())


def of_survey_response(response_id: int) -> Source:
    return Source(SURVEY_RESPONSE, response_id)


def of_complaint_round(complaint_id: int, round_: int) -> Source:
    return Source(COMPLAINT, complaint_id, str(round_))


def of_recommendation(recommendation_id: int) -> Source:
    return Source(RECOMMENDATION, recommendation_id)


def of_missed_appointment(appointment_id: int) -> Source:
    return Source(APPOINTMENT, appointment_id)


def of_campaign_contact(campaign_id: int, customer_id: int) -> Source:
    return Source(CAMPAIGN, campaign_id, str(customer_id))
