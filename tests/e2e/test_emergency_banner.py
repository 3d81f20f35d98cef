"""The emergency banner in real headless Chromium: first in the answer, above every section, role="alert"."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from app.answer.emergency import detect_emergency
from eval.live_server import LiveServer

pytestmark = pytest.mark.e2e

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
# The README's screenshot is refreshed only when asked (CURBSIDE_UPDATE_DOCS_IMG=1): a test run must not
# change tracked files.
UPDATE_DOCS_IMG = os.environ.get("CURBSIDE_UPDATE_DOCS_IMG") == "1"
CHEST_PAIN = "I have crushing chest pain radiating to my left arm and I'm sweating, what should I take?"


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


def _with_emergency(stream: str, notice: dict[str, str]) -> str:
    """The server's own SSE stream, with ``emergency`` set on its final ``answer`` event."""
    frames = []
    for frame in stream.split("\n\n"):
        lines = frame.split("\n")
        if "event: answer" in lines:
            i = next(k for k, line in enumerate(lines) if line.startswith("data: "))
            answer = json.loads(lines[i][len("data: ") :])
            answer["emergency"] = notice
            lines[i] = "data: " + json.dumps(answer)
        frames.append("\n".join(lines))
    return "\n\n".join(frames)


def test_banner_from_the_answer_json_is_shown_first(
    page: Page, web_server: LiveServer, tmp_path: Path
) -> None:
    """The page's part: it renders ``answer.emergency`` above the sections. The answer is the real server's;
    only its ``emergency`` field is filled here (from the real detector) until the engine fills it."""
    notice = detect_emergency(CHEST_PAIN)
    assert notice is not None

    def fill(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=_with_emergency(response.text(), notice.model_dump()))

    page.route("**/v1/answers", fill)
    page.goto(web_server.url + "/")
    ask(page, CHEST_PAIN)
    turn = page.locator("article.turn").last
    expect(turn).to_have_attribute("aria-busy", "false")
    banner = turn.get_by_role("alert")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Call 911")
    expect(banner).to_have_attribute("data-category", "cardiac")
    first = turn.locator(".answer > *").first
    expect(first).to_have_class("emergency")
    box, sections = banner.bounding_box(), turn.locator(".sections").bounding_box()
    assert box is not None
    assert sections is not None
    assert box["y"] + box["height"] <= sections["y"]
    shot = (DOCS_IMG if UPDATE_DOCS_IMG else tmp_path) / "emergency-banner.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 0
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_ordinary_question_has_no_banner(page: Page, web_server: LiveServer) -> None:
    page.goto(web_server.url + "/")
    ask(page, "What are the benefits of low-dose naltrexone?")
    turn = page.locator("article.turn").last
    expect(turn).to_have_attribute("aria-busy", "false")
    expect(turn.locator(".emergency")).to_have_count(0)


def test_emergency_question_gets_the_banner_end_to_end(page: Page, web_server: LiveServer) -> None:
    page.goto(web_server.url + "/")
    ask(page, CHEST_PAIN)
    turn = page.locator("article.turn").last
    expect(turn).to_have_attribute("aria-busy", "false")
    expect(turn.get_by_role("alert")).to_contain_text("Call 911")
    expect(turn.locator(".answer > *").first).to_have_class("emergency")
