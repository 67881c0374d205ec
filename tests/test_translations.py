"""German is the default language: every string of the interface must have a German translation.

The catalogue is re-extracted from the current code (like `make messages`) into a temporary copy
and every entry must be translated there, so a new string without a translation fails here.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale"
PO_FILE = LOCALE / "de" / "LC_MESSAGES" / "django.po"


def _untranslated(po):
    return [entry.msgid for entry in po if not entry.obsolete and (not entry.translated() or "fuzzy" in entry.flags)]


def test_the_committed_german_catalogue_is_complete_and_compiled():
    po = polib.pofile(str(PO_FILE))
    assert len(po) > 100
    assert _untranslated(po) == []
    compiled = {
        (entry.msgctxt, entry.msgid): entry.msgstr
        for entry in polib.mofile(str(PO_FILE.with_suffix(".mo"))) if entry.msgid and not entry.msgid_plural
    }
    source = {(entry.msgctxt, entry.msgid): entry.msgstr for entry in po.translated_entries() if not entry.msgid_plural}
    assert compiled == source, "django.mo is out of date: run `make messages`"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext is not installed (apt-get install gettext)")
def test_every_string_in_the_code_has_a_german_translation(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(settings.BASE_DIR, project, ignore=shutil.ignore_patterns(".venv", "var", ".git", "test-results", "node_modules", "__pycache__", ".hypothesis", ".pytest_cache"))
    environment = {**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "de", "--no-obsolete"],
        cwd=project, check=True, capture_output=True, env=environment,
    )
    po = polib.pofile(str(project / "locale" / "de" / "LC_MESSAGES" / "django.po"))
    assert _untranslated(po) == []


def test_pages_speak_german_by_default_and_english_on_request(client, db):
    assert "Katalog" in client.get("/").content.decode()
    with translation.override("en"):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Catalogue" in response.content.decode()
