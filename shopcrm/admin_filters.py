"""List filters of the Django admin that name people as the shop does (shopcrm.people)."""

from django.contrib import admin

from .people import person_name


class PersonListFilter(admin.RelatedFieldListFilter):
    """A filter on a member of staff (an advisor, an agent): 李娜, surname first, in the
    order of the names, instead of usernames."""

    def field_choices(self, field, request, model_admin):
        users = field.related_model._default_manager.filter(
            pk__in=model_admin.get_queryset(request)
            .exclude(**{f"{field.name}__isnull": True})
            .values(field.name)
        ).order_by("last_name", "first_name", "username")
        return [(user.pk, person_name(user)) for user in users]


def person_column(model, field: str):
    """A change-list column naming the member of staff in ``field`` (李娜, not a username),
    under the field's own heading and sorting by it."""

    @admin.display(description=model._meta.get_field(field).verbose_name, ordering=field)
    def column(obj):
        return person_name(getattr(obj, field))

    column.__name__ = f"{field}_name"
    return column
