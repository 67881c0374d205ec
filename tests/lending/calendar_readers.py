"""Calendar parsers other than the Python `icalendar` package, for the calendar tests.

- `icaljs_read`: ical.js, the parser Thunderbird (and Nextcloud) use, run with Node through
  icaljs_dump.mjs. Without `node` or the npm package the calling test is skipped, unless
  REQUIRE_BROWSER=1 (as in CI): then it fails.
- `dateutil_read`: python-dateutil's `tz.tzical`, which builds its zones from the VTIMEZONE
  components of the file. `icalendar` does not count as independent here: it resolves a TZID
  through zoneinfo and never reads the VTIMEZONE.
"""

import datetime
import functools
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dateutil import tz

REPO = Path(__file__).resolve().parents[2]
ICALJS_DUMP = Path(__file__).with_name("icaljs_dump.mjs")
ICALJS_PACKAGE = REPO / "node_modules" / "ical.js" / "package.json"
UTC = datetime.UTC


def _icaljs_required():
    return os.environ.get("REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}


@functools.cache
def _icaljs_missing():
    """Why ical.js cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js (`node`) is not installed"
    if not ICALJS_PACKAGE.exists():
        return "the npm package ical.js is not installed (run `npm ci` at the repository root)"
    return None


def _icaljs_run(ics, *arguments):
    missing = _icaljs_missing()
    if missing:
        if _icaljs_required():
            pytest.fail(f"{missing} (REQUIRE_BROWSER=1 is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(f"{missing}: the second calendar parser cannot run (set REQUIRE_BROWSER=1 to fail instead)")
    # A time zone far from Berlin: a time that ical.js took as floating would come out wrong.
    result = subprocess.run(
        [shutil.which("node"), str(ICALJS_DUMP), *arguments], input=ics, capture_output=True, timeout=60,
        cwd=REPO, env={**os.environ, "TZ": "Pacific/Auckland"},
    )
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def icaljs_read(ics):
    """What ical.js reads from `ics` (see icaljs_dump.mjs)."""
    return _icaljs_run(ics)


def icaljs_read_many(files):
    """What ical.js reads from each of `files` (bytes), in one Node process."""
    if not files:
        return []
    return _icaljs_run(b"".join(files), "--many")


def _unfolded(text):
    return re.sub(r"\r?\n[ \t]", "", text).splitlines()


_DATE_TIME = re.compile(r"^(?P<name>DTSTART|DTEND)(?:;TZID=(?P<tzid>[^:;]+))?:(?P<value>\d{8}T\d{6})(?P<utc>Z?)$")


def dateutil_read(ics):
    """{uid: (start, end)} as UTC instants, as dateutil reads `ics`: the times with a TZID through
    `tz.tzical` built from the file's own VTIMEZONEs (a TZID without one is an error), UTC times
    as they are, and a floating time is an error."""
    lines = _unfolded(ics.decode())
    zones = _tzical(lines)
    events, event = {}, None
    depth = 0
    for line in lines:
        if line == "BEGIN:VEVENT":
            event, depth = {}, 1
        elif event is not None and line.startswith("BEGIN:"):
            depth += 1  # a VALARM: its properties are not the event's
        elif event is not None and line.startswith("END:"):
            depth -= 1
            if depth == 0:
                events[event["UID"]] = (event["DTSTART"], event["DTEND"])
                event = None
        elif event is not None and depth == 1:
            if line.startswith("UID:"):
                event["UID"] = line[4:]
            elif match := _DATE_TIME.match(line):
                wall = datetime.datetime.strptime(match["value"], "%Y%m%dT%H%M%S")
                if match["utc"]:
                    moment = wall.replace(tzinfo=UTC)
                elif match["tzid"]:
                    moment = wall.replace(tzinfo=zones[match["tzid"]])  # KeyError: no VTIMEZONE for it
                else:
                    raise AssertionError(f"a floating time: {line}")
                event[match["name"]] = moment.astimezone(UTC)
    return events


def _tzical(lines):
    """The file's VTIMEZONEs as dateutil tzinfo objects, by TZID."""
    blocks, block = [], None
    for line in lines:
        if line == "BEGIN:VTIMEZONE":
            block = [line]
        elif block is not None:
            # tzical refuses properties it does not know (X-LIC-LOCATION), where RFC 5545 3.8.8.2
            # asks a reader to ignore them; they carry nothing it would use.
            if not line.startswith("X-"):
                block.append(line)
            if line == "END:VTIMEZONE":
                blocks.append("\n".join(block))
                block = None
    if not blocks:
        return {}
    zones = tz.tzical(io.StringIO("\n".join(blocks)))
    return {key: zones.get(key) for key in zones.keys()}
