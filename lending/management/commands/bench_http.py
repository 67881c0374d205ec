"""manage.py bench_http: the teacher pages and the API under gunicorn, against a bare Django view.

    make bench-http                              # SQLite in var/bench.sqlite3, the large dataset
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/technikverleih_bench make bench-http

It builds (or reuses) the dataset of `manage.py bench`, collects the static files, starts gunicorn
with `--workers` workers on 127.0.0.1 with production settings (DEBUG off) plus one bare view
(`config.settings_bench`: one template, no database, the same middleware), and loads each page
with wrk (`-t2 -c8` by default). The rounds are interleaved: in every round the bare view is
measured right before each page, and a page's ratio is its median latency over the bare view's
median of the same round. Reported per page: the median of the rounds' p50 latency, p99,
requests per second, response size, the ratio to the bare view, and the queries per request
(measured in this process with the test client: after a change, and with the rendered page
cached). Last, it books through the booking service while the servers run and checks that the
very next request (the API's availability, the item page, the filtered catalogue) shows it.

wrk and the machine are shared with whatever else runs, so only the ratios of one run compare.
Like `bench`, it refuses any database whose name does not contain "bench". English only.
"""

import datetime
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from bisect import bisect_left
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, Session, User
from catalog.models import ItemType, Location
from catalog.selectors import counter_days
from catalog.versions import catalogue_changed
from lending.availability import availability
from lending.management.commands.bench import (
    BENCH_LOCATION_SLUG,
    LARGE,
    SMALL,
    _quiet_loggers,
    data_queries,
    write_json,
)
from lending.management.commands.bench import Command as BenchCommand
from lending.models import Reservation, ReservationStatus
from lending.services import reservation_cancel, reservation_create

SETTINGS_MODULE = "config.settings_bench"
BARE_PATH = "/bench/bare/"
ITEM_PAGES = 20  # the item page and availability rows cycle through this many item types
MARKER = "BENCH_JSON "

