#!/usr/bin/env python3
"""An independent verifier of Kofu QR seals (KF2 and KF1), written from docs/seal.md alone.

    python3 tools/kofu_verify.py --keyring keyring.json --municipality 131041 --date 2026-11-22 'KF2:...'
    python3 tools/kofu_verify.py --keyring keyring.json --municipality 131041 --date 2026-11-22 --batch < seals

Prints `result: <outcome>` (one outcome a line with --batch). Exit codes as `kofu verify` (docs/seal.md §10).
Also: `content_bytes(content)` builds the kofu-content/1 serialisation (§3) from a vector's `content` JSON.
Needs `cryptography` (PyPI).
"""
import argparse
import base64
import datetime
import hashlib
import json
import sys
import unicodedata

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
VALUES = {c: i for i, c in enumerate(ALPHABET)}
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
HALF_N = N // 2
KF1_RETIRED_FROM = datetime.date(2027, 4, 1)
KEYRING_FORMATS = ("kofu-seal-keyring/1", "kofu-seal-keyring/2")
REVOCATION_REASONS = ("key_compromise", "superseded", "cessation_of_operation", "unspecified")
KINDS = {1: "tax_payment", 2: "income_taxation", 3: "non_taxation", 4: "vehicle_inspection"}
EXIT = {"valid": 0, "malformed": 3, "unknown_key": 4, "key_expired": 5, "key_not_yet_valid": 6,
        "bad_signature": 7, "other_municipality": 8, "implausible": 9, "key_revoked": 10}
JST = datetime.timezone(datetime.timedelta(hours=9))


class Malformed(Exception):
    pass


class KeyringError(Exception):
    pass


# --- §1.1 Base45 -------------------------------------------------------------------------------------

def b45decode(text):
    if len(text) % 3 == 1:
        raise Malformed("base45 length")
    out = bytearray()
    try:
        vals = [VALUES[c] for c in text]
    except KeyError:
        raise Malformed("base45 character")
    for i in range(0, len(vals) - len(vals) % 3, 3):
        n = vals[i] + 45 * vals[i + 1] + 2025 * vals[i + 2]
        if n > 0xFFFF:
            raise Malformed("base45 group")
        out += bytes((n >> 8, n & 0xFF))
    if len(vals) % 3 == 2:
        n = vals[-2] + 45 * vals[-1]
        if n > 0xFF:
            raise Malformed("base45 group")
        out.append(n)
    return bytes(out)


# --- §2 payload ------------------------------------------------------------------------------------------

class Reader:
    def __init__(self, data):
        self.b, self.i = data, 0

    def take(self, n):
        if len(self.b) - self.i < n:
            raise Malformed("truncated")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def uint(self, n):
        return int.from_bytes(self.take(n), "big")

    def date(self):
        y, m, d = self.uint(2), self.uint(1), self.uint(1)
        try:
            return datetime.date(y, m, d)
        except ValueError:
            raise Malformed("date")

    def text(self):
        raw = self.take(self.uint(1))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("utf-8")

    def amount(self):
        z, shift, count = 0, 0, 0
        while True:
            byte = self.uint(1)
            count += 1
            if count > 10 or (count == 10 and byte > 1):
                raise Malformed("amount too large")
            z |= (byte & 0x7F) << shift
            if byte & 0x80 == 0:
                if byte == 0 and count > 1:
                    raise Malformed("amount not shortest")
                break
            shift += 7
        return (z >> 1) ^ -(z & 1)


def parse_payload(data):
    r = Reader(data)
    p = {"format_version": r.uint(1)}
    if p["format_version"] not in (1, 2):
        raise Malformed("version")
    code = r.uint(3)
    if code > 999999:
        raise Malformed("municipality_code")
    p["municipality_code"] = "%06d" % code
    p["key_id"] = r.take(8).hex()
    if p["format_version"] == 2:
        p["signed_at"] = r.uint(4)
        p["page_count"] = r.uint(1)
        if p["page_count"] == 0:
            raise Malformed("page_count")
        p["content_digest"] = r.take(32).hex()
    p["certificate_number"] = r.text()
    kind = r.uint(1)
    if kind not in KINDS:
        raise Malformed("kind")
    p["kind"] = KINDS[kind]
    p["fiscal_year"] = r.uint(2)
    p["issue_date"] = r.date()
    p["name"] = r.text()
    p["birth_date"] = r.date()
    amounts = []
    if kind == 1:
        items = []
        for _ in range(r.uint(1)):
            item = r.uint(1)
            if item not in (1, 2, 3, 4, 5):
                raise Malformed("tax_item")
            a, b, c = r.amount(), r.amount(), r.amount()
            items.append({"tax_item": "%02d" % item, "assessed": a, "paid": b, "unpaid": c})
            amounts += [a, b, c]
        p["tax_items"] = items
    elif kind == 2:
        if p["format_version"] == 2:
            names = ["total_income", "city_income_levy", "city_per_capita", "pref_income_levy", "pref_per_capita"]
        else:
            names = ["total_income", "total_tax"]
        for n in names:
            p[n] = r.amount()
            amounts.append(p[n])
    elif kind == 3:
        flag = r.uint(1)
        if flag > 1:
            raise Malformed("non_taxed")
        p["non_taxed"] = flag == 1
        p["total_income"] = r.amount()
        amounts.append(p["total_income"])
    else:
        p["plate"] = r.text()
        p["paid"] = r.amount()
        p["valid_until"] = r.date()
        amounts.append(p["paid"])
    if r.i != len(data):
        raise Malformed("trailing bytes")
    p["_amounts"] = amounts
    return p


