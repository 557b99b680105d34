"""The dashboard in a real browser against a real `leadops serve`: sign in, every page, a lead, promote and roll
back, a viewer refused; every page loads with no console error and no failed request, and is photographed."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer
from ui_browser import Company, Watch

pytestmark = pytest.mark.slow

PAGES = {
    "sales": "Today's Sales queue",
    "marketing": "Marketing",
    "models": "Models",
    "operations": "Operations",
    "experiments": "Experiments",
}
FIGURES = {"sales": 0, "marketing": 1, "models": 1, "operations": 4, "experiments": 2}
"""Plots each page must draw (the simulated company has data for every one of them)."""
TIMEOUT_MS = 120_000
"""Generous: ~9 engineers share 2 cores, and the first Models page imports MLflow."""


@pytest.fixture
def context(chromium_browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) at a laptop's screen size."""
    made = chromium_browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    try:
        yield made
    finally:
        made.close()


def sign_in(context: Any, server: LiveServer, key: str, watch: Watch) -> Any:
    """Open the dashboard, get sent to the login, enter the key, land on the Sales queue."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)
    watch.attach(page)
    page.goto(f"{server.url}/ui/sales")
    assert page.url.startswith(f"{server.url}/ui/login"), page.url
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/ui/sales")
    return page


def snap(page: Any, tmp_path: Path, shots: list[Path], name: str) -> None:
    """A full-page screenshot into the test's folder (and $LEADOPS_SCREENSHOTS)."""
    folder = tmp_path / "screenshots"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    shots.append(path)


