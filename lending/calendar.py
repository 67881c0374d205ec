"""Calendar feeds (RFC 5545): a teacher's pickups and returns, a counter's, and one booking's.

Builders only; the views answer with the bytes. Every booking becomes two events, the pickup at
its slot and the return during counter hours on the return day (for a delivery to a school: the
delivery and the collection, during counter hours, at the school), with UIDs that stay the same for
the booking's life (`<code>-pickup@<host>`, `<code>-return@<host>`), so a client that polls the
feed moves an event when the booking changes instead of adding a second one. SEQUENCE is the
booking's `sequence`, which the services raise with every change the borrower should see.

`icalendar` writes the format: CRLF line ends, lines folded at 75 octets, TEXT values escaped.
On top of that names are cut to one line here (see `_one_line`), so nothing a user types into an
item or counter name can end an event or start another one.

A feed is built with a fixed number of queries (the bookings, then their lines with item types),
whatever its length. `feed_version_for_*` reads only an aggregate of the same rows, so a view can
answer a poll with 304 without building the feed.
"""

import datetime
import functools
import hashlib
import types
import unicodedata
import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from icalendar import Calendar, vDuration
from icalendar.enums import STATUS

from catalog.models import ItemType
from lending.models import HOLDING_STATUSES, Fulfilment, Reservation, ReservationLine, ReservationStatus
from lending.vtimezone import vtimezone

PRODID = "-//Technikverleih//Technikverleih//DE"
# Part of every ETag: raise it whenever the feed's output changes for the same rows (a new
# property, another wording), so clients fetch the new form instead of keeping a 304.
# 2: the VTIMEZONE as yearly rules (lending/vtimezone.py), times without a unique reading in UTC.
FEED_FORMAT_VERSION = 2
# Cancelled and not-picked-up bookings stay this long (counted from the cancellation) as
# STATUS:CANCELLED: a client that polls within that time removes the event; after that it is gone
# from the feed and clients that never saw it never will.
CANCELLED_KEPT_DAYS = 60
# Returned loans stay in a teacher's feed while their return day is this recent. Older ones are
# left out so feeds stay small (clients download the whole feed on every poll, every hour), at the
# price that a client which syncs the feed drops those old events from its calendar.
RETURNED_KEPT_DAYS = 90
# The counter's feed starts this many days back (by return day) and reaches as far ahead as
# there are bookings.
COUNTER_DAYS_BACK = 30
# How often clients should poll (REFRESH-INTERVAL, and X-PUBLISHED-TTL for Outlook).
REFRESH_INTERVAL = datetime.timedelta(hours=1)

CANCELLED_STATUSES = (ReservationStatus.CANCELLED, ReservationStatus.NO_SHOW)
PICKUP, RETURN = "pickup", "return"


# Which bookings a feed holds. The feed and its version read the same queryset, so the ETag
# changes exactly when the feed's rows do.


def _recently_cancelled(now):
    return Q(status__in=CANCELLED_STATUSES, updated_at__gte=now - datetime.timedelta(days=CANCELLED_KEPT_DAYS))


def _borrower_reservations(*, user, now):
    """A teacher's bookings for their feed: their own and those they were named to pick up."""
    today = timezone.localdate(now)
    return Reservation.objects.filter(Q(borrower=user) | Q(colleague=user)).filter(
        Q(status__in=HOLDING_STATUSES)
        | Q(status=ReservationStatus.RETURNED, return_day__gte=today - datetime.timedelta(days=RETURNED_KEPT_DAYS))
        | _recently_cancelled(now)
    )


def _location_reservations(*, location, now):
    today = timezone.localdate(now)
    return Reservation.objects.filter(
        location=location, return_day__gte=today - datetime.timedelta(days=COUNTER_DAYS_BACK)
    ).filter(
        Q(status__in=HOLDING_STATUSES) | Q(status=ReservationStatus.RETURNED) | _recently_cancelled(now)
    )


def _with_everything(reservations):
    return reservations.order_by("pickup_day", "pickup_slot", "pk")


