"""The staff shell in a real browser: signing in and out, the menu per role, the Japanese error pages,
and forged posts refused."""
import re

from conftest import password
from playwright.sync_api import expect


def sign_in(page, kofu, role, path="/staff/login"):
    user_id = kofu.users[role]
    page.goto(kofu.url(path))
    page.get_by_label("ユーザーID").fill(user_id)
    page.get_by_label("パスワード").fill(password(user_id))
    page.get_by_role("button", name="ログイン").click()
    return user_id


def menu(page):
    return page.get_by_role("navigation", name="メニュー")


def intake_paused(page, kofu):
    page.goto(kofu.url("/staff/operator"))
    return page.get_by_role("button", name="受付再開").count() > 0


def test_an_anonymous_visit_lands_on_the_sign_in_page(page, kofu, screenshots, browser):
    page.goto(kofu.url("/staff"))
    expect(page).to_have_url(kofu.url("/staff/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("職員ログイン")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    screenshots(page, "login")
    # The user ID field has the focus, and Tab goes on to the password, then the button.
    expect(page.get_by_label("ユーザーID")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("パスワード")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="ログイン")).to_be_focused()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, locale="ja-JP")
    try:
        small = phone.new_page()
        small.goto(kofu.url("/staff/login"))
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the sign-in page scrolls sideways on a phone ({width}px)"
        screenshots(small, "login-phone")
    finally:
        phone.close()


def test_sign_in_and_out(page, kofu):
    user_id = sign_in(page, kofu, "counter_clerk")
    expect(page).to_have_url(kofu.url("/staff"))
    header = page.locator("header")
    expect(header).to_contain_text(user_id)
    expect(header).to_contain_text("窓口担当")
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url(kofu.url("/staff/login?notice=logged_out"))
    expect(page.get_by_role("status")).to_have_text("ログアウトしました。")
    page.goto(kofu.url("/staff"))
    expect(page).to_have_url(kofu.url("/staff/login"))


def test_a_wrong_password_shows_the_japanese_error(page, kofu):
    page.goto(kofu.url("/staff/login"))
    page.get_by_label("ユーザーID").fill(kofu.users["operator"])
    page.get_by_label("パスワード").fill("not the password")
    with page.expect_response(kofu.url("/staff/login")) as answer:
        page.get_by_role("button", name="ログイン").click()
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("ユーザーIDまたはパスワードが正しくありません。")
    expect(page.get_by_role("button", name="ログアウト")).to_have_count(0)
    # An unknown user gets the very same message.
    page.get_by_label("ユーザーID").fill("no.such.user")
    page.get_by_label("パスワード").fill("not the password")
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("alert")).to_have_text("ユーザーIDまたはパスワードが正しくありません。")


def test_a_clerk_sees_no_operator_or_admin_menu_and_is_refused_the_dashboard(page, kofu, screenshots):
    sign_in(page, kofu, "counter_clerk")
    main = page.locator("main")
    expect(main.get_by_role("heading", name="窓口業務")).to_be_visible()
    expect(main).to_contain_text("窓口照会")
    for other in ["運用", "監査", "管理", "運用状況", "キオスク受付の停止・再開", "職員アカウントの管理", "公印鍵の操作"]:
        expect(page.get_by_role("heading", name=other, exact=True)).to_have_count(0)
        expect(page.get_by_text(other, exact=True)).to_have_count(0)
    expect(menu(page).get_by_role("link")).to_have_text(["ホーム", "窓口照会", "交付履歴照会"])
    screenshots(page, "clerk-home")
    answer = page.goto(kofu.url("/staff/operator"))
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("権限がありません")
    expect(page.locator("header")).to_contain_text(kofu.users["counter_clerk"])
    screenshots(page, "forbidden")


def test_an_operator_sees_the_operator_menu(page, kofu, screenshots):
    sign_in(page, kofu, "operator")
    expect(page.locator("header")).to_contain_text("運用担当")
    expect(page.locator("main").get_by_role("heading", name="運用")).to_be_visible()
    expect(page.locator("main")).to_contain_text("キオスク受付の停止・再開")
    expect(page.locator("main")).not_to_contain_text("窓口照会")
    screenshots(page, "operator-home")
    menu(page).get_by_role("link", name="運用状況").click()
    expect(page).to_have_url(kofu.url("/staff/operator"))
    expect(page.get_by_role("button", name=re.compile("受付(停止|再開)"))).to_be_visible()


def test_sign_in_returns_to_the_page_asked_for(page, kofu):
    page.goto(kofu.url("/staff/operator"))
    expect(page).to_have_url(kofu.url("/staff/login?next=/staff/operator"))
    page.get_by_label("ユーザーID").fill(kofu.users["operator"])
    page.get_by_label("パスワード").fill(password(kofu.users["operator"]))
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(kofu.url("/staff/operator"))


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(page, kofu):
    sign_in(page, kofu, "operator")
    assert not intake_paused(page, kofu)
    # The browser's cookie goes along (same context), the token does not.
    refused = page.request.post(kofu.url("/staff/operator/intake/pause"), form={"reason": "forged"})
    assert refused.status == 403
    assert not intake_paused(page, kofu)
    refused = page.request.post(kofu.url("/staff/logout"), form={"x": "1"})
    assert refused.status == 403
    page.goto(kofu.url("/staff"))
    expect(page).to_have_url(kofu.url("/staff"))
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()


def test_a_form_on_another_site_is_refused_and_changes_nothing(page, kofu, other_site):
    sign_in(page, kofu, "operator")
    token = page.locator("input[name=_csrf]").first.get_attribute("value")
    # Even with a token that is right (say, leaked), the other origin is refused.
    forged = other_site("/forged.html", f"""<!DOCTYPE html><html><body>
<form method="post" action="{kofu.url('/staff/operator/intake/pause')}">
<input name="_csrf" value="{token}"><input name="reason" value="forged"><button>go</button></form>
<script>document.forms[0].submit()</script></body></html>""")
    with page.expect_response(kofu.url("/staff/operator/intake/pause")) as answer:
        page.goto(forged)
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("この操作は受け付けられませんでした")
    assert not intake_paused(page, kofu)


def test_the_signed_in_pages_fit_a_phone(browser, kofu, screenshots):
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, locale="ja-JP")

    def fits(page):
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{page.url} scrolls sideways on a phone ({width}px)"

    try:
        page = phone.new_page()
        sign_in(page, kofu, "administrator")  # the longest menu
        expect(page).to_have_url(kofu.url("/staff"))
        fits(page)
        screenshots(page, "admin-home-phone")
        page.get_by_role("button", name="ログアウト").click()
        sign_in(page, kofu, "counter_clerk")
        page.goto(kofu.url("/staff/operator"))
        expect(page.get_by_role("heading", level=1)).to_have_text("権限がありません")
        fits(page)
    finally:
        phone.close()
