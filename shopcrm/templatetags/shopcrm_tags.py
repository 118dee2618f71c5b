from django import template

from shopcrm.people import person_name

register = template.Library()


@register.filter
def person(user) -> str:
    """A staff member's name as the shop writes it (``shopcrm.people.person_name``)."""
    return person_name(user)