_ROW_FIELDS = (
    "pk", "code", "status", "sequence", "updated_at", "pickup_day", "pickup_slot", "return_day", "location_id",
    "location__name", "location__address", "location__slot_minutes", "location__opens_at", "location__closes_at",
    "school__name", "borrower__first_name", "borrower__last_name", "borrower__username",
    "fulfilment", "collection_by_tour", "school__street", "school__postcode", "school__city",
)


def _rows(reservations):
    """The bookings as plain rows with what the events need, in one query. A counter's feed has
    thousands: model objects with their counter, school and borrower cost more than the text."""
    locations = {}
    rows = []
    for values in reservations.values_list(*_ROW_FIELDS):
        row = types.SimpleNamespace(**dict(zip(_ROW_FIELDS, values)))
        if row.location_id not in locations:
            locations[row.location_id] = types.SimpleNamespace(
                name=row.location__name, address=row.location__address, slot_minutes=row.location__slot_minutes,
                opens_at=row.location__opens_at, closes_at=row.location__closes_at,
            )
        row.location = locations[row.location_id]
        # The borrower's name as the User model writes it (the link goes after the retention period).
        full_name = f"{row.borrower__first_name or ''} {row.borrower__last_name or ''}".strip()
        row.borrower_name = (full_name or row.borrower__username) if row.borrower__username else None
        row.school_name = row.school__name
        row.school_address = (row.school__street, row.school__postcode, row.school__city)
        rows.append(row)
    return rows


def _row_of(reservation):
    """What `_rows` gives for one booking, from the model object (its counter, school and borrower
    read with it)."""
    borrower = reservation.borrower
    return types.SimpleNamespace(
        pk=reservation.pk, code=reservation.code, status=reservation.status, sequence=reservation.sequence,
        updated_at=reservation.updated_at, pickup_day=reservation.pickup_day, pickup_slot=reservation.pickup_slot,
        return_day=reservation.return_day, location_id=reservation.location_id, location=reservation.location,
        borrower_name=(borrower.get_full_name() or borrower.username) if borrower else None,
        school_name=reservation.school.name, fulfilment=reservation.fulfilment,
        collection_by_tour=reservation.collection_by_tour,
        school_address=(reservation.school.street, reservation.school.postcode, reservation.school.city),
    )


def _lines_of(reservations):
    """{reservation id: [(quantity, item name), ...]} in one query: plain rows, not model
    objects, as a counter's feed has thousands of lines."""
    lines = {}
    rows = (
        ReservationLine.objects.filter(reservation__in=reservations.values("pk"))
        .order_by("pk").values_list("reservation_id", "quantity", "item_type__name")
    )
    for reservation_id, quantity, name in rows:
        lines.setdefault(reservation_id, []).append((quantity, name))
    return lines


# The public entry points.


def calendar_for_borrower(*, user, now, base_url=None):
    """The feed of `user`'s bookings as iCalendar bytes: open ones (confirmed, handed out),
    returned ones whose return day is at most RETURNED_KEPT_DAYS ago, and cancelled or not
    picked up ones changed at most CANCELLED_KEPT_DAYS ago (as STATUS:CANCELLED).

    `now` (aware) decides those windows. `base_url` is where booking links point (default:
    SITE_URL; without either the events carry no link)."""
    reservations = _with_everything(_borrower_reservations(user=user, now=now))
    return _calendar(
        reservations, name=_("Technikverleih: my bookings"), for_staff=False, base_url=base_url
    )


def calendar_for_location(*, location, now, base_url=None):
    """The counter feed of `location` for its staff as iCalendar bytes: every pickup and return of
    bookings whose return day is at most COUNTER_DAYS_BACK days ago, and everything ahead;
    cancelled and not picked up ones as for `calendar_for_borrower`. The summary names the
    borrower."""
    reservations = _with_everything(_location_reservations(location=location, now=now))
    return _calendar(
        reservations, name=_("Technikverleih: counter %(name)s") % {"name": _one_line(location.name)},
        for_staff=True, base_url=base_url,
    )


