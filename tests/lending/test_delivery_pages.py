"""Delivery on the pages: the basket's delivery form with the address to confirm, the booking
shown as a delivery, the tour list and its PDF sheets (read back: text and QR codes), the driver's
page at the school, and the booking link that sends the driver there."""

import datetime

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.urls import reverse

from lending.models import Fulfilment, Reservation, ReservationEvent, ReservationStatus
from lending.services import delivery_pack, handover_assign_unit, reservation_create
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY, travel_to, written

pytestmark = pytest.mark.usefixtures("monday")
TUESDAY_16 = datetime.date(2027, 3, 16)


def delivery_post(client, school, **overrides):
    data = {"delivery-fulfilment": "delivery", "delivery-school": school.pk,
            "delivery-pickup_day": NEXT_TUESDAY.isoformat(), "delivery-return_day": TUESDAY_16.isoformat(),
            "delivery-address_confirmed": "on", "delivery-note": "Raum 204"}
    data.update(overrides)
    return client.post(reverse("frontend:booking_create"), data)


@pytest.fixture
def in_basket(client, teacher, vr):
    client.force_login(teacher)
    client.post(reverse("frontend:basket_add", args=[vr.slug]), {"quantity": 2})
    return client


def test_the_basket_offers_delivery_with_the_schools_address_and_books_it(in_basket, school, teacher):
    page = in_basket.get(reverse("frontend:basket")).content.decode()
    assert "Lieferung an die Schule" in page and "Abholung an der Ausleihstelle" in page
    assert "Parkstraße 1, 44135 Dortmund" in page and "Hausmeister, Eingang Hofseite" in page

    response = delivery_post(in_basket, school)

    reservation = Reservation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("frontend:booking_detail",
                                                                           args=[reservation.code])
    assert (reservation.fulfilment, reservation.pickup_day, reservation.return_day, reservation.note) == (
        Fulfilment.DELIVERY, NEXT_TUESDAY, TUESDAY_16, "Raum 204")
    page = in_basket.get(response["Location"]).content.decode()
    assert "durch die Tour an die Schule" in page and "die Tour holt an der Schule ab" in page
    assert "Gesamtschule Hofseite, Parkstraße 1, 44135 Dortmund" in page
    bookings = in_basket.get(reverse("frontend:my_bookings")).content.decode()
    assert "Lieferung an die Schule Di 09.03.2027" in bookings


def test_a_delivery_without_the_address_confirmed_is_refused_with_nothing_written(in_basket, school):
    before = written()

    response = delivery_post(in_basket, school, **{"delivery-address_confirmed": ""})

    assert response.status_code == 400 and written() == before
    assert "Bitte prüfen Sie die Lieferadresse und bestätigen Sie sie." in response.content.decode()


@pytest.mark.parametrize(("change", "code", "status"), [
    ("no_address", "no_delivery_address", 409),
    ("pickup_only", "not_deliverable", 409),
    ("thursday", None, 400),
])
def test_delivery_refusals_on_the_page_write_nothing(in_basket, school, vr, tour, change, code, status):
    overrides = {}
    if change == "no_address":
        school.street = ""
        school.save()
    elif change == "pickup_only":
        vr.deliverable = False
        vr.save()
    else:
        overrides["delivery-pickup_day"] = "2027-03-11"  # not among the tour days offered
    before = written()

    response = delivery_post(in_basket, school, **overrides)

    assert response.status_code == status and written() == before
    if code:
        assert f'data-error-code="{code}"' in response.content.decode()


def test_an_item_for_pickup_only_leaves_the_delivery_form_out_and_says_why(in_basket, tour):
    lamp = factories.make_item_type(location=tour, name="Lötstation", units=2, deliverable=False)
    in_basket.post(reverse("frontend:basket_add", args=[lamp.slug]), {"quantity": 1})

    page = in_basket.get(reverse("frontend:basket")).content.decode()

    assert 'id="lieferung"' not in page
    assert "Lieferung an die Schule wird für diese Buchung nicht angeboten" in page and "Lötstation" in page


