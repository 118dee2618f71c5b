"""Create the API client NAME (or rotate its token) and print only the token, once."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from api.services import api_token_rotate
from shopcrm import roles


class Command(BaseCommand):
    help = "Create the API client NAME or rotate its token; prints only the token."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", default=roles.DMS_CLIENT, choices=sorted(roles.ROLE_LABELS))
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Days until the token expires."
        )

    @transaction.atomic
    def handle(self, *args, name, role, expires_days, **options):
        name = name.strip()
        if not name or len(name) > 150:
            raise CommandError("NAME must be 1 to 150 characters.")
        if expires_days is not None and not 1 <= expires_days <= 3650:
            raise CommandError("--expires-days must be 1 to 3650.")
        group = Group.objects.filter(name=role).first()
        if group is None:
            raise CommandError(f"Role {role} does not exist; run migrate first.")
        user, created = get_user_model().objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()  # a token client never logs in to the browser
            user.save()
        user.groups.set([group])
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        _token, key = api_token_rotate(user=user, expires_at=expires_at)  # the old one stops
        self.stdout.write(key)  # shown this once: only its SHA-256 is stored