def calendar_for_reservation(*, reservation, base_url=None, lines=None):
    """One booking's two events as iCalendar bytes ("add to calendar"), in any state.

    Without a calendar name: some clients open a file with X-WR-CALNAME as a calendar of its own
    instead of adding its events to the one the teacher uses.

    A caller that has read the booking with its counter, school and borrower, and its lines as
    (quantity, item name) in the order they were added, passes the lines and saves the two reads
    (the mail worker, for every confirmation); otherwise the booking is read again as in a feed."""
    if lines is None:
        reservations = _with_everything(Reservation.objects.filter(pk=reservation.pk))
        return _calendar(reservations, name=None, for_staff=False, base_url=base_url)
    return _calendar_of_rows([_row_of(reservation)], {reservation.pk: list(lines)}, name=None, for_staff=False,
                             base_url=base_url)


def feed_version_for_borrower(*, user, now=None, base_url=None):
    """(etag, last_modified) of `calendar_for_borrower` for the same user, time and base URL, from
    two aggregate queries. last_modified is None for an empty feed."""
    now = now or timezone.now()
    return _feed_version(_borrower_reservations(user=user, now=now), now=now, scope=f"borrower-{user.pk}",
                         base_url=base_url)


def feed_version_for_location(*, location, now=None, base_url=None):
    """(etag, last_modified) of `calendar_for_location`; see `feed_version_for_borrower`."""
    now = now or timezone.now()
    return _feed_version(
        _location_reservations(location=location, now=now), now=now, scope=f"location-{location.pk}",
        base_url=base_url,
    )


def _feed_version(reservations, *, now, scope, base_url):
    # Rows only leave a feed's windows as time passes (the count drops) and only enter it by a
    # write (the newest updated_at moves), so count and newest change together with the feed.
    # The counters' and items' own changes (hours, address, names) move their updated_at; any
    # item's change renews every feed's ETag, which is rare and cheap. Not seen: a borrower's
    # renamed account (the counter feed shows the name). The language is part of it because the
    # feed's words are, the base URL because the links are, the zone's rule because the VTIMEZONE is.
    version = reservations.aggregate(
        newest=Max("updated_at"), count=Count("pk"), counters=Max("location__updated_at"),
    )
    items = ItemType.objects.aggregate(newest=Max("updated_at"))["newest"]
    newest = version["newest"]
    key = "|".join([
        str(FEED_FORMAT_VERSION), _zone_version(_zone().key, timezone.localdate(now).year), scope, get_language() or "",
        settings.SITE_URL if base_url is None else base_url, str(version["count"]),
        *(moment.astimezone(datetime.UTC).isoformat() if moment else "" for moment in (newest, version["counters"], items)),
    ])
    return f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"', newest


# Building the calendar.


def _calendar(reservations, *, name, for_staff, base_url):
    return _calendar_of_rows(_rows(reservations), _lines_of(reservations), name=name, for_staff=for_staff,
                             base_url=base_url)


def _calendar_of_rows(reservations, lines, *, name, for_staff, base_url):
    base_url = (settings.SITE_URL if base_url is None else base_url).rstrip("/")
    host = _uid_host()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name is not None:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    if reservations:
        # Every time in the feed is in the one zone, so its VTIMEZONE is added directly (what
        # `Calendar.add_missing_timezones` does after walking every property of every event to
        # find the TZIDs, a tenth of the time of a long feed), before the events that use it. Not
        # icalendar's `Timezone.from_tzinfo`: its RDATE lists are misread by ical.js (Thunderbird)
        # and ignored by Outlook; see lending/vtimezone.py for what each client needs.
        calendar.add_component(vtimezone(
            _zone(),
            first_year=min(reservation.pickup_day for reservation in reservations).year - 1,
            last_year=max(reservation.return_day for reservation in reservations).year,
        ))
    # The calendar's own lines and its VTIMEZONE come from icalendar; the events, thousands in a
    # counter's feed, are written here (icalendar's object model takes ten times as long for
    # them). A test parses every feed with icalendar and checks that
    # writing it again gives the same bytes.
    head = calendar.to_ical().decode()
    assert head.endswith(_END_CALENDAR)
    parts = [head[:-len(_END_CALENDAR)]]
    # The booking link with a placeholder code, reversed once (reverse() costs more than the event).
    link_pattern = f"{base_url}{reverse('frontend:booking_detail', kwargs={'code': 'CODE'})}" if base_url else ""
    # Each event's words are looked up once per feed, not once per event.
    translated = functools.cache(_)
    for reservation in reservations:
        parts.extend(_events(reservation, lines=lines.get(reservation.pk, []), for_staff=for_staff,
                             link_pattern=link_pattern, host=host, _=translated))
    parts.append(_END_CALENDAR)
    return "".join(parts).encode()


