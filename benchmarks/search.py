"""Benchmark the desk's search box at a large shop's size (a benchmark, not a test).

Fills the database up to ``--customers`` customers (each with a vehicle and a delivered
visit), then times every search path through the selector and through the whole page
(the search view with the test client), and prints median and 95th percentile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shopcrm_bench \\
        .venv/bin/python manage.py migrate && \\
        .venv/bin/python -m benchmarks search --customers 200000
"""

import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, Vehicle
from shopcrm.management.commands.seed_demo import (
    GIVEN,
    MOBILE_PREFIXES,
    SURNAMES,
    ensure_demo_users,
    make_vin,
)
from visits.models import Visit
from visits.selectors import desk_search as search

BATCH = 5000


class Command(BaseCommand):
    help = "Time the search box on a large database (default 200,000 customers)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=200_000)
        parser.add_argument("--samples", type=int, default=40)

    def handle(self, *args, customers, samples, **options):
        rng = random.Random(11)
        ensure_demo_users()
        self._fill(rng, customers)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")
        total = Customer.objects.count()
        self.stdout.write(
            f"Database: {connection.vendor}, {total} customers, {Vehicle.objects.count()} vehicles, "
            f"{Visit.objects.count()} visits"
        )
        queries = self._queries(rng, samples)
        client = Client()
        client.force_login(get_user_model().objects.get(username="advisor"))
        url = reverse("customers:search")
        rows = []
        for kind, texts in queries.items():
            selector_ms, page_ms, hits = [], [], 0
            for text in texts:
                started = time.perf_counter()
                results = search(query=text)
                selector_ms.append((time.perf_counter() - started) * 1000)
                hits += not results.empty
                started = time.perf_counter()
                response = client.get(url, {"q": text})
                page_ms.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            rows.append((kind, len(texts), hits, selector_ms, page_ms))

        self.stdout.write("")
        header = f"{'query':<22}{'n':>4}{'found':>7}{'search p50':>12}{'p95':>9}{'page p50':>11}{'p95':>9}"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for kind, n, hits, selector_ms, page_ms in rows:
            self.stdout.write(
                f"{kind:<22}{n:>4}{hits:>7}{statistics.median(selector_ms):>10.1f}ms"
                f"{percentile(selector_ms, 95):>7.1f}ms{statistics.median(page_ms):>9.1f}ms"
                f"{percentile(page_ms, 95):>7.1f}ms"
            )
        worst = max(percentile(page_ms, 95) for *_, page_ms in rows)
        self.stdout.write(
            f"\nSlowest p95 of a whole search page: {worst:.1f} ms (goal: under 200 ms)"
        )

    def _queries(self, rng, samples) -> dict[str, list[str]]:
        customer_ids = list(
            Customer.objects.values_list("pk", flat=True)[
                :: max(1, Customer.objects.count() // 5000)
            ]
        )
        picked = Customer.objects.filter(
            pk__in=rng.sample(customer_ids, min(samples, len(customer_ids)))
        )
        vehicles = list(Vehicle.objects.filter(owner__in=picked))
        visits = list(Visit.objects.filter(customer__in=picked).exclude(ro_number=""))
        picked = list(picked)
        return {
            "plate": [v.plate for v in vehicles][:samples],
            "plate, lower/spaced": [
                f"{v.plate[:2].lower()} {v.plate[2:].lower()}" for v in vehicles
            ][:samples],
            "plate without province": [v.plate[1:] for v in vehicles][:samples],
            "VIN": [v.vin for v in vehicles][:samples],
            "VIN last 6": [v.vin[-6:] for v in vehicles][:samples],
            "phone": [c.phone[3:] for c in picked],
            "phone last 4": [c.phone[-4:] for c in picked],
            "name": [c.name for c in picked],
            "surname": [c.name[0] for c in picked],
            "RO number": [v.ro_number for v in visits][:samples],
            "unknown plate": [f"藏Z{rng.randrange(10**5):05d}" for _ in range(samples)],
        }

    def _fill(self, rng, target: int) -> None:
        have = Customer.objects.count()
        if have >= target:
            return
        self.stdout.write(f"Loading {target - have} customers with a vehicle and a visit each…")
        started = time.monotonic()
        phones = set(Customer.objects.values_list("phone", flat=True))
        plates = set(Vehicle.objects.values_list("plate", flat=True))
        serial = Vehicle.objects.count() + 1_000_000
        now = timezone.now()
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        chars = letters + "0123456789"
        provinces = "粤粤粤粤京沪湘赣桂川"
        for start in range(have, target, BATCH):
            size = min(BATCH, target - start)
            customers = []
            for _ in range(size):
                while (
                    phone := f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
                ) in phones:
                    pass
                phones.add(phone)
                name = rng.choice(SURNAMES) + "".join(
                    rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
                )
                customers.append(Customer(name=name, phone=phone))
            with transaction.atomic():
                Customer.objects.bulk_create(customers)
                vehicles = []
                for customer in customers:
                    serial += 1
                    while True:
                        plate = (
                            rng.choice(provinces)
                            + rng.choice(letters)
                            + "".join(rng.choice(chars) for _ in range(5))
                        )
                        if plate not in plates:
                            plates.add(plate)
                            break
                    vehicles.append(
                        Vehicle(
                            owner=customer,
                            vin=make_vin(rng, "LSV", 2020, serial % 10**6),
                            plate=plate,
                        )
                    )
                Vehicle.objects.bulk_create(vehicles)
                visits = []
                for vehicle in vehicles:
                    checked_in = now - timedelta(days=rng.randint(1, 700), hours=rng.randint(0, 8))
                    visits.append(
                        Visit(
                            ro_number=f"RO{checked_in:%Y%m%d}{vehicle.pk:07d}",
                            vehicle=vehicle,
                            customer_id=vehicle.owner_id,
                            service_type="maintenance",
                            status=Visit.Status.DELIVERED,
                            checked_in_at=checked_in,
                            promised_at=checked_in + timedelta(hours=3),
                            delivered_at=checked_in + timedelta(hours=3),
                            total_amount=Decimal(rng.randint(200, 3000)),
                        )
                    )
                Visit.objects.bulk_create(visits)
        self.stdout.write(f"Loaded in {time.monotonic() - started:.0f} s")


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]
