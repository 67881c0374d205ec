"""Mails from the counter's work: an extension, a booking not picked up, the return receipt."""

import datetime

import pytest

from lending.services import (
    handover_assign_unit,
    handover_complete,
    reservation_extend,
    reservation_mark_no_show,
    takeback_unit,
)
from notifications.delivery import deliver_due
from notifications.models import Mail
from tests import factories
from tests.lending.conftest import NEXT_WEDNESDAY, TUESDAY, travel_to

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


def test_an_extension_a_no_show_and_a_return_receipt_are_mailed(smtp_server, location, school_a, teacher_a,
                                                               item_type, clerk, time_machine):
    units = list(item_type.units.order_by("pk"))
    loan = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                      lines={item_type: 2}, pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY)
    missed = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                        lines={item_type: 1}, pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY)
    for unit in units[:2]:
        handover_assign_unit(reservation=loan, unit=unit, actor=clerk)
    handover_complete(reservation=loan, actor=clerk)
    later = NEXT_WEDNESDAY + datetime.timedelta(days=7)
    reservation_extend(reservation=loan, actor=clerk, return_day=later)
    reservation_mark_no_show(reservation=missed, actor=clerk)
    travel_to(time_machine, later + datetime.timedelta(days=6))  # a week late
    takeback_unit(unit=units[0], actor=clerk, condition="complete")
    assert not Mail.objects.filter(kind=Mail.Kind.RETURN_RECEIPT).exists()  # one unit is still out
    takeback_unit(unit=units[1], actor=clerk, condition="complete")

    assert sorted(Mail.objects.values_list("kind", flat=True)) == sorted(
        [Mail.Kind.BOOKING_EXTENDED, Mail.Kind.NO_SHOW, Mail.Kind.RETURN_RECEIPT])
    assert deliver_due().sent == 3
    by_subject = {message["Subject"]: message for message in smtp_server.wait_for(3)}
    extended = next(message for subject, message in by_subject.items() if "verlängert" in subject)
    assert [part.get_filename() for part in extended.iter_attachments()] == [f"technikverleih-{loan.code}.ics"]
    assert f"SEQUENCE:{loan.__class__.objects.get(pk=loan.pk).sequence}" in \
        next(extended.iter_attachments()).get_content()
    assert any("nicht abgeholt" in subject and missed.code in subject for subject in by_subject)
    receipt = next(message for subject, message in by_subject.items() if "Quittung" in subject).get_body(("plain",))
    text = receipt.get_content()
    assert all(unit.asset_tag in text for unit in units[:2]) and "nach dem Rückgabetag" in text


def test_a_damage_report_is_confirmed_and_its_settlement_mailed(smtp_server, location, school_a, teacher_a,
                                                              item_type, clerk):
    from lending.models import DamageReport
    from lending.services import damage_report_create, damage_report_settle

    unit = item_type.units.order_by("pk").first()
    loan = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                      lines={item_type: 1}, pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY)
    handover_assign_unit(reservation=loan, unit=unit, actor=clerk)
    handover_complete(reservation=loan, actor=clerk)
    report = damage_report_create(reporter=teacher_a, reservation=loan, unit_or_none=unit,
                                  kind=DamageReport.Kind.DAMAGE, description="Display gesprungen")
    takeback_unit(unit=unit, actor=clerk, condition="damaged")
    damage_report_settle(report=report, actor=clerk, resolution=DamageReport.Resolution.REPAIR,
                         compensation_amount="25.00")

    kinds = list(Mail.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == [Mail.Kind.DAMAGE_RECEIVED, Mail.Kind.RETURN_RECEIPT, Mail.Kind.DAMAGE_SETTLED]
    deliver_due()
    texts = {message["Subject"]: message.get_body(("plain",)).get_content() for message in smtp_server.wait_for(3)}
    received = next(text for subject, text in texts.items() if "Schadensmeldung eingegangen" in subject)
    settled = next(text for subject, text in texts.items() if "Schadensmeldung abgeschlossen" in subject)
    assert "Display gesprungen" in received and unit.asset_tag in received
    assert "repariert" in settled and "Ersatz: 25,00 €" in settled


def test_a_report_refused_sends_nothing(location, school_a, teacher_a, teacher_b, item_type, clerk):
    from lending.exceptions import BookingError
    from lending.models import DamageReport
    from lending.services import damage_report_create

    loan = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                      lines={item_type: 1}, pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY)
    with pytest.raises(BookingError):
        damage_report_create(reporter=teacher_b, reservation=loan, unit_or_none=None,
                             kind=DamageReport.Kind.DAMAGE, description="nicht meins")
    assert not Mail.objects.exists()
