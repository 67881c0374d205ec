"""/favicon.ico, which browsers ask for wherever a page names no icon of its own."""

from pathlib import Path

from django.contrib.staticfiles import finders
from django.templatetags.static import static


def test_favicon_ico_leads_to_the_portals_icon(db, client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == static("frontend/favicon.svg")
    assert "<svg" in Path(finders.find("frontend/favicon.svg")).read_text()
    assert f'<link rel="icon" href="{static("frontend/favicon.svg")}"' in client.get("/").content.decode()
