import datetime
import re

import pytest
import zxingcpp
from django.urls import reverse
from django.utils import translation
from PIL import Image, ImageDraw

from lending.exceptions import BookingError
from lending.models import Reservation, ReservationEvent, ReservationStatus
from tests import factories


@pytest.fixture
def second_item(location):
    return factories.make_item_type(location=location, name="Ozobot-Klassensatz", slug="ozobot", units=2)


def fill_basket(client, *lines, pickup_day=None, return_day=None):
    for item_type, quantity in lines:
        data = {"quantity": quantity}
        if pickup_day:
            data.update(pickup_day=pickup_day.isoformat(), return_day=return_day.isoformat())
        response = client.post(reverse("frontend:basket_add", args=[item_type.slug]), data)
        assert response.status_code == 302


def book_basket(client, teacher, pickup_day, return_day, slot="09:00"):
    return client.post(reverse("frontend:booking_create"), {
        "school": teacher.schools.first().pk, "pickup_day": pickup_day.isoformat(), "pickup_slot": slot,
        "return_day": return_day.isoformat(),
    })


def test_a_teacher_books_two_item_types_from_the_basket(client, teacher_a, item_type, second_item):
    client.force_login(teacher_a)
    pickup = factories.counter_day(at_least_days_ahead=3)
    fill_basket(client, (item_type, 2), (second_item, 1), pickup_day=pickup, return_day=pickup + datetime.timedelta(days=1))
    basket = client.get(reverse("frontend:basket"))
    assert basket.context["form"].initial["pickup_day"] == pickup.isoformat()

    response = book_basket(client, teacher_a, pickup, pickup + datetime.timedelta(days=1))

    reservation = Reservation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:booking_detail", args=[reservation.code])
    assert reservation.borrower == teacher_a and reservation.status == ReservationStatus.CONFIRMED
    assert {line.item_type_id: line.quantity for line in reservation.lines.all()} == {item_type.pk: 2, second_item.pk: 1}
    assert client.get(reverse("frontend:basket")).context["basket"].lines == {}


def test_the_confirmation_shows_the_number_and_a_qr_code_of_the_scan_url(client, teacher_a, item_type):
    client.force_login(teacher_a)
    reservation = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    response = client.get(reverse("frontend:booking_detail", args=[reservation.code]))
    assert response.status_code == 200
    content = response.content.decode()
    assert reservation.code in content
    svg = client.get(reverse("frontend:booking_qr", args=[reservation.code]))
    assert svg["Content-Type"] == "image/svg+xml"
    assert decode_qr_svg(svg.content.decode()) == f"http://testserver/r/{reservation.code}"
    assert decode_qr_svg(content[content.index("<svg"):content.index("</svg>") + 6]) == f"http://testserver/r/{reservation.code}"


def test_the_scan_url_opens_the_booking_for_its_borrower(client, teacher_a, item_type):
    client.force_login(teacher_a)
    reservation = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    response = client.get(f"/r/{reservation.code.lower()}")
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:booking_detail", args=[reservation.code])


@pytest.mark.parametrize("path", ["frontend:booking_detail", "frontend:booking_qr", "frontend:booking_scan",
                                  "frontend:booking_change", "frontend:booking_cancel"])
def test_another_teacher_gets_404_for_every_booking_page(client, teacher_a, teacher_b, item_type, path):
    reservation = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    client.force_login(teacher_b)
    assert client.get(reverse(path, args=[reservation.code])).status_code == 404
    assert client.post(reverse("frontend:booking_cancel", args=[reservation.code])).status_code == 404
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED


