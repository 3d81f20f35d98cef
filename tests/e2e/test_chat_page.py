"""The chat page in real headless Chromium: ask, read the cited sections, open a source, follow up."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from eval.live_server import LiveServer, server_env
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

FLAGSHIP = "What are the benefits of low-dose naltrexone?"
TITLES = ["From the Guidelines", "From the FDA Drug Label", "From the Research"]


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


def last_turn_done(page: Page) -> None:
    expect(page.locator("article.turn").last).to_have_attribute("aria-busy", "false")


def test_flagship_question_shows_three_cited_sections(page: Page, web_server: LiveServer) -> None:
    page.goto(web_server.url + "/")
    expect(page.get_by_role("heading", name="Curbside")).to_be_visible()
    ask(page, FLAGSHIP)
    last_turn_done(page)
    turn = page.locator("article.turn").last
    expect(turn.locator(".q-text")).to_have_text(FLAGSHIP)
    expect(turn.locator(".answer-section h3")).to_have_text(TITLES)
    assert turn.locator("button.cite").count() > 0
    # The label section abstains about low doses and shows what the label does say, as context.
    label = turn.locator('.answer-section[data-key="fda_label"]')
    expect(label.locator(".abstain-badge")).to_be_visible()
    expect(label.locator(".section-message")).to_contain_text("low-dose")
    expect(label.locator(".context-title")).to_have_text("What the sources do say")
    expect(turn.locator(".disclaimer")).to_be_visible()
    expect(turn.locator(".references li").first).to_be_visible()
    expect(page.get_by_label("Your question")).to_have_value("")  # cleared once answered
    assert re.search(r"[?&]c=[0-9a-f]{32}", page.url), page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_citation_shows_the_reference_with_the_quote_highlighted(page: Page, web_server: LiveServer) -> None:
    page.goto(web_server.url + "/")
    ask(page, FLAGSHIP)
    last_turn_done(page)
    marker = page.locator("button.cite").first
    marker.click()
    source = page.get_by_role("dialog")
    expect(source).to_be_visible()
    expect(source).to_have_attribute("data-loaded", "true")
    expect(source.locator(".source-title")).to_contain_text("[1]")
    expect(source.locator(".source-meta")).not_to_be_empty()
    expect(source.locator("#source-link")).to_have_attribute("href", re.compile(r"^https?://"))
    mark = source.locator("#source-text mark").first
    expect(mark).to_be_visible()
    full = source.locator("#source-text").inner_text()
    quoted = mark.inner_text()
    assert quoted
    assert len(full) > len(quoted)
    assert quoted in full  # the span, highlighted inside the whole passage
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "citation.png"))
    # Keyboard: Escape closes it and returns focus to the marker.
    page.keyboard.press("Escape")
    expect(source).to_be_hidden()
    expect(marker).to_be_focused()
    # Hovering another marker shows its reference too.
    other = page.locator("button.cite").last
    other.hover()
    expect(source).to_be_visible()
    expect(other).to_have_attribute("aria-expanded", "true")


def test_follow_up_continues_the_conversation_and_survives_a_reload(
    page: Page, web_server: LiveServer
) -> None:
    page.goto(web_server.url + "/")
    ask(page, FLAGSHIP)
    last_turn_done(page)
    ask(page, "What dose?")
    expect(page.locator("article.turn")).to_have_count(2)
    last_turn_done(page)
    second = page.locator("article.turn").nth(1)
    expect(second.locator(".standalone")).to_contain_text("naltrexone")
    cid = second.get_attribute("data-conversation")
    assert cid
    assert page.locator("article.turn").first.get_attribute("data-conversation") == cid
    page.reload()
    expect(page.locator("article.turn")).to_have_count(2)
    expect(page.locator(".q-text")).to_have_text([FLAGSHIP, "What dose?"])
    # "New conversation" empties the page and forgets the id.
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("article.turn")).to_have_count(0)
    assert "c=" not in page.url
    page.reload()
    expect(page.locator("article.turn")).to_have_count(0)


def test_audience_switch_is_sent_and_remembered(page: Page, web_server: LiveServer) -> None:
    page.goto(web_server.url + "/")
    page.get_by_role("radio", name="Patient").check()
    page.reload()
    expect(page.get_by_role("radio", name="Patient")).to_be_checked()
    with page.expect_request(lambda r: r.url.endswith("/v1/answers") and r.method == "POST") as req:
        ask(page, "What is naltrexone used for?")
    sent = req.value.post_data_json
    assert sent is not None
    assert sent["audience"] == "patient"
    last_turn_done(page)
    expect(page.locator("article.turn").last).to_have_attribute("data-audience", "patient")


def test_suggested_follow_up_chip_asks_it(page: Page, web_server: LiveServer) -> None:
    page.goto(web_server.url + "/")
    ask(page, FLAGSHIP)
    last_turn_done(page)
    chip = page.locator("button.chip").first
    suggestion = chip.inner_text()
    assert suggestion
    chip.click()
    expect(page.locator("article.turn")).to_have_count(2)
    last_turn_done(page)
    expect(page.locator("article.turn").last.locator(".q-text")).to_have_text(suggestion)
    expect(page.locator("article.turn").last.locator(".answer-section")).to_have_count(3)


def test_html_in_a_question_is_shown_as_text_and_no_script_runs(page: Page, web_server: LiveServer) -> None:
    page.goto(web_server.url + "/")
    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> naltrexone dose?'
    ask(page, hostile)
    last_turn_done(page)
    turn = page.locator("article.turn").last
    expect(turn.locator(".q-text")).to_have_text(hostile)
    assert turn.locator("img, script").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    # The Content-Security-Policy forbids inline script even if some were injected.
    injected = page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';
                   document.body.append(s); return window.__inline; }"""
    )
    assert injected is None


