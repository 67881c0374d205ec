import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

ISO_WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]


def validate_weekdays(value):
    if not isinstance(value, list) or not value or any(day not in range(1, 8) for day in value):
        raise ValidationError(_("Enter a list of ISO weekdays from 1 (Monday) to 7 (Sunday)."))


def validate_optional_weekdays(value):
    """An empty list (meaning: the counter weekdays) or a list of ISO weekdays."""
    if value != []:
        validate_weekdays(value)


def default_counter_weekdays():
    return [2, 3]  # Tuesday and Wednesday


class Location(models.Model):
    """A counter (Ausleihstelle) where units are picked up and returned."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), unique=True)
    address = models.TextField(_("address"), blank=True)
    counter_weekdays = models.JSONField(
        _("counter weekdays"), default=default_counter_weekdays, validators=[validate_weekdays],
        help_text=_("ISO weekdays, 1 = Monday … 7 = Sunday; Tuesday and Wednesday are [2, 3]."),
    )
    opens_at = models.TimeField(_("opens at"), default=datetime.time(9, 0))
    closes_at = models.TimeField(_("closes at"), default=datetime.time(16, 0))
    slot_minutes = models.PositiveSmallIntegerField(
        _("pickup slot length (minutes)"), default=30, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    slot_capacity = models.PositiveSmallIntegerField(
        _("pickups per slot"), default=4, validators=[MinValueValidator(1)]
    )
    holiday_state = models.CharField(
        _("state for holidays"), max_length=2, default="NW", help_text=_("Two-letter code, e.g. NW.")
    )
    reply_to_email = models.EmailField(
        _("reply-to address"), blank=True,
        help_text=_("Where teachers' replies to the portal's mails about this counter go. Empty: the sender address."),
    )
    lending_terms = models.TextField(
        _("lending terms"), blank=True,
        help_text=_("Printed on the loan slip above the signatures. Leave empty for the standard terms."),
    )
    # Delivery to schools (Lieferung): the counter's tour brings deliverable items to the school
    # and, unless told otherwise, collects them at the end.
    deliveries_per_day = models.PositiveSmallIntegerField(
        _("deliveries per tour day"), default=0,
        help_text=_("How many deliveries the tour can take on one day; 0: this counter does not deliver."),
    )
    delivery_weekdays = models.JSONField(
        _("delivery weekdays"), default=list, blank=True, validators=[validate_optional_weekdays],
        help_text=_("ISO weekdays the tour runs, e.g. [2, 3]; empty: the counter weekdays."),
    )
    delivery_lead_days = models.PositiveSmallIntegerField(
        _("notice for a delivery (days)"), default=7,
        help_text=_("Days between booking and delivery at least; an item's own longer notice applies too."),
    )
    tour_packing_days = models.PositiveSmallIntegerField(
        _("packed days before the delivery"), default=1, validators=[MaxValueValidator(14)],
        help_text=_("The units leave the shelf this many days before the delivery day (the tour packs)."),
    )
    collection_by_tour = models.BooleanField(
        _("the tour collects at the end"), default=True,
        help_text=_("Otherwise the school brings the items back to the counter."),
    )

    # When it last changed: calendar feeds show counter hours, addresses and item names, and their
    # ETag must change with them (lending.calendar).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Raised by every change to what this counter's catalogue and calendars show; rendered pages
    # are cached under it (catalog/versions.py).
    version = models.PositiveBigIntegerField(_("version"), default=0, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self):
        return self.name

    def clean(self):
        if self.opens_at and self.closes_at and self.opens_at >= self.closes_at:
            raise ValidationError({"closes_at": _("The counter must close after it opens.")})

    @property
    def delivers(self):
        return self.deliveries_per_day > 0

    def tour_weekdays(self):
        """The ISO weekdays the delivery tour runs."""
        return self.delivery_weekdays or self.counter_weekdays

    def slot_times(self):
        """The start times of the pickup slots of one counter day."""
        start = datetime.datetime.combine(datetime.date.min, self.opens_at)
        end = datetime.datetime.combine(datetime.date.min, self.closes_at)
        step = datetime.timedelta(minutes=self.slot_minutes)
        times = []
        while start + step <= end:
            times.append(start.time())
            start += step
        return times


class Closure(models.Model):
    class Source(models.TextChoices):
        STAFF = "staff", _("entered by staff")
        PUBLIC_HOLIDAY = "public_holiday", _("public holiday")
        SCHOOL_HOLIDAY = "school_holiday", _("school holiday")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="closures", verbose_name=_("location"))
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    reason = models.CharField(_("reason"), max_length=200)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.STAFF)

    class Meta:
        ordering = ["first_day"]
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        indexes = [models.Index(fields=["location", "last_day", "first_day"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(last_day__gte=models.F("first_day")), name="closure_ends_after_start"),
            models.UniqueConstraint(fields=["location", "first_day", "last_day", "reason"], name="unique_closure"),
        ]

    def __str__(self):
        if self.first_day == self.last_day:
            return f"{self.reason} ({self.first_day:%d.%m.%Y})"
        return f"{self.reason} ({self.first_day:%d.%m.%Y}–{self.last_day:%d.%m.%Y})"

    def clean(self):
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValidationError({"last_day": _("The last day cannot be before the first day.")})


class Category(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("short name"), unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return self.name


class ItemType(models.Model):
    """What a teacher books (Artikel), with its loan rules."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="item_types", verbose_name=_("location"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="item_types", verbose_name=_("category"))
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    contents = models.TextField(_("contents"), blank=True, help_text=_("One part per line; shown to teachers."))
    picture = models.ImageField(_("picture"), upload_to="item-types/", blank=True)

    max_loan_days = models.PositiveSmallIntegerField(
        _("longest loan (days)"), default=14, validators=[MinValueValidator(0)],
        help_text=_("Days from pickup day to return day."),
    )
    min_lead_days = models.PositiveSmallIntegerField(
        _("shortest lead time (days)"), default=1, help_text=_("Days between booking and pickup day.")
    )
    max_advance_days = models.PositiveSmallIntegerField(
        _("furthest advance booking (days)"), default=180, validators=[MinValueValidator(1)]
    )
    turnaround_days = models.PositiveSmallIntegerField(
        _("turnaround buffer (days)"), default=0,
        help_text=_("Days after the return day a unit stays held for charging, cleaning and wiping."),
    )
    required_qualification = models.ForeignKey(
        "accounts.Qualification", on_delete=models.PROTECT, null=True, blank=True,
        related_name="item_types", verbose_name=_("required qualification"),
    )
    paused = models.BooleanField(_("paused"), default=False)
    paused_reason = models.CharField(_("reason for the pause"), max_length=300, blank=True)
    deliverable = models.BooleanField(_("can be delivered to schools"), default=False)

    # When it last changed: calendar feeds show counter hours, addresses and item names, and their
    # ETag must change with them (lending.calendar).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["category__position", "name"]
        verbose_name = _("item type")
        verbose_name_plural = _("item types")

    def __str__(self):
        return self.name

    def clean(self):
        if self.paused and not self.paused_reason:
            raise ValidationError({"paused_reason": _("Tell teachers why the item is paused.")})

    @property
    def contents_list(self):
        return [line.strip() for line in self.contents.splitlines() if line.strip()]


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", _("available")
    MAINTENANCE = "maintenance", _("in maintenance")
    LOST = "lost", _("lost")
    RETIRED = "retired", _("retired")