def test_booking_pages_need_a_sign_in(client, teacher_a, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    response = client.get(reverse("frontend:booking_detail", args=[reservation.code]))
    assert response.status_code == 302 and "/konto/login/" in response["Location"]


def test_a_refusal_shows_its_message_with_its_status_and_writes_nothing(client, teacher_a, teacher_b, item_type):
    pickup = factories.counter_day(at_least_days_ahead=3)
    factories.book(borrower=teacher_b, lines={item_type.pk: 3}, pickup_day=pickup)
    client.force_login(teacher_a)
    fill_basket(client, (item_type, 1))
    response = book_basket(client, teacher_a, pickup, pickup + datetime.timedelta(days=1))
    assert response.status_code == 409
    assert response.context["error_code"] == "not_enough_units"
    assert "Nicht genug" in response.content.decode() or "Not enough units" in response.content.decode()
    assert Reservation.objects.filter(borrower=teacher_a).count() == 0


def test_a_day_outside_the_offered_choices_is_a_400(client, teacher_a, item_type):
    client.force_login(teacher_a)
    fill_basket(client, (item_type, 1))
    thursday = factories.counter_day(weekday=4, at_least_days_ahead=3)
    response = book_basket(client, teacher_a, thursday, thursday + datetime.timedelta(days=6))
    assert response.status_code == 400
    assert response.context["form"].errors["pickup_day"]
    assert not Reservation.objects.exists()


def test_an_account_without_a_school_is_told_and_cannot_book(client, stranger, school_a, item_type):
    client.force_login(stranger)
    fill_basket(client, (item_type, 1))
    page = client.get(reverse("frontend:basket"))
    assert 'class="booking-form"' not in page.content.decode()
    pickup = factories.counter_day(at_least_days_ahead=3)
    response = client.post(reverse("frontend:booking_create"), {
        "school": school_a.pk, "pickup_day": pickup.isoformat(), "pickup_slot": "09:00", "return_day": pickup.isoformat(),
    })
    assert response.status_code == 400
    assert response.context["form"].errors["school"]
    assert not Reservation.objects.exists()


def test_staff_are_refused_as_not_a_teacher(client, clerk, school_a, item_type):
    clerk.schools.add(school_a)
    client.force_login(clerk)
    fill_basket(client, (item_type, 1))
    pickup = factories.counter_day(at_least_days_ahead=3)
    response = client.post(reverse("frontend:booking_create"), {
        "school": school_a.pk, "pickup_day": pickup.isoformat(), "pickup_slot": "09:00", "return_day": pickup.isoformat(),
    })
    assert response.status_code == 403
    assert response.context["error_code"] == "not_a_teacher"
    assert not Reservation.objects.exists()


def test_signing_in_again_on_the_booking_url_leads_back_to_the_basket(client, teacher_a):
    client.force_login(teacher_a)
    response = client.get(reverse("frontend:booking_create"))
    assert response.status_code == 302 and response["Location"] == reverse("frontend:basket")


def test_item_types_deleted_since_drop_out_of_the_basket(client, teacher_a, location, item_type):
    doomed = factories.make_item_type(location=location, units=0)
    client.force_login(teacher_a)
    fill_basket(client, (item_type, 1), (doomed, 1))
    doomed.delete()
    assert client.get(reverse("frontend:basket")).context["basket"].lines == {item_type.pk: 1}


def test_the_basket_updates_and_removes_lines(client, item_type, second_item):
    fill_basket(client, (item_type, 2), (second_item, 1))
    client.post(reverse("frontend:basket"), {f"quantity_{item_type.pk}": "3", f"quantity_{second_item.pk}": "1"})
    assert client.get(reverse("frontend:basket")).context["basket"].lines == {item_type.pk: 3, second_item.pk: 1}
    client.post(reverse("frontend:basket"), {"remove": str(second_item.pk)})
    assert client.get(reverse("frontend:basket")).context["basket"].lines == {item_type.pk: 3}
    response = client.post(reverse("frontend:basket"), {f"quantity_{item_type.pk}": "drei"})
    assert response.status_code == 302
    assert client.get(reverse("frontend:basket")).context["basket"].lines == {item_type.pk: 3}


def test_adding_a_bad_quantity_is_refused(client, item_type):
    response = client.post(reverse("frontend:basket_add", args=[item_type.slug]), {"quantity": "0"})
    assert response.status_code == 302
    assert client.get(reverse("frontend:basket")).context["basket"].lines == {}


def test_my_bookings_splits_upcoming_on_loan_and_past(client, teacher_a, teacher_b, item_type):
    upcoming = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    on_loan = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_slot=datetime.time(10, 0))
    Reservation.objects.filter(pk=on_loan.pk).update(status=ReservationStatus.HANDED_OUT)
    cancelled = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_slot=datetime.time(11, 0))
    Reservation.objects.filter(pk=cancelled.pk).update(status=ReservationStatus.CANCELLED)
    factories.book(borrower=teacher_b, lines={item_type.pk: 1}, pickup_slot=datetime.time(12, 0))
    client.force_login(teacher_a)
    bookings = client.get(reverse("frontend:my_bookings")).context["bookings"]
    assert [r.pk for r in bookings["upcoming"]] == [upcoming.pk]
    assert [r.pk for r in bookings["on_loan"]] == [on_loan.pk]
    assert [r.pk for r in bookings["past"]] == [cancelled.pk]


