"""再交付 and 窓口収納 (issue #12) in a real browser: a kiosk issuance is found in the 交付履歴 and reprinted with a
reason; the public verification page then says the old certificate was replaced; the cash desk's list shows the
reprint's fee."""
import json
import re
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from playwright.sync_api import expect
from test_counter import fill_identity, sign_in


def kiosk_issuance(kofu, request_id):
    """Issues the `ordinary` card's latest 所得・課税証明書 through the kiosk API and hands it over, as a convenience
    store would: returns (certificate number, the PDF)."""
    card = kofu.cards["ordinary"]
    year = max(e["fiscal_year"] for e in card["expectations"] if e["kind"] == "income_taxation")
    body = json.dumps({"request_id": request_id, "card_serial": card["card_serial"], "kind": "income_taxation",
                       "fiscal_year": year}).encode()
    request = urllib.request.Request(kofu.kiosk + "/kiosk/v1/issuances", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/pdf"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201
        issuance = response.headers["Kofu-Issuance-Id"]
        number = response.headers["Kofu-Certificate-Numbers"].split(",")[0]
        pdf = response.read()
    delivered = urllib.request.Request(f"{kofu.kiosk}/kiosk/v1/issuances/{issuance}/delivered", method="POST")
    with urllib.request.urlopen(delivered, timeout=30) as response:
        assert response.status == 200
    return number, pdf


def seal_of(pdf):
    """The QR seal's text, read from the printed page as a verifier's phone would (pdftoppm, then zbarimg)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory)
        (path / "certificate.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "300", "-png", "-f", "1", "-l", "1", str(path / "certificate.pdf"), str(path / "page")],
                       check=True, timeout=60)
        image = next(path.glob("page*.png"))
        out = subprocess.run(["zbarimg", "--raw", "-q", str(image)], check=True, capture_output=True, text=True, timeout=60)
    return out.stdout.splitlines()[0]


def verify_json(kofu, seal):
    # POST, so that the seal never lands in a URL (docs/seal.md §8).
    request = urllib.request.Request(f"{kofu.public}/verify/api/v1", data=json.dumps({"seal": seal}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_kiosk_issuance_is_reprinted_and_the_old_number_is_superseded(page, kofu, screenshots):
    old_number, pdf = kiosk_issuance(kofu, "BROWSER-REPRINT-1")
    seal = seal_of(pdf)
    assert verify_json(kofu, seal)["status"] == "valid_delivered"

    sign_in(page, kofu, "counter_clerk")
    page.get_by_role("navigation", name="メニュー").get_by_role("link", name="交付履歴照会").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("交付履歴照会")
    page.get_by_label("宛名番号").fill(kofu.cards["ordinary"]["addressee_id"])
    page.get_by_role("button", name="履歴を表示").click()
    row = page.get_by_role("row").filter(has_text=old_number)
    expect(row).to_contain_text("コンビニ")
    expect(row).to_contain_text("有効")
    expect(row).to_contain_text("交付済み")
    expect(page.get_by_role("table")).not_to_contain_text("円")

    row.get_by_role("link", name=re.compile("再交付する")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("再交付: 所得・課税証明書")
    expect(page.locator("dl.facts")).to_contain_text(old_number)
    page.get_by_label("再交付の理由").select_option(label="用紙詰まり")
    fill_identity(page, document="マイナンバーカード")
    screenshots(page, "reprint-form")
    page.get_by_role("button", name="再交付する").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("証明書の印刷")
    expect(page.get_by_text("印刷待ち")).to_be_visible()
    new_number = page.locator("dl.facts .number").first.inner_text().strip()
    assert new_number and new_number != old_number
    page.get_by_role("link", name="印刷完了").click()
    page.get_by_role("button", name="印刷完了にする").click()
    expect(page.get_by_role("status")).to_contain_text("交付済み")

    # The history says what became of the old number, and where the new one came from.
    page.goto(kofu.url("/staff/history?number=" + urllib.parse.quote(old_number)))
    old_row = page.get_by_role("row").filter(has_text=old_number)
    expect(old_row).to_contain_text(f"再交付により置換(→{new_number})")
    expect(old_row).to_contain_text("再交付 1回")
    page.get_by_role("link", name="この住民の交付履歴をすべて表示").click()
    expect(page.get_by_role("row").filter(has_text=new_number).first).to_contain_text(f"再交付元: {old_number}(理由: 用紙詰まり)")
    screenshots(page, "history")

    # Whoever holds the old paper is told it was replaced.
    page.goto(f"{kofu.public}/verify")
    page.get_by_label("二次元コードの内容").fill(seal)
    page.get_by_role("button", name="確認する").click()
    expect(page.get_by_text("再交付により失効")).to_be_visible()
    assert verify_json(kofu, seal)["status"] == "superseded"

    # The cash desk's list of the day has the reprint and its fee, and the CSV.
    page.goto(kofu.url("/staff/counter/takings"))
    expect(page.get_by_role("heading", level=1)).to_have_text("窓口収納")
    expect(page.get_by_role("row").filter(has_text=new_number)).to_contain_text("300円")
    screenshots(page, "takings")
    csv = page.request.get(kofu.url(page.get_by_role("link", name="CSVをダウンロード").get_attribute("href")))
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert new_number in csv.text()