# wrk's Lua side: cycles through BENCH_PATHS (one per line), sends BENCH_COOKIE and the language,
# counts answers other than 200 per thread and prints one JSON line when done.
WRK_SCRIPT = r"""
local paths = {}
for path in string.gmatch(os.getenv("BENCH_PATHS") or "/", "[^\n]+") do paths[#paths + 1] = path end
local cookie = os.getenv("BENCH_COOKIE") or ""
local language = os.getenv("BENCH_LANGUAGE") or "de"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = offset or 0
  not_ok = 0
end

function request()
  counter = counter + 1
  local headers = {["Accept-Language"] = language}
  if cookie ~= "" then headers["Cookie"] = cookie end
  return wrk.format("GET", paths[(counter % #paths) + 1], headers)
end

function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end

function done(summary, latency, requests)
  local not_ok_total = 0
  for _, thread in ipairs(threads) do not_ok_total = not_ok_total + thread:get("not_ok") end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors": %d, "not_200": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, errors, not_ok_total,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
"""


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Command(BaseCommand):
    help = (
        "Load the teacher pages and the API under gunicorn with wrk, interleaved with a bare Django "
        "view, on the benchmark's dataset; report latencies, ratios to the bare view and queries."
    )

    def add_arguments(self, parser):
        parser.add_argument("--small", action="store_true", help="Use the demo-sized dataset.")
        parser.add_argument("--rebuild", action="store_true", help="Build the dataset again even if it is there.")
        parser.add_argument("--seed", type=int, default=20261121, help="Random seed of the dataset.")
        parser.add_argument("--rounds", type=int, default=3, help="Interleaved rounds (default 3).")
        parser.add_argument("--duration", type=int, default=3, help="Seconds of wrk per page and round (default 3).")
        parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2).")
        parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8).")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2).")
        parser.add_argument("--only", metavar="TEXT", help="Only the rows whose name contains TEXT.")
        parser.add_argument("--skip", metavar="TEXT", help="Leave out the rows whose name contains TEXT.")
        parser.add_argument("--app-dir", metavar="PATH",
                            help="Run the servers from this checkout (e.g. an older commit, for before and after); "
                                 "it needs config/settings_bench.py and config/urls_bench.py.")
        parser.add_argument("--json", metavar="PATH", help="Also write the results to this JSON file.")

    def handle(self, *args, **options):
        wrk = shutil.which("wrk")
        if wrk is None:
            raise CommandError("wrk is missing (Debian: apt-get install wrk).")
        for name in ("rounds", "duration", "threads", "connections", "workers"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        if options["connections"] < options["threads"]:
            raise CommandError("--connections must be at least --threads.")
        bench = BenchCommand(stdout=self.stdout, stderr=self.stderr)
        _, build_seconds, reused = bench.prepare_dataset(
            {"small": options["small"], "rebuild": options["rebuild"], "seed": options["seed"]}
        )
        counts = bench._counts()
        today = timezone.localdate()
        app_dir = Path(options["app_dir"] or settings.BASE_DIR).resolve()
        if not (app_dir / "config" / "settings_bench.py").is_file():
            raise CommandError(f"{app_dir} has no config/settings_bench.py.")
        static_root = app_dir / "var" / "bench-static"
        self._collect_static(app_dir, static_root)

        plan = self._plan(today=today)
        targets = [target for target in plan["targets"]
                   if (not options["only"] or options["only"].lower() in target["name"].lower())
                   and not (options["skip"] and options["skip"].lower() in target["name"].lower())]
        if not targets:
            raise CommandError("No row is left to measure (see --only and --skip).")
        try:
            with override_settings(DEBUG=False, ROOT_URLCONF="config.urls_bench",
                                   ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
                                   REST_FRAMEWORK={**settings.REST_FRAMEWORK,
                                                   "DEFAULT_THROTTLE_RATES": {"anon": None, "token": None}}), \
                    _quiet_loggers("django.request"), warnings.catch_warnings():
                # WhiteNoise warns that var/static does not exist; these requests need no static file.
                warnings.filterwarnings("ignore", message="No directory at")
                for target in targets:
                    # Counted in this process, so only for the code this process runs.
                    target["queries"] = self._queries(target, plan) if app_dir == Path(settings.BASE_DIR).resolve() \
                        else None
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            server = self._start_servers(app_dir=app_dir, port=port, workers=options["workers"],
                                         static_root=static_root)
            try:
                rows = self._load(wrk=wrk, base=base, targets=targets, plan=plan, options=options)
                with _quiet_loggers("lending.services"):
                    visible = self._booking_visible(base=base, plan=plan, today=today)
            finally:
                self._stop_servers(server)
        finally:
            Session.objects.filter(session_key=plan["session_key"]).delete()

        report = {
            "date": today.isoformat(),
            "database": {"vendor": connection.vendor, "version": bench._database_version(),
                         "name": os.path.basename(str(settings.DATABASES["default"]["NAME"]))},
            "dataset": {"size": SMALL if options["small"] else LARGE, "counts": counts,
                        "build_seconds": build_seconds, "reused": reused},
            "load": {key: options[key] for key in ("rounds", "duration", "threads", "connections", "workers")},
            "app_dir": str(app_dir),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "rows": rows,
            "booking_visible": visible,
        }
        self._print(report)
        write_json(self.stdout, report, options["json"])
        if not visible["ok"] or any(row["not_200"] or row["errors"] for row in rows):
            raise CommandError("Some requests failed or a booking was not visible at once; see above.")

    # Preparing ----------------------------------------------------------------------------------

    def _collect_static(self, app_dir, static_root):
        """The servers run with DEBUG off, so {% static %} needs WhiteNoise's manifest."""
        environment = {**os.environ, "STATIC_ROOT": str(static_root), "DEBUG": "false",
                       "SECRET_KEY": "collectstatic-only", "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE}
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
                       cwd=app_dir, env=environment, check=True)

    def _plan(self, *, today):
        """The URLs, the signed-in teacher's session and the booking the visibility check makes."""
        location = Location.objects.get(slug=BENCH_LOCATION_SLUG)
        open_days = [day.day for day in counter_days(location=location, first_day=today,
                                                     last_day=today + datetime.timedelta(days=120)) if day.is_open]
        free_from = open_days[bisect_left(open_days, today + datetime.timedelta(days=21))]
        free_to = free_from + datetime.timedelta(days=7)
        month = f"{free_from:%Y-%m}"
        bookable = list(ItemType.objects.filter(location=location, paused=False, required_qualification=None,
                                                min_lead_days__lte=21, max_advance_days__gte=60)
                        .order_by("pk"))
        free = availability(item_type_ids=[item_type.pk for item_type in bookable], first_day=free_from,
                            last_day=free_to, today=today)
        bookable = [item_type for item_type in bookable if free[item_type.pk].min_free(free_from, free_to) >= 1]
        if len(bookable) < ITEM_PAGES:
            raise CommandError("The dataset has too few bookable item types for the item page rows.")
        step = len(bookable) // ITEM_PAGES
        sample = bookable[::step][:ITEM_PAGES]
        teacher = (User.objects.filter(role=Role.TEACHER, is_active=True, schools__isnull=False)
                   .order_by("pk").first())
        client = Client()
        client.force_login(teacher)
        session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
        window = f"free_from={free_from:%Y-%m-%d}&free_to={free_to:%Y-%m-%d}"
        catalogue = reverse("frontend:catalogue")
        items = [f"{reverse('frontend:item_detail', args=[item_type.slug])}?month={month}" for item_type in sample]
        availability_url = reverse("lending_api:availability")
        days31 = f"from={free_from:%Y-%m-%d}&to={free_from + datetime.timedelta(days=30):%Y-%m-%d}"
        targets = [
            {"name": "catalogue", "paths": [catalogue]},
            {"name": "catalogue, free between two days", "paths": [f"{catalogue}?{window}"]},
            {"name": "item page with month calendar", "paths": items},
            {"name": "catalogue, signed in", "paths": [catalogue], "signed_in": True},
            {"name": "catalogue, free between two days, signed in", "paths": [f"{catalogue}?{window}"],
             "signed_in": True},
            {"name": "item page with month calendar, signed in", "paths": items, "signed_in": True},
            {"name": "API: item types, first page", "paths": [reverse("lending_api:item_type_list")]},
            {"name": "API: item types free between two days",
             "paths": [f"{reverse('lending_api:item_type_list')}?{window}"]},
            {"name": "API: availability, 31 days",
             "paths": [f"{availability_url}?item_type={item_type.slug}&{days31}" for item_type in sample]},
        ]
        return {
            "targets": targets, "teacher": teacher, "school": teacher.schools.order_by("pk").first(),
            "session_key": session_key, "free_from": free_from, "free_to": free_to, "open_days": open_days,
            "month": month, "booked_item": sample[0], "window": window,
        }

    def _queries(self, target, plan):
        """Queries of one request (the first path): right after a change, and again (cached)."""
        client = Client(HTTP_ACCEPT_LANGUAGE="de")
        if target.get("signed_in"):
            client.force_login(plan["teacher"])
        path = target["paths"][0]
        client.get(path)  # templates, translations, connection
        catalogue_changed()
        counts = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
            if response.status_code != 200:
                raise CommandError(f"{path} answered {response.status_code} in the test client.")
            counts.append(data_queries(queries))
        if target.get("signed_in"):
            Session.objects.filter(session_key=client.session.session_key).delete()
        return {"after_change": counts[0], "cached": counts[1]}

    # The servers and the load -------------------------------------------------------------------

    def _start_servers(self, *, app_dir, port, workers, static_root):
        environment = {
            **os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{port}", "STATIC_ROOT": str(static_root),
            "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        }
        log = open(Path(settings.BASE_DIR) / "var" / "bench-http-gunicorn.log", "w", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(workers),
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=app_dir, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError("gunicorn stopped at once; see var/bench-http-gunicorn.log.")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{BARE_PATH}", timeout=2) as answer:
                    if answer.status == 200:
                        return process
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        self._stop_servers(process)
        raise CommandError("gunicorn did not answer within 30 s; see var/bench-http-gunicorn.log.")

    @staticmethod
    def _stop_servers(process):
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wrk(self, *, wrk, script, base, paths, cookie, seconds, options):
        environment = {**os.environ, "BENCH_PATHS": "\n".join(paths), "BENCH_COOKIE": cookie,
                       "BENCH_LANGUAGE": "de"}
        command = [wrk, f"-t{options['threads']}", f"-c{options['connections']}", f"-d{seconds}s",
                   "--latency", "-s", script, base + paths[0]]
        output = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        line = next((line for line in output.stdout.splitlines() if line.startswith(MARKER)), None)
        if output.returncode != 0 or line is None:
            raise CommandError(f"wrk failed: {output.stderr.strip() or output.stdout.strip()}")
        return json.loads(line[len(MARKER):])

    def _load(self, *, wrk, base, targets, plan, options):
        cookie = f"{settings.SESSION_COOKIE_NAME}={plan['session_key']}"
        bare = {"name": "bare Django view (one template, no database)", "paths": [BARE_PATH],
                "queries": {"after_change": 0, "cached": 0}}
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(WRK_SCRIPT)
            script = handle.name
        try:
            def run(target, seconds):
                return self._wrk(wrk=wrk, script=script, base=base, paths=target["paths"],
                                 cookie=cookie if target.get("signed_in") else "", seconds=seconds, options=options)

            # Warm-up: each worker's templates, caches and connections, for every path.
            for target in [bare, *targets]:
                run(target, 1)
            samples = {target["name"]: [] for target in [bare, *targets]}
            ratios = {target["name"]: [] for target in targets}
            for number in range(options["rounds"]):
                self.stdout.write(f"Round {number + 1} of {options['rounds']} …")
                for target in targets:
                    reference = run(bare, options["duration"])
                    measured = run(target, options["duration"])
                    samples[bare["name"]].append(reference)
                    samples[target["name"]].append(measured)
                    ratios[target["name"]].append(measured["p50_us"] / max(reference["p50_us"], 1))
        finally:
            os.unlink(script)
        rows = []
        for target in [bare, *targets]:
            runs = samples[target["name"]]
            requests = sum(run["requests"] for run in runs)
            rows.append({
                "page": target["name"], "path": target["paths"][0], "paths": len(target["paths"]),
                "signed_in": bool(target.get("signed_in")),
                "p50_ms": round(statistics.median(run["p50_us"] for run in runs) / 1000, 2),
                "p99_ms": round(statistics.median(run["p99_us"] for run in runs) / 1000, 2),
                "requests_per_second": round(statistics.median(
                    run["requests"] / (run["duration_us"] / 1e6) for run in runs)),
                "kilobytes": round(sum(run["bytes"] for run in runs) / max(requests, 1) / 1024, 1),
                "ratio": round(statistics.median(ratios[target["name"]]), 2) if target is not bare else 1.0,
                "ratios": [round(ratio, 2) for ratio in ratios.get(target["name"], [])],
                "requests": requests,
                "errors": sum(run["errors"] for run in runs), "not_200": sum(run["not_200"] for run in runs),
                "queries": target["queries"],
            })
        return rows

    # A booking is visible in the very next request ----------------------------------------------

    def _booking_visible(self, *, base, plan, today):
        item_type, day = plan["booked_item"], plan["free_from"]
        return_day = plan["open_days"][plan["open_days"].index(day) + 1]
        api = f"{base}{reverse('lending_api:availability')}?item_type={item_type.slug}&from={day}&to={day}"
        page = f"{base}{reverse('frontend:item_detail', args=[item_type.slug])}?month={plan['month']}"
        catalogue = f"{base}{reverse('frontend:catalogue')}?free_from={day}&free_to={return_day}"

        def read():
            with urllib.request.urlopen(api, timeout=10) as answer:
                api_free = json.load(answer)[0]["free"]
            with urllib.request.urlopen(page, timeout=10) as answer:
                html = answer.read().decode()
            found = re.search(rf'data-date="{day:%Y-%m-%d}".*?class="day-free">(\d+)', html, re.S)
            with urllib.request.urlopen(catalogue, timeout=10) as answer:
                listed = f'href="{reverse("frontend:item_detail", args=[item_type.slug])}' in answer.read().decode()
            return {"api_free": api_free, "page_free": int(found.group(1)) if found else None, "listed": listed}

        # Both workers have the pages cached before the booking.
        for _ in range(4):
            before = read()
        quantity = before["api_free"]  # all that is free on that day: the filtered catalogue drops it
        location = Location.objects.get(slug=BENCH_LOCATION_SLUG)
        taken = Counter(Reservation.objects.filter(location=location, pickup_day=day)
                        .exclude(status=ReservationStatus.CANCELLED).values_list("pickup_slot", flat=True))
        slot = min(location.slot_times(), key=lambda each: taken[each])
        reservation = reservation_create(
            borrower=plan["teacher"], school=plan["school"], pickup_day=day, pickup_slot=slot, return_day=return_day,
            lines={item_type.pk: quantity}, note="Benchmark: visible in the next request",
        )
        try:
            after = read()
        finally:
            reservation_cancel(reservation=reservation, actor=plan["teacher"])
            Reservation.objects.filter(pk=reservation.pk).delete()
            catalogue_changed()
        again = read()
        ok = (after["api_free"] == after["page_free"] == before["api_free"] - quantity
              and before["listed"] and not after["listed"] and again == before)
        return {"ok": ok, "item_type": item_type.slug, "day": day.isoformat(), "quantity": quantity,
                "before": before, "after": after, "after_cancelling": again}

    # Output -------------------------------------------------------------------------------------

    def _print(self, report):
        counts = report["dataset"]["counts"]
        load = report["load"]
        self.stdout.write("")
        self.stdout.write(f"{report['database']['version']}, database {report['database']['name']}, {report['date']}")
        self.stdout.write("Dataset: {item_types} item types, {units} units, {reservations} reservations".format(**counts))
        self.stdout.write(f"gunicorn {load['workers']} workers, wrk -t{load['threads']} -c{load['connections']}, "
                          f"{load['rounds']} rounds of {load['duration']} s per page, interleaved with the bare view")
        width = max(len(row["page"]) for row in report["rows"])
        self.stdout.write(f"{'page':<{width}}  {'p50 ms':>7}  {'p99 ms':>7}  {'req/s':>6}  {'KB':>6}  "
                          f"{'ratio':>5}  queries (after a change / cached)")
        for row in report["rows"]:
            self.stdout.write(
                f"{row['page']:<{width}}  {row['p50_ms']:>7}  {row['p99_ms']:>7}  {row['requests_per_second']:>6}  "
                f"{row['kilobytes']:>6}  {row['ratio']:>5}  "
                + (f"{row['queries']['after_change']} / {row['queries']['cached']}" if row["queries"] else "–")
                + (f"  FAILED: {row['not_200']} not 200, {row['errors']} errors" if row["not_200"] or row["errors"]
                   else "")
            )
        visible = report["booking_visible"]
        self.stdout.write(
            f"Booking visible in the next request: {'yes' if visible['ok'] else 'NO'} "
            f"({visible['quantity']} × {visible['item_type']} on {visible['day']}: free {visible['before']['api_free']}"
            f" → API {visible['after']['api_free']}, item page {visible['after']['page_free']}, filtered catalogue "
            f"{'still lists it' if visible['after']['listed'] else 'no longer lists it'}; after cancelling "
            f"{'as before' if visible['after_cancelling'] == visible['before'] else visible['after_cancelling']})"
        )
