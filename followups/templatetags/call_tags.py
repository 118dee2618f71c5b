"""How the call screen shows survey scores: each with its scale ("5/10", "4/5", CSI
"72/100"), so an agent never reads a 5 out of 10 as top marks."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()

NPS_MAX = 10
SCALE_MAX = 5
CSI_MAX = 100


def _out_of(value, top: int) -> str:
    return "—" if value is None else f"{value}/{top}"


@register.filter
def nps_score(value) -> str:
    """The 0–10 recommendation answer: "5/10"."""
    return _out_of(value, NPS_MAX)


@register.filter
def csi_score(value) -> str:
    """The response's CSI (0–100), whole points: "72/100"."""
    return _out_of(None if value is None else round(value), CSI_MAX)


@register.filter
def answer_value(answer) -> str:
    """One answer as said on the phone: a scale answer "4/5", an NPS answer "5/10", yes or
    no in words, the text otherwise."""
    kind, value = answer.question.kind, answer.value
    if value is None:
        return answer.text or "—"
    if kind == "scale":
        return _out_of(value, SCALE_MAX)
    if kind == "nps":
        return _out_of(value, NPS_MAX)
    if kind == "yes_no":
        return _("是") if value else _("否")
    return answer.text or str(value)
