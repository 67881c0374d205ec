"""Switching reminders off from the link in a reminder, without signing in.

GET shows a button (link checkers and mail scanners open links; they must not switch anything
off); POST switches off, from that button or from a mail client's one-click unsubscribe
(RFC 8058), which posts without a CSRF token: the signed token is what authorises it."""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import User
from notifications.unsubscribe import unsubscribe_user_id


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    user_id = unsubscribe_user_id(token)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id is not None else None
    if user is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    done = request.method == "POST"
    if done and user.mail_reminders:
        user.mail_reminders = False
        user.save(update_fields=["mail_reminders"])
    return render(request, "notifications/unsubscribe.html", {"done": done, "token": token})
