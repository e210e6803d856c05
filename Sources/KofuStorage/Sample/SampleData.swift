import KofuDomain

/// Word lists for sample batches: common Japanese surnames and given names with their readings, and
/// places. Fictional combinations only; no real person's data.
enum SampleData {
    /// 漢字:カナ
    static let surnames: [(String, String)] = pairs("""
        佐藤:サトウ 鈴木:スズキ 高橋:タカハシ 田中:タナカ 伊藤:イトウ 渡辺:ワタナベ 山本:ヤマモト 中村:ナカムラ
        小林:コバヤシ 加藤:カトウ 吉田:ヨシダ 山田:ヤマダ 佐々木:ササキ 山口:ヤマグチ 松本:マツモト 井上:イノウエ
        木村:キムラ 林:ハヤシ 斎藤:サイトウ 清水:シミズ 山崎:ヤマザキ 森:モリ 池田:イケダ 橋本:ハシモト
        阿部:アベ 石川:イシカワ 山下:ヤマシタ 中島:ナカジマ 石井:イシイ 小川:オガワ 前田:マエダ 岡田:オカダ
        長谷川:ハセガワ 藤田:フジタ 後藤:ゴトウ 近藤:コンドウ 村上:ムラカミ 遠藤:エンドウ 青木:アオキ 坂本:サカモト
        """)
    static let maleNames: [(String, String)] = pairs("""
        翔太:ショウタ 大輔:ダイスケ 健一:ケンイチ 拓也:タクヤ 誠:マコト 直樹:ナオキ 和也:カズヤ 浩:ヒロシ
        隆:タカシ 蓮:レン 陽翔:ハルト 湊:ミナト 大翔:ヒロト 悠真:ユウマ 健太:ケンタ 修:オサム 茂:シゲル
        明:アキラ 勇気:ユウキ 亮:リョウ
        """)
    static let femaleNames: [(String, String)] = pairs("""
        陽子:ヨウコ 恵子:ケイコ 美咲:ミサキ 彩:アヤ 愛:アイ 真由美:マユミ 裕子:ユウコ 直子:ナオコ
        花子:ハナコ 陽菜:ヒナ 結衣:ユイ 葵:アオイ 凛:リン 芽依:メイ 久美子:クミコ 幸子:サチコ 智子:トモコ
        由美:ユミ 明美:アケミ 千尋:チヒロ
        """)
    static let buildings = ["コーポ", "ハイツ", "メゾン", "パークハウス", "グランドール", "サンシャイン"]
    static let buildingNames = ["青葉", "桜", "若松", "富士見", "緑が丘", "中央", "しらかば", "あけぼの"]

    struct Place {
        /// 都道府県 + 市区町村
        let prefix: String
        let plateRegion: String
        let towns: [(name: String, postal: String)]
    }

    static func place(for code: String) -> Place {
        switch code {
        case "131041":
            Place(prefix: "東京都新宿区", plateRegion: "新宿", towns: [
                ("西新宿", "160-0023"), ("新宿", "160-0022"), ("歌舞伎町", "160-0021"), ("大久保", "169-0072"),
                ("百人町", "169-0073"), ("高田馬場", "169-0075"), ("四谷", "160-0004"), ("神楽坂", "162-0825"),
                ("早稲田町", "162-0042"), ("戸山", "162-0052"), ("北新宿", "169-0074"), ("中落合", "161-0032"),
            ])
        case "151009":
            Place(prefix: "新潟県新潟市中央区", plateRegion: "新潟", towns: [
                ("古町通", "951-8063"), ("東堀通", "951-8066"), ("万代", "950-0088"), ("弁天", "950-0901"),
                ("学校町通", "951-8111"), ("寄居町", "951-8104"),
            ])
        case "141003":
            Place(prefix: "神奈川県横浜市中区", plateRegion: "横浜", towns: [
                ("山下町", "231-0023"), ("元町", "231-0861"), ("本町", "231-0005"), ("石川町", "231-0868"),
                ("山手町", "231-0862"), ("野毛町", "231-0064"),
            ])
        case "072036":
            Place(prefix: "福島県郡山市", plateRegion: "福島", towns: [
                ("大町", "963-8001"), ("駅前", "963-8002"), ("堂前町", "963-8005"), ("桑野", "963-8025"),
            ])
        case "112224":
            Place(prefix: "埼玉県越谷市", plateRegion: "春日部", towns: [
                ("越ヶ谷", "343-0813"), ("南越谷", "343-0845"), ("千間台東", "343-0041"), ("蒲生", "343-0836"),
            ])
        default:
            Place(prefix: "見本県見本市", plateRegion: "見本", towns: [
                ("本町", "100-0001"), ("栄町", "100-0002"), ("旭町", "100-0003"), ("幸町", "100-0004"),
            ])
        }
    }

