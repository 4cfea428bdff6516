"""The widget on a site owner's page whose Content-Security-Policy allows scripts and styles only
from its own origin and StudyChat's, with no inline styles: it answers and looks exactly as on a
permissive page, and the browser reports no policy violation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUESTION = "What side effects did the patients have?"
HOST_CSS = "body { font-family: Georgia, serif; background: #fafaf7; margin: 3rem; } h1 { color: #800000; }"
# What the widget's look is judged by: the button, the panel, its header, a question and a source.
LOOKS = """root => {
  const pick = (selector, props) => {
    const style = getComputedStyle(root.querySelector(selector));
    return Object.fromEntries(props.map(p => [selector + " " + p, style.getPropertyValue(p)]));
  };
  return {
    ...pick(".launcher", ["position", "background-color", "width", "height", "border-radius", "bottom", "right"]),
    ...pick(".panel", ["position", "display", "width", "height", "background-color", "font-size", "border-radius"]),
    ...pick(".head", ["background-color", "color", "display"]),
    ...pick(".msg.user", ["background-color", "color"]),
    ...pick(".source", ["background-color", "font-size"]),
    ...pick(".source mark", ["background-color"]),
  };
}"""


def host_page(live_url: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Lab news</title>
<link rel="stylesheet" href="/host.css"></head>
<body><h1>Lab news</h1><p>Our group reads the latest CAR-T results. Ask the study assistant.</p>
<script src="{live_url}/widget.js" data-colour="#0f766e" data-title="Ask about the study" defer></script>
</body></html>"""


@pytest.fixture(scope="module")
def pages(live, host_sites) -> dict[str, str]:
    """The same host page twice on another site: once under a strict policy, once without one."""
    policy = (
        f"default-src 'self'; script-src 'self' {live.url}; style-src 'self' {live.url}; "
        f"connect-src 'self' {live.url}; img-src 'self'"
    )
    html, css = host_page(live.url), ("text/css", HOST_CSS, {})
    base = host_sites(
        {
            "/strict.html": ("text/html; charset=utf-8", html, {"Content-Security-Policy": policy}),
            "/open.html": ("text/html; charset=utf-8", html, {}),
            "/host.css": css,
        }
    )
    return {"strict": base + "/strict.html", "open": base + "/open.html"}


def ask_in_widget(page, url: str) -> tuple[dict, list[str]]:
    """Open the page, ask in the widget, wait for the cited answer; its looks and what the browser
    reported about the page's policy (console messages and `securitypolicyviolation` events)."""
    reported: list[str] = []
    page.on("console", lambda message: reported.append(message.text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'Refused to load: ' + e.violatedDirective + ' ' + e.blockedURI), true)"
    )
    page.goto(url)
    widget = page.locator("[data-studychat]")
    widget.locator(".launcher").click()
    panel = widget.locator(".panel")
    panel.locator("input").fill(QUESTION)
    panel.locator("form button").click()
    panel.locator(".source mark", has_text="fever").wait_for()
    assert "fever" in panel.locator(".msg.bot").last.inner_text()
    page.wait_for_timeout(300)  # let the answer's scroll settle before the screenshot
    looks = widget.evaluate(f"host => ({LOOKS})(host.shadowRoot)")
    return looks, reported


def test_widget_under_a_strict_policy_looks_as_on_an_open_page(browser, pages, tmp_path_factory):
    shots = Path(os.environ.get("STUDYCHAT_SCREENSHOTS") or tmp_path_factory.mktemp("csp"))
    looks, reports = {}, {}
    for name, url in pages.items():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            looks[name], reports[name] = ask_in_widget(page, url)
            page.screenshot(path=str(shots / f"widget-{name}-csp.png"))
        finally:
            context.close()

    refused = [m for m in reports["strict"] if "Content Security Policy" in m or "Refused to" in m]
    assert refused == []
    assert looks["strict"] == looks["open"]
    # ... and that look is the widget's, not a browser's unstyled default.
    assert looks["strict"][".launcher position"] == "fixed"
    assert looks["strict"][".launcher background-color"] == "rgb(15, 118, 110)"  # data-colour
    assert looks["strict"][".panel width"] == "380px"
    assert looks["strict"][".panel display"] == "flex"