def _zone():
    # Counter times are wall-clock times of the site's zone (Europe/Berlin), on both sides of the
    # changes to and from daylight saving time; they are written with its TZID.
    return timezone.get_default_timezone()


@functools.lru_cache(maxsize=4)
def _zone_version(key, year):
    """A short hash of the VTIMEZONE of zone `key` around `year`, part of every ETag: when an
    update of the time zone database changes the zone's rule, clients fetch the feed again."""
    text = vtimezone(zoneinfo.ZoneInfo(key), first_year=year - 1, last_year=year).to_ical()
    return hashlib.sha256(text).hexdigest()[:16]


def _uid_host():
    # From SITE_URL only, never from a request: the UIDs must not change with the host name a
    # client happened to use, or every client would see every event twice.
    return urlsplit(settings.SITE_URL).hostname or "technikverleih"


def _events(reservation, *, lines, for_staff, link_pattern, host, _):
    """The pickup and the return event of `reservation`. `_` is gettext cached for one feed
    (named `_` so that makemessages still finds the words)."""
    location = reservation.location
    items = ", ".join(_line_text(line, short=True) for line in lines)
    cancelled = reservation.status in CANCELLED_STATUSES
    link = link_pattern.replace("CODE", reservation.code)
    description = [_("Booking %(code)s") % {"code": reservation.code}]
    if for_staff:
        description.append(_("Borrower: %(borrower)s") % {"borrower": _borrower_text(reservation, school=True)})
    description += [_line_text(line) for line in lines]
    if link:
        description += ["", link]
    shared = {
        "dtstamp": reservation.updated_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ"),
        "sequence": reservation.sequence,
        "location": ", ".join(
            [_one_line(location.name)] + [_one_line(part) for part in location.address.splitlines() if _one_line(part)]
        ),
        "description": "\n".join(description),
        "url": link,
        "status": STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
    }

    zone = _zone()
    pickup_start = datetime.datetime.combine(reservation.pickup_day, reservation.pickup_slot, tzinfo=zone)
    pickup_end = pickup_start + datetime.timedelta(minutes=location.slot_minutes)
    return_start = datetime.datetime.combine(reservation.return_day, location.opens_at, tzinfo=zone)
    return_end = datetime.datetime.combine(reservation.return_day, location.closes_at, tzinfo=zone)
    pickup_place = return_place = shared["location"]
    delivery = reservation.fulfilment == Fulfilment.DELIVERY
    if delivery:
        # The tour comes during counter hours; the events take place at the school.
        pickup_start = datetime.datetime.combine(reservation.pickup_day, location.opens_at, tzinfo=zone)
        pickup_end = datetime.datetime.combine(reservation.pickup_day, location.closes_at, tzinfo=zone)
        street, postcode, city = reservation.school_address
        pickup_place = ", ".join(_one_line(part) for part in (reservation.school_name, street, f"{postcode} {city}")
                                 if _one_line(part))
        if reservation.collection_by_tour:
            return_place = pickup_place
    if for_staff:
        who = _borrower_text(reservation)
        if delivery:
            pickup_summary = _("Delivery: %(borrower)s – %(items)s") % {"borrower": who, "items": items}
        else:
            pickup_summary = _("Pickup: %(borrower)s – %(items)s") % {"borrower": who, "items": items}
        if delivery and reservation.collection_by_tour:
            return_summary = _("Collection: %(borrower)s – %(items)s") % {"borrower": who, "items": items}
        else:
            return_summary = _("Return: %(borrower)s – %(items)s") % {"borrower": who, "items": items}
    else:
        pickup_summary = (_("Delivery: %(items)s") if delivery else _("Pickup: %(items)s")) % {"items": items}
        return_summary = (_("Collection: %(items)s") if delivery and reservation.collection_by_tour
                          else _("Return: %(items)s")) % {"items": items}
    if reservation.status == ReservationStatus.CANCELLED:
        pickup_summary, return_summary = (
            _("%(summary)s (cancelled)") % {"summary": summary} for summary in (pickup_summary, return_summary)
        )
    elif reservation.status == ReservationStatus.NO_SHOW:
        pickup_summary, return_summary = (
            _("%(summary)s (not picked up)") % {"summary": summary} for summary in (pickup_summary, return_summary)
        )
    return [
        _event(uid=f"{reservation.code}-{PICKUP}@{host}", start=pickup_start, end=pickup_end,
               summary=pickup_summary, alarm=reservation.status == ReservationStatus.CONFIRMED,
               **{**shared, "location": pickup_place}),
        _event(uid=f"{reservation.code}-{RETURN}@{host}", start=return_start, end=return_end,
               summary=return_summary, alarm=reservation.status in HOLDING_STATUSES,
               **{**shared, "location": return_place}),
    ]


