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


def test_a_malformed_api_rate_is_refused():
    result = load_settings(DEBUG="true", API_THROTTLE_TOKEN="600 pro Minute")
    assert result.returncode != 0
    assert "API_THROTTLE_TOKEN must look like 60/minute" in result.stderr
    assert load_settings(DEBUG="true", API_THROTTLE_TOKEN="20/second").returncode == 0


def test_database_url_selects_postgresql():
    result = load_settings(DEBUG="true", DATABASE_URL="postgres://user@db.example:5432/verleih")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("django.db.backends.postgresql")


def test_redis_url_gives_every_app_server_one_cache(settings):
    from django.core.cache.backends.redis import RedisCache

    result = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.CACHES['default']['BACKEND'])"],
        cwd=settings.BASE_DIR, env={**os.environ, "DEBUG": "true", "REDIS_URL": "redis://127.0.0.1:6379/15"},
        capture_output=True, text=True,
    )
    assert result.stdout.strip() == "django.core.cache.backends.redis.RedisCache"
    # And it works against the Redis server of this machine: what one server stores, another reads.
    first = RedisCache("redis://127.0.0.1:6379/15", {})
    second = RedisCache("redis://127.0.0.1:6379/15", {})
    first.set("technikverleih-test", "used-code", 30)
    try:
        assert second.get("technikverleih-test") == "used-code"
    finally:
        first.delete("technikverleih-test")
