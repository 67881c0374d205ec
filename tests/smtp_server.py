"""A real SMTP server for the mail tests (aiosmtpd), run as its own process by the fixture.

    python tests/smtp_server.py PORT FOLDER

Each accepted message is written to FOLDER/<n>.eml exactly as it arrived (DATA). While a file
FOLDER/refuse exists, every message is refused with 451 (try again later); a recipient whose
address starts with "bounce" is refused with 550 (no such mailbox); while FOLDER/slow exists,
each DATA waits that many seconds (the file's content) before it is accepted.
"""

import asyncio
import itertools
import os
import sys
from pathlib import Path

from aiosmtpd.controller import Controller


class Folder:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.numbers = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if (self.folder / "refuse").exists():
            return "451 4.3.0 try again later"
        slow = self.folder / "slow"
        if slow.exists():
            await asyncio.sleep(float(slow.read_text() or "1"))
        number = next(self.numbers)
        partial = self.folder / f".{number}.part"
        partial.write_bytes(envelope.original_content)
        os.replace(partial, self.folder / f"{number:05d}.eml")
        return "250 OK"


def main(port, folder):
    controller = Controller(Folder(folder), hostname="127.0.0.1", port=int(port))
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin (or the process is killed)
    finally:
        controller.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
