"""Every page on a phone (WCAG 2.1 AA), in a real browser, over the demo data.

Each page is opened at 320 px (WCAG 1.4.10 Reflow: 320 CSS px without horizontal scrolling),
390 px (a common phone) and 1280 px, in German and in English, signed out, as a teacher and as a
counter clerk, and the admin pages staff use most as an administrator. On each it must hold that:

- the page does not scroll sideways (the document is no wider than the window);
- nothing is cut off: no element's content runs out of its box (as "geschlossen" ran out of its
  calendar cell), and no text is clipped by an `overflow: hidden` box;
- a wide table may scroll inside its own box (WCAG's exception for data tables), and then that box
  is reachable by keyboard (tabindex="0") and named for screen readers (role="region", aria-label);
- every control a finger taps is at least 24 x 24 px (WCAG 2.2's 2.5.8, which 2.1 AA pages should
  meet on a phone), except links inside a sentence;
- axe-core (the accessibility engine, from our own node_modules) finds no WCAG 2.1 A/AA violation.

Screenshots of every page at every width: test-results/e2e/<test>/NN-<page>-<width>-<language>.png.
All problems of a role are collected and reported together, each with its page, width and language.
"""

import datetime
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from catalog.models import ItemType, Unit, UnitStatus
from lending.management.commands.load_demo import DEMO_LOCATION_SLUG, DEMO_TOTP_SECRET, DemoLoader
from lending.models import DamageReport, Handover, Reservation, ReservationStatus
from lending.services import damage_report_create
from notifications.unsubscribe import unsubscribe_token
from tests import factories

WIDTHS = (320, 390, 1280)
LANGUAGES = ("de", "en")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
COUNTER = f"/theke/{DEMO_LOCATION_SLUG}"

# Run in the page: every reason the page fails to reflow, as readable strings.
CHECK_LAYOUT = r"""
() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    problems.push(`the page is ${root.scrollWidth} px wide in a ${root.clientWidth} px window`);
  }
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    if (el.classList.length) name += "." + [...el.classList].join(".");
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ");
    return text ? `${name} "${text.slice(0, 40)}"` : name;
  };
  const hidden = (el) => {
    for (let node = el; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display === "none" || style.visibility === "hidden") return true;
      if (node.classList.contains("visually-hidden") || node.classList.contains("skip-link")) return true;
      // Kept for screen readers only (the visually-hidden pattern: clipped to a 1 px box).
      if (style.position === "absolute" && style.overflow === "hidden" && node.getBoundingClientRect().width <= 1) return true;
    }
    return false;
  };
  const scrolls = (style) => style.overflowX === "auto" || style.overflowX === "scroll";
  const insideScrollBox = (el) => {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      if (scrolls(getComputedStyle(node))) return true;
    }
    return false;
  };
  const TARGETS = "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]";
  const pastWindow = [];
  const overflowing = [];
  const small = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "svg", "path", "rect", "OPTION"].includes(el.tagName)) continue;
    if (hidden(el)) continue;
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    const overflows = el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0;
    if (scrolls(style)) {
      if (overflows) {
        if (el.getAttribute("tabindex") !== "0") problems.push(`${describe(el)} scrolls sideways but cannot be reached by keyboard (tabindex="0")`);
        if (el.getAttribute("role") !== "region" || !(el.getAttribute("aria-label") || el.getAttribute("aria-labelledby"))) problems.push(`${describe(el)} scrolls sideways but is not a named region`);
      }
    } else if (overflows && style.display !== "inline" && !["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName)) {
      overflowing.push(el);
    }
    // Only the outermost element that runs past the window, not each of its descendants.
    if (!insideScrollBox(el) && rect.right > root.clientWidth + 1 && !pastWindow.some((outer) => outer.contains(el))) {
      pastWindow.push(el);
      problems.push(`${describe(el)} reaches ${Math.round(rect.right)} px, past the window's ${root.clientWidth} px`);
    }
    if (el.matches(TARGETS) && (rect.width < 24 || rect.height < 24)) {
      // WCAG 2.5.8's exception: a link inside a sentence.
      const inSentence = el.tagName === "A" && style.display === "inline" &&
        [...el.parentElement.childNodes].some((node) => node !== el && node.textContent.trim());
      if (!inSentence) small.push(el);
    }
  }
  // Content that runs out of its box: only the innermost box (its ancestors overflow with it).
  for (const el of overflowing) {
    if (!overflowing.some((inner) => inner !== el && el.contains(inner))) {
      problems.push(`${describe(el)}: its content is ${el.scrollWidth} px wide in a ${el.clientWidth} px box`);
    }
  }
  // WCAG 2.5.8's spacing exception: an undersized target passes if a 24 px circle on its centre
  // touches no other target and no other undersized target's circle.
  const targets = [...document.body.querySelectorAll(TARGETS)].filter((el) => !hidden(el));
  const centre = (el) => { const r = el.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; };
  for (const el of small) {
    const [x, y] = centre(el);
    const crowded = targets.some((other) => {
      if (other === el || other.contains(el) || el.contains(other)) return false;
      const r = other.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) return false;
      const dx = Math.max(r.left - x, 0, x - r.right), dy = Math.max(r.top - y, 0, y - r.bottom);
      if (Math.hypot(dx, dy) < 12) return true;
      if (!small.includes(other)) return false;
      const [ox, oy] = centre(other);
      return Math.hypot(ox - x, oy - y) < 24;
    });
    const r = el.getBoundingClientRect();
    if (crowded) problems.push(`${describe(el)} is only ${Math.round(r.width)} x ${Math.round(r.height)} px to tap, with other targets close by`);
  }
  return [...new Set(problems)];
}
"""


