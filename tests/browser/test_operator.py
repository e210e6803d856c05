"""The operators' console and the daily settlement in a real browser, against servers of their own (the
session's shared server has no kiosk port to make requests on, and one of these needs stale data):

- with data four days old, the console says 受付不可・データ更新遅延;
- a pause (reason and confirmation) shows 受付停止 with the reason and the operator's name;
- the ready queue counts exactly the requests the test issued and did not deliver;
- the settlement CSV matches the ledger (what the kiosk answered);
- the console's background refresh does not keep an idle session alive (idle timeout 1 minute).
"""
import csv
import io
import json
import os
import shutil
import subprocess
import urllib.error
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import ROOT, free_port, password

OPERATOR = "oper.console"


class Server:
    def __init__(self, base, kiosk, cards):
        self.base = base
        self.kiosk = kiosk
        self.cards = cards

    def url(self, path):
        return self.base + path

    def kiosk_post(self, path, body):
        request = urllib.request.Request(self.kiosk + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def issue(self, case, year, copies=1, chain="7"):
        return self.kiosk_post("/kiosk/v1/issuances", {
            "request_id": str(uuid.uuid4()), "card_serial": self.cards[case]["card_serial"], "kind": "income_taxation",
            "fiscal_year": year, "copies": copies,
            "terminal": {"store_chain": chain, "store_id": "S-1", "terminal_id": "K1"}})


def start(days_old=0, idle_minutes=15):
    binary = Path(os.environ.get("KOFU_BIN", ROOT / ".build/debug/kofu"))
    if not binary.exists():
        pytest.fail(f"{binary}: no kofu binary; build it first (swift build)")
    data = Path(tempfile.mkdtemp(prefix="kofu-operator-"))
    port, kiosk_port = free_port(), free_port()
    env = dict(os.environ, KOFU_DATA_DIR=str(data / "data"), KOFU_HTTP_HOST="127.0.0.1", KOFU_HTTP_PORT=str(kiosk_port),
               KOFU_STAFF_PORT=str(port), KOFU_PUBLIC_PORT="0", KOFU_AUTH_IDLE_TIMEOUT_MINUTES=str(idle_minutes),
               KOFU_ISSUANCE_SERVICE_HOURS="00:00-24:00", KOFU_ISSUANCE_CLOSED_DAYS="", KOFU_LOG_LEVEL="warning")
    env.pop("KOFU_CONFIG", None)
    env.pop("KOFU_DATABASE_URL", None)

    def kofu_cmd(*args, stdin=None):
        subprocess.run([str(binary), *args], cwd=ROOT, env=env, input=stdin, text=True, check=True,
                       stdout=subprocess.DEVNULL, timeout=300)

    kofu_cmd("keys", "generate")
    batch = data / "batch"
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600 - days_old * 86400))
    kofu_cmd("sample", "--people", "40", "--out", str(batch), "--today", today)
    kofu_cmd("import", str(batch))
    kofu_cmd("users", "add", OPERATOR, "--role", "operator", stdin=password(OPERATOR) + "\n")
    log = open(data / "serve.log", "w")
    server = subprocess.Popen([str(binary), "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
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

    def stop():
        if server.poll() is not None:
            log.flush()
            print(f"kofu serve exited early ({server.returncode}):\n" + (data / "serve.log").read_text()[-4000:])
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(data, ignore_errors=True)

    return Server(base, f"http://127.0.0.1:{kiosk_port}", cards), stop


@pytest.fixture(scope="module")
def fresh():
    server, stop = start(idle_minutes=1)
    yield server
    stop()


def sign_in(page, server):
    page.goto(server.url("/staff/login?next=/staff/operator"))
    page.get_by_label("ユーザーID").fill(OPERATOR)
    page.get_by_label("パスワード").fill(password(OPERATOR))
    page.get_by_role("button", name="ログイン").click()
    page.goto(server.url("/staff/operator"))
    expect(page.get_by_role("heading", level=1)).to_have_text("運用状況")


def latest_year():
    # The sample holds the fiscal years up to today's (April to March, Japan time).
    t = time.gmtime(time.time() + 9 * 3600)
    return t.tm_year if t.tm_mon >= 4 else t.tm_year - 1


def test_stale_data_shows_data_update_delay(page, screenshots):
    server, stop = start(days_old=4)
    try:
        sign_in(page, server)
        status = page.locator("#status-line")
        expect(status).to_contain_text("受付不可・データ更新遅延")
        expect(page.locator("#data-sets")).to_contain_text("(古い)")
        screenshots(page, "operations-stale")
    finally:
        stop()


def test_console_numbers_pause_and_settlement(page, fresh, screenshots):
    year = latest_year()
    issued = []
    for i in range(3):
        status, body = fresh.issue("ordinary", year - (i % 2), copies=1 + i, chain="7" if i < 2 else "L")
        assert status == 201, body
        issued.append(body)
    status, body = fresh.kiosk_post(f"/kiosk/v1/issuances/{issued[0]['issuance_id']}/delivered", {})
    assert status == 200, body
    refused, _ = fresh.issue("deceased", year)
    assert refused == 422

    sign_in(page, fresh)
    expect(page.locator("#status-line")).to_have_text("受付中")
    queue = page.locator("#queue")
    expect(queue.locator("div", has_text="受取待ち").locator("dd")).to_have_text("2件")
    counts = page.locator("#counts")
    expect(counts.locator("tr", has_text="交付済み").locator("td").first).to_have_text("1件")
    expect(counts.locator("tr", has_text="期限切れ").locator("td").first).to_have_text("0件")
    expect(page.locator("#terminals")).to_contain_text("L/S-1/K1")
    screenshots(page, "operations-console")

    # A phone-sized screen: the charts scale, the tables scroll.
    page.set_viewport_size({"width": 390, "height": 844})
    phone = screenshots(page, "operations-console-phone")
    # The documentation shows one screenful of it: the charts.
    page.locator("figure").first.scroll_into_view_if_needed()
    page.screenshot(path=str(phone))
    page.set_viewport_size({"width": 1280, "height": 800})

    # Pause: a reason and the confirmation are required.
    page.get_by_label("停止理由").fill("印刷センター障害のため")
    page.get_by_label("全ノードのキオスク受付を停止することを確認しました").check()
    page.get_by_role("button", name="受付停止").click()
    expect(page).to_have_url(fresh.url("/staff/operator"))
    status = page.locator("#status-line")
    expect(status).to_contain_text("受付不可・受付停止")
    expect(status).to_contain_text(OPERATOR)
    expect(status).to_contain_text("印刷センター障害のため")
    closed, body = fresh.issue("ordinary", year)
    assert closed == 503 and body["error"]["code"] == "SERVICE_CLOSED", body
    screenshots(page, "operations-paused")
    page.get_by_label("受付を再開することを確認しました").check()
    page.get_by_role("button", name="受付再開").click()
    expect(page.locator("#status-line")).to_have_text("受付中")

    # The settlement: the page and its CSV match what the kiosk answered.
    page.goto(fresh.url("/staff/operator/settlement"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("日次精算")
    screenshots(page, "operations-settlement")
    with page.expect_download() as info:
        page.locator("#settlement-csv").click()
    raw = Path(info.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
    total = rows[-1]
    assert total[1] == "合計"
    delivered = issued[0]
    assert (int(total[3]), int(total[4]), int(total[6])) == (1, 1, delivered["fee_yen"]), total
    chains = {r[1] for r in rows[1:-1]}
    assert chains == {"7", "L"}, rows


def test_background_refresh_does_not_keep_an_idle_session(page, fresh):
    sign_in(page, fresh)
    note = page.locator("#refresh-note")
    expect(note).to_contain_text("自動更新")
    # Idle timeout 1 minute, refresh every 15 s: the refreshes do not count, so the session ends.
    expect(note).to_contain_text("自動更新を止めました", timeout=100_000)
    page.goto(fresh.url("/staff/operator"))
    expect(page.get_by_label("パスワード")).to_be_visible()
