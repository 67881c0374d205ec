"""Writes of the legal pages: sending a report of a barrier to the media centre."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def accessibility_feedback_send(*, name, email, message):
    """Send a visitor's report of a barrier to ACCESSIBILITY_CONTACT_EMAIL, answerable by reply.

    The visitor gets no copy: a form that sends mail to any address it is given would be a relay
    for spam. Raises OSError (smtplib.SMTPException is one) when the mail server refuses.
    """
    # The media centre reads it in the site's language, whatever language the visitor uses.
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Report of a barrier from the accessibility statement")
        body = "\n".join([
            _("Someone used the contact form of the accessibility statement."),
            "",
            f"{_('Name')}: {name or '–'}",
            f"{_('E-mail')}: {email}",
            "",
            message,
        ])
    EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[settings.ACCESSIBILITY_CONTACT_EMAIL], reply_to=[email],
    ).send(fail_silently=False)
    logger.info("accessibility report sent to the media centre")
