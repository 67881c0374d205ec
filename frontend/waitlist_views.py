"""The waiting list on the pages: joining from a refusal, the offer booked or declined on
My bookings, and the counter's list, which staff reorder with a logged reason (lending/waitlist.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from catalog.models import ItemType
from frontend.basket import Basket
from frontend.forms import WaitlistJoinForm, WaitlistStaffForm
from frontend.views import render_my_bookings
from lending.exceptions import BookingError
from lending.models import WaitlistEntry
from lending.selectors import (
    counter_location_get,
    waitlist_entry_get_for_user,
    waitlist_of_location,
)
from lending.waitlist import waitlist_join, waitlist_leave, waitlist_move, waitlist_offer_book, waitlist_remove


def _refused(request, error):
    messages.error(request, error.message)
    return render_my_bookings(request, status=error.http_status)


@login_required
@require_POST
def join(request):
    form = WaitlistJoinForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That request for the waiting list is incomplete. Please try booking again."))
        return render(request, "frontend/waitlist_problem.html", status=400)
    data = form.cleaned_data
    item_type = ItemType.objects.filter(pk=data["item_type"]).first()
    school = request.user.schools.filter(pk=data["school"]).first()
    if item_type is None:
        messages.error(request, BookingError("quantity_invalid").message)
        return render(request, "frontend/waitlist_problem.html", status=400)
    try:
        waitlist_join(borrower=request.user, school=school, item_type=item_type, quantity=data["quantity"],
                      pickup_day=data["pickup_day"], pickup_slot=data["pickup_slot"], return_day=data["return_day"])
    except BookingError as error:
        messages.error(request, error.message)
        return render(request, "frontend/waitlist_problem.html", {"error_code": error.code},
                      status=error.http_status)
    Basket(request.session).set_line(item_type.pk, 0)  # it waits on the list now, not in the basket
    messages.success(request, _("You are on the waiting list for %(item)s. When units come free, they are held "
                                "for you and you are told.") % {"item": item_type.name})
    return redirect(f"{_my_bookings_url()}#warteliste")


def _my_bookings_url():
    return reverse("frontend:my_bookings")


@login_required
@require_POST
def book(request, pk):
    entry = waitlist_entry_get_for_user(user=request.user, pk=pk)
    try:
        reservation = waitlist_offer_book(entry=entry, actor=request.user)
    except BookingError as error:
        return _refused(request, error)
    messages.success(request, _("Your booking is confirmed."))
    return redirect("frontend:booking_detail", code=reservation.code)


@login_required
@require_POST
def leave(request, pk):
    entry = waitlist_entry_get_for_user(user=request.user, pk=pk)
    try:
        waitlist_leave(entry=entry, actor=request.user)
    except BookingError as error:
        return _refused(request, error)
    messages.success(request, _("You have left the waiting list for %(item)s.") % {"item": entry.item_type.name})
    return redirect(f"{_my_bookings_url()}#warteliste")


@login_required
@require_http_methods(["GET", "POST"])
def counter_waitlist(request, location):
    location = counter_location_get(user=request.user, slug=location)
    status = 200
    if request.method == "POST":
        posted = str(request.POST.get("entry", ""))
        entry = get_object_or_404(WaitlistEntry, location=location,
                                  pk=int(posted) if posted.isascii() and posted.isdigit() and len(posted) < 10 else None)
        form = WaitlistStaffForm(request.POST)
        if not form.is_valid():
            messages.error(request, BookingError("waitlist_reason_required").message)
            status = 400
        else:
            try:
                _staff_action(entry, form.cleaned_data, request.user)
            except BookingError as error:
                messages.error(request, error.message)
                status = error.http_status
            else:
                messages.success(request, _("The waiting list was changed; the reason is logged."))
                return redirect("frontend:counter_waitlist", location=location.slug)
    lines = {}
    for entry in waitlist_of_location(location=location):
        lines.setdefault(entry.item_type, []).append(entry)
    return render(request, "counter/waitlist.html", {"location": location, "lines": list(lines.items())},
                  status=status)


def _staff_action(entry, data, actor):
    if data["action"] == "remove":
        waitlist_remove(entry=entry, actor=actor, reason=data["reason"])
        return
    line = list(WaitlistEntry.objects.filter(item_type_id=entry.item_type_id,
                                             status__in=(WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED))
                .order_by("rank", "pk"))
    index = next((i for i, other in enumerate(line) if other.pk == entry.pk), None)
    if index is None:
        raise BookingError("entry_not_active")
    if (data["action"] == "up" and index == 0) or (data["action"] == "down" and index == len(line) - 1):
        raise BookingError("waitlist_cannot_move")
    if data["action"] == "up":
        before = line[index - 1]
    else:
        before = line[index + 2] if index + 2 < len(line) else None
    waitlist_move(entry=entry, actor=actor, before=before, reason=data["reason"])
