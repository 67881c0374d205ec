from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models, transaction
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _


class SchoolType(models.TextChoices):
    GRUNDSCHULE = "grundschule", _("Primary school (Grundschule)")
    HAUPTSCHULE = "hauptschule", _("Hauptschule")
    REALSCHULE = "realschule", _("Realschule")
    GYMNASIUM = "gymnasium", _("Gymnasium")
    GESAMTSCHULE = "gesamtschule", _("Comprehensive school (Gesamtschule)")
    FOERDERSCHULE = "foerderschule", _("Special needs school (Förderschule)")
    BERUFSKOLLEG = "berufskolleg", _("Vocational college (Berufskolleg)")
    WEITERBILDUNGSKOLLEG = "weiterbildungskolleg", _("Adult education college (Weiterbildungskolleg)")


# A German postcode: five digits.
POSTCODE_VALIDATOR = RegexValidator(r"^[0-9]{5}$", _("Enter a postcode of five digits."))
PHONE_VALIDATOR = RegexValidator(r"^\+?[0-9 ()/-]{3,40}$", _("Enter a phone number: digits, spaces and + ( ) / -."))


class School(models.Model):
    number = models.CharField(_("school number"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    school_type = models.CharField(_("school type"), max_length=30, choices=SchoolType.choices)
    # The identifier the school single sign-on sends (VIDIS `schulkennung`); filled in issue 4.
    sso_id = models.CharField(_("single sign-on id"), max_length=100, blank=True, db_index=True)
    active = models.BooleanField(_("active"), default=True)
    # Where the counter's tour delivers (Lieferung), kept by administrators.
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=5, blank=True, validators=[POSTCODE_VALIDATOR])
    city = models.CharField(_("city"), max_length=100, blank=True)
    office_phone = models.CharField(_("school office phone"), max_length=40, blank=True,
                                    validators=[PHONE_VALIDATOR])
    delivery_notes = models.TextField(
        _("delivery notes"), blank=True, max_length=500,
        help_text=_("For the driver, e.g. “Hausmeister, Eingang Hofseite”."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("school")
        verbose_name_plural = _("schools")

    def __str__(self):
        return f"{self.name} ({self.number})"

    @property
    def has_delivery_address(self):
        return bool(self.street.strip() and self.postcode and self.city.strip())

    def delivery_address_lines(self):
        """The address as the tour list and the booking form show it."""
        return [self.name, self.street, f"{self.postcode} {self.city}"] if self.has_delivery_address else []


class Qualification(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    where_offered = models.TextField(
        _("where the training is offered"), blank=True, help_text=_("Shown to teachers who lack it.")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    TEACHER = "teacher", _("Teacher")
    STAFF = "staff", _("Counter staff")
    ADMIN = "admin", _("Administrator")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.TEACHER)
    schools = models.ManyToManyField(School, blank=True, related_name="users", verbose_name=_("schools"))
    qualifications = models.ManyToManyField(
        Qualification, through="QualificationGrant", through_fields=("user", "qualification"),
        blank=True, related_name="holders", verbose_name=_("qualifications"),
    )
    # Where notifications go. The address from the single sign-on may be a pseudonym
    # (VIDIS sends <uuid>@vidis.schule), so teachers give a contact address once.
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_email_asked = models.BooleanField(_("asked for a contact e-mail"), default=False)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True,
                                help_text=_("For e-mails; empty: the site's default."))
    # Reminders before a pickup and a return; the mails about what happened always go out.
    mail_reminders = models.BooleanField(_("reminder e-mails"), default=True)
    # For counter staff: the digest of each counter day of their counters, the evening before.
    mail_digest = models.BooleanField(_("daily digest"), default=True)
    # The counters a staff member works at; administrators work at every counter.
    locations = models.ManyToManyField(
        "catalog.Location", blank=True, related_name="staff", verbose_name=_("counters"),
        help_text=_("Counter staff see and work only at these counters; administrators at all."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def is_teacher(self):
        return self.role == Role.TEACHER

    @property
    def is_counter_staff(self):
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def notification_email(self):
        """Where to write to this user: the contact address, else the account's address."""
        return self.contact_email or self.email

    def works_at(self, location):
        """Whether this user may run the counter of `location`."""
        if self.role == Role.ADMIN:
            return True
        return self.role == Role.STAFF and self.locations.filter(pk=location.pk).exists()

    def __str__(self):
        full_name = self.get_full_name()
        return full_name or self.username


class QualificationGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="qualification_grants", verbose_name=_("user"))
    qualification = models.ForeignKey(
        Qualification, on_delete=models.PROTECT, related_name="grants", verbose_name=_("qualification")
    )
    granted_on = models.DateField(_("granted on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("granted by")
    )

    class Meta:
        verbose_name = _("qualification grant")
        verbose_name_plural = _("qualification grants")
        constraints = [
            models.UniqueConstraint(fields=["user", "qualification"], name="one_grant_per_qualification")
        ]

    def __str__(self):
        return f"{self.qualification} – {self.user}"

    def save(self, *args, renewal=False, **kwargs):
        """Also keeps the statistics' record (QualificationTraining): a new grant, or a `renewal`
        (accounts.qualifications.qualification_grant) from a new day, is one more training; any
        other change of the day or the qualification (a correction in the admin) moves the
        training it was recorded as."""
        stored = None
        if self.pk is not None:
            stored = QualificationGrant.objects.filter(pk=self.pk).values_list("qualification_id", "granted_on").first()
        now = (self.qualification_id, self.granted_on)
        with transaction.atomic(savepoint=False):
            super().save(*args, **kwargs)
            if stored == now:
                return
            recorded = None
            if stored is not None and not renewal:
                recorded = (QualificationTraining.objects.filter(qualification_id=stored[0], granted_on=stored[1])
                            .order_by("-pk").first())
            if recorded is None:
                QualificationTraining.objects.create(qualification_id=self.qualification_id, granted_on=self.granted_on)
            else:
                recorded.qualification_id, recorded.granted_on = now
                recorded.save(update_fields=["qualification", "granted_on"])

    def is_valid_on(self, day):
        return self.granted_on <= day and (self.expires_on is None or day <= self.expires_on)


class QualificationTraining(models.Model):
    """That a qualification was granted (or renewed from a new day) on a day, for the statistics
    (lending/figures.py): kept when the grant is renewed again, revoked or its teacher's account
    deleted, so a past year's figures stay. No person. Written by QualificationGrant.save()."""

    qualification = models.ForeignKey(Qualification, on_delete=models.CASCADE, related_name="+",
                                      verbose_name=_("qualification"))
    granted_on = models.DateField(_("granted on"))

    class Meta:
        verbose_name = _("qualification granted")
        verbose_name_plural = _("qualifications granted")
        indexes = [models.Index(fields=["granted_on", "qualification"], name="qualification_training_day")]

    def __str__(self):
        return f"{self.qualification_id} ({self.granted_on:%d.%m.%Y})"


class ApiToken(models.Model):
    """A personal token for the API (`Authorization: Bearer tv_…`), for staff integrations: a
    counter kiosk, the library catalogue, the city's inventory.

    Only a SHA-256 of the token is stored, with its first characters to tell tokens apart on the
    account page. A token acts as its user, with their counters, and no more: read-only tokens
    only read. It stops when it expires, when revoked (the row is deleted), when the account is
    deactivated or when the user is no longer counter staff.
    """

    class Scope(models.TextChoices):
        READ = "read", _("read only")
        WRITE = "write", _("read and write")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for, e.g. “Kiosk counter 1”."))
    scope = models.CharField(_("access"), max_length=10, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(_("beginning of the token"), max_length=12)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("valid until"), null=True, blank=True, help_text=_("Empty: no expiry."))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self):
        return self.scope == self.Scope.WRITE


class Session(AbstractBaseSession):
    """Django's database session with the signed-in user as a column (accounts/sessions.py):
    each request reads the session and its user in one query, and deleting a user deletes
    their sessions."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"