# --- §5.2 keyring ----------------------------------------------------------------------------------------

def parse_iso_date(s):
    if not isinstance(s, str) or len(s) != 10 or s[4] != "-" or s[7] != "-":
        raise ValueError("date")
    return datetime.date(int(s[0:4]), int(s[5:7]), int(s[8:10]))


def municipality_code_valid(code):
    if not isinstance(code, str) or len(code) != 6 or not code.isdigit() or not code.isascii():
        return False
    digits = [int(c) for c in code]
    total = sum(d * w for d, w in zip(digits[:5], (6, 5, 4, 3, 2)))
    check = 11 - total % 11
    if check >= 10:
        check %= 10
    return check == digits[5]


def load_keyring(data):
    """Returns (keys by key_id, ignored [(index, reason)]); raises KeyringError for a refused keyring."""
    try:
        top = json.loads(data)
    except ValueError:
        raise KeyringError("not JSON")
    if not isinstance(top, dict) or top.get("format") not in KEYRING_FORMATS or not isinstance(top.get("keys"), list):
        raise KeyringError("not a keyring")
    keys, ignored, seen = {}, [], set()
    for index, k in enumerate(top["keys"]):
        if isinstance(k, dict) and isinstance(k.get("key_id"), str):
            kid = k["key_id"].lower()
            if kid in seen:
                raise KeyringError("duplicate key_id " + kid)
            seen.add(kid)
        try:
            entry = parse_entry(k)
        except (ValueError, TypeError, KeyError) as e:
            ignored.append((index, str(e)))
            continue
        keys[entry["key_id"]] = entry
    return keys, ignored


def parse_entry(k):
    if not isinstance(k, dict):
        raise ValueError("not an object")
    if not isinstance(k.get("key_id"), str) or not isinstance(k.get("algorithm"), str):
        raise ValueError("key_id/algorithm")
    if k["algorithm"] != "ES256":
        raise ValueError("unknown algorithm")
    if not municipality_code_valid(k.get("municipality_code")):
        raise ValueError("municipality_code")
    der = base64.b64decode(k["public_key"], validate=True)
    key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not P-256")
    canonical = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if canonical != der:
        raise ValueError("not canonical")
    nb, na = parse_iso_date(k["not_before"]), parse_iso_date(k["not_after"])
    if nb > na:
        raise ValueError("not_before > not_after")
    su = k.get("signing_until")
    su = None if su is None else parse_iso_date(su)
    rv = k.get("revoked")
    if rv is not None:
        if not isinstance(rv, dict) or rv.get("reason") not in REVOCATION_REASONS:
            raise ValueError("revoked")
        rv = parse_iso_date(rv["from"])
    key_id = hashlib.sha256(der).digest()[:8].hex()
    if key_id != k["key_id"].lower():
        raise ValueError("key_id mismatch")
    return {"key_id": key_id, "key": key, "municipality_code": k["municipality_code"], "not_before": nb,
            "signing_until": su, "not_after": na, "revoked_from": rv}


# --- §6 verification ---------------------------------------------------------------------------------

