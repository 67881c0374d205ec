"""Booking refusals: one stable code each, one translated message each, one HTTP status each.

Tests assert the code; pages and the API show `error.message` and answer with `error.http_status`.
"""

from django.utils.translation import gettext_lazy as _

# code -> (message, HTTP status)
BOOKING_ERRORS = {
    "not_a_counter_day": (_("The counter is not open on that weekday. Pick a counter day."), 400),
    "closed": (_("The counter is closed on that day (holiday or closure day)."), 400),
    "slot_full": (_("That pickup slot is fully booked. Please choose another time."), 409),
    "slot_invalid": (_("That pickup time is not one of the counter's slots."), 400),
    "too_soon": (_("That is too soon: this item needs more notice before pickup."), 400),
    "too_far_ahead": (_("That is too far ahead: this item cannot be booked that early yet."), 400),
    "too_long": (_("The loan is too long for this item."), 400),
    "return_before_pickup": (_("The return day must not be before the pickup day."), 400),
    "not_enough_units": (_("Not enough units are free for the whole period."), 409),
    "qualification_missing": (_("This item requires a qualification you do not hold yet."), 403),
    "item_paused": (_("This item is paused and cannot be booked at the moment."), 409),
    "not_a_teacher": (_("Only teachers can book equipment."), 403),
    "unknown_school": (_("Choose one of your schools for this booking."), 403),
    "quantity_invalid": (_("Choose at least one item and a quantity of at least 1."), 400),
    "mixed_locations": (_("All items of one booking must come from the same counter."), 400),
    "not_changeable": (_("This booking can no longer be changed."), 409),
    "not_cancellable": (_("This booking can no longer be cancelled."), 409),
    "not_the_borrower": (
        _("Only the teacher who made this booking can change or cancel it. As the colleague picking it up, you can see it."),
        403),
    "colleague_invalid": (
        _("Choose a colleague of the booking's school who has an account with us (not yourself)."), 400),
    "colleague_not_allowed": (
        _("A colleague can be named only while the booking is confirmed or on loan, and only by the teacher who made it or by counter staff."),
        409),
    "collector_invalid": (_("Choose who is picking up: the teacher who booked or the colleague they named."), 400),
    "cancel_reason_required": (
        _("Say in a few words (at most 500 characters) why the booking is cancelled: the teacher is told."), 400),
    # The waiting list
    "waitlist_not_needed": (_("Units are free for those days: you can book them right away."), 409),
    "waitlist_duplicate": (_("You are already on the waiting list for this item and these days."), 409),
    "offer_not_open": (
        _("This offer is no longer open: it ran out or was already booked. You can join the waiting list again."),
        409),
    "not_your_entry": (_("This place on the waiting list is someone else's."), 403),
    "entry_not_active": (_("This place on the waiting list is no longer active."), 409),
    "waitlist_reason_required": (
        _("Say in a few words (at most 500 characters) why: the change is logged."), 400),
    "waitlist_staff_only": (_("Only staff of this counter can reorder its waiting list."), 403),
    "waitlist_cannot_move": (_("This entry is already first (or last) in line."), 409),
    # Delivery to schools by the counter's tour
    "fulfilment_invalid": (_("Choose pickup at the counter or delivery to the school."), 400),
    "not_deliverable": (
        _("These items cannot be delivered: the counter has no delivery tour, or one of the items is for pickup only. Book the others separately or pick them up."),
        409),
    "no_delivery_address": (
        _("Your school has no delivery address yet. Please ask the media centre to add it, or pick the items up."), 409),
    "not_a_delivery_day": (_("The delivery tour does not run on this day. Please choose another day."), 409),
    "delivery_too_soon": (_("A delivery needs more notice. Please choose a later delivery day."), 409),
    "delivery_day_full": (_("The delivery tour of this day is fully booked. Please choose another day."), 409),
    "not_a_delivery": (_("This booking is picked up at the counter, not delivered."), 409),
    "delivery_not_packed": (_("Pack the booking for the tour first: scan its units at the counter."), 409),
    "not_deliverable_now": (_("This booking cannot be confirmed as delivered: it is not packed, already delivered, cancelled or returned."), 409),
    "recipient_required": (_("Enter the name of the person at the school who received the items (at most 120 characters)."), 400),
    "collection_not_allowed": (
        _("This booking cannot be collected by the tour: it is not delivered, already collected, or the school brings it back."), 409),
    "collection_units_invalid": (_("Tick or scan the units you collected: at least one, all of this booking."), 400),
    # Hand-over and take-back at the counter
    "not_handoverable": (_("This booking cannot be handed out: it is cancelled, returned or was not picked up."), 409),
    "not_pickup_day_yet": (_("This booking cannot be handed out before its pickup day."), 409),
    "wrong_item_type": (_("This unit is not one of the items of this booking."), 409),
    "unit_not_available": (_("This unit is in maintenance, lost or retired and cannot be handed out."), 409),
    "unit_on_loan": (_("This unit is already on loan. Take it back first."), 409),
    "unit_already_assigned": (_("This unit is already part of this hand-over."), 409),
    "quantity_reached": (_("This booking already has as many units of this item as were booked."), 409),
    "nothing_handed_out": (_("Scan at least one unit before confirming the hand-over."), 409),
    "unit_not_on_loan": (_("This unit is not on loan."), 409),
    "condition_invalid": (_("Choose the condition of the returned unit."), 400),
    "no_show_not_allowed": (
        _("Only a confirmed booking whose pickup day has come and of which nothing was handed out can be marked as not picked up."),
        409,
    ),
    # The scan field at the counter
    "scan_empty": (_("Scan a booking's QR code or a unit's label, or type its code."), 400),
    "scan_too_long": (_("That is far too long for a booking code or a label. Scan again."), 400),
    "scan_malformed": (_("That is neither a booking code nor a label of ours. Scan again."), 400),
    "scan_foreign_url": (_("That link leads to another website, not to a booking or label of ours."), 400),
    "scan_unknown": (_("No booking and no unit has this code."), 404),
    "scan_other_location": (_("This booking or unit belongs to another counter."), 409),
    # Walk-in bookings and extensions at the counter
    "override_not_allowed": (_("Only counter staff may override booking rules."), 403),
    "not_extendable": (_("Only a booking that is confirmed or handed out can be extended, and only to a later return day."), 409),
    # Damage and loss
    "not_your_loan": (_("You can only report damage for your own loans that are handed out."), 403),
    "report_invalid": (_("Choose what happened and describe it."), 400),
    "resolution_invalid": (_("Choose how the report was settled, and a compensation amount of at least zero."), 400),
    "already_reported": (_("This has already been reported; the media centre is following it up."), 409),
    "report_settled": (_("This damage report has already been settled."), 409),
}


class BookingError(Exception):
    """A refusal by the booking rules. `code` is stable; `params` fill in details for the log."""

    def __init__(self, code, **params):
        if code not in BOOKING_ERRORS:
            raise ValueError(f"unknown booking error code {code!r}")
        self.code = code
        self.params = params
        super().__init__(code)

    @property
    def message(self):
        return BOOKING_ERRORS[self.code][0]

    @property
    def http_status(self):
        return BOOKING_ERRORS[self.code][1]

    def __str__(self):
        details = ", ".join(f"{key}={value}" for key, value in self.params.items())
        return f"{self.code} ({details})" if details else self.code