def test_a_teacher_cancels_a_booking(client, teacher_a, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    client.force_login(teacher_a)
    assert client.get(reverse("frontend:booking_cancel", args=[reservation.code])).status_code == 200
    response = client.post(reverse("frontend:booking_cancel", args=[reservation.code]))
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CANCELLED
    assert ReservationEvent.objects.filter(reservation=reservation, action="cancelled", actor=teacher_a).exists()
    # A second cancel is refused with a message and changes nothing.
    response = client.post(reverse("frontend:booking_cancel", args=[reservation.code]), follow=True)
    with translation.override("de"):
        assert str(BookingError("not_cancellable").message) in response.content.decode()
    assert ReservationEvent.objects.filter(reservation=reservation, action="cancelled").count() == 1


def test_a_teacher_changes_days_and_quantities(client, teacher_a, item_type, second_item):
    pickup = factories.counter_day(at_least_days_ahead=3)
    reservation = factories.book(borrower=teacher_a, lines={item_type.pk: 1, second_item.pk: 1}, pickup_day=pickup)
    client.force_login(teacher_a)
    new_return = pickup + datetime.timedelta(days=14)
    response = client.post(reverse("frontend:booking_change", args=[reservation.code]), {
        "pickup_day": pickup.isoformat(), "pickup_slot": "10:00", "return_day": new_return.isoformat(),
        f"quantity_{item_type.pk}": "2", f"quantity_{second_item.pk}": "0",
    })
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert reservation.return_day == new_return and reservation.pickup_slot == datetime.time(10, 0)
    assert {line.item_type_id: line.quantity for line in reservation.lines.all()} == {item_type.pk: 2}


def test_a_change_beyond_the_free_units_is_refused_with_409(client, teacher_a, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    client.force_login(teacher_a)
    response = client.post(reverse("frontend:booking_change", args=[reservation.code]), {
        "pickup_day": reservation.pickup_day.isoformat(), "pickup_slot": "09:00",
        "return_day": reservation.return_day.isoformat(), f"quantity_{item_type.pk}": "4",
    })
    assert response.status_code == 409
    assert response.context["error_code"] == "not_enough_units"
    assert reservation.lines.get().quantity == 1


def decode_qr_svg(svg):
    """Rasterise the module squares of a qrcode SVG path and read it with a real QR decoder."""
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x0, y0, x1, y1 in re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)", svg):
        draw.rectangle([int(x0) * scale, int(y0) * scale, int(x1) * scale - 1, int(y1) * scale - 1], fill=0)
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1
    return results[0].text


def test_the_basket_marks_slots_full_on_the_chosen_pickup_day(client, teacher_a, teacher_b, location, item_type):
    location.slot_capacity = 1
    location.save()
    pickup = factories.counter_day(at_least_days_ahead=3)
    factories.book(borrower=teacher_b, lines={item_type.pk: 1}, pickup_day=pickup, pickup_slot=datetime.time(9, 0))
    client.force_login(teacher_a)
    fill_basket(client, (item_type, 1), pickup_day=pickup, return_day=pickup + datetime.timedelta(days=1))
    choices = dict(client.get(reverse("frontend:basket")).context["form"].fields["pickup_slot"].choices)
    assert choices["09:00"] != "09:00" and choices["09:00"].startswith("09:00")
    assert choices["09:30"] == "09:30"
    response = book_basket(client, teacher_a, pickup, pickup + datetime.timedelta(days=1), slot="09:00")
    assert response.status_code == 409 and response.context["error_code"] == "slot_full"
