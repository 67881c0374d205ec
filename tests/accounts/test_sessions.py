"""Sessions are read with their user in one query (accounts/sessions.py), and Django's checks of
a signed-in session still hold: the account active, the password unchanged, the session not
expired, the user not deleted."""

import datetime

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from accounts.models import Session, User
from accounts.sessions import SessionStore

CATALOGUE = reverse("frontend:catalogue")
MY_BOOKINGS = reverse("frontend:my_bookings")


@pytest.fixture
def signed_in(client, teacher_a):
    client.force_login(teacher_a)
    return client


def test_a_signed_in_look_at_the_catalogue_takes_two_queries(signed_in, item_type, django_assert_num_queries):
    signed_in.get(CATALOGUE)
    with django_assert_num_queries(2):  # the session with its user; the catalogue's version
        response = signed_in.get(CATALOGUE)
    assert response.status_code == 200
    assert response.context["user"].is_authenticated


def test_the_session_row_names_its_user(signed_in, teacher_a):
    session = Session.objects.get()
    assert session.user_id == teacher_a.pk
    assert session.get_decoded()[SESSION_KEY] == str(teacher_a.pk)


def test_the_user_read_with_the_session_is_the_one_the_orm_reads(signed_in, teacher_a):
    teacher_a.last_login = timezone.now().replace(microsecond=123456)
    teacher_a.save()
    store = SessionStore(session_key=Session.objects.get().session_key)
    store.load()
    fresh = User.objects.get(pk=teacher_a.pk)
    for field in User._meta.concrete_fields:
        assert getattr(store.loaded_user, field.attname) == getattr(fresh, field.attname), field.name
    assert store.loaded_user._state.adding is False


def test_signed_out_sessions_load_no_user(client, db):
    session = client.session
    session["basket"] = [1]
    session.save()
    store = SessionStore(session_key=session.session_key)
    assert store.load() == {"basket": [1]}
    assert store.loaded_user is None
    assert Session.objects.get().user_id is None


def test_an_unknown_session_key_is_signed_out(client, db):
    store = SessionStore(session_key="x" * 32)
    assert store.load() == {}
    assert store.session_key is None


def test_deleting_the_user_deletes_their_sessions(signed_in, teacher_a):
    teacher_a.delete()
    assert not Session.objects.exists()
    assert signed_in.get(MY_BOOKINGS).status_code == 302  # to the sign-in page


def test_a_deactivated_account_is_signed_out_at_the_next_request(signed_in, teacher_a):
    assert signed_in.get(MY_BOOKINGS).status_code == 200
    User.objects.filter(pk=teacher_a.pk).update(is_active=False)
    assert signed_in.get(MY_BOOKINGS).status_code == 302


def test_a_changed_password_signs_out_the_other_sessions(signed_in, teacher_a):
    assert signed_in.get(MY_BOOKINGS).status_code == 200
    teacher_a.set_password("a new password, set elsewhere")
    teacher_a.save()
    assert signed_in.get(MY_BOOKINGS).status_code == 302


def test_an_expired_session_is_signed_out(signed_in):
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    assert signed_in.get(MY_BOOKINGS).status_code == 302


def test_signing_out_deletes_the_session_row(signed_in):
    response = signed_in.post(reverse("account_logout"))
    assert response.status_code == 302
    assert not Session.objects.filter(user__isnull=False).exists()
    assert signed_in.get(MY_BOOKINGS).status_code == 302
