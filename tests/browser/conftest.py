"""Browser tests of the staff pages: the real `kofu serve` with sample data and one user per role, driven
in headless Chromium (Debian's package, /usr/bin/chromium) by Playwright.

Environment:
  KOFU_BIN             the kofu binary (default: .build/debug/kofu, as scripts/test.sh builds it)
  KOFU_CHROMIUM        the browser (default: /usr/bin/chromium)
  KOFU_SCREENSHOT_DIR  where the pages' screenshots go (default: a temporary directory);
                       KOFU_SCREENSHOT_DIR=docs/images/staff refreshes the ones in the documentation
"""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ROLES = {
    "counter_clerk": "clerk.one",
    "counter_supervisor": "super.one",
    "operator": "oper.one",
    "auditor": "audit.one",
    "administrator": "admin.one",
}


def password(user_id):
    return f"browser-test {user_id} password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Kofu:
    base: str
    users: dict
    # The sample batch's demo cards by case name (`ordinary`, `support_measure`, …): card_serial, addressee_id.
    cards: dict
    # The kiosk API's listener (plain HTTP on loopback) and the public verification listener.
    kiosk: str
    public: str

    def url(self, path):
        return self.base + path


@pytest.fixture(scope="session")
def kofu():
    binary = Path(os.environ.get("KOFU_BIN", ROOT / ".build/debug/kofu"))
    if not binary.exists():
        pytest.fail(f"{binary}: no kofu binary; build it first (swift build)")
    data = Path(tempfile.mkdtemp(prefix="kofu-browser-"))
    # Each surface has a listener of its own: the staff pages, the kiosk API and public verification.
    port = free_port()
    kiosk_port = free_port()
    public_port = free_port()
    env = dict(os.environ, KOFU_DATA_DIR=str(data / "data"), KOFU_HTTP_HOST="127.0.0.1", KOFU_HTTP_PORT=str(kiosk_port),
               KOFU_STAFF_PORT=str(port), KOFU_PUBLIC_PORT=str(public_port),
               KOFU_ISSUANCE_SERVICE_HOURS="00:00-24:00", KOFU_ISSUANCE_CLOSED_DAYS="", KOFU_LOG_LEVEL="warning")
    env.pop("KOFU_CONFIG", None)
    env.pop("KOFU_DATABASE_URL", None)

    def kofu_cmd(*args, stdin=None):
        subprocess.run([str(binary), *args], cwd=ROOT, env=env, input=stdin, text=True, check=True,
                       stdout=subprocess.DEVNULL, timeout=300)

    kofu_cmd("keys", "generate")
    batch = data / "batch"
    kofu_cmd("sample", "--people", "40", "--out", str(batch), "--today", time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600)))
    kofu_cmd("import", str(batch))
    for role, user_id in ROLES.items():
        kofu_cmd("users", "add", user_id, "--role", role, stdin=password(user_id) + "\n")
    log = open(data / "serve.log", "w")
    server = subprocess.Popen([str(binary), "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail("kofu serve did not start:\n" + (data / "serve.log").read_text())
                time.sleep(0.2)
        cards = {c["case"]: c for c in json.loads((batch / "demo-cards.json").read_text())["cards"]}
        yield Kofu(base=base, users=ROLES, cards=cards, kiosk=f"http://127.0.0.1:{kiosk_port}",
                   public=f"http://127.0.0.1:{public_port}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("KOFU_CHROMIUM", "/usr/bin/chromium"),
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile (no cookies) at desktop size, in Japanese."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots():
    """Saves a full-page screenshot under KOFU_SCREENSHOT_DIR (or a temporary directory)."""
    target = os.environ.get("KOFU_SCREENSHOT_DIR")
    directory = Path(target) if target else Path(tempfile.mkdtemp(prefix="kofu-screens-"))
    if not directory.is_absolute():
        directory = ROOT / directory
    directory.mkdir(parents=True, exist_ok=True)

    def save(page, name):
        path = directory / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    yield save
    if not target:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def other_site():
    """Another origin on loopback (a different port) serving the pages written to it: a forged form there
    posts to Kofu as another site would. Same site for the browser (ports do not count), so the SameSite
    cookie alone does not stop it: the origin check and the CSRF token must."""
    pages = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(path, html):
        pages[path] = html
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield serve
    server.shutdown()
    server.server_close()
