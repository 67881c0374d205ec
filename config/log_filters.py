"""Logging filters, wired up in `LOGGING` (config/settings.py).

A calendar feed URL carries its owner's secret token (`/kalender/<token>.ics`,
`/kalender/<token>/theke/<counter>.ics`), and whoever reads the token can subscribe to the feed.
Django's request logger writes the path of every 4xx and 5xx answer ("Not Found: /kalender/…"),
runserver the request line of every request. The filter cuts the token out before a handler
(console, file, mail to the admins) sees the record.
"""

import logging
import re

# One path segment after /kalender/, wherever it stands: in a path, a full URL or a request line.
# (/calendar/ is the English alias of the same feeds.)
CALENDAR_TOKEN_SEGMENT = re.compile(r"/(kalender|calendar)/[^/\s?#\"']+")


def redact_calendar_tokens(text):
    return CALENDAR_TOKEN_SEGMENT.sub(r"/\1/…", text)


def _redact(value):
    if isinstance(value, str):
        return redact_calendar_tokens(value)
    if isinstance(value, bytes | int | float | type(None)):
        return value
    # An object that is formatted with %s (a URL, a request): only replaced when it holds a token,
    # so numbers and the like keep their type for %d.
    text = str(value)
    return redact_calendar_tokens(text) if CALENDAR_TOKEN_SEGMENT.search(text) else value


class RedactCalendarTokens(logging.Filter):
    """Replaces `/kalender/<token>` with `/kalender/…` in a record's message and arguments.

    Put it on the `django.request` logger (a filter on a logger runs before all of its handlers and
    those of its parents, pytest's caplog included) and on the handlers, for everything else.
    """

    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = redact_calendar_tokens(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redact(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redact(value) for value in record.args)
        # Django passes the request along for the mail to the admins, which prints its URL.
        request_path = getattr(getattr(record, "request", None), "path", None)
        if isinstance(request_path, str) and CALENDAR_TOKEN_SEGMENT.search(request_path):
            record.request = None
        return True
