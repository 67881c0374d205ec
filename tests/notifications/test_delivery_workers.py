"""Exactly once: `manage.py deliver_mail` workers as real processes against one queue and one
real SMTP server: two at once, and one killed in the middle of a batch."""

import collections
import datetime
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from lending.models import ReservationEvent
from notifications.delivery import deliver_due
from notifications.models import Mail
from notifications.services import booking_confirmation_resend, booking_event_notify
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def database_url():
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def worker(smtp_server, *arguments):
    """`manage.py deliver_mail` as an operator starts it: the portal's settings from the environment."""
    environment = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    environment.update(DEBUG="true", DATABASE_URL=database_url(), SITE_URL="http://testserver",
                       EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                       EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_server.port), AXES_VERBOSE="false")
    return subprocess.Popen([sys.executable, "manage.py", "deliver_mail", *arguments], cwd=settings.BASE_DIR,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def queue(teacher, item_type, count):
    reservation = factories.book(borrower=teacher, lines={item_type: 1})
    for _ in range(count - 1):
        booking_confirmation_resend(reservation=reservation, actor=teacher)
    return reservation


def delivered_ids(smtp_server):
    return collections.Counter(message["Message-ID"] for message in smtp_server.messages())


def test_the_same_event_queues_one_mail_however_often_it_is_reported(teacher_a, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type: 1})
    event = ReservationEvent.objects.get(reservation=reservation, action=ReservationEvent.Action.CREATED)
    booking_event_notify(event)
    booking_event_notify(event)
    assert Mail.objects.count() == 1


def test_two_workers_at_once_deliver_each_mail_once(smtp_server, teacher_a, item_type):
    queue(teacher_a, item_type, 40)

    workers = [worker(smtp_server) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in workers]

    assert [process.returncode for process in workers] == [0, 0], outputs
    sent = delivered_ids(smtp_server)
    assert len(sent) == 40 and set(sent.values()) == {1}
    assert set(Mail.objects.values_list("status", flat=True)) == {Mail.Status.SENT}
    assert set(Mail.objects.values_list("message_id", flat=True)) == set(sent)
    # Both took part (each reports what it sent).
    counts = [int(output.split("sent ")[1].split(",")[0]) for output, _errors in outputs]
    assert sum(counts) == 40


def test_a_worker_killed_mid_batch_sends_nothing_twice(smtp_server, teacher_a, item_type):
    queue(teacher_a, item_type, 6)
    smtp_server.slow(0.5)
    process = worker(smtp_server, "--loop", "--interval", "0.2")
    deadline = time.monotonic() + 60
    # Two mails are through and the worker has claimed the next one (the server takes 0.5 s for it).
    while not (len(smtp_server.messages()) >= 2 and Mail.objects.filter(status=Mail.Status.SENDING).exists()):
        assert time.monotonic() < deadline, "the worker did not get to its third mail"
        time.sleep(0.01)
    time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    (smtp_server.folder / "slow").unlink()
    time.sleep(0.6)  # the server finishes what it was receiving
    assert Mail.objects.filter(status=Mail.Status.SENDING).count() == 1

    # The next worker, once the interrupted mail's time is up: it is given up, not sent again.
    result = deliver_due(now=timezone.now() + datetime.timedelta(seconds=settings.MAIL_SENDING_TIMEOUT_SECONDS + 1))

    assert result.interrupted == 1
    sent = delivered_ids(smtp_server)
    assert set(sent.values()) == {1}
    statuses = collections.Counter(Mail.objects.values_list("status", flat=True))
    assert statuses == {Mail.Status.SENT: 5, Mail.Status.FAILED: 1}
    interrupted = Mail.objects.get(status=Mail.Status.FAILED)
    assert interrupted.last_error.startswith("interrupted")
    assert len(sent) in (5, 6)  # the interrupted one arrived or not; the other five once each
