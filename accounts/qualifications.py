"""Qualifications: counter staff grant, renew and revoke them; teachers see what they hold.

Writes (`qualification_grant`, `qualification_revoke`) and reads (`qualifications_of`,
`qualification_grant_of`) of one small feature, kept together in one module. A refusal is a
QualificationError with a stable code; pages show its message with its HTTP status. Whether a
booking may go ahead is decided by the booking rules (lending.services: qualification_missing),
which read the same grants on the pickup day.
"""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import QualificationGrant, Role, User

# code -> (message, HTTP status)
QUALIFICATION_ERRORS = {
    "not_allowed": (_("Only counter staff and administrators may grant or revoke qualifications."), 403),
    "not_a_teacher": (_("Qualifications can only be granted to active teachers."), 400),
    "dates_invalid": (_("The expiry date must not be before the day the qualification was granted."), 400),
}


class QualificationError(Exception):
    """A refusal to grant or revoke. `code` is stable; `params` fill in details for the log."""

    def __init__(self, code, **params):
        if code not in QUALIFICATION_ERRORS:
            raise ValueError(f"unknown qualification error code {code!r}")
        self.code = code
        self.params = params
        super().__init__(code)

    @property
    def message(self):
        return QUALIFICATION_ERRORS[self.code][0]

    @property
    def http_status(self):
        return QUALIFICATION_ERRORS[self.code][1]

    def __str__(self):
        details = ", ".join(f"{key}={value}" for key, value in self.params.items())
        return f"{self.code} ({details})" if details else self.code


def _check_actor(actor):
    if not (actor.is_authenticated and actor.is_active and (actor.is_counter_staff or actor.is_superuser)):
        raise QualificationError("not_allowed")


def _log(*, actor, user, action_flag, message):
    # The admin's history of the teacher's account: the same place where grants made in the
    # Django admin are recorded, so one list shows who granted and revoked what, and when.
    LogEntry.objects.create(
        user=actor, content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk),
        object_repr=str(user)[:200], action_flag=action_flag, change_message=message,
    )


def _period(grant):
    expires = grant.expires_on.isoformat() if grant.expires_on else "no expiry"
    return f"{grant.granted_on.isoformat()} – {expires}"


def qualification_grant(*, actor, user, qualification, granted_on, expires_on=None):
    """Grant `qualification` to the teacher `user` from `granted_on`, until `expires_on` (None: no expiry).

    A teacher holds each qualification at most once: granting one they already hold renews it,
    that is the existing grant gets the new dates and `actor` as the one who granted it.
    Returns the grant. Logged in the admin history of `user`.

    Raises QualificationError with one of: not_allowed (the actor is neither counter staff nor an
    administrator), not_a_teacher (the user is not an active teacher), dates_invalid (expires_on is
    before granted_on). Nothing is written when it raises.
    """
    _check_actor(actor)
    if expires_on is not None and expires_on < granted_on:
        raise QualificationError("dates_invalid", granted_on=granted_on, expires_on=expires_on)
    with transaction.atomic():
        # Lock the teacher: two clerks granting the same qualification at once would otherwise
        # both find no grant and the second insert would fail on the unique constraint.
        user = User.objects.select_for_update().filter(pk=user.pk).first()
        if user is None or user.role != Role.TEACHER or not user.is_active:
            raise QualificationError("not_a_teacher", user=getattr(user, "pk", None))
        grant = QualificationGrant.objects.filter(user=user, qualification=qualification).first()
        renewal = grant is not None
        if grant is None:
            grant = QualificationGrant(user=user, qualification=qualification)
        grant.granted_on = granted_on
        grant.expires_on = expires_on
        grant.granted_by = actor
        grant.full_clean()
        grant.save(renewal=renewal)
        _log(actor=actor, user=user, action_flag=CHANGE if renewal else ADDITION,
             message=f"{'Renewed' if renewal else 'Granted'} qualification {qualification.name}: {_period(grant)}")
    return grant


def qualification_revoke(*, actor, grant):
    """Take a qualification away: the grant is deleted, so bookings that need it are refused
    (qualification_missing) from now on. Logged in the admin history of the teacher.

    Raises QualificationError not_allowed when the actor is neither counter staff nor an
    administrator; nothing is written then.
    """
    _check_actor(actor)
    with transaction.atomic():
        user = grant.user
        message = f"Revoked qualification {grant.qualification.name} (was {_period(grant)})"
        # Deleting a grant another clerk already revoked deletes nothing and needs no log entry.
        deleted, _per_model = QualificationGrant.objects.filter(pk=grant.pk).delete()
        if deleted:
            _log(actor=actor, user=user, action_flag=DELETION, message=message)


# Reads -----------------------------------------------------------------------------------------------


def _with_validity(grant, today):
    grant.is_valid = grant.is_valid_on(today)
    grant.is_upcoming = today < grant.granted_on
    return grant


def qualifications_of(user, *, today):
    """The grants `user` holds, by qualification name, each with `is_valid` (valid on `today`)
    and `is_upcoming` (granted from a later day); expired grants are included (is_valid False)."""
    if not user.is_authenticated:
        return []
    grants = QualificationGrant.objects.filter(user=user).select_related("qualification", "granted_by")
    return [_with_validity(grant, today) for grant in grants.order_by("qualification__name")]


def qualification_grant_of(*, user, qualification, today):
    """The grant of `qualification` that `user` holds, with `is_valid` and `is_upcoming` as in
    qualifications_of; None when they hold none, when signed out, or when `qualification` is None."""
    if qualification is None or not user.is_authenticated:
        return None
    grant = QualificationGrant.objects.filter(user=user, qualification=qualification).first()
    return _with_validity(grant, today) if grant else None
