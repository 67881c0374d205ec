"""Who a school single sign-on says someone is: role and schools from the provider's claims.

German school sign-ons are OpenID Connect providers that describe a person with claims of their
own: VIDIS (the national broker) sends `rolle` (LEHR, LEIT, LERN, EXTERN, …), `schulkennung` (a
string or a list) and `bundesland`; an IServ server belongs to one school and sends `roles`.
Each provider in settings.OIDC_PROVIDERS names a mapping ("vidis", "iserv" or "generic") and
may override any of its fields. `sso_identity` applies it and either returns the role and the
schools, or refuses with a stable code that the refusal page explains.
"""

import dataclasses
import logging

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, School

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ClaimMapping:
    role_claim: str
    teacher_roles: frozenset
    staff_roles: frozenset = frozenset()
    school_claim: str | None = None  # None: the provider belongs to one school (`school`)
    school: str | None = None  # that school's SSO id, for one-school providers such as IServ
    state_claim: str | None = None  # None: the state is not checked


MAPPINGS = {
    # VIDIS: teachers (LEHR) and school leaders (LEIT); students (LERN), externals and anyone
    # else are refused.
    "vidis": ClaimMapping(role_claim="rolle", teacher_roles=frozenset({"LEHR", "LEIT"}),
                          school_claim="schulkennung", state_claim="bundesland"),
    # IServ: one server per school, so the school comes from the provider's settings.
    "iserv": ClaimMapping(role_claim="roles", teacher_roles=frozenset({"teacher", "ROLE_TEACHER", "Lehrer"})),
    # Anything else: plain claim names, everything configurable.
    "generic": ClaimMapping(role_claim="role", teacher_roles=frozenset({"teacher"}), school_claim="school"),
}

# code -> message shown on the refusal page (what happened and what to do)
REFUSALS = {
    "provider_unknown": _("This sign-in service is not set up here."),
    "process_refused": _("A school account can only be used to sign in, not be connected to another account."),
    "role_missing": _("Your school's sign-in did not say whether you are a teacher. Please ask your school's "
                      "administrator to release the role to the media centre."),
    "role_refused": _("Only teachers and school leaders can borrow equipment. Students and external "
                      "accounts cannot sign in here; please ask a teacher."),
    "school_missing": _("Your school's sign-in did not name your school. Please ask your school's "
                        "administrator to release the school ID to the media centre."),
    "school_unknown": _("Your school is not one of the schools this media centre lends to. If it should "
                        "be, please contact the media centre with your school's number."),
    "state_missing": _("Your sign-in did not name your federal state. Please contact the media centre."),
    "state_other": _("This media centre lends to schools of its own federal state only."),
}


class SsoRefusal(Exception):
    def __init__(self, code, **details):
        assert code in REFUSALS, code
        self.code = code
        self.details = details
        super().__init__(code)

    @property
    def message(self):
        return REFUSALS[self.code]


@dataclasses.dataclass(frozen=True)
class SsoIdentity:
    role: str
    schools: list  # School rows, active, matched by their sso_id


def provider_config(provider_id):
    """The OIDC_PROVIDERS entry with this id, or None."""
    return next((entry for entry in settings.OIDC_PROVIDERS if entry.get("id") == provider_id), None)


def claim_mapping(config):
    """The provider's mapping: its named default with the provider's overrides applied."""
    mapping = MAPPINGS[config.get("mapping", "generic")]
    overrides = {}
    for field in dataclasses.fields(ClaimMapping):
        if field.name in config:
            value = config[field.name]
            overrides[field.name] = frozenset(value) if field.name.endswith("_roles") else value
    return dataclasses.replace(mapping, **overrides)


def _values(claim):
    """A claim as a list of strings: VIDIS sends one school as a string and several as a list."""
    if claim is None:
        return []
    if isinstance(claim, (list, tuple)):
        return [str(value).strip() for value in claim if str(value).strip()]
    return [part.strip() for part in str(claim).split(",") if part.strip()]


def sso_identity(*, claims, config, state=None):
    """The role and schools `claims` give under the provider's mapping; raises SsoRefusal."""
    mapping = claim_mapping(config)
    state = state if state is not None else settings.SSO_STATE
    if mapping.state_claim:
        states = _values(claims.get(mapping.state_claim))
        if not states:
            raise SsoRefusal("state_missing")
        if state and state.upper() not in {value.upper() for value in states}:
            raise SsoRefusal("state_other", state=states)
    roles = set(_values(claims.get(mapping.role_claim)))
    if not roles:
        raise SsoRefusal("role_missing")
    if roles & mapping.staff_roles:
        role = Role.STAFF
    elif roles & mapping.teacher_roles:
        role = Role.TEACHER
    else:
        raise SsoRefusal("role_refused", roles=sorted(roles))
    school_ids = [mapping.school] if mapping.school_claim is None else _values(claims.get(mapping.school_claim))
    school_ids = [school_id for school_id in school_ids if school_id]
    if role == Role.TEACHER and not school_ids:
        raise SsoRefusal("school_missing")
    schools = list(School.objects.filter(sso_id__in=school_ids, active=True).order_by("name"))
    if role == Role.TEACHER and not schools:
        raise SsoRefusal("school_unknown", schools=school_ids)
    return SsoIdentity(role=role, schools=schools)
