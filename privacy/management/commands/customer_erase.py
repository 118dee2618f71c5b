"""Erase a customer's personal data (a PIPL erasure request), by id or DMS number:
``manage.py customer_erase --id 12`` or ``--external-id C1``; ``--yes`` skips the prompt."""

import getpass

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from privacy import selectors, services
from privacy.models import Via
from shopcrm.errors import DomainError


class Command(BaseCommand):
    help = (
        "Anonymise a customer everywhere (name, phones, addresses, free text, history, "
        "outbox); visits and answers stay as anonymous statistics. The erasure is recorded."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", type=int, dest="pk", help="the customer's id")
        which.add_argument("--external-id", dest="external_id", help="the DMS customer number")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--by", help="username of the member of staff who asked for it")

    def handle(self, *args, pk=None, external_id=None, yes=False, by=None, **options):
        try:
            customer = selectors.customer_for_erasure(pk=pk, external_id=external_id)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(_("没有用户名为 %(username)s 的用户。") % {"username": by})
        if not yes:
            answer = input(
                _("将删除客户 #%(pk)s（%(name)s）的个人信息，无法恢复。输入 yes 确认：")
                % {"pk": customer.pk, "name": customer.name}
            )
            if answer.strip().lower() != "yes":
                raise CommandError(_("已取消，没有删除任何内容。"))
        try:
            record = services.customer_erase(
                customer=customer, by=user, via=Via.COMMAND, operator=_system_account()
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            _("客户 #%(pk)s 的个人信息已删除（删除记录 #%(record)s）。")
            % {"pk": customer.pk, "record": record.pk}
        )


def _system_account() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return ""