@pytest.fixture
def demo(db):
    """The demo media centre (load_demo's data), plus a damage report for the counter's lists."""
    DemoLoader(today=timezone.localdate()).load()
    teacher = User.objects.get(username="lehrerin")
    on_loan = Reservation.objects.filter(borrower=teacher, status=ReservationStatus.HANDED_OUT).last()
    handover = Handover.objects.filter(reservation=on_loan).first()
    damage_report_create(reporter=teacher, reservation=on_loan, unit_or_none=handover.unit,
                         kind=DamageReport.Kind.DAMAGE, description="Ein Controller lädt nicht mehr.")
    return teacher


def bookings(teacher):
    """One booking of the demo teacher in each state, by state."""
    found = {}
    for reservation in Reservation.objects.filter(borrower=teacher).order_by("pickup_day"):
        found.setdefault(reservation.status, reservation)
    return found


def sign_in(page, username, password, *, secret=None):
    page.goto("/konto/login/")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form.login-form button[type=submit]").click()
    if secret:
        page.locator("input[name=code]").fill(factories.totp_code(secret))
        page.locator("input[name=code]").press("Enter")
        # The code page has a logout form of its own (its Cancel): wait until it is left.
        expect(page).not_to_have_url(re.compile(r"/2fa/authenticate/"))
    expect(page.locator("form.logout-form, form[action$='/konto/logout/']").first).to_be_attached()


def axe_violations(page, axe):
    """axe-core's WCAG 2.1 A/AA findings on the page, each as "rule: where"; `axe` is AXE's text."""
    page.evaluate(axe)
    return page.evaluate("""async () => (await axe.run(document, {
        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    })).violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)""")


def check_pages(page, screenshot, paths):
    """Open each path at every width in both languages; return every problem found."""
    axe = AXE.read_text(encoding="utf-8")
    problems = []
    for language in LANGUAGES:
        # As a user switches: the header's language form.
        page.goto("/")
        page.locator("#language-select").select_option(language)
        page.locator("form.language-form button[type=submit]").click()
        expect(page.locator("html")).to_have_attribute("lang", language)
        for path in paths:
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 800})
                response = page.goto(path)
                where = f"{path} at {width} px ({language})"
                if response is None or (response.status >= 400) != ("nicht-gefunden" in path):
                    problems.append(f"{where}: HTTP {response and response.status}")
                    continue
                assert page.evaluate("document.documentElement.lang") == language, where
                problems += [f"{where}: {problem}" for problem in page.evaluate(CHECK_LAYOUT)]
                if width in (320, 1280):
                    problems += [f"{where}: axe {violation}" for violation in axe_violations(page, axe)]
                if language == "de" or width == 320:
                    screenshot(f"{path.strip('/').replace('/', '-') or 'start'}-{width}-{language}")
    return problems


