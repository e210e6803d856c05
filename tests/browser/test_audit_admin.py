"""The auditor's and the administrator's pages in a real browser: the audit log filtered to one staff
member, its verification, and an account added through the form that can then sign in."""
import re

from conftest import password
from playwright.sync_api import expect

from test_staff_shell import menu, sign_in


def test_the_auditor_filters_the_log_to_one_staff_members_actions(page, kofu, screenshots):
    # Something to find: the clerk and the operator each sign in once.
    for role in ["counter_clerk", "operator"]:
        sign_in(page, kofu, role)
        expect(page).to_have_url(kofu.url("/staff"))
        page.get_by_role("button", name="ログアウト").click()
    clerk = kofu.users["counter_clerk"]
    sign_in(page, kofu, "auditor")
    menu(page).get_by_role("link", name="監査ログの出力").click()
    expect(page).to_have_url(kofu.url("/staff/audit"))
    expect(page.get_by_role("heading", level=1)).to_have_text("監査ログ")
    actors = page.locator("td.actor")
    expect(actors.filter(has_text=kofu.users["operator"]).first).to_be_visible()

    page.get_by_label("職員", exact=True).select_option(clerk)
    page.get_by_role("button", name="表示").click()
    expect(page).to_have_url(re.compile(r"/staff/audit\?.*actor=" + re.escape(clerk)))
    expect(page.get_by_label("職員", exact=True)).to_have_value(clerk)
    assert actors.count() > 0
    assert set(actors.all_inner_texts()) == {clerk}, actors.all_inner_texts()
    screenshots(page, "audit-log")

    page.get_by_role("button", name="検証").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("監査ログの検証結果")
    expect(page.get_by_role("status")).to_contain_text("改ざんなし")
    screenshots(page, "audit-verify")


def test_the_administrator_adds_a_user_who_can_then_sign_in(page, kofu, screenshots):
    sign_in(page, kofu, "administrator")
    menu(page).get_by_role("link", name="職員アカウントの管理").click()
    expect(page).to_have_url(kofu.url("/staff/admin/users"))
    new_id = "new.clerk"
    new_password = password(new_id)
    page.get_by_label("ユーザーID", exact=True).fill(new_id)
    page.get_by_label("役割", exact=True).select_option(label="窓口担当")
    page.get_by_label("初期パスワード", exact=True).fill(new_password)
    page.get_by_label("初期パスワード(確認)").fill(new_password)
    page.get_by_role("button", name="登録する").click()
    expect(page).to_have_url(kofu.url(f"/staff/admin/users?done=created&user={new_id}"))
    expect(page.get_by_role("status")).to_contain_text("アカウントを登録しました")
    row = page.locator("tr", has=page.locator("td.user-id", has_text=new_id))
    expect(row).to_contain_text("窓口担当")
    expect(row).to_contain_text("有効")
    screenshots(page, "admin-accounts")
    page.get_by_role("button", name="ログアウト").click()

    page.get_by_label("ユーザーID").fill(new_id)
    page.get_by_label("パスワード").fill(new_password)
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(kofu.url("/staff"))
    expect(page.locator("header")).to_contain_text(new_id)
    expect(page.locator("header")).to_contain_text("窓口担当")
