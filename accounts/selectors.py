"""Reads of the accounts domain."""

from django.db.models import Q

from accounts.models import Role, User

TEACHER_SEARCH_LIMIT = 20


def teachers_matching(query):
    """Active teachers whose name, user name or e-mail contains `query`, with their schools:
    the counter's walk-in search. At most TEACHER_SEARCH_LIMIT, by name."""
    return (
        User.objects.filter(role=Role.TEACHER, is_active=True)
        .filter(Q(username__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
                | Q(email__icontains=query))
        .prefetch_related("schools").order_by("last_name", "first_name", "pk")[:TEACHER_SEARCH_LIMIT]
    )