def assert_reflows(problems):
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def item_paths():
    today = timezone.localdate()
    next_month = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    return ["/artikel/vr-koffer/", f"/artikel/3d-drucker/?month={next_month:%Y-%m}"]


def test_every_public_page_reflows(page, screenshot, demo):
    page.goto("/")
    paths = ["/", "/?q=VR", *item_paths(), "/impressum/", "/datenschutz/", "/barrierefreiheit/",
             "/konto/login/", "/konto/password/reset/", "/gibt-es-nicht-nicht-gefunden/",
             f"/mail/erinnerungen-abbestellen/{unsubscribe_token(demo)}/"]
    assert_reflows(check_pages(page, screenshot, paths))


def test_every_teacher_page_reflows(page, screenshot, demo):
    sign_in(page, "lehrerin", "demo-lehrerin")
    # A basket with a line in it, through the item page's form.
    page.goto(item_paths()[1])
    page.locator("td.day-open a").first.click()
    page.locator("td.day-open a").nth(2).click()
    page.locator("form.add-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/korb/$"))

    by_state = bookings(demo)
    confirmed = by_state[ReservationStatus.CONFIRMED].code
    paths = ["/", *item_paths(), "/korb/", "/buchungen/",
             *(f"/buchungen/{reservation.code}/" for reservation in by_state.values()),
             f"/buchungen/{confirmed}/aendern/", f"/buchungen/{confirmed}/stornieren/",
             f"/buchungen/{by_state[ReservationStatus.HANDED_OUT].code}/schaden-melden/",
             f"/buchungen/{Reservation.objects.get(fulfilment='delivery').code}/",
             "/konto/profil/", "/konto/kontakt/", "/konto/profil/loeschen/", "/konto/2fa/"]
    assert_reflows(check_pages(page, screenshot, paths))


def test_every_counter_page_reflows(page, screenshot, demo):
    sign_in(page, "theke", "demo-theke", secret=DEMO_TOTP_SECRET)
    by_state = bookings(demo)
    on_loan = Handover.objects.filter(returned_at__isnull=True).first().unit
    in_repair = Unit.objects.filter(status=UnitStatus.MAINTENANCE).first()
    handed_out = by_state[ReservationStatus.HANDED_OUT]
    busy_day = by_state[ReservationStatus.CONFIRMED].pickup_day
    delivery = Reservation.objects.get(fulfilment="delivery")
    paths = ["/theke/", f"{COUNTER}/", f"{COUNTER}/?tag={busy_day:%Y-%m-%d}",
             *(f"{COUNTER}/buchung/{reservation.code}/" for reservation in by_state.values()),
             f"{COUNTER}/buchung/{handed_out.code}/verlaengern/",
             f"{COUNTER}/exemplar/{on_loan.asset_tag}/", f"{COUNTER}/exemplar/{in_repair.asset_tag}/",
             f"{COUNTER}/spontan/", f"{COUNTER}/etiketten/", f"{COUNTER}/qualifikationen/",
             f"{COUNTER}/schaeden/", f"{COUNTER}/schaeden/{DamageReport.objects.get().pk}/",
             f"{COUNTER}/statistik/", f"{COUNTER}/warteliste/", "/konto/profil/",
             f"{COUNTER}/tour/?tag={delivery.pickup_day:%Y-%m-%d}", f"{COUNTER}/tour/{delivery.code}/"]
    assert_reflows(check_pages(page, screenshot, paths))


def test_the_admin_pages_staff_use_reflow(page, screenshot, demo):
    sign_in(page, "admin", "demo-admin", secret=DEMO_TOTP_SECRET)
    item_type = ItemType.objects.get(slug="vr-koffer")
    paths = ["/admin/", "/admin/lending/reservation/", "/admin/lending/reservation/?status__exact=confirmed",
             f"/admin/lending/reservation/{Reservation.objects.first().pk}/change/",
             "/admin/catalog/itemtype/", f"/admin/catalog/itemtype/{item_type.pk}/change/",
             "/admin/catalog/unit/", "/admin/catalog/itemtype/add/"]
    assert_reflows(check_pages(page, screenshot, paths))
