"""The studio in a real browser: Debian's chromium, headless, driven by Playwright (its own browser download is
not used). Opens the page, chooses a zoo model, composes, and finds a playable WAV of the asked length, the
piano-roll and the score; then the page in Simplified Chinese. TUNESMITH_SCREENSHOT=PATH also saves the
screenshot README shows."""

from __future__ import annotations

import os
import shutil
import wave

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_compose_in_the_browser_plays_a_wav_and_shows_the_roll_and_score(studio, browser, tmp_path):
    settings, _, url = studio
    page = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1100}).new_page()
    page.goto(url)
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name="bach-transformer").click()
    page.locator("#compose-button").click()
    audio = page.locator("#piece-1-audio audio, #piece-1-audio").first
    page.locator("#piece-1-score svg").first.wait_for(timeout=60_000)
    assert page.locator("#piece-1-roll img").count() == 1
    assert audio.count() == 1
    summary = page.locator("#piece-1-summary").inner_text()
    assert "8 bars" in summary
    wavs = sorted(settings.work.glob("results/*/bach-transformer-1.wav"), key=lambda p: p.stat().st_mtime)
    with wave.open(str(wavs[-1])) as sound:
        seconds = sound.getnframes() / sound.getframerate()
    beats_per_second = float(summary.split(" bpm")[0].split(", ")[-1]) / 60
    assert seconds >= 8 * 4 / beats_per_second  # 8 bars of 4/4, and the release after them
    shot = tmp_path / "studio.png"
    page.screenshot(path=str(shot), full_page=False)
    if os.environ.get("TUNESMITH_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["TUNESMITH_SCREENSHOT"])
    assert shot.stat().st_size > 20_000


def test_the_page_speaks_simplified_chinese_to_a_chinese_browser(studio, browser):
    _, _, url = studio
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(url)
    page.get_by_text("作曲").first.wait_for(timeout=30_000)
    text = page.inner_text("body")
    assert "配和声" in text and "融合" in text and "训练" in text and "评估" in text
    assert "Harmonise" not in text
