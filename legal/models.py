from django.db import models
from django.utils.translation import gettext_lazy as _


class LegalPage(models.Model):
    """A page the law asks a public body's website for, written by an administrator.

    The body is plain text (see legal.markup): it is never rendered as HTML, so whoever may edit
    it cannot put scripts or third-party content on every visitor's screen.
    """

    class Slug(models.TextChoices):
        IMPRESSUM = "impressum", _("Legal notice (Impressum)")
        PRIVACY = "datenschutz", _("Privacy notice (Datenschutzerklärung)")
        ACCESSIBILITY = "barrierefreiheit", _("Accessibility statement (Erklärung zur Barrierefreiheit)")

    slug = models.CharField(_("page"), max_length=30, choices=Slug.choices, unique=True)
    title = models.CharField(_("title"), max_length=200, blank=True, help_text=_("Empty: the page's usual name."))
    body = models.TextField(
        _("text"), blank=True,
        help_text=_(
            "Plain text. An empty line starts a new paragraph, a line starting with \"## \" is a heading, "
            "lines starting with \"- \" form a list. Web and e-mail addresses become links. HTML is shown "
            "as text. Empty: a default text is shown."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("legal page")
        verbose_name_plural = _("legal pages")

    def __str__(self):
        return self.title or self.get_slug_display()
