"""The claim mappings: who a school sign-on's claims make a teacher, of which schools.

The whole sign-in through a real provider is in tests/sso/; here the mapping alone, case by case.
"""

import pytest

from accounts.models import Role
from accounts.sso import SsoRefusal, claim_mapping, sso_identity
from tests import factories

VIDIS = {"id": "vidis", "name": "VIDIS", "mapping": "vidis"}


@pytest.fixture
def schools(db):
    return {
        "NW-100001": factories.make_school(name="Gymnasium am Park", sso_id="NW-100001"),
        "NW-100002": factories.make_school(name="Grundschule Nord", sso_id="NW-100002"),
        "NW-100003": factories.make_school(name="Alte Schule", sso_id="NW-100003", active=False),
    }


def refused(**arguments):
    with pytest.raises(SsoRefusal) as refusal:
        sso_identity(**arguments)
    return refusal.value.code


@pytest.mark.parametrize("rolle", ["LEHR", "LEIT", ["LEHR"], ["LERN", "LEHR"]])
def test_vidis_teachers_and_school_leaders_are_teachers_of_their_school(schools, rolle):
    identity = sso_identity(claims={"rolle": rolle, "schulkennung": "NW-100001", "bundesland": "NW"}, config=VIDIS)
    assert identity.role == Role.TEACHER
    assert identity.schools == [schools["NW-100001"]]


@pytest.mark.parametrize("schulkennung", [["NW-100001", "NW-100002"], "NW-100001,NW-100002"])
def test_a_teacher_of_two_schools_gets_both(schools, schulkennung):
    identity = sso_identity(claims={"rolle": "LEHR", "schulkennung": schulkennung, "bundesland": "NW"}, config=VIDIS)
    assert set(identity.schools) == {schools["NW-100001"], schools["NW-100002"]}


@pytest.mark.parametrize(("claims", "code"), [
    ({"rolle": "LERN", "schulkennung": "NW-100001", "bundesland": "NW"}, "role_refused"),
    ({"rolle": "EXTERN", "schulkennung": "NW-100001", "bundesland": "NW"}, "role_refused"),
    ({"rolle": "ADMIN", "schulkennung": "NW-100001", "bundesland": "NW"}, "role_refused"),
    ({"schulkennung": "NW-100001", "bundesland": "NW"}, "role_missing"),
    ({"rolle": [], "schulkennung": "NW-100001", "bundesland": "NW"}, "role_missing"),
    ({"rolle": "LEHR", "bundesland": "NW"}, "school_missing"),
    ({"rolle": "LEHR", "schulkennung": "BY-999", "bundesland": "NW"}, "school_unknown"),
    ({"rolle": "LEHR", "schulkennung": "NW-100003", "bundesland": "NW"}, "school_unknown"),  # inactive
    ({"rolle": "LEHR", "schulkennung": "NW-100001", "bundesland": "BY"}, "state_other"),
    ({"rolle": "LEHR", "schulkennung": "NW-100001"}, "state_missing"),
])
def test_everyone_else_is_refused_with_a_reason(schools, claims, code):
    assert refused(claims=claims, config=VIDIS) == code


def test_the_state_comes_from_the_setting(schools, settings):
    settings.SSO_STATE = "BY"
    claims = {"rolle": "LEHR", "schulkennung": "NW-100001", "bundesland": "NW"}
    assert refused(claims=claims, config=VIDIS) == "state_other"
    assert sso_identity(claims={**claims, "bundesland": "by"}, config=VIDIS).role == Role.TEACHER


def test_an_iserv_server_belongs_to_one_school(schools):
    iserv = {"id": "iserv-park", "name": "IServ Gymnasium am Park", "mapping": "iserv", "school": "NW-100001"}
    identity = sso_identity(claims={"roles": ["teacher"]}, config=iserv)
    assert identity.schools == [schools["NW-100001"]]
    assert refused(claims={"roles": ["student"]}, config=iserv) == "role_refused"


def test_a_generic_provider_with_its_own_claim_names_and_a_staff_role(schools):
    config = {"id": "stadt", "name": "Stadt", "mapping": "generic", "role_claim": "groups",
              "teacher_roles": ["lehrkraefte"], "staff_roles": ["medienzentrum"], "school_claim": "schule"}
    assert claim_mapping(config).teacher_roles == frozenset({"lehrkraefte"})
    teacher = sso_identity(claims={"groups": ["lehrkraefte"], "schule": "NW-100002"}, config=config)
    assert (teacher.role, teacher.schools) == (Role.TEACHER, [schools["NW-100002"]])
    staff = sso_identity(claims={"groups": ["medienzentrum", "lehrkraefte"]}, config=config)
    assert (staff.role, staff.schools) == (Role.STAFF, [])
