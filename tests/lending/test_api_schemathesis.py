"""Schemathesis fuzzes every operation of our OpenAPI schema, signed in as a teacher (session with
its CSRF token, as the web app) and as counter staff (a read-write API token, as a script).

Each operation gets valid and invalid requests generated from the schema. Every answer must be
no server error, a status code the schema documents, the documented content type, a body that
matches the documented schema, and a refusal (4xx) for every request the schema says is invalid.
The data is small but real: a counter, bookable items, a booking, a loan and a damage report,
whose codes the generated valid requests use some of the time so that not everything is a 404.
"""

import zlib

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.api_tokens import api_token_create
from lending.services import damage_report_create
from tests import factories
from tests.lending.conftest import TUESDAY, loan, travel_to, units  # noqa: F401 (fixtures)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
EXAMPLES = 40

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


@pytest.fixture
def world(location, school_a, teacher_a, clerk, item_type, loan):
    """Teacher A has a loan out and a booking ahead at the clerk's counter; a damage report is open."""
    ahead = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=factories.counter_day(at_least_days_ahead=7),
        return_day=factories.counter_day(at_least_days_ahead=14),
    )
    report = damage_report_create(reservation=loan, reporter=clerk, kind="damage", description="Riss im Kabel",
                                  unit_or_none=loan.handovers.first().unit)
    return {"code": ahead.code, "slug": item_type.slug, "asset_tag": loan.handovers.first().unit.asset_tag,
            "id": report.pk, "location": location.slug}


@pytest.fixture
def in_test_transaction():
    """Schemathesis calls the WSGI app itself, not through Django's test client: keep the app from
    closing the test's database connection at the end of each request, as the test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(world, settings, in_test_transaction):
    # The fuzzer sends far more than a person would; rate limits have their own tests.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "token": "100000/minute"}}
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=EXAMPLES, with_security_parameters=False, deterministic=True)
    return loaded


@pytest.fixture
def teacher_session(teacher_a):
    """The cookies and header a browser signed in as teacher A sends (session and CSRF token)."""
    client = Client()
    client.force_login(teacher_a)
    csrf = "a" * 32
    return {"cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf},
            "headers": {"X-CSRFToken": csrf}}


@pytest.fixture
def staff_headers(clerk):
    _, raw = api_token_create(user=clerk, name="Fuzzer", scope="write")
    return {"Authorization": f"Bearer {raw}"}


def with_real_objects(case, world):
    """In valid requests, point every other path parameter at an object that exists."""
    if case.meta and case.meta.generation.mode == GenerationMode.POSITIVE and case.path_parameters:
        for name in case.path_parameters:
            if name in world and zlib.crc32(str(case.path_parameters[name]).encode()) % 2 == 0:
                case.path_parameters[name] = world[name]
    return case


@schema.parametrize()
def test_the_api_keeps_its_schema_for_a_teacher(case, world, teacher_session):
    with_real_objects(case, world).call_and_validate(checks=CHECKS, **teacher_session)


@schema.parametrize()
def test_the_api_keeps_its_schema_for_counter_staff(case, world, staff_headers):
    with_real_objects(case, world).call_and_validate(headers=staff_headers, checks=CHECKS)
