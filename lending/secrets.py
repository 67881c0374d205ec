"""Random booking codes for QR codes and links: never a database id, never guessable.

The alphabet leaves out letters and digits that are easily confused when read aloud or typed
from a printout (0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V).
"""

import secrets

ALPHABET = "ACDEFGHJKMNPQRTWXY34679"
CODE_LENGTH = 10  # 23**10 ≈ 4e13 codes


def new_booking_code():
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_booking_code(raw):
    """Upper-case and strip separators, so `acde-fg34` from a phone keyboard still matches."""
    return "".join(char for char in raw.upper() if char.isalnum())
