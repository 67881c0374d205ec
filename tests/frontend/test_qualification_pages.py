"""Qualifications at the counter (find a teacher, grant, renew, revoke) and on the item page
(whether the signed-in teacher holds what the item requires, and where the training is)."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import QualificationGrant, Role
from lending.exceptions import BookingError
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, TUESDAY, WEDNESDAY, travel_to

IN_A_YEAR = datetime.date(2028, 3, 2)


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


@pytest.fixture
def vr_training(db):
    return factories.make_qualification(name="VR-Schulung", where_offered="Medienzentrum Test, Raum 4, dienstags")


@pytest.fixture
def vr_headset(location, vr_training):
    return factories.make_item_type(location=location, name="VR-Brille", slug="vr-brille", units=2,
                                    required_qualification=vr_training)


@pytest.fixture
def other_clerk(db):
    """Counter staff of another media centre."""
    clerk = factories.make_user(username="otto", role=Role.STAFF)
    clerk.locations.add(factories.make_location(name="Medienzentrum Anderswo"))
    return clerk


@pytest.fixture
def at_counter(client, clerk):
    client.force_login(clerk)
    return client


def page_url(location, **query):
    url = reverse("frontend:counter_qualifications", args=[location.slug])
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


def revoke_url(location, grant):
    return reverse("frontend:counter_qualification_revoke", args=[location.slug, grant.pk])


def grant_data(teacher, qualification, granted_on=TUESDAY, expires_on=""):
    return {"teacher": teacher.pk, "qualification": qualification.pk, "granted_on": granted_on,
            "expires_on": expires_on}


def grants():
    return list(QualificationGrant.objects.order_by("pk").values_list(
        "pk", "user_id", "qualification_id", "granted_on", "expires_on", "granted_by_id"
    ))


def content(response):
    return response.content.decode()


# Who may open the page -------------------------------------------------------------------------------


def test_signing_in_comes_first(client, location):
    response = client.get(page_url(location))

    assert response.status_code == 302 and "login" in response["Location"]


def test_teachers_and_staff_of_another_counter_get_403_and_nothing_is_written(
        client, location, teacher_a, teacher_b, other_clerk, vr_training):
    grant = factories.grant_qualification(user=teacher_a, qualification=vr_training)
    before = grants()
    for user in (teacher_a, teacher_b, other_clerk):
        client.force_login(user)
        assert client.get(page_url(location)).status_code == 403
        assert client.get(page_url(location, teacher=teacher_a.pk)).status_code == 403
        assert client.post(page_url(location), grant_data(teacher_b, vr_training)).status_code == 403
        assert client.post(revoke_url(location, grant)).status_code == 403
    assert grants() == before


def test_an_unknown_counter_is_404(at_counter):
    assert at_counter.get(reverse("frontend:counter_qualifications", args=["gibt-es-nicht"])).status_code == 404


def test_administrators_open_it_at_every_counter(client, admin_user, location, teacher_a):
    client.force_login(admin_user)

    assert client.get(page_url(location, teacher=teacher_a.pk)).status_code == 200


def test_the_counter_navigation_links_to_the_page(at_counter, location):
    link = f'href="{page_url(location)}"'

    assert link in content(at_counter.get(reverse("frontend:counter", args=[location.slug])))
    assert f'{link} aria-current="page"' in content(at_counter.get(page_url(location)))


# Finding a teacher -----------------------------------------------------------------------------------


def test_staff_find_a_teacher_by_name(at_counter, location, teacher_a, teacher_b, clerk):
    response = at_counter.get(page_url(location, q="adl"))

    assert response.status_code == 200
    assert list(response.context["teachers"]) == [teacher_a]
    assert f'href="?teacher={teacher_a.pk}"' in content(response)


def test_a_search_of_one_letter_is_400(at_counter, location):
    response = at_counter.get(page_url(location, q="a"))

    assert response.status_code == 400 and response.context["teachers"] is None


@pytest.mark.parametrize("teacher", ["clerk", "inactive", "x1", "999999"])
def test_anyone_but_an_active_teacher_is_404(request, at_counter, location, teacher_b, teacher):
    if teacher == "clerk":
        teacher = request.getfixturevalue("clerk").pk
    elif teacher == "inactive":
        teacher_b.is_active = False
        teacher_b.save()
        teacher = teacher_b.pk

    assert at_counter.get(page_url(location, teacher=teacher)).status_code == 404


# A teacher's qualifications --------------------------------------------------------------------------


def test_the_page_lists_the_teachers_grants_valid_expired_and_coming(at_counter, location, teacher_a, teacher_b,
                                                                    vr_training, clerk):
    laser = factories.make_qualification(name="Lasercutter-Einweisung")
    drone = factories.make_qualification(name="Drohnenführerschein")
    factories.grant_qualification(user=teacher_a, qualification=vr_training, expires_on=IN_A_YEAR)
    factories.grant_qualification(user=teacher_a, qualification=laser, granted_on=datetime.date(2026, 1, 1),
                                  expires_on=datetime.date(2027, 1, 1))
    factories.grant_qualification(user=teacher_a, qualification=drone, granted_on=WEDNESDAY)
    factories.grant_qualification(user=teacher_b, qualification=factories.make_qualification(name="Bobs Kurs"))

    response = at_counter.get(page_url(location, teacher=teacher_a.pk))

    assert response.status_code == 200
    page = content(response)
    assert [(grant.qualification.name, grant.is_valid) for grant in response.context["grants"]] == [
        ("Drohnenführerschein", False), ("Lasercutter-Einweisung", False), ("VR-Schulung", True),
    ]
    assert page.count('class="grant-valid"') == 1
    assert page.count('class="grant-expired"') == 1
    assert page.count('class="grant-upcoming"') == 1
    assert "02.03.2028" in page and "01.01.2027" in page
    assert "Bobs Kurs" not in page.split("<table", 1)[1].split("</table>", 1)[0]
    assert response.context["form"].initial["granted_on"] == TUESDAY


def test_the_list_needs_the_same_queries_for_many_grants(at_counter, location, teacher_a, clerk,
                                                         django_assert_max_num_queries):
    def grant_some(count):
        for _ in range(count):
            grant = factories.grant_qualification(user=teacher_a, qualification=factories.make_qualification())
            grant.granted_by = clerk
            grant.save()

    grant_some(1)
    with django_assert_max_num_queries(100) as one_grant:
        at_counter.get(page_url(location, teacher=teacher_a.pk))
    grant_some(20)

    with django_assert_max_num_queries(len(one_grant.captured_queries)):
        response = at_counter.get(page_url(location, teacher=teacher_a.pk))
    assert len(response.context["grants"]) == 21


# Granting and renewing -------------------------------------------------------------------------------


def test_staff_grant_a_qualification(at_counter, location, clerk, teacher_a, vr_training):
    response = at_counter.post(page_url(location), grant_data(teacher_a, vr_training, expires_on=IN_A_YEAR))

    assert response.status_code == 302 and response["Location"] == page_url(location, teacher=teacher_a.pk)
    grant = QualificationGrant.objects.get()
    assert (grant.user, grant.qualification, grant.granted_on, grant.expires_on, grant.granted_by) == (
        teacher_a, vr_training, TUESDAY, IN_A_YEAR, clerk
    )
    followed = at_counter.get(response["Location"])
    assert "VR-Schulung" in content(followed) and 'class="message message-success"' in content(followed)


def test_granting_again_renews_the_grant(at_counter, location, teacher_a, vr_training):
    old = factories.grant_qualification(user=teacher_a, qualification=vr_training,
                                        granted_on=datetime.date(2025, 3, 4), expires_on=datetime.date(2026, 3, 4))

    response = at_counter.post(page_url(location), grant_data(teacher_a, vr_training, expires_on=IN_A_YEAR))

    assert response.status_code == 302
    assert grants() == [(old.pk, teacher_a.pk, vr_training.pk, TUESDAY, IN_A_YEAR,
                         response.wsgi_request.user.pk)]


def test_an_expiry_before_the_grant_day_is_refused_with_400_and_nothing_is_written(at_counter, location,
                                                                                   teacher_a, vr_training):
    response = at_counter.post(page_url(location), grant_data(teacher_a, vr_training, expires_on=TUESDAY
                                                              - datetime.timedelta(days=1)))

    assert response.status_code == 400
    assert response.context["error_code"] == "dates_invalid"
    assert 'class="message message-error"' in content(response)
    assert grants() == []


@pytest.mark.parametrize("field, value", [("qualification", ""), ("qualification", "999999"),
                                          ("granted_on", ""), ("granted_on", "gestern"), ("expires_on", "bald")])
def test_an_incomplete_form_is_400_and_nothing_is_written(at_counter, location, teacher_a, vr_training, field,
                                                          value):
    data = grant_data(teacher_a, vr_training)
    data[field] = value

    response = at_counter.post(page_url(location), data)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert grants() == []


def test_a_grant_without_a_teacher_is_400(at_counter, location, vr_training, teacher_a):
    data = grant_data(teacher_a, vr_training)
    del data["teacher"]

    assert at_counter.post(page_url(location), data).status_code == 400
    assert grants() == []


def test_a_grant_for_someone_who_is_not_a_teacher_is_404(at_counter, location, clerk, vr_training):
    assert at_counter.post(page_url(location), grant_data(clerk, vr_training)).status_code == 404
    assert grants() == []


# Revoking --------------------------------------------------------------------------------------------


def test_staff_revoke_a_grant(at_counter, location, teacher_a, vr_training):
    grant = factories.grant_qualification(user=teacher_a, qualification=vr_training)

    response = at_counter.post(revoke_url(location, grant))

    assert response.status_code == 302 and response["Location"] == page_url(location, teacher=teacher_a.pk)
    assert grants() == []


def test_revoking_needs_a_post_and_an_existing_grant(at_counter, location, teacher_a, vr_training):
    grant = factories.grant_qualification(user=teacher_a, qualification=vr_training)

    assert at_counter.get(revoke_url(location, grant)).status_code == 405
    assert at_counter.post(reverse("frontend:counter_qualification_revoke",
                                   args=[location.slug, grant.pk + 1000])).status_code == 404
    assert QualificationGrant.objects.filter(pk=grant.pk).exists()


def test_each_grant_has_a_revoke_button(at_counter, location, teacher_a, vr_training):
    grant = factories.grant_qualification(user=teacher_a, qualification=vr_training)

    page = content(at_counter.get(page_url(location, teacher=teacher_a.pk)))

    assert f'action="{revoke_url(location, grant)}"' in page


# From the counter to a booking -----------------------------------------------------------------------


def test_a_booking_goes_through_after_the_grant_and_is_refused_after_the_revocation(
        at_counter, location, teacher_a, vr_headset, vr_training):
    def book():
        return factories.book(borrower=teacher_a, lines={vr_headset: 1}, pickup_day=NEXT_TUESDAY)

    with pytest.raises(BookingError) as refusal:
        book()
    assert refusal.value.code == "qualification_missing"

    at_counter.post(page_url(location), grant_data(teacher_a, vr_training, expires_on=IN_A_YEAR))
    assert book().pk

    at_counter.post(revoke_url(location, QualificationGrant.objects.get()))
    with pytest.raises(BookingError) as refusal:
        book()
    assert refusal.value.code == "qualification_missing"


def test_a_grant_that_ends_before_the_pickup_day_does_not_let_the_teacher_book(
        at_counter, location, teacher_a, vr_headset, vr_training):
    at_counter.post(page_url(location), grant_data(teacher_a, vr_training, expires_on=WEDNESDAY))

    with pytest.raises(BookingError) as refusal:
        factories.book(borrower=teacher_a, lines={vr_headset: 1}, pickup_day=NEXT_TUESDAY)
    assert refusal.value.code == "qualification_missing"


# The item page ---------------------------------------------------------------------------------------


def item_page(client, item_type):
    return content(client.get(reverse("frontend:item_detail", args=[item_type.slug])))


def test_a_teacher_who_holds_the_qualification_sees_until_when(client, teacher_a, vr_headset, vr_training):
    factories.grant_qualification(user=teacher_a, qualification=vr_training, expires_on=IN_A_YEAR)
    client.force_login(teacher_a)

    page = item_page(client, vr_headset)

    assert 'class="qualification-held"' in page and "02.03.2028" in page
    assert "Raum 4" not in page


def test_a_teacher_who_lacks_it_sees_where_the_training_is(client, teacher_a, teacher_b, vr_headset, vr_training):
    factories.grant_qualification(user=teacher_b, qualification=vr_training)
    client.force_login(teacher_a)

    page = item_page(client, vr_headset)

    assert 'class="qualification-held"' not in page
    assert "Raum 4" in page


def test_a_teacher_whose_qualification_expired_sees_when_and_where_to_renew(client, teacher_a, vr_headset,
                                                                           vr_training):
    factories.grant_qualification(user=teacher_a, qualification=vr_training, granted_on=datetime.date(2025, 1, 1),
                                  expires_on=datetime.date(2027, 2, 28))
    client.force_login(teacher_a)

    page = item_page(client, vr_headset)

    assert 'class="qualification-held"' not in page
    assert "28.02.2027" in page and "Raum 4" in page


def test_visitors_see_where_the_training_is(client, vr_headset):
    page = item_page(client, vr_headset)

    assert "VR-Schulung" in page and "Raum 4" in page


def test_an_item_without_a_qualification_shows_none(client, teacher_a, item_type):
    client.force_login(teacher_a)

    assert 'class="qualification-' not in item_page(client, item_type)