def test_readable_on_a_phone(browser: object, web_server: LiveServer) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(60_000)
    try:
        page = ctx.new_page()
        page.goto(web_server.url + "/")
        ask(page, FLAGSHIP)
        last_turn_done(page)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"page scrolls sideways by {overflow}px on a phone"
        page.locator("button.cite").first.tap()
        source = page.get_by_role("dialog")
        expect(source).to_be_visible()
        box = source.bounding_box()
        assert box is not None
        assert box["width"] <= 390
    finally:
        ctx.close()


def test_errors_are_shown_and_the_question_is_kept(page: Page, tmp_path: Path) -> None:
    """A server without an index answers 503 with the fix; a server that is down cannot be reached."""
    from tests.conftest import make_settings

    env = server_env(make_settings(tmp_path), tmp_path / "var")  # no index here
    server = LiveServer(env, tmp_path / "server.log").start()
    try:
        page.goto(server.url + "/")
        ask(page, FLAGSHIP)
        alert = page.get_by_role("alert")
        expect(alert).to_be_visible()
        expect(alert).to_contain_text("curbside index build")
        expect(page.get_by_label("Your question")).to_have_value(FLAGSHIP)
        expect(page.locator("article.turn")).to_have_count(0)
    finally:
        server.stop()
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_role("alert")).to_contain_text("Cannot reach the Curbside server")
    expect(page.get_by_label("Your question")).to_have_value(FLAGSHIP)
    expect(page.get_by_role("button", name="Ask")).to_be_enabled()


def test_fallback_note_and_hostile_passage_text_render_as_text(page: Page, web_server: LiveServer) -> None:
    """A canned stream (via request interception) whose answer fell back from an LLM and whose statement and
    passage contain markup: the note is shown, the markup is shown as text, nothing runs."""
    import httpx

    answer = httpx.post(web_server.url + "/v1/answers", json={"question": FLAGSHIP}, timeout=60).json()
    hostile = '<img src=x onerror="window.__pwned=1">'
    answer["backend"] = {"composer": "generative", "llm": "local", "fallback": True, "reason": "timeout"}
    answer["sections"][0]["statements"][0]["text"] += " " + hostile
    ref = answer["references"][0]
    passage = httpx.get(web_server.url + "/v1/passages/" + quote(ref["passage_id"], safe="")).json()
    prefix = "<script>window.__pwned=2</script>"
    passage["text"] = prefix + passage["text"]
    for q in ref["quotes"]:  # the offsets move with the prefix
        q["start"] += len(prefix)
        q["end"] += len(prefix)
    frames = [("retrieval", {"standalone_question": FLAGSHIP, "drugs": [], "passages": {}})]
    frames += [("section", {"section": s, "references": answer["references"]}) for s in answer["sections"]]
    frames.append(("answer", answer))
    body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in frames)
    page.route(
        "**/v1/answers", lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body)
    )
    page.route("**/v1/passages/**", lambda route: route.fulfill(status=200, json=passage))

    page.goto(web_server.url + "/")
    ask(page, FLAGSHIP)
    last_turn_done(page)
    turn = page.locator("article.turn").last
    expect(turn.locator(".fallback")).to_contain_text("timeout")
    expect(turn.locator(".statement").first).to_contain_text(hostile)
    turn.locator("button.cite").first.click()
    source = page.get_by_role("dialog")
    expect(source).to_have_attribute("data-loaded", "true")
    expect(source.locator("#source-text")).to_contain_text(prefix)
    # marks follow the passage's order, not the order the statements quote it in
    first_in_text = min(ref["quotes"], key=lambda q: q["start"])
    expect(source.locator("#source-text mark").first).to_have_text(first_in_text["text"])
    assert page.locator("#log img, #source script, #log script").count() == 0
    assert page.evaluate("() => window.__pwned") is None
