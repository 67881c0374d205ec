"""A real SMTP server process for the mail tests (tests/smtp_server.py) as the fixture `smtp_server`,
registered for every test in tests/conftest.py."""

import email
import email.policy
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


class SMTPServer:
    """The test SMTP server process: what it received, parsed by Python's `email` package."""

    def __init__(self, port, folder):
        self.port, self.folder = port, Path(folder)

    def messages(self):
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(self.folder.glob("*.eml"))]

    def wait_for(self, count, timeout=10):
        deadline = time.monotonic() + timeout
        while len(list(self.folder.glob("*.eml"))) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages()

    def refuse(self, refusing=True):
        flag = self.folder / "refuse"
        flag.touch() if refusing else flag.unlink(missing_ok=True)

    def slow(self, seconds):
        (self.folder / "slow").write_text(str(seconds))


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(tmp_path, settings):
    """A real SMTP server process on 127.0.0.1, and the portal's settings pointed at it."""
    folder = tmp_path / "smtp"
    folder.mkdir()
    port = _free_port()
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("smtp_server.py")), str(port), str(folder)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
        settings.EMAIL_TIMEOUT = 10
        settings.MAIL_RETRY_SECONDS = 60
        yield SMTPServer(port, folder)
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