_END_CALENDAR = "END:VCALENDAR\r\n"


def _text(value):
    """TEXT escaping (RFC 5545 3.3.11): backslash, semicolon, comma, line breaks."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line):
    """A content line folded after at most 75 octets (RFC 5545 3.1; 74 and the leading space),
    never inside a UTF-8 character and never right after a backslash or caret (clients read an
    escape split over two lines badly): exactly as icalendar folds, a test checks."""
    data = line.encode()
    if len(data) < 75:
        return line
    folded, start = [], 0
    while len(data) - start > 74:
        end = start + 74
        while data[end] & 0xC0 == 0x80:  # inside a character: fold before it
            end -= 1
        if data[end - 1] in b"\\^" and end - 1 > start:
            end -= 1
        folded.append(data[start:end])
        start = end
    folded.append(data[start:])
    return b"\r\n ".join(folded).decode()


def _date_time(name, moment):
    """A DATE-TIME property: the local time with the zone's TZID, or the instant in UTC when the
    local time has no unique reading. A counter open at night on the Sunday of a clock change has
    slots at 02:30, which that Sunday in spring does not have (RFC 5545 3.3.5 takes the offset
    before the gap, as zoneinfo does; ical.js and dateutil take the one after) and in autumn has
    twice (the RFC and zoneinfo take the first, ical.js the second). In UTC every reader agrees."""
    if moment.utcoffset() != moment.replace(fold=1).utcoffset():
        return f"{name}:{moment.astimezone(datetime.UTC):%Y%m%dT%H%M%SZ}"
    return f"{name};TZID={moment.tzinfo.key}:{moment:%Y%m%dT%H%M%S}"


def _event(*, uid, start, end, summary, alarm, dtstamp, sequence, location, description, url, status):
    """One VEVENT as text, its properties in the order icalendar writes them."""
    lines = [
        "BEGIN:VEVENT",
        f"SUMMARY:{_text(summary)}",
        _date_time("DTSTART", start),
        _date_time("DTEND", end),
        f"DTSTAMP:{dtstamp}",
        f"UID:{_text(uid)}",
        f"SEQUENCE:{sequence}",
        f"DESCRIPTION:{_text(description)}",
        f"LOCATION:{_text(location)}",
        f"STATUS:{status}",
    ]
    if url:
        lines.append(f"URL:{url}")
    if alarm:
        # No reminder for what will not happen: clients that keep cancelled events would still ring.
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{_text(summary)}", "TRIGGER:-P1D", "END:VALARM"]
    lines.append("END:VEVENT")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _line_text(line, *, short=False):
    quantity, name = line
    name = _one_line(name)
    if short and quantity == 1:
        return name
    return f"{quantity} × {name}"


def _borrower_text(reservation, *, school=False):
    # The borrower link is removed after the retention period; the school stays.
    school_name = _one_line(reservation.school_name)
    if reservation.borrower_name is None:
        return school_name
    name = _one_line(reservation.borrower_name)
    return f"{name} ({school_name})" if school else name


@functools.lru_cache(maxsize=4096)  # the same item and counter names come again and again
def _one_line(text):
    """`text` as one line without control characters: names go into SUMMARY and LOCATION, and one
    per line into DESCRIPTION, so a line break typed into a name must not survive as one."""
    text = " ".join(str(text).split())
    return "".join(character for character in text if unicodedata.category(character) not in ("Cc", "Cs"))