def test_every_page_of_the_route_contract_redirects_to_login_without_a_session(server: LiveServer) -> None:
    for path in ("/ui/sales", "/ui/leads/L1", "/ui/marketing", "/ui/models", "/ui/operations", "/ui/experiments"):
        answer = httpx.get(server.url + path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/ui/login"), path
    assert httpx.get(server.url + "/ui/login").status_code == 200


def test_a_wrong_key_is_refused_at_the_login(server: LiveServer, company: Company) -> None:
    answer = httpx.post(server.url + "/ui/login", data={"key": company.admin[:-2] + "xx"}, follow_redirects=False)
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert "not accepted" in answer.text


def test_every_page_loads_clean_and_is_photographed(
    context: Any, server: LiveServer, company: Company, tmp_path: Path, shots: list[Path]
) -> None:
    watch = Watch()
    page = sign_in(context, server, company.admin, watch)
    cookie = next(c for c in context.cookies() if c["name"] == "leadops_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    for slug, heading in PAGES.items():
        tab = context.new_page()  # a tab per page, as a person opening the dashboard's links would
        tab.set_default_timeout(TIMEOUT_MS)
        watch.attach(tab)
        tab.goto(f"{server.url}/ui/{slug}", wait_until="networkidle", timeout=TIMEOUT_MS)
        assert tab.locator("h1").first.inner_text().startswith(heading), slug
        drawn = tab.locator(".js-plotly-plot").count()
        assert drawn >= FIGURES[slug], f"{slug}: {drawn} plots drawn"
        snap(tab, tmp_path, shots, f"page-{slug}")
        tab.close()
    page.goto(f"{server.url}/ui/login", wait_until="networkidle")  # signed in: straight back to the queue
    assert page.url == f"{server.url}/ui/sales"
    assert watch.problems == []


def test_following_a_lead_from_the_queue_opens_its_page(
    context: Any, server: LiveServer, company: Company, tmp_path: Path, shots: list[Path]
) -> None:
    watch = Watch()
    page = sign_in(context, server, company.admin, watch)
    first = page.locator("#queue a.lead-link").first
    lead_id = first.inner_text()
    score_in_queue = page.locator("#queue tbody tr").first.locator("td").nth(2).inner_text()
    first.click()
    page.wait_for_url(re.compile(r".*/ui/leads/.+"))
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == f"Lead {lead_id}"
    assert page.locator("#history-plot.js-plotly-plot").count() == 1  # the score history, one point per run
    assert page.locator("#activities tbody tr").count() >= 1
    assert score_in_queue in page.locator(".stat").first.inner_text()  # tonight's score is the queue's
    assert "the model now" in page.content()
    snap(page, tmp_path, shots, "page-lead")
    assert watch.problems == []


def test_the_queue_filters_by_rep_and_downloads_as_csv(context: Any, server: LiveServer, company: Company) -> None:
    watch = Watch()
    page = sign_in(context, server, company.admin, watch)
    reps = page.locator("select[name=rep] option").all_inner_texts()[1:]
    assert reps, "the queue lists its reps"
    with page.expect_navigation():
        page.select_option("select[name=rep]", reps[0])
    cells = page.locator("#queue tbody tr td:nth-child(8)").all_inner_texts()
    assert cells and set(cells) == {reps[0]}
    with page.expect_download() as info:
        page.click("text=Download CSV")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert rows and {r["rep"] for r in rows} == {reps[0]}
    ranks = [int(r["rank"]) for r in rows]
    assert ranks == sorted(ranks)
    shown = int(re.search(r"([\d,]+) leads? with Sales", page.content()).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert len(rows) == shown
    assert watch.problems == []


def _audit_rows(page: Any) -> list[str]:
    return page.locator("#audit tbody tr").all_inner_texts()


def test_an_admin_promotes_and_rolls_back_and_the_audit_log_shows_both(
    context: Any, server: LiveServer, company: Company, tmp_path: Path, shots: list[Path]
) -> None:
    watch = Watch()
    page = sign_in(context, server, company.admin, watch)
    page.goto(f"{server.url}/ui/models", wait_until="networkidle")
    before = _audit_rows(page)
    page.on("dialog", lambda d: d.accept())
    form = page.locator("#version-2 form")
    form.locator("input[name=reason]").fill("challenger looks better in the browser test")
    form.locator("input[name=force]").check()
    with page.expect_navigation():
        form.locator("button[name=promote]").click()
    page.wait_for_load_state("networkidle")
    assert "v2 is now the champion" in page.locator(".notice.ok").inner_text()
    after = _audit_rows(page)
    assert len(after) == len(before) + 1
    assert "ui:ana" in after[0] and "force promote" in after[0] and "v2" in after[0]
    assert "champion" in page.locator("#version-2").inner_text()
    served = httpx.get(f"{server.url}/v1/model", headers={"X-API-Key": company.admin}).json()
    assert served["champion"]["version"] == 2  # the service follows the promotion at once
    snap(page, tmp_path, shots, "page-models-promoted")

    page.fill("input[aria-label='rollback reason']", "back to the rules")
    with page.expect_navigation():
        page.click("#rollback")
    page.wait_for_load_state("networkidle")
    assert "v1 is the champion again" in page.locator(".notice.ok").inner_text()
    rolled = _audit_rows(page)
    assert len(rolled) == len(before) + 2
    assert "rollback" in rolled[0] and "ui:ana" in rolled[0] and "back to the rules" in rolled[0]
    assert httpx.get(f"{server.url}/v1/model", headers={"X-API-Key": company.admin}).json()["champion"]["version"] == 1
    assert watch.problems == []


def test_a_viewer_sees_everything_but_is_refused_every_change(
    context: Any, server: LiveServer, company: Company, tmp_path: Path, shots: list[Path]
) -> None:
    watch = Watch(allowed_status={403})
    page = sign_in(context, server, company.viewer, watch)
    page.goto(f"{server.url}/ui/models", wait_until="networkidle")
    assert page.locator("button[name=promote]").count() == 0
    assert page.locator("#rollback").count() == 0
    assert "for admin keys" in page.content()
    before = _audit_rows(page)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    for action, form in (("promote", {"version": "2", "force": "true", "reason": "sneaky"}), ("rollback", {})):
        answer = page.request.post(
            f"{server.url}/ui/models/{action}", form={"csrf": csrf, **form}, headers={"Origin": server.url}
        )
        assert answer.status == 403, action
        assert "it needs &#39;admin&#39;" in answer.text()  # the refusal says which role it takes
    page.goto(f"{server.url}/ui/models", wait_until="networkidle")
    assert _audit_rows(page) == before
    snap(page, tmp_path, shots, "page-models-viewer")
    assert watch.problems == []


def test_a_post_without_the_session_token_or_from_another_site_is_refused(server: LiveServer, company: Company) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.post("/ui/login", data={"key": company.admin})
        page = client.get("/ui/models").text
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        assert client.post("/ui/models/rollback", data={}).status_code == 403
        assert client.post("/ui/models/rollback", data={"csrf": "forged"}).status_code == 403
        other = client.post("/ui/models/rollback", data={"csrf": token}, headers={"Origin": "http://evil.example"})
        assert other.status_code == 403
        assert client.post("/ui/logout", data={"csrf": token}).status_code == 303
        assert client.get("/ui/sales", follow_redirects=False).status_code == 303


def test_every_report_is_reachable_from_the_dashboard(server: LiveServer, company: Company) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.post("/ui/login", data={"key": company.viewer})
        page = client.get("/ui/models").text
        links = sorted(set(re.findall(r'href="(/ui/reports/[^"]+)"', page)))
        files = sorted(p.name for p in (company.path / "reports").glob("*.html"))
        assert files and [link.rsplit("/", 1)[1] for link in links] == files
        for link in links:
            answer = client.get(link)
            assert answer.status_code == 200 and "<html" in answer.text.lower()
            assert "sandbox" in answer.headers["content-security-policy"]
        assert client.get("/ui/reports/..%2Fleadops.yaml").status_code == 404
