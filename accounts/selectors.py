"""Reads of the accounts domain."""

from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from accounts.models import Qualification, QualificationGrant, Role, School, User
from catalog.models import ItemType
from lending.models import DamageReport, Handover, Reservation, ReservationEvent, ReservationLine

TEACHER_SEARCH_LIMIT = 20


def teachers_matching(query):
    """Active teachers whose name, user name or e-mail contains `query`, with their schools:
    the counter's walk-in search. At most TEACHER_SEARCH_LIMIT, by name."""
    return (
        User.objects.filter(role=Role.TEACHER, is_active=True)
        .filter(Q(username__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
                | Q(email__icontains=query))
        .prefetch_related("schools").order_by("last_name", "first_name", "pk")[:TEACHER_SEARCH_LIMIT]
    )


# Personal data (the account page) ---------------------------------------------------------------


def qualifications_required_not_held(*, user, today):
    """Qualifications that some item type requires and `user` does not hold validly on `today`
    (never granted, expired or not yet valid), by name: the account page says where the training
    is offered. One query."""
    valid_grants = QualificationGrant.objects.filter(user=user, granted_on__lte=today).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )
    return (
        Qualification.objects.filter(Exists(ItemType.objects.filter(required_qualification=OuterRef("pk"))))
        .exclude(pk__in=valid_grants.values("qualification_id"))
        .order_by("name")
    )


def _by(actor_id, user):
    """Who acted, without naming anyone else: "you", "counter" (staff) or None (unknown)."""
    if actor_id is None:
        return None
    return "you" if actor_id == user.pk else "counter"


def _day(value):
    return value.isoformat() if value is not None else None


def personal_data_export(*, user):
    """Everything the portal stores about `user`, as a JSON-ready dict (DSGVO art. 15 and 20):
    the account, schools, sign-in connections, qualifications, their bookings with lines,
    events and hand-overs, the damage reports about their loans or made by them, and the e-mails
    written to them.

    Nothing about other people: where someone else acted, it says "counter". No secrets (no
    password hash, no second-factor seeds, no calendar or API tokens). A fixed number of queries.
    """
    account = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "contact_email": user.contact_email,
        "language": user.language,
        "mail_reminders": user.mail_reminders,
        "mail_digest": user.mail_digest,
        "role": user.role,
        "is_active": user.is_active,
        "date_joined": user.date_joined.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
    }
    schools = [
        {"number": school.number, "name": school.name, "school_type": school.school_type}
        for school in user.schools.order_by("name")
    ]
    sign_in = [
        {"provider": social.provider, "subject": social.uid, "date_joined": social.date_joined.isoformat(),
         "last_login": social.last_login.isoformat() if social.last_login else None}
        for social in SocialAccount.objects.filter(user=user).order_by("pk")
    ]
    second_factors = sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    # What each token is called and when it was used; never the token or its hash.
    api_tokens = [
        {"name": token.name, "scope": token.scope, "created_at": token.created_at.isoformat(),
         "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
         "expires_at": token.expires_at.isoformat() if token.expires_at else None}
        for token in user.api_tokens.order_by("created_at", "pk")
    ]
    qualifications = [
        {"name": grant.qualification.name, "granted_on": _day(grant.granted_on), "expires_on": _day(grant.expires_on)}
        for grant in QualificationGrant.objects.filter(user=user).select_related("qualification")
        .order_by("qualification__name")
    ]
    reservations = (
        Reservation.objects.filter(borrower=user).select_related("school", "location").order_by("pickup_day", "pk")
        .prefetch_related(
            Prefetch("lines", queryset=ReservationLine.objects.select_related("item_type").order_by("pk")),
            Prefetch("events", queryset=ReservationEvent.objects.order_by("at", "pk")),
            Prefetch("handovers", queryset=Handover.objects.select_related("unit").order_by("handed_out_at", "pk")),
        )
    )
    bookings = [
        {
            "code": reservation.code,
            "status": reservation.status,
            "school": reservation.school.name,
            "location": reservation.location.name,
            "pickup_day": _day(reservation.pickup_day),
            "pickup_slot": reservation.pickup_slot.strftime("%H:%M"),
            "return_day": _day(reservation.return_day),
            "note": reservation.note,
            "created_at": reservation.created_at.isoformat(),
            "lines": [
                {"item_type": line.item_type.name, "quantity": line.quantity} for line in reservation.lines.all()
            ],
            "events": [
                {"at": event.at.isoformat(), "action": event.action, "by": _by(event.actor_id, user),
                 "details": event.data}
                for event in reservation.events.all()
            ],
            "handovers": [
                {"unit": handover.unit.asset_tag, "handed_out_at": handover.handed_out_at.isoformat(),
                 "returned_at": handover.returned_at.isoformat() if handover.returned_at else None,
                 "return_condition": handover.return_condition, "return_note": handover.return_note,
                 "returned_late": handover.returned_late}
                for handover in reservation.handovers.all()
            ],
        }
        for reservation in reservations
    ]
    reports = (
        # Reports about their own loans, and reports they made without a loan; a clerk's reports
        # on other people's loans are those people's data.
        DamageReport.objects.filter(Q(reservation__borrower=user) | Q(reported_by=user, reservation__isnull=True))
        .select_related("unit", "reservation").order_by("reported_at", "pk")
    )
    damage_reports = [
        {
            "reservation": report.reservation.code if report.reservation else None,
            "unit": report.unit.asset_tag if report.unit else None,
            "kind": report.kind,
            "description": report.description,
            "reported_at": report.reported_at.isoformat(),
            "reported_by": _by(report.reported_by_id, user),
            "status": report.status,
            "resolution": report.resolution,
            "compensation_amount": str(report.compensation_amount) if report.compensation_amount is not None else None,
            "settled_at": report.settled_at.isoformat() if report.settled_at else None,
        }
        for report in reports
    ]
    # The mails written to them: what, to which address, when, and whether it arrived; no bodies
    # are kept (they are rendered when sent).
    emails = [
        {"kind": kind, "reservation": code, "to": to, "subject": subject, "queued_at": queued_at.isoformat(),
         "status": status, "sent_at": sent_at.isoformat() if sent_at else None}
        for kind, code, to, subject, queued_at, status, sent_at in user.mails.order_by("created_at", "pk").values_list(
            "kind", "reservation__code", "to", "subject", "created_at", "status", "sent_at")
    ]
    return {
        "exported_at": timezone.now().isoformat(),
        "account": account,
        "schools": schools,
        "sign_in": sign_in,
        "second_factors": second_factors,
        "api_tokens": api_tokens,
        "qualifications": qualifications,
        "reservations": bookings,
        "damage_reports": damage_reports,
        "emails": emails,
    }


def schools_visible_to(*, user):
    """The active schools `user` may look up: all for staff and administrators, whose counters
    serve every school; for a teacher their own, the ones they can book for."""
    if not user.is_authenticated:
        return School.objects.none()
    schools = School.objects.filter(active=True)
    if not user.is_counter_staff:
        schools = schools.filter(pk__in=user.schools.values("pk"))
    return schools.order_by("name", "pk")
