"""Fixtures for the browser tests: Playwright drives Debian's Chromium against pytest-django's live_server.

- ``browser`` (session): Debian's /usr/bin/chromium, headless. Playwright's own browser download is
  never used. Without /usr/bin/chromium the tests are skipped, unless REQUIRE_BROWSER=1 (as in CI),
  in which case they fail.
- ``page`` (function): a fresh context (German locale, Europe/Berlin, 10 s timeouts) whose base URL is
  the live server, so ``page.goto("/admin/login/")`` works. Requests to any host other than 127.0.0.1
  are aborted: the portal must not load anything from a CDN, and the tests never leave the machine.
- ``screenshot``: ``screenshot("basket")`` saves test-results/e2e/<test name>/NN-basket.png (full page).
  A failing test also gets a final ``NN-failure.png``.

Every test in this folder is marked ``e2e`` (``pytest -m "not e2e"`` leaves them out).
"""

import os
import re
import shutil
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API keeps an asyncio event loop in the test thread, so Django would refuse ORM
# calls from test code ("You cannot call this from an async context"). Nothing here runs async code
# concurrently with the ORM, so the check is relaxed (for this pytest process).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE_SERVER_HOST = "127.0.0.1"
TIMEOUT_MS = 10_000
ALLOWED_HOSTS = {LIVE_SERVER_HOST}
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results" / "e2e"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item so `page` can take a screenshot when the test failed.
    report = yield
    setattr(item, f"_e2e_report_{report.when}", report)
    return report


def _browser_required():
    return os.environ.get("REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}


def _no_browser(reason):
    if _browser_required():
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1 is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(f"{reason}; install it with `apt-get install chromium` (set REQUIRE_BROWSER=1 to fail instead)")


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, always on 127.0.0.1 (a free port), whatever --liveserver says."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer(LIVE_SERVER_HOST)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright():
    """One Playwright per test process: its sync API cannot run twice at once in one thread."""
    if not CHROMIUM.exists():
        _no_browser(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright Python package is not installed")

    with sync_playwright() as playwright:
        yield playwright


def launch_chromium(playwright, *extra_args):
    """Debian's Chromium, headless, with the project's flags and any `extra_args`."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args])


@pytest.fixture(scope="session")
def browser(playwright):
    browser = launch_chromium(playwright)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    from playwright.sync_api import expect

    shutil.rmtree(_test_dir(request), ignore_errors=True)  # no stale pictures from an earlier run
    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(
        base_url=live_server.url,
        locale="de-DE",
        timezone_id="Europe/Berlin",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)

    blocked = []

    def only_local(route):
        host = urlsplit(route.request.url).hostname
        if host in ALLOWED_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

    context.route(re.compile(r"^(https?|wss?)://"), only_local)
    page = context.new_page()
    # The window has the focus, whatever an earlier test opened: a page whose window is in the
    # background reports no element as focused ("inactive"), which focus tests would misread.
    page.bring_to_front()
    yield page

    report = getattr(request.node, "_e2e_report_call", None)
    if report is not None and report.failed:
        try:
            _save(request, page, "failure")
        except Exception as exc:  # a broken page must not hide the real failure
            warnings.warn(f"no failure screenshot: {exc}", stacklevel=1)
    context.close()
    if blocked:
        warnings.warn(f"{request.node.nodeid} tried to load from other hosts (blocked): {blocked}", stacklevel=1)


def _test_dir(request):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    return RESULTS_DIR / name


def _save(request, page, step):
    counter = request.node.stash.get(_STEP_KEY, 0) + 1
    request.node.stash[_STEP_KEY] = counter
    folder = _test_dir(request)
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", step).strip("-").lower() or "step"
    path = folder / f"{counter:02d}-{slug}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


_STEP_KEY = pytest.StashKey[int]()


@pytest.fixture
def screenshot(page, request):
    """Call ``screenshot("step name")`` to save the page as test-results/e2e/<test>/NN-step-name.png."""

    def take(step, target=None):
        return _save(request, target or page, step)

    return take
