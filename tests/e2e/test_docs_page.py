"""/docs (Swagger UI) renders in real headless Chromium with every request off the server blocked.

Swagger UI's script and styles come from the fastapi-offline package, so an air-gapped install still has
working API docs. The test blocks (and records) any request that does not go to the server itself.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from eval.live_server import LiveServer
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


def test_docs_render_every_operation_with_all_external_requests_blocked(
    page: Page, web_server: LiveServer
) -> None:
    own = urlsplit(web_server.url).netloc
    blocked: list[str] = []
    served: list[str] = []

    def only_the_server(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == own:
            served.append(url)
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto(web_server.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Curbside")
    summaries = page.locator(".opblock-summary")
    expect(summaries.first).to_be_visible()
    spec = page.request.get(web_server.url + "/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if method in {"get", "head", "post", "delete"}
    }
    # One block per operation and tag (an operation with two tags shows twice).
    expect(summaries).to_have_count(
        sum(len(op.get("tags") or [""]) for ops in spec["paths"].values() for op in ops.values())
    )
    shown = {
        (
            s.locator(".opblock-summary-method").inner_text().strip(),
            s.locator(".opblock-summary-path").inner_text().replace("\u200b", "").strip(),
        )
        for s in summaries.all()
    }
    assert shown == documented
    assert blocked == []  # nothing asked of a CDN or any other host
    assert any("/static-offline-docs/swagger-ui-bundle.js" in u for u in served), served
    assert page.console_errors == []  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-offline.png"))
