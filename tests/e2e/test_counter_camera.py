"""The counter's camera button reads a booking's QR code with the device camera.

Chromium plays a video file as its camera (`--use-file-for-fake-video-capture`): the file is made
here from a QR code of the booking's scan URL, so the real decoder (zxing-wasm, served from our own
static files) reads it and the page opens the booking's hand-over.
"""

import datetime
import re
from urllib.parse import urlsplit

import pytest
import qrcode
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import launch_chromium

WASM_PATH = "/static/frontend/vendor/zxing-wasm/reader/zxing_reader.wasm"


def write_y4m(path, text, *, width=640, height=480):
    """One grey-scale frame (YUV4MPEG2, 4:2:0 with neutral chroma) with `text` as a QR code in
    the middle; Chromium loops it as the camera picture."""
    code = qrcode.make(text, box_size=8, border=4).get_image().convert("L")
    frame = Image.new("L", (width, height), 255)
    frame.paste(code, ((width - code.width) // 2, (height - code.height) // 2))
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        video.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)


@pytest.fixture
def reservation(location, item_type, school_a, teacher_a):
    today = timezone.localdate()
    return factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=today, return_day=today + datetime.timedelta(days=7),
    )


@pytest.fixture
def browser(playwright, reservation, live_server, tmp_path):
    """Overrides the shared browser for this file: a Chromium whose camera shows the booking's QR
    code, and which grants the camera without asking."""
    video = tmp_path / "camera.y4m"
    write_y4m(video, f"{live_server.url}/r/{reservation.code}")
    browser = launch_chromium(
        playwright,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    try:
        yield browser
    finally:
        browser.close()


def test_the_camera_reads_a_booking_and_opens_its_hand_over(page, live_server, screenshot, clerk, location,
                                                          reservation):
    requests = []
    wasm_responses = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: wasm_responses.append(response)
            if urlsplit(response.url).path == WASM_PATH else None)

    page.goto(f"/theke/{location.slug}/")
    expect(page).to_have_url(re.compile(r"/konto/login/"))
    page.locator("input[name=login]").fill("clara")
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("form.login-form button[type=submit]").click()
    # Staff sign in with a second factor: the code from their authenticator app.
    page.locator("input[name=code]").fill(factories.totp_code())
    page.locator("input[name=code]").press("Enter")
    expect(page).to_have_url(re.compile(rf"/theke/{location.slug}/$"))

    camera_button = page.locator("#camera-button")
    expect(camera_button).to_be_visible()
    expect(page.locator("#camera-panel")).to_be_hidden()
    screenshot("counter")
    camera_button.click()

    expect(page).to_have_url(re.compile(rf"/theke/{location.slug}/buchung/{reservation.code}/$"))
    expect(page.locator("h1 .booking-code")).to_have_text(reservation.code)
    screenshot("booking-opened-by-camera")

    # The decoder's .wasm came from our own static files, as WebAssembly (so the browser can
    # compile it while it streams in), and nothing was asked of any other host.
    assert [(response.status, response.header_value("content-type")) for response in wasm_responses] == [
        (200, "application/wasm")
    ]
    assert [url for url in requests if urlsplit(url).hostname not in (None, "127.0.0.1")] == []
    assert any(urlsplit(url).path == WASM_PATH for url in requests)