    /// 車種 with the annual 種別割 amount.
    static let vehicleClasses: [(String, Int)] = [
        ("軽四輪乗用(自家用)", 10_800), ("軽四輪貨物(自家用)", 5_000), ("原付(50cc以下)", 2_000),
        ("二輪(250cc超)", 6_000), ("二輪(125cc超250cc以下)", 3_600),
    ]
    /// A 軽四輪 has 車検 (continuous inspection), for which the 継続検査用 certificate is asked.
    static let lightCarClass = vehicleClasses[0]
    /// A 125–250cc 二輪 has no 車検.
    static let motorcycleClass = vehicleClasses[4]
    static let kanaForPlates = ["あ", "い", "う", "え", "か", "き", "く", "さ", "す", "せ", "た", "ち", "つ", "な", "に", "ぬ", "は", "ひ", "ふ", "ま", "み", "む", "や", "ゆ", "ら", "り", "る", "ろ", "わ"]

    private static func pairs(_ text: String) -> [(String, String)] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { item in
            let parts = item.split(separator: ":")
            return (String(parts[0]), String(parts[1]))
        }
    }
}

/// SplitMix64: a small, fast, seedable generator so that the same seed gives the same batch.
struct SampleRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (slight modulo bias is irrelevant for sample data).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { next() % 1000 < UInt64(percent * 10) }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
}

/// 特別区: the 23 wards of Tokyo, municipality codes 13101–13123 (without the check digit). Tokyo levies the
/// 固定資産税・都市計画税 there (a 都税), so a ward's own data has none.
enum SpecialWard {
    static func contains(_ municipalityCode: String) -> Bool {
        guard let five = Int(municipalityCode.prefix(5)) else { return false }
        return (13101...13123).contains(five)
    }
}

/// Who a taxpayer's 扶養 deductions count (the dep_ columns of linkage format 2).
struct SampleFamily {
    /// 控除対象配偶者 (0 or 1)
    var spouse = 0
    var general = 0
    /// 特定扶養親族 (19–22)
    var specified = 0
    /// 老人扶養親族 (70+)
    var elderly = 0
    /// 年少扶養親族 (under 16)
    var minor = 0

    /// 扶養人数 as assessments.csv states it: everyone above, the spouse included.
    var count: Int { spouse + general + specified + elderly + minor }

    /// One to three people: often a spouse, then children and parents.
    static func random(_ rng: inout SampleRandom) -> SampleFamily {
        var f = SampleFamily()
        let n = rng.int(1...3)
        if rng.chance(60) { f.spouse = 1 }
        for _ in f.spouse..<n {
            switch rng.int(0...9) {
            case 0...4: f.minor += 1
            case 5...6: f.specified += 1
            case 7...8: f.general += 1
            default: f.elderly += 1
            }
        }
        return f
    }
}

/// 納期 of the residents' tax and 国民健康保険 as municipalities set them.
enum SampleSchedule {
    /// 普通徴収: four installments, due at the end of June, August, October and January.
    static func ordinary(_ year: Int) -> [(Int, SampleDate)] {
        [(1, SampleDate(y: year, m: 6, d: 30)), (2, SampleDate(y: year, m: 8, d: 31)),
         (3, SampleDate(y: year, m: 10, d: 31)), (4, SampleDate(y: year + 1, m: 1, d: 31))]
    }

    /// 特別徴収: deducted from the salaries of June to May, each paid in by the employer on the 10th of the next
    /// month (July N to June N+1).
    static func special(_ year: Int) -> [(Int, SampleDate)] {
        (1...12).map { k in
            let month = (6 + k - 1) % 12 + 1
            return (k, SampleDate(y: month >= 7 ? year : year + 1, m: month, d: 10))
        }
    }

    /// 国民健康保険: ten installments, due at the end of each month from June to March.
    static func healthInsurance(_ year: Int) -> [(Int, SampleDate)] {
        (1...10).map { k in
            let month = (5 + k - 1) % 12 + 1
            let y = month >= 4 ? year : year + 1
            return (k, SampleDate(y: y, m: month, d: LocalDate.daysIn(month: month, year: y)))
        }
    }
}
