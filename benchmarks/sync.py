"""Benchmark the DMS sync end to end (a benchmark, never a timed test).

Against PostgreSQL and through the real HTTP stack (gunicorn on loopback), it syncs 20,000
customers, 20,000 vehicles and 100,000 visits in batches of 1000, replays all of it, and
prints side by side: the project's rows per second, the replay's, the usual Django way (a
DRF ModelViewSet, one POST per record, on a sample) and the floor (PostgreSQL COPY of the
same rows into the same tables), with the table statistics that show the replay wrote
nothing. It empties the customer, vehicle and visit tables, so it refuses to run on a
database whose name does not end in "_bench" unless given --force.

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE shopcrm_bench"
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/shopcrm_bench
    .venv/bin/python manage.py migrate && .venv/bin/python -m benchmarks sync
"""

import http.client
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from customers.models import Customer, Vehicle
from shopcrm.management.commands.seed_demo import GIVEN, MOBILE_PREFIXES, SURNAMES, make_vin
from visits.models import Visit

TABLES = {
    "customers": Customer,
    "vehicles": Vehicle,
    "visits": Visit,
}


class Command(BaseCommand):
    help = "Benchmark the DMS sync API against PostgreSQL through gunicorn (empties the tables)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=20_000)
        parser.add_argument("--vehicles", type=int, default=20_000)
        parser.add_argument("--visits", type=int, default=100_000)
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--naive-sample", type=int, default=2000)
        parser.add_argument("--streams", type=int, default=2, help="parallel HTTP clients")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The sync benchmark needs PostgreSQL: set DATABASE_URL.")
        name = connection.settings_dict["NAME"]
        if not name.endswith("_bench") and not options["force"]:
            raise CommandError(
                f"The sync benchmark empties tables; use a *_bench database (not {name}) or --force."
            )
        self.options = options
        rng = random.Random(20261123)
        data = self._data(rng, options)
        naive = self._naive_data(rng, options["naive_sample"])
        self._empty_tables()
        token = self._token()

        results = {}
        with Server(options["workers"]) as server:
            for endpoint in ("customers", "vehicles", "visits"):
                seconds = self._sync(server.port, token, endpoint, data[endpoint])
                results[endpoint] = {"rows": len(data[endpoint]), "seconds": seconds}
        time.sleep(1.5)  # let the exited backends' statistics land
        before = self._table_state()
        with Server(options["workers"]) as server:
            for endpoint in ("customers", "vehicles", "visits"):
                seconds = self._sync(
                    server.port, token, endpoint, data[endpoint], expect="unchanged"
                )
                results[endpoint]["replay_seconds"] = seconds
        time.sleep(1.5)  # let the exited backends' statistics land
        after = self._table_state()
        with Server(1) as server:
            for endpoint in ("customers", "vehicles", "visits"):
                rows = naive[endpoint]
                results[endpoint]["naive_rows"] = len(rows)
                results[endpoint]["naive_seconds"] = self._naive(server.port, token, endpoint, rows)
        for endpoint, seconds in self._copy_floor().items():
            results[endpoint]["copy_seconds"] = seconds
        self._print(results, before, after)

    # ------------------------------------------------------------------ data

    def _data(self, rng, options) -> dict:
        now = timezone.now()
        customers = []
        phones = set()
        for n in range(options["customers"]):
            while (phone := f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}") in phones:
                pass
            phones.add(phone)
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
            )
            customers.append(
                {
                    "external_id": f"C{n:07d}",
                    "name": name,
                    "phone": phone,
                    "marketing_consent": rng.random() < 0.7,
                    "source_updated_at": (now - timedelta(days=rng.randint(1, 300))).isoformat(),
                }
            )
        vehicles, plates = [], set()
        letters, chars = "ABCDEFGHJKLMNPRSTUVWXYZ", "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
        for n in range(options["vehicles"]):
            while (
                plate := "粤" + rng.choice(letters) + "".join(rng.choice(chars) for _ in range(5))
            ) in plates:
                pass
            plates.add(plate)
            vehicles.append(
                {
                    "external_id": f"V{n:07d}",
                    "customer_external_id": f"C{n % options['customers']:07d}",
                    "vin": make_vin(rng, "LSV", 2022, n),
                    "plate": plate,
                    "brand": "大众",
                    "model": rng.choice(["朗逸", "帕萨特", "途观L"]),
                    "model_year": rng.randint(2015, 2026),
                    "registration_date": (
                        now.date() - timedelta(days=rng.randint(100, 3000))
                    ).isoformat(),
                    "odometer_km": rng.randint(1000, 150000),
                }
            )
        visits = []
        for n in range(options["visits"]):
            checked_in = now - timedelta(days=rng.randint(8, 700), hours=rng.randint(0, 9))
            vehicle_n = n % options["vehicles"]
            labour, parts = rng.choice([180, 260, 450]), rng.randint(0, 3000)
            visits.append(
                {
                    "external_id": f"R{n:08d}",
                    "ro_number": f"DMS{n:09d}",
                    "vehicle_external_id": f"V{vehicle_n:07d}",
                    "advisor": f"SA-{rng.randint(1, 12):02d}",
                    "service_type": rng.choice(
                        ["maintenance", "maintenance", "repair", "warranty"]
                    ),
                    "status": "delivered",
                    "checked_in_at": checked_in.isoformat(),
                    "promised_at": (checked_in + timedelta(hours=3)).isoformat(),
                    "delivered_at": (
                        checked_in + timedelta(hours=3, minutes=rng.randint(-40, 60))
                    ).isoformat(),
                    "odometer_km": rng.randint(1000, 150000),
                    "by_appointment": rng.random() < 0.4,
                    "concern": rng.choice(["常规保养", "刹车异响", "空调不制冷"]),
                    "labour_amount": f"{labour}.00",
                    "parts_amount": f"{parts}.00",
                    "total_amount": f"{labour + parts}.00",
                    "source_updated_at": checked_in.isoformat(),
                }
            )
        return {"customers": customers, "vehicles": vehicles, "visits": visits}

    def _naive_data(self, rng, sample) -> dict:
        """New records (own ids) for the usual way, referring to the synced ones."""
        customers = [
            {"external_id": f"NC{n:06d}", "name": f"样本{n}", "phone": f"+86199{n:08d}"}
            for n in range(sample // 2)
        ]
        vehicles = [
            {
                "external_id": f"NV{n:06d}",
                "customer_external_id": f"C{n:07d}",
                "vin": make_vin(rng, "LFV", 2023, 500_000 + n),
                "plate": f"川A{n:05d}",
                "brand": "大众",
                "model": "朗逸",
            }
            for n in range(sample // 2)
        ]
        now = timezone.now() - timedelta(days=30)
        visits = [
            {
                "external_id": f"NR{n:06d}",
                "ro_number": f"NAIVE{n:06d}",
                "vehicle_external_id": f"V{n:07d}",
                "customer_external_id": f"C{n:07d}",
                "service_type": "maintenance",
                "status": "delivered",
                "checked_in_at": now.isoformat(),
                "promised_at": (now + timedelta(hours=3)).isoformat(),
                "delivered_at": (now + timedelta(hours=3)).isoformat(),
                "odometer_km": 12000,
                "by_appointment": False,
                "concern": "常规保养",
                "labour_amount": "260.00",
                "parts_amount": "300.00",
                "total_amount": "560.00",
            }
            for n in range(sample)
        ]
        return {"customers": customers, "vehicles": vehicles, "visits": visits}

    # ------------------------------------------------------------------ runs

    def _empty_tables(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE visits_visit, visits_historicalvisit, visits_appointment, "
                "visits_historicalappointment, customers_vehicle, customers_historicalvehicle, "
                "customers_phonereveal, customers_customermerge, customers_customer, "
                "customers_historicalcustomer, api_idempotencyrecord RESTART IDENTITY CASCADE"
            )

    def _token(self) -> str:
        out = io.StringIO()
        call_command("create_api_token", "bench-dms", stdout=out)
        return out.getvalue().strip()

    def _sync(self, port, token, endpoint, records, expect=None) -> float:
        batch = self.options["batch"]
        bodies = [
            json.dumps(records[i : i + batch]).encode() for i in range(0, len(records), batch)
        ]
        streams = max(1, self.options["streams"])
        chunks = [bodies[i::streams] for i in range(streams)]
        failures = []

        def run(chunk):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
            for body in chunk:
                conn.request("POST", f"/api/v1/sync/{endpoint}/", body=body, headers=headers)
                response = conn.getresponse()
                answer = json.loads(response.read())
                if response.status != 200 or answer["failed"]:
                    failures.append((response.status, str(answer)[:300]))
                elif expect == "unchanged" and answer["unchanged"] != len(json.loads(body)):
                    failures.append(("not unchanged", str(answer)[:300]))
            conn.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if failures:
            raise CommandError(f"{endpoint}: {failures[:3]}")
        return elapsed

    def _naive(self, port, token, endpoint, records) -> float:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        bodies = [json.dumps(record).encode() for record in records]
        started = time.perf_counter()
        for body in bodies:
            conn.request("POST", f"/bench-naive/{endpoint}/", body=body, headers=headers)
            response = conn.getresponse()
            text = response.read()
            if response.status != 201:
                raise CommandError(f"naive {endpoint}: {response.status} {text[:300]!r}")
        elapsed = time.perf_counter() - started
        conn.close()
        return elapsed

    def _table_state(self) -> dict:
        """Row-write counters and a fingerprint of every row version, per table."""
        state = {}
        with connection.cursor() as cursor:
            for model in (*TABLES.values(), *(m.history.model for m in TABLES.values())):
                table = model._meta.db_table
                cursor.execute(
                    "SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables WHERE relname = %s",
                    [table],
                )
                counters = cursor.fetchone()
                cursor.execute(
                    f"SELECT count(*), sum(hashtext(xmin::text || ctid::text)) FROM {table}"
                )
                state[table] = (counters, cursor.fetchone())
        return state

    def _copy_floor(self) -> dict:
        """COPY the synced rows back into the same (emptied) tables, timed per table."""
        seconds = {}
        raw = connection.connection  # psycopg 3
        exported = {}
        with raw.cursor() as cursor:
            for endpoint, model in TABLES.items():
                table = model._meta.db_table
                buffer = io.BytesIO()
                with cursor.copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy:
                    for chunk in copy:
                        buffer.write(chunk)
                exported[endpoint] = (table, buffer.getvalue())
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE visits_visit, customers_vehicle, customers_customer CASCADE")
        with raw.cursor() as cursor:
            for endpoint in ("customers", "vehicles", "visits"):
                table, data = exported[endpoint]
                started = time.perf_counter()
                with cursor.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
                    copy.write(data)
                seconds[endpoint] = time.perf_counter() - started
        return seconds

    # ------------------------------------------------------------------ report

    def _print(self, results, before, after):
        write = self.stdout.write
        write("")
        write(
            f"DMS sync benchmark — PostgreSQL, gunicorn {self.options['workers']} workers, "
            f"{self.options['streams']} client streams, batches of {self.options['batch']}, "
            f"{os.cpu_count()} cores"
        )
        header = (
            f"{'endpoint':<10}{'rows':>8}{'sync rows/s':>13}{'replay rows/s':>15}"
            f"{'usual rows/s':>14}{'× usual':>9}{'COPY rows/s':>13}{'COPY ×':>8}"
        )
        write(header)
        write("-" * len(header))
        for endpoint, r in results.items():
            rate = r["rows"] / r["seconds"]
            replay = r["rows"] / r["replay_seconds"]
            naive = r["naive_rows"] / r["naive_seconds"]
            copy = r["rows"] / r["copy_seconds"]
            write(
                f"{endpoint:<10}{r['rows']:>8}{rate:>13,.0f}{replay:>15,.0f}{naive:>14,.0f}"
                f"{rate / naive:>8.1f}×{copy:>13,.0f}{copy / rate:>7.1f}×"
            )
        write("")
        write("Replay — writes per table (pg_stat_user_tables deltas) and row versions:")
        clean = True
        for table, (counters_before, rows_before) in before.items():
            counters_after, rows_after = after[table]
            delta = [a - b for a, b in zip(counters_after, counters_before, strict=True)]
            same = rows_after == rows_before
            clean &= same and not any(delta)
            write(
                f"  {table:<32} inserted {delta[0]:>3}  updated {delta[1]:>3}  deleted {delta[2]:>3}"
                f"  row versions unchanged: {'yes' if same else 'NO'}"
            )
        write(f"Replay wrote nothing: {'yes' if clean else 'NO'}")
        write(
            "'× usual' = sync rows/s ÷ the usual Django way; 'COPY ×' = COPY rows/s ÷ sync rows/s."
        )


class Server:
    """gunicorn on a free loopback port, with the project's production-like settings."""

    def __init__(self, workers: int):
        self.workers = workers

    def __enter__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {
            **os.environ,
            "DEBUG": "0",
            "API_THROTTLE_USER": "1000000/min",
            # The project's settings, plus the naive ModelViewSets at /bench-naive/.
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "LOG_LEVEL": "WARNING",
        }
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
        self.process = subprocess.Popen(  # noqa: S603  (our own gunicorn, fixed arguments)
            [
                gunicorn,
                "shopcrm.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
                "--timeout",
                "120",
            ],
            cwd=settings.BASE_DIR,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise CommandError("gunicorn did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)
