"""Create the API client NAME (or rotate its token) and print only the token."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from shopcrm import roles


class Command(BaseCommand):
    help = "Create the API client NAME or rotate its token; prints only the token."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", default=roles.DMS_CLIENT, choices=sorted(roles.ROLE_LABELS))

    @transaction.atomic
    def handle(self, *args, name, role, **options):
        name = name.strip()
        if not name or len(name) > 150:
            raise CommandError("NAME must be 1 to 150 characters.")
        group = Group.objects.filter(name=role).first()
        if group is None:
            raise CommandError(f"Role {role} does not exist; run migrate first.")
        user, created = get_user_model().objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()  # a token client never logs in to the browser
            user.save()
        user.groups.set([group])
        Token.objects.filter(user=user).delete()  # rotate: the old token stops working now
        token = Token.objects.create(user=user)
        self.stdout.write(token.key)
