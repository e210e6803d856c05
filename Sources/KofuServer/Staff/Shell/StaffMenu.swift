import KofuStorage

/// The staff menu: every feature, the permission it needs and where its page is. A role's menu is the
/// features its permissions allow and nothing else, so a page only has to be added here to appear for
/// exactly the roles that may use it.
public enum StaffMenu {
    /// A group of features on the home page.
    public enum Area: String, CaseIterable, Sendable {
        case counter, history, operations, audit, administration

        public var title: String {
            switch self {
            case .counter: "窓口業務"
            case .history: "交付履歴"
            case .operations: "運用"
            case .audit: "監査"
            case .administration: "管理"
            }
        }
    }

    /// One feature as the menu offers it.
    public struct Item: Sendable {
        public var permission: Permission
        public var area: Area
        public var label: String
        public var summary: String
        /// The page, or nil while it is not built yet (shown as 準備中, without a link).
        public var href: String?
    }

    /// Every feature, in menu order; one per permission.
    public static let items: [Item] = [
        Item(permission: .counterLookup, area: .counter, label: "窓口照会",
             summary: "来庁者の課税・納税データを照会します。", href: "/staff/counter"),
        Item(permission: .counterIssue, area: .counter, label: "窓口交付・再印刷",
             summary: "照会した住民の画面から証明書を窓口で交付します。窓口収納(その日の手数料の一覧)は窓口照会の画面から。", href: "/staff/counter"),
        Item(permission: .approveRestrictedIssuance, area: .counter, label: "制限付き交付の承認",
             summary: "二人目の職員として、制限付きの交付を承認します。", href: "/staff/counter/approvals"),
        Item(permission: .viewIssuanceHistory, area: .history, label: "交付履歴照会",
             summary: "交付の記録(日時・種類・証明書番号・状態)を宛名番号または証明書番号で照会します。窓口担当はここから再交付します。", href: "/staff/history"),
        Item(permission: .operatorDashboard, area: .operations, label: "運用状況",
             summary: "キオスクの受付状況、待ち行列、件数と推移、端末別の失敗率、データと鍵の状態、日次精算(CSV)を表示します。", href: "/staff/operator"),
        Item(permission: .operatorPauseResume, area: .operations, label: "キオスク受付の停止・再開",
             summary: "キオスクでの受付を一時停止し、または再開します(運用状況の画面から)。", href: "/staff/operator"),
        Item(permission: .auditExport, area: .audit, label: "監査ログの出力",
             summary: "監査ログを条件で絞り込んで表示し、CSV・JSON Lines でダウンロードします。", href: "/staff/audit"),
        Item(permission: .auditVerify, area: .audit, label: "監査ログの検証",
             summary: "監査ログの改ざんの有無と最新のアンカーを確認します(監査ログの画面の「検証」から)。", href: "/staff/audit"),
        Item(permission: .userAdministration, area: .administration, label: "職員アカウントの管理",
             summary: "職員の登録、役割の変更、無効化・有効化、パスワードの再設定、アカウントの見直しを行います。", href: "/staff/admin/users"),
        Item(permission: .configurationChange, area: .administration, label: "設定の変更",
             summary: "受付時間などの設定を変更します。", href: nil),
        Item(permission: .keyOperations, area: .administration, label: "公印鍵の操作",
             summary: "証明書の公印(電子署名)鍵の状態を確認し、鍵を更新します。", href: "/staff/admin/keys"),
    ]

    /// The features `role` may use, grouped by area (areas without one left out).
    public static func areas(for role: StaffRole) -> [(area: Area, items: [Item])] {
        Area.allCases.compactMap { area in
            let items = Self.items.filter { $0.area == area && role.allows($0.permission) }
            return items.isEmpty ? nil : (area, items)
        }
    }

    /// A link in the header's menu.
    struct Link {
        var label: String
        var href: String
        /// Whether it is the page being shown (`aria-current`).
        var current: Bool
    }

    /// The header's menu for `role`: home, then each page the role may open (once each).
    static func navigation(for role: StaffRole, current path: String) -> [Link] {
        var links = [Link(label: "ホーム", href: StaffLoginPage.homePath, current: path == StaffLoginPage.homePath)]
        for area in areas(for: role) {
            for item in area.items {
                guard let href = item.href, !links.contains(where: { $0.href == href }) else { continue }
                links.append(Link(label: item.label, href: href, current: path == href))
            }
        }
        return links
    }
}
