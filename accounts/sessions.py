"""Sessions in the database, read together with their user in one query.

Every signed-in request needs its session and its user. Django reads them with two ORM queries,
which on the teacher pages cost more than the rest of the request (the catalogue itself comes
from the cache). Here the session row carries the user's id as a column
(`accounts.models.Session`, written whenever the session is saved), and loading a session reads
its data and its user with one SQL join. Authentication itself stays Django's: the middleware
below hands the loaded user to the authentication backends, and `django.contrib.auth.get_user`
still checks the backend, the session's password hash and that the account is active, exactly as
with two queries.
"""

import contextvars

from django.contrib import auth
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend

# The user read with the request's session, for the backends' get_user while get_user runs.
_session_user = contextvars.ContextVar("session_user", default=None)


class SessionStore(DatabaseSessionStore):
    """SESSION_ENGINE = "accounts.sessions"."""

    @classmethod
    def get_model_class(cls):
        from accounts.models import Session

        return Session

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        user_id = data.get(auth.SESSION_KEY)
        session.user_id = None if user_id is None else auth.get_user_model()._meta.pk.to_python(user_id)
        return session

    def load(self):
        """The session's data, and its user in `self.loaded_user` (None when signed out)."""
        self.loaded_user = None
        user_model = auth.get_user_model()
        fields = user_model._meta.concrete_fields
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        quote = connection.ops.quote_name
        columns = ", ".join(f"u.{quote(field.column)}" for field in fields)
        sql = (
            f"SELECT s.session_data, {columns} FROM {quote(self.model._meta.db_table)} s "
            f"LEFT JOIN {quote(user_model._meta.db_table)} u ON u.{quote(user_model._meta.pk.column)} = s.user_id "
            "WHERE s.session_key = %s AND s.expire_date > %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        if row[1] is not None:
            fields_and_converters = _user_converters(connection, user_model)
            values = []
            for (column, converters), value in zip(fields_and_converters, row[1:]):
                for converter in converters:  # the database's raw values as the ORM reads them
                    value = converter(value, column, connection)
                values.append(value)
            self.loaded_user = user_model.from_db(alias, [field.attname for field in fields], values)
        return self.decode(row[0])


def _user_converters(connection, user_model):
    """(column expression, converters) per concrete field of the user, as the ORM applies them."""
    result = []
    for field in user_model._meta.concrete_fields:
        column = field.get_col(user_model._meta.db_table)
        result.append((column, [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]))
    return result


class _SessionUser:
    """get_user() answers with the user read with the session when it is the one asked for."""

    def get_user(self, user_id):
        user = _session_user.get()
        if user is not None and user.pk == user_id:
            return user if self.user_can_authenticate(user) else None
        return super().get_user(user_id)


class ModelBackend(_SessionUser, DjangoModelBackend):
    pass


class AuthenticationBackend(_SessionUser, AllauthBackend):
    pass


def _user_of(request):
    if not hasattr(request, "_cached_user"):
        request.session.get(auth.SESSION_KEY)  # loads the session, and with it its user
        token = _session_user.set(getattr(request.session, "loaded_user", None))
        try:
            request._cached_user = auth.get_user(request)
        finally:
            _session_user.reset(token)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, with the user read together with the session (see the module's docstring)."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _user_of(request))
