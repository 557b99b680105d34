"""The dashboard inside the service's app: HTML errors under /ui/ only, the login's redirects, plotly.js offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leadops.config import load
from leadops.serving.app import create_app
from leadops.serving.keys import KeyStore
from leadops.warehouse import open_warehouse
from leadops.workspace import init_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ui-app") / "ws"
    init_workspace(path)
    settings = load(path)
    open_warehouse(settings.warehouse.url, settings.workspace).close()  # the tables, empty
    return path


@pytest.fixture
def client(ws: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load(ws), follow=False)) as c:
        yield c


def test_api_errors_keep_their_json_shape_and_ui_errors_are_pages(client: TestClient, ws: Path) -> None:
    api = client.get("/v1/model")
    assert api.status_code == 401 and api.json()["ok"] is False
    key = KeyStore.for_workspace(ws).create("viewer", "vera").key
    client.post("/ui/login", data={"key": key})
    page = client.get("/ui/leads/nobody")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "lead &#39;nobody&#39; is not in the warehouse" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/ui/sales?page=0").status_code == 422


def test_the_login_only_sends_back_into_the_dashboard(client: TestClient, ws: Path) -> None:
    key = KeyStore.for_workspace(ws).create("viewer").key
    for target, expected in (("/ui/models", "/ui/models"), ("//evil.example/x", "/ui/sales"),
                             ("https://evil.example", "/ui/sales"), ("/v1/model", "/ui/sales")):  # fmt: skip
        answer = client.post("/ui/login", data={"key": key, "next": target}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == expected, target
    assert client.get("/ui/marketing", follow_redirects=False).status_code == 200
    anonymous = TestClient(client.app).get("/ui/marketing?segment=region", follow_redirects=False)
    assert anonymous.headers["location"] == "/ui/login?next=/ui/marketing%3Fsegment%3Dregion"


def test_a_login_form_posted_from_another_site_is_refused(client: TestClient, ws: Path) -> None:
    key = KeyStore.for_workspace(ws).create("admin").key
    answer = client.post("/ui/login", data={"key": key}, headers={"Origin": "http://evil.example"})
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_plotly_js_comes_from_the_installed_package_with_an_etag(client: TestClient) -> None:
    from plotly.offline import get_plotlyjs

    first = client.get("/ui/static/plotly.min.js")
    assert first.status_code == 200 and first.text == get_plotlyjs()
    again = client.get("/ui/static/plotly.min.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/ui/static/../../leadops.yaml").status_code == 404
