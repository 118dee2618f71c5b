"""Rebuild the report summary tables (vehicle and customer states, daily figures) from
scratch (after restoring a backup with triggers disabled, say). Never needed in normal
running: triggers and the refresh keep them current."""

import time

from django.core.management.base import BaseCommand

from followups import states
from followups.models import CustomerState, VehicleState
from reports import daily
from reports.models import DailyFigures


class Command(BaseCommand):
    help = (
        "Rebuild the per-vehicle and per-customer state tables behind churn and segments, "
        "and the daily figures behind the period summary."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        states.rebuild()
        daily.rebuild()
        self.stdout.write(
            f"{VehicleState.objects.count()} vehicle and {CustomerState.objects.count()} "
            f"customer states, {DailyFigures.objects.count()} rows of daily figures in "
            f"{time.perf_counter() - started:.1f} s."
        )