@pytest.fixture
def delivery(teacher, school, vr):
    return reservation_create(borrower=teacher, school=school, pickup_day=NEXT_TUESDAY, pickup_slot=None,
                              return_day=TUESDAY_16, lines={vr.pk: 2}, fulfilment=Fulfilment.DELIVERY)


def test_the_tour_list_shows_the_stops_with_address_contact_items_and_units(client, delivery, driver, tour, vr):
    client.force_login(driver)

    response = client.get(reverse("frontend:counter_tour", args=[tour.slug]), {"tag": NEXT_TUESDAY.isoformat()})

    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-booking="{delivery.code}" data-kind="delivery"' in page
    for expected in ("Gesamtschule Hofseite", "Parkstraße 1, 44135 Dortmund", "0231 123456",
                     "Hausmeister, Eingang Hofseite", "2 × VR-Koffer", "noch nicht gepackt", "Dora Dahl"):
        assert expected in page
    collection = client.get(reverse("frontend:counter_tour", args=[tour.slug]), {"tag": TUESDAY_16.isoformat()})
    assert f'data-booking="{delivery.code}" data-kind="collection"' in collection.content.decode()
    assert client.get(reverse("frontend:counter_tour", args=[tour.slug]), {"tag": "gestern"}).status_code == 400


def test_only_staff_of_the_counter_see_its_tour_and_driver_pages(client, delivery, teacher, tour, location):
    stranger = factories.make_user(username="fremd", role=factories.Role.STAFF)
    stranger.locations.add(location)
    for user in (teacher, stranger):
        client.force_login(user)
        for url in (reverse("frontend:counter_tour", args=[tour.slug]),
                    reverse("frontend:counter_tour_pdf", args=[tour.slug]),
                    reverse("frontend:tour_stop", args=[tour.slug, delivery.code])):
            assert client.get(url).status_code in (403, 404), (user, url)


def test_the_tour_sheets_read_back_one_page_a_stop_with_its_qr_code(client, delivery, driver, tour, teacher, vr,
                                                                     time_machine):
    second_school = factories.make_school_with_address(name="Grundschule Am Bach", postcode="44139",
                                                       street="Bachweg 3", delivery_notes="")
    teacher.schools.add(second_school)
    second = reservation_create(borrower=teacher, school=second_school, pickup_day=NEXT_TUESDAY, pickup_slot=None,
                                return_day=NEXT_WEDNESDAY, lines={vr.pk: 1}, fulfilment=Fulfilment.DELIVERY)
    travel_to(time_machine, NEXT_TUESDAY - datetime.timedelta(days=1))
    packed = vr.units.order_by("pk")[0]
    handover_assign_unit(reservation=delivery, unit=packed, actor=driver)
    client.force_login(driver)

    response = client.get(reverse("frontend:counter_tour_pdf", args=[tour.slug]), {"tag": NEXT_TUESDAY.isoformat()})

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    document = pdfium.PdfDocument(response.content)
    assert len(document) == 2
    texts = [" ".join(page.get_textpage().get_text_range().split()) for page in document]
    # In the tour's order, by postcode: 44135 before 44139.
    assert "Halt 1 von 2: Lieferung" in texts[0] and "Gesamtschule Hofseite" in texts[0]
    assert "Parkstraße 1" in texts[0] and "0231 123456" in texts[0] and packed.asset_tag in texts[0]
    assert "Hausmeister, Eingang Hofseite" in texts[0] and "Raum" not in texts[0]
    assert "Halt 2 von 2: Lieferung" in texts[1] and "Grundschule Am Bach" in texts[1] and "Bachweg 3" in texts[1]
    assert "Entgegengenommen an der Schule von (Name, Unterschrift)" in texts[0]
    codes = []
    for page in document:
        image = page.render(scale=2).to_pil()
        codes.append([result.text for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)])
    assert codes == [[f"http://testserver/r/{delivery.code}"], [f"http://testserver/r/{second.code}"]]


def test_the_booking_link_sends_staff_to_the_drivers_page_once_packed(client, delivery, driver, tour, vr,
                                                                      time_machine):
    client.force_login(driver)
    scan = reverse("frontend:booking_scan", args=[delivery.code])
    assert client.get(scan)["Location"] == reverse("frontend:counter_booking", args=[tour.slug, delivery.code])
    travel_to(time_machine, NEXT_TUESDAY - datetime.timedelta(days=1))
    handover_assign_unit(reservation=delivery, unit=vr.units.order_by("pk")[0], actor=driver)
    delivery_pack(reservation=delivery, actor=driver)

    assert client.get(scan)["Location"] == reverse("frontend:tour_stop", args=[tour.slug, delivery.code])


