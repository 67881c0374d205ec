"""Settings of the app servers `manage.py bench_http` starts: production settings (DEBUG off),
plus the bare view the pages are compared with, and the API's rate limits lifted (wrk sends
thousands of requests a second from one address)."""

from config.settings import *  # noqa: F403
from config.settings import REST_FRAMEWORK

ROOT_URLCONF = "config.urls_bench"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "token": None}}