def verify(text, keys, municipality, today, now=None):
    """The outcome string of docs/seal.md §6 for `text` on Japan date `today` at Unix time `now`."""
    if now is None:
        now = datetime.datetime(today.year, today.month, today.day, 23, 59, 59, tzinfo=JST).timestamp()
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    try:
        if text.startswith("KF1:"):
            version = 1
        elif text.startswith("KF2:"):
            version = 2
        else:
            raise Malformed("prefix")
        raw = b45decode(text[4:])
        if len(raw) <= 64:
            raise Malformed("short")
        payload, sig = raw[:-64], raw[-64:]
        p = parse_payload(payload)
        if p["format_version"] != version:
            raise Malformed("prefix mismatch")
        if version == 1 and p["issue_date"] >= KF1_RETIRED_FROM:
            raise Malformed("KF1 retired")
    except Malformed:
        return "malformed"
    entry = keys.get(p["key_id"])
    if entry is None:
        return "unknown_key"
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    if version == 2 and s > HALF_N:
        return "bad_signature"
    if not (0 < r < N and 0 < s < N):
        return "bad_signature"
    try:
        entry["key"].verify(encode_dss_signature(r, s), payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "bad_signature"
    if entry["municipality_code"] != p["municipality_code"]:
        return "bad_signature"
    if p["municipality_code"] != municipality:
        return "other_municipality"
    if today < entry["not_before"] or p["issue_date"] < entry["not_before"]:
        return "key_not_yet_valid"
    last_signing = min(entry["signing_until"], entry["not_after"]) if entry["signing_until"] else entry["not_after"]
    if today > entry["not_after"] or p["issue_date"] > last_signing:
        return "key_expired"
    if entry["revoked_from"] is not None:
        signing_day = p["issue_date"]
        if version == 2:
            signing_day = max(signing_day, datetime.datetime.fromtimestamp(p["signed_at"], JST).date())
        if signing_day >= entry["revoked_from"]:
            return "key_revoked"
    if p["certificate_number"] == "":
        return "implausible"
    if all(ch == "\t" or unicodedata.category(ch) == "Zs" for ch in p["name"]):
        return "implausible"
    if p["issue_date"] > today + datetime.timedelta(days=1):
        return "implausible"
    if version == 2 and p["signed_at"] > now + 86400:
        return "implausible"
    if p["birth_date"] > p["issue_date"]:
        return "implausible"
    if any(a < 0 for a in p["_amounts"]):
        return "implausible"
    return "valid"


def decode(text):
    """The decoded payload fields of a seal text (raises Malformed)."""
    raw = b45decode(text[4:])
    if len(raw) <= 64:
        raise Malformed("short")
    return parse_payload(raw[:-64])


# --- §3 content bytes ------------------------------------------------------------------------------------

class Writer:
    def __init__(self):
        self.b = bytearray()

    def u8(self, v):
        self.b.append(v)

    def u16(self, v):
        self.b += v.to_bytes(2, "big")

    def text(self, s):
        raw = s.encode("utf-8")
        self.u16(len(raw))
        self.b += raw

    def date(self, s):
        d = parse_iso_date(s)
        self.u16(d.year)
        self.u8(d.month)
        self.u8(d.day)

    def opt_date(self, s):
        if s is None:
            self.u8(0)
        else:
            self.u8(1)
            self.date(s)

    def amount(self, v):
        z = (v << 1) ^ (v >> 63)
        z &= (1 << 64) - 1
        while z >= 0x80:
            self.u8((z & 0x7F) | 0x80)
            z >>= 7
        self.u8(z)

    def flag(self, v):
        self.u8(1 if v else 0)


KIND_CODES = {v: k for k, v in KINDS.items()}
TAX_ITEM_CODES = {"01": 1, "02": 2, "03": 3, "04": 4, "05": 5}
REASONS = {"public_assistance": 1, "disabled_minor_widow_single_parent": 2, "income_below_per_capita_threshold": 3,
           "income_below_income_levy_threshold": 4, "other": 5}
ASSESSMENT_AMOUNTS = ["salary_income", "salary_net", "pension_income", "pension_net", "business_net", "other_net",
                      "total_income", "deductions_total", "dependents", "taxable_base", "city_income_levy",
                      "city_per_capita", "pref_income_levy", "pref_per_capita"]
DEDUCTIONS = ["casualty_loss", "medical", "social_insurance", "small_business_mutual_aid", "life_insurance",
              "earthquake_insurance", "widow_or_single_parent", "working_student", "disability", "spouse",
              "spouse_special", "dependents", "basic"]
DEPENDENTS = ["spouse", "general", "specified", "elderly", "minor"]
CREDITS = ["adjustment", "dividend", "housing_loan", "donation", "foreign_tax", "dividend_and_stock_transfer"]


def content_bytes(c):
    """kofu-content/1 (docs/seal.md §3.2) of a vector's `content` JSON."""
    w = Writer()
    w.b += b"KFC1"
    w.u16(c["page_count"])
    w.u8(KIND_CODES[c["kind"]])
    w.text(c["certificate_number"])
    w.date(c["issue_date"])
    w.u16(c["fiscal_year"])
    m = c["municipality"]
    for f in ("code", "name", "mayor_title", "mayor_name", "verify_url"):
        w.text(m[f])
    p = c["person"]
    w.text(p["addressee_id"])
    w.text(p["name"])
    w.text(p["name_kana"])
    w.date(p["birth_date"])
    w.u8(p["sex"])
    for f in ("postal_code", "address", "address_extra", "status"):
        w.text(p[f])
    w.date(p["status_date"])
    w.amount(c["fee"])
    if c["issued_at"] == "counter":
        w.u8(2)
    else:
        k = c["issued_at"]["kiosk"]
        w.u8(1)
        w.text(k["store_chain"])
        w.text(k["store_id"])
        w.text(k["terminal_id"])
    w.opt_date(c["data_as_of"])
    body = c["body"]
    if c["kind"] == "tax_payment":
        w.u16(len(body["items"]))
        for item in body["items"]:
            w.u8(TAX_ITEM_CODES[item["tax_item"]])
            w.u16(len(item["installments"]))
            for lv in item["installments"]:
                w.u16(lv["fiscal_year"])
                w.text(lv["addressee_id"])
                w.u8(TAX_ITEM_CODES[lv["tax_item"]])
                w.text(lv["notice_no"])
                w.u8(lv["installment"])
                w.amount(lv["assessed"])
                w.amount(lv["paid"])
                w.date(lv["due_date"])
                w.opt_date(lv["paid_date"])
                w.u8(1 if lv["payment_status"] == "confirmed" else 2)
    elif c["kind"] in ("income_taxation", "non_taxation"):
        a = body["assessment"]
        w.u16(a["fiscal_year"])
        w.text(a["addressee_id"])
        w.u8(1 if a["status"] == "taxed" else 2)
        for f in ASSESSMENT_AMOUNTS:
            w.amount(a[f])
        for group, names in (("deductions", DEDUCTIONS), ("dependents_breakdown", DEPENDENTS), ("tax_credits", CREDITS)):
            if a[group] is None:
                w.u8(0)
            else:
                w.u8(1)
                for f in names:
                    w.amount(a[group][f])
        if a["forest_environment_tax"] is None:
            w.u8(0)
        else:
            w.u8(1)
            w.amount(a["forest_environment_tax"])
        n = a["non_taxation"]
        if n is None:
            w.u8(0)
        else:
            w.u8(1)
            w.flag(n["per_capita_exempt"])
            w.flag(n["income_levy_exempt"])
            w.u8(REASONS[n["reason"]])
    else:
        v = body["vehicle"]
        w.text(v["vehicle_id"])
        w.u16(v["fiscal_year"])
        w.text(v["addressee_id"])
        for f in ("vehicle_class", "plate", "chassis_no"):
            w.text(v[f])
        w.amount(v["assessed"])
        w.amount(v["paid"])
        w.opt_date(v["paid_date"])
        w.u8(1 if v["payment_status"] == "confirmed" else 2)
        w.flag(v["exempt"])
        w.date(body["valid_until"])
    return bytes(w.b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keyring", required=True)
    ap.add_argument("--municipality", required=True)
    ap.add_argument("--date", help="YYYY-MM-DD (default: today in Japan)")
    ap.add_argument("--batch", action="store_true", help="one seal a line on stdin, one outcome a line on stdout")
    ap.add_argument("seal", nargs="?")
    a = ap.parse_args()
    try:
        with open(a.keyring, "rb") as f:
            keys, ignored = load_keyring(f.read())
    except (OSError, KeyringError) as e:
        print("kofu_verify: keyring: %s" % e, file=sys.stderr)
        return 1
    for index, reason in ignored:
        print("kofu_verify: keyring entry ignored: keys[%d]: %s" % (index, reason), file=sys.stderr)
    today = parse_iso_date(a.date) if a.date else datetime.datetime.now(JST).date()
    now = None if a.date else datetime.datetime.now(JST).timestamp()
    if a.batch:
        out = [verify(line.rstrip("\n"), keys, a.municipality, today, now) for line in sys.stdin]
        sys.stdout.write("".join(o + "\n" for o in out))
        return 0
    if a.seal is None:
        ap.error("give a seal text or --batch")
    text = sys.stdin.read() if a.seal == "-" else a.seal
    outcome = verify(text, keys, a.municipality, today, now)
    print("result: " + outcome)
    return EXIT[outcome]


if __name__ == "__main__":
    sys.exit(main())
