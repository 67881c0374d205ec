"""Production settings fail loudly instead of starting half-configured."""

import os
import subprocess
import sys

from django.conf import settings


def load_settings(**environment):
    clean = {key: value for key, value in os.environ.items()
             if key not in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS")}
    clean.update(environment)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DATABASES['default']['ENGINE'], s.ALLOWED_HOSTS)"],
        cwd=settings.BASE_DIR, env=clean, capture_output=True, text=True,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_secret_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    result = load_settings(DEBUG="false", SECRET_KEY_FILE=str(secret_file), ALLOWED_HOSTS="verleih.example.de")
    assert result.returncode == 0, result.stderr
    assert "['verleih.example.de']" in result.stdout


def test_a_malformed_boolean_is_refused():
    result = load_settings(DEBUG="vielleicht")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_database_url_selects_postgresql():
    result = load_settings(DEBUG="true", DATABASE_URL="postgres://user@db.example:5432/verleih")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("django.db.backends.postgresql")
