"""Admin for reservations: for looking up and correcting, not for booking.

Bookings are made on the booking pages through `lending.services.reservation_create`, which
checks every booking rule under its locks and writes the event log. The admin therefore cannot add
reservations, and the booked days, slot, borrower and lines are read-only here: changing them would
skip the rules and the availability check. Staff may correct the status and the note; such a
correction is written to the event log as an override and announced to calendar feeds.
"""

from django.contrib import admin
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.admin import RaisesCatalogueVersion, TabularInline
from lending.models import (
    HOLDING_STATUSES,
    Reservation,
    ReservationEvent,
    ReservationLine,
    ReservationStatus,
    WaitlistEntry,
    WaitlistEvent,
)
from lending.waitlist import waitlist_offers_make


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReservationLineInline(ReadOnlyInline):
    model = ReservationLine
    fields = ("item_type", "quantity")
    readonly_fields = fields


class ReservationEventInline(ReadOnlyInline):
    model = ReservationEvent
    fields = ("at", "action", "actor", "data")
    readonly_fields = fields


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return (("yes", _("Overdue")), ("no", _("Not overdue")))

    def queryset(self, request, queryset):
        overdue = {"status": ReservationStatus.HANDED_OUT, "return_day__lt": timezone.localdate()}
        if self.value() == "yes":
            return queryset.filter(**overdue)
        if self.value() == "no":
            return queryset.exclude(**overdue)
        return queryset


@admin.register(Reservation)
class ReservationAdmin(RaisesCatalogueVersion, admin.ModelAdmin):
    """Reservations can be looked up and corrected here, never created (see the module docstring)."""

    list_display = (
        "code", "pickup_day", "pickup_slot", "return_day", "status", "fulfilment", "overdue", "borrower", "school",
        "location", "created_at",
    )
    list_filter = ("status", "fulfilment", OverdueFilter, "location", "school__school_type")
    search_fields = (
        "code", "borrower__username", "borrower__first_name", "borrower__last_name", "borrower__email",
        "school__name", "school__number",
    )
    list_select_related = ("borrower", "school", "location")
    date_hierarchy = "pickup_day"
    fields = (
        "code", "borrower", "school", "location", "fulfilment", "pickup_day", "pickup_slot", "return_day", "status",
        "note", "hold_days_before", "hold_days_after", "collection_by_tour", "packed_at", "delivered_at",
        "delivered_to", "collected_at", "sequence", "created_at", "updated_at",
    )
    readonly_fields = (
        "code", "borrower", "school", "location", "fulfilment", "pickup_day", "pickup_slot", "return_day",
        "hold_days_before", "hold_days_after", "collection_by_tour", "packed_at", "delivered_at", "delivered_to",
        "collected_at", "sequence", "created_at", "updated_at",
    )
    inlines = (ReservationLineInline, ReservationEventInline)

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, reservation):
        return reservation.is_overdue(timezone.localdate())

    def save_model(self, request, obj, form, change):
        if not form.changed_data:
            return
        before = {name: form.initial.get(name) for name in form.changed_data}
        after = {name: form.cleaned_data.get(name) for name in form.changed_data}
        with transaction.atomic():
            if "status" in form.changed_data:
                # Calendar feeds pick up the change through SEQUENCE.
                obj.sequence += 1
            super().save_model(request, obj, form, change)
            ReservationEvent.objects.create(
                reservation=obj, actor=request.user, action=ReservationEvent.Action.OVERRIDE,
                data={"via": "admin", "before": before, "after": after},
            )
            if "status" in form.changed_data and obj.status not in HOLDING_STATUSES:
                # Units freed by the correction go to the waiting list, once it is committed.
                item_type_ids = list(obj.lines.values_list("item_type_id", flat=True))
                transaction.on_commit(lambda: waitlist_offers_make(item_type_ids=item_type_ids), robust=True)


class WaitlistEventInline(ReadOnlyInline):
    model = WaitlistEvent
    fields = ("at", "action", "actor", "data")
    readonly_fields = fields


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    """The waiting lists, to look up: they change through the services only (joining, offers,
    booking, leaving, and staff reordering on the counter's waiting-list page with a reason)."""

    list_display = ("item_type", "quantity", "pickup_day", "return_day", "status", "borrower", "school",
                    "joined_at", "offer_expires_at")
    list_filter = ("status", "location")
    search_fields = ("item_type__name", "borrower__username", "borrower__last_name", "school__name")
    list_select_related = ("item_type", "borrower", "school")
    date_hierarchy = "pickup_day"
    fields = ("item_type", "quantity", "location", "school", "borrower", "pickup_day", "pickup_slot", "return_day",
              "status", "rank", "joined_at", "offered_at", "offer_expires_at", "reservation")
    readonly_fields = fields
    inlines = (WaitlistEventInline,)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReservationEvent)
class ReservationEventAdmin(admin.ModelAdmin):
    """The event log is written by the services only; here it can be read, not changed."""

    list_display = ("reservation", "at", "action", "actor")
    list_filter = ("action",)
    search_fields = ("reservation__code", "actor__username", "actor__last_name")
    list_select_related = ("reservation", "actor")
    date_hierarchy = "at"
    fields = ("reservation", "at", "action", "actor", "data")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