# Units in these states count towards what can be promised.
LOANABLE_UNIT_STATUSES = (UnitStatus.AVAILABLE,)


# What a label's QR code and the counter's scan field can carry (lending/scanning.py reads the same).
ASSET_TAG_VALIDATOR = RegexValidator(
    r"\A[A-Za-z0-9][A-Za-z0-9-]{0,39}\Z",
    _("Use letters, digits and hyphens only, starting with a letter or digit."),
)


class Unit(models.Model):
    """One physical thing or box (Exemplar) with its asset tag and QR label."""

    item_type = models.ForeignKey(ItemType, on_delete=models.PROTECT, related_name="units", verbose_name=_("item type"))
    asset_tag = models.CharField(
        _("asset tag"), max_length=40, unique=True, validators=[ASSET_TAG_VALIDATOR],
        help_text=_("Printed on the label and encoded in its QR code; letters, digits and hyphens."),
    )
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    contents = models.TextField(_("contents"), blank=True, help_text=_("One part per line; checked at the counter."))
    status = models.CharField(_("status"), max_length=20, choices=UnitStatus.choices, default=UnitStatus.AVAILABLE)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["asset_tag"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        indexes = [models.Index(fields=["item_type", "status"])]

    def __str__(self):
        return f"{self.asset_tag} ({self.item_type})"

    @property
    def contents_list(self):
        source = self.contents or self.item_type.contents
        return [line.strip() for line in source.splitlines() if line.strip()]
