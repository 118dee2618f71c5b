"""Rebuild the report state tables from scratch (after restoring a backup with triggers
disabled, say). Never needed in normal running: triggers and the refresh keep them current."""

import time

from django.core.management.base import BaseCommand

from reports import states
from reports.models import CustomerState, VehicleState


class Command(BaseCommand):
    help = "Rebuild the per-vehicle and per-customer state tables behind churn and segments."

    def handle(self, *args, **options):
        started = time.perf_counter()
        states.rebuild()
        self.stdout.write(
            f"{VehicleState.objects.count()} vehicle and {CustomerState.objects.count()} "
            f"customer states in {time.perf_counter() - started:.1f} s."
        )
