import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from tests import factories


@pytest.fixture
def pictured_item(location, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "secret.txt").write_text("not for the web")
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, format="PNG")
    item_type = factories.make_item_type(location=location)
    item_type.picture.save("koffer.png", ContentFile(buffer.getvalue()))
    return item_type


def test_the_app_serves_item_pictures_itself(client, pictured_item):
    response = client.get(pictured_item.picture.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


@pytest.mark.parametrize("path", ["/media/secret.txt", "/media/../config/settings.py", "/media/item-types/none.png",
                                  "/media/item-types/../secret.txt"])
def test_it_serves_nothing_else(client, pictured_item, path):
    assert client.get(path).status_code == 404
