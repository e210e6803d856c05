#!/usr/bin/env python3
"""Screenshots of the /verify page for docs/seal.md, from the pages `VerifyPageTests.writeSealsForScreenshots`
saves (KOFU_VERIFY_SCREENSHOT_DIR=DIR swift test --filter writeSealsForScreenshots), drawn by Playwright in
Debian's headless Chromium:

    python3 tools/verify_screenshots.py DIR docs/images
"""
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def main(source, target):
    Path(target).mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("KOFU_CHROMIUM", "/usr/bin/chromium"),
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_context(viewport={"width": 900, "height": 700}, locale="ja-JP").new_page()
        for name in ("valid", "superseded", "void", "revoked", "malformed"):
            page.goto(Path(source, f"verify-{name}.html").resolve().as_uri())
            page.screenshot(path=str(Path(target, f"verify-{name}.png")), full_page=True)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
