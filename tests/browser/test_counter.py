"""The counter pages (窓口, issue #12) in a real browser: look-up, issuing at the counter, printing, and the
second staff member's approval for a resident under a support measure."""
import re

from conftest import password
from playwright.sync_api import expect


def sign_in(page, kofu, role):
    user_id = kofu.users[role]
    page.goto(kofu.url("/staff/login"))
    page.get_by_label("ユーザーID").fill(user_id)
    page.get_by_label("パスワード").fill(password(user_id))
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")
    return user_id


def look_up(page, kofu, case, purpose="証明書の交付申請"):
    """Looks the demo case's resident up by 宛名番号 from the look-up page; returns the 宛名番号."""
    addressee = kofu.cards[case]["addressee_id"]
    page.get_by_role("navigation", name="メニュー").get_by_role("link", name="窓口照会").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("窓口照会")
    page.get_by_label("照会目的").select_option(label=purpose)
    page.get_by_label("宛名番号").fill(addressee)
    page.get_by_role("button", name="照会する").click()
    expect(page).to_have_url(re.compile(rf"/staff/counter/residents/{addressee}\?purpose="))
    return addressee


def income_row(page):
    """The resident page's table row of 所得・課税証明書 in the latest year (the years run newest first)."""
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="所得・課税証明書")).first


def fill_identity(page, document="運転免許証"):
    page.get_by_label("本人確認書類").select_option(label=document)
    page.get_by_label("本人", exact=True).check()


def test_a_clerk_issues_at_the_counter_and_prints(page, kofu, screenshots):
    sign_in(page, kofu, "counter_clerk")
    page.get_by_role("navigation", name="メニュー").get_by_role("link", name="窓口照会").click()
    screenshots(page, "lookup")
    look_up(page, kofu, "ordinary")
    row = income_row(page)
    expect(row).to_contain_text("交付可")
    row.get_by_role("link", name=re.compile("交付可")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("所得・課税証明書")
    page.get_by_label("部数").fill("2")
    fill_identity(page)
    screenshots(page, "issue-form")
    page.get_by_role("button", name="交付する").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("証明書の印刷")
    expect(page.get_by_text("印刷待ち")).to_be_visible()
    screenshots(page, "print")
    link = page.get_by_role("link", name=re.compile("PDFを開いて印刷する"))
    expect(link).to_have_attribute("target", "_blank")
    document = kofu.url(link.get_attribute("href"))
    pdf = page.request.get(document)
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    page.get_by_role("link", name="印刷完了").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("印刷完了の確認")
    page.get_by_role("button", name="印刷完了にする").click()
    expect(page.get_by_role("status")).to_contain_text("交付済み")
    expect(page.get_by_role("link", name=re.compile("PDFを開いて印刷する"))).to_have_count(0)
    assert page.request.get(document).status == 410


def test_a_support_measure_resident_needs_a_supervisors_approval(browser, page, kofu, screenshots):
    clerk = sign_in(page, kofu, "counter_clerk")
    addressee = look_up(page, kofu, "support_measure", purpose="コンビニ交付の不可理由の確認")
    expect(page.get_by_role("alert").filter(has_text="DV等支援措置")).to_contain_text("交付には責任者の承認が必要です")
    screenshots(page, "resident-support-measure")
    row = income_row(page)
    expect(row).to_contain_text("承認が必要")
    row.get_by_role("link", name=re.compile("承認が必要")).click()
    fill_identity(page, "マイナンバーカード")
    page.get_by_role("button", name="交付する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("承認待ち")
    expect(page.get_by_role("status")).to_contain_text(f"{clerk}以外の窓口責任者")
    waiting = page.url

    supervisor_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    try:
        supervisor = supervisor_context.new_page()
        sign_in(supervisor, kofu, "counter_supervisor")
        supervisor.get_by_role("navigation", name="メニュー").get_by_role("link", name="制限付き交付の承認").click()
        request = supervisor.get_by_role("region").filter(has_text=addressee)
        expect(request).to_contain_text("DV等支援措置")
        expect(request).to_contain_text(clerk)
        screenshots(supervisor, "approvals")
        request.get_by_role("button", name=re.compile("承認する")).click()
        expect(supervisor.get_by_role("heading", level=1)).to_have_text("証明書の印刷")
        expect(supervisor.get_by_text("印刷待ち")).to_be_visible()
    finally:
        supervisor_context.close()

    # The clerk's waiting page now leads to the print page.
    page.goto(waiting)
    page.get_by_role("link", name="印刷画面へ進む").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("証明書の印刷")