def test_the_driver_confirms_delivery_and_collection_on_the_stop_page(client, delivery, driver, tour, vr,
                                                                       time_machine):
    first, second = vr.units.order_by("pk")[:2]
    travel_to(time_machine, NEXT_TUESDAY - datetime.timedelta(days=1))
    client.force_login(driver)
    counter = reverse("frontend:counter_booking", args=[tour.slug, delivery.code])
    for unit in (first, second):
        client.post(reverse("frontend:counter_scan", args=[tour.slug]), {"code": unit.asset_tag,
                                                                          "booking": delivery.code})
    response = client.post(reverse("frontend:counter_handover_confirm", args=[tour.slug, delivery.code]))
    assert response.status_code == 302 and response["Location"] == counter
    delivery.refresh_from_db()
    assert delivery.status == ReservationStatus.CONFIRMED and delivery.packed_at is not None

    stop = reverse("frontend:tour_stop", args=[tour.slug, delivery.code])
    travel_to(time_machine, NEXT_TUESDAY, hour=11)
    page = client.get(stop).content.decode()
    assert "Zugestellt" in page and first.asset_tag in page
    response = client.post(stop, {"action": "delivered", "recipient": " "})
    assert response.status_code == 400 and 'data-error-code="recipient_required"' in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == ReservationStatus.CONFIRMED
    assert client.post(stop, {"action": "delivered", "recipient": "Frau Sekretärin"}).status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.delivered_to) == (ReservationStatus.HANDED_OUT, "Frau Sekretärin")

    travel_to(time_machine, TUESDAY_16, hour=11)
    # A scan ticks its unit and shows the page again with it ticked; a stranger's label is refused.
    response = client.post(stop, {"code": f"http://testserver/u/{first.asset_tag}"})
    assert response.status_code == 200
    assert f'value="{first.pk}" id="unit-{first.pk}" checked' in response.content.decode()
    response = client.post(stop, {"code": vr.units.order_by("pk")[3].asset_tag, "unit": [str(first.pk)]})
    assert response.status_code == 400 and f'id="unit-{first.pk}" checked' in response.content.decode()
    assert client.post(stop, {"action": "collected"}).status_code == 400
    response = client.post(stop, {"action": "collected", "unit": [str(first.pk), str(second.pk)]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.collected_at is not None
    assert delivery.events.get(action=ReservationEvent.Action.COLLECTED).data == {
        "units": sorted([first.asset_tag, second.asset_tag]), "missing": []}
    assert "Abgeholt. Nehmen Sie die Exemplare an der Theke zurück" in client.get(stop).content.decode()


# The API ---------------------------------------------------------------------------------------

API_URL = reverse("lending_api:reservation_create")


def api_payload(school, vr, **changes):
    data = {"school": school.pk, "fulfilment": "delivery", "pickup_day": NEXT_TUESDAY.isoformat(),
            "return_day": TUESDAY_16.isoformat(), "lines": [{"item_type": vr.pk, "quantity": 1}]}
    data.update(changes)
    return data


def test_the_api_books_a_delivery_and_shows_its_fulfilment(client, teacher, school, vr):
    client.force_login(teacher)

    response = client.post(API_URL, api_payload(school, vr), content_type="application/json")

    assert response.status_code == 201
    body = response.json()
    assert (body["fulfilment"], body["pickup_slot"], body["collection_by_tour"], body["delivered_at"]) == (
        "delivery", None, True, None)
    assert Reservation.objects.get().fulfilment == Fulfilment.DELIVERY
    detail = client.get(reverse("lending_api:reservation_detail", args=[body["code"]])).json()
    assert detail["fulfilment"] == "delivery"


@pytest.mark.parametrize(("changes", "status", "code"), [
    ({"fulfilment": "drone"}, 400, None),
    ({"fulfilment": "pickup"}, 400, None),  # a pickup needs its slot
    ({"pickup_day": "2027-03-11"}, 409, "not_a_delivery_day"),
    ({"pickup_day": "2027-03-03", "return_day": "2027-03-09"}, 409, "delivery_too_soon"),
])
def test_the_api_refuses_a_bad_delivery_with_its_code_and_writes_nothing(client, teacher, school, vr, changes,
                                                                         status, code):
    client.force_login(teacher)
    before = written()

    response = client.post(API_URL, api_payload(school, vr, **changes), content_type="application/json")

    assert response.status_code == status and written() == before
    if code:
        assert response.json()["code"] == code
    else:
        assert "fulfilment" in response.json()["fields"] or "pickup_slot" in response.json()["fields"]


# At the counter --------------------------------------------------------------------------------


def test_a_walk_in_books_a_delivery_and_the_agenda_points_to_the_tour(client, driver, teacher, school, vr, tour):
    client.force_login(driver)
    walk_in = reverse("frontend:counter_walk_in", args=[tour.slug])
    form = {"teacher": teacher.pk, "school": school.pk, f"quantity_{vr.pk}": "1",
            "delivery_day": datetime.date(2027, 3, 3).isoformat(), "return_day": NEXT_TUESDAY.isoformat()}
    page = client.get(walk_in, {"teacher": teacher.pk}).content.decode()
    assert "An die Schule liefern am" in page

    refused = client.post(walk_in, form)
    assert refused.status_code == 409 and "Eine Lieferung braucht mehr Vorlauf" in refused.content.decode()
    assert not Reservation.objects.exists()
    response = client.post(walk_in, {**form, "overrides": ["delivery_too_soon"]})

    reservation = Reservation.objects.get()
    assert response.status_code == 302
    assert (reservation.fulfilment, reservation.pickup_day, reservation.return_day) == (
        Fulfilment.DELIVERY, datetime.date(2027, 3, 3), NEXT_TUESDAY)
    assert reservation.events.get(action=ReservationEvent.Action.OVERRIDE).data == {"rule": "delivery_too_soon"}
    agenda = client.get(reverse("frontend:counter", args=[tour.slug]), {"tag": "2027-03-03"}).content.decode()
    assert "Die Tour hat an diesem Tag 1 Halt." in agenda
    # Not among the desk's pickups of the day.
    assert f'data-booking="{reservation.code}"' not in agenda and reservation.code not in agenda


def test_a_teacher_moves_her_delivery_to_other_tour_days_on_the_change_page(client, delivery, teacher):
    client.force_login(teacher)
    url = reverse("frontend:booking_change", args=[delivery.code])
    page = client.get(url).content.decode()
    assert "Liefertag" in page and "Abholtag an der Schule" in page and "Abholzeit" not in page

    response = client.post(url, {"pickup_day": NEXT_WEDNESDAY.isoformat(), "pickup_slot": "00:00",
                                 "return_day": TUESDAY_16.isoformat(), f"quantity_{delivery.lines.get().item_type_id}": 2})

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.pickup_day, delivery.return_day, delivery.fulfilment) == (NEXT_WEDNESDAY, TUESDAY_16, "delivery")


def test_the_extend_page_offers_a_tour_collected_delivery_the_tours_days(client, driver, teacher, school, vr, tour):
    tour.counter_weekdays, tour.delivery_weekdays = [2, 3, 4], [2]
    tour.save()
    delivery = reservation_create(borrower=teacher, school=school, pickup_day=NEXT_TUESDAY, pickup_slot=None,
                                  return_day=TUESDAY_16, lines={vr.pk: 1}, fulfilment=Fulfilment.DELIVERY)
    client.force_login(driver)
    url = reverse("frontend:counter_extend", args=[tour.slug, delivery.code])

    offered = [datetime.date.fromisoformat(value) for value, _label in
               client.get(url).context["form"].fields["return_day"].choices]

    assert offered and all(day.isoweekday() == 2 for day in offered)
    assert client.post(url, {"return_day": offered[0].isoformat()}).status_code == 302
    delivery.refresh_from_db()
    assert delivery.return_day == offered[0] == TUESDAY_16 + datetime.timedelta(days=7)
