"""The link in a reminder that switches reminders off without signing in (List-Unsubscribe).

The token is the user's id signed for this one purpose (its own salt), so it opens nothing else
and names no one; it does not expire, as a mail may be read months later."""

from django.core import signing

SALT = "notifications.unsubscribe.reminders"


def unsubscribe_token(user):
    return signing.dumps(user.pk, salt=SALT, compress=True)


def unsubscribe_user_id(token):
    """The user id the token was made for, or None for a token that is not ours."""
    try:
        return signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
