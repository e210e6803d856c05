"""The independent Python verifier (tools/kofu_verify.py, written from docs/seal.md) against the committed
vectors, against live seals made by `kofu`, and against `kofu verify --batch` on 1,000 random mutations."""
import datetime
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import kofu_verify  # noqa: E402

FIXTURES = ROOT / "Tests" / "Fixtures" / "seal"
VECTOR_FILES = ["vectors.json", "vectors-kf2.json"]


def kofu_binary():
    for candidate in (os.environ.get("KOFU_BIN"), ROOT / ".build" / "debug" / "kofu", ROOT / ".build-wt" / "debug" / "kofu"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


KOFU = kofu_binary()
needs_kofu = pytest.mark.skipif(KOFU is None, reason="kofu not built (swift build)")


def load(name):
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    keys, ignored = kofu_verify.load_keyring((FIXTURES / data["keyring_file"]).read_bytes())
    return data, keys, ignored


def kofu_batch(keyring, municipality, date, seals):
    """`kofu verify --batch`: one outcome a line."""
    out = subprocess.run([KOFU, "verify", "--batch", "--keyring", str(keyring), "--municipality", municipality, "--date", date],
                         input="".join(s + "\n" for s in seals), capture_output=True, text=True, cwd=ROOT, timeout=300,
                         check=True)
    return out.stdout.splitlines()


@pytest.mark.parametrize("name", VECTOR_FILES)
def test_every_vector_gives_its_expected_outcome(name):
    data, keys, _ = load(name)
    today = kofu_verify.parse_iso_date(data["verify_date"])
    for v in data["vectors"]:
        assert kofu_verify.verify(v["seal"], keys, data["municipality_code"], today) == v["expected"], v["name"]


@pytest.mark.parametrize("name", VECTOR_FILES)
def test_decoded_fields_match_the_vectors(name):
    data, _, _ = load(name)
    for v in data["vectors"]:
        if v.get("fields") is None:
            continue
        text = v["seal"].rstrip("\r\n")
        raw = kofu_verify.b45decode(text[4:])
        assert raw[:-64].hex() == v["payload_hex"] and raw[-64:].hex() == v["signature_hex"], v["name"]
        p = kofu_verify.parse_payload(raw[:-64])
        for field, expected in v["fields"].items():
            got = p[field]
            if isinstance(got, datetime.date):
                got = got.isoformat()
            assert got == expected, (v["name"], field)


def test_the_content_serialisation_is_rebuilt_from_the_spec():
    data, _, _ = load("vectors-kf2.json")
    checked = 0
    for v in data["vectors"]:
        if v.get("content") is None:
            continue
        built = kofu_verify.content_bytes(v["content"])
        assert built.hex() == v["content_hex"], v["name"]
        if v["expected"] == "valid" or v["name"].startswith("kf2_tampered_income"):
            digest = v["fields"]["content_digest"]
            assert hashlib.sha256(built).hexdigest() == digest, v["name"]
        checked += 1
    assert checked >= 6


def test_the_keyring_rules_ignore_unknown_and_malformed_entries_and_refuse_duplicates():
    _, keys, ignored = load("vectors-kf2.json")
    assert len(keys) == 2 and len(ignored) == 2
    doc = json.loads((FIXTURES / "keyring-kf2.json").read_text())
    doc["keys"].append(dict(doc["keys"][0]))
    with pytest.raises(kofu_verify.KeyringError):
        kofu_verify.load_keyring(json.dumps(doc).encode())


@needs_kofu
def test_live_seals_from_kofu_verify_in_both():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([KOFU, "bench", "seal", "--emit", d], check=True, cwd=ROOT, timeout=120)
        keys, _ = kofu_verify.load_keyring((Path(d) / "keyring.json").read_bytes())
        seals = (Path(d) / "seals.txt").read_text().splitlines()
        assert len(seals) == 8 and all(s.startswith("KF2:") for s in seals)
        today = datetime.datetime.now(kofu_verify.JST).date().isoformat()
        python = [kofu_verify.verify(s, keys, "131041", kofu_verify.parse_iso_date(today)) for s in seals]
        assert python == ["valid"] * len(seals)
        assert kofu_batch(Path(d) / "keyring.json", "131041", today, seals) == python


def mutate(seal, rng):
    """One random change that keeps the seal on one line."""
    try:
        return mutate_once(seal, rng)
    except (kofu_verify.Malformed, ValueError):  # a body that is not Base45 cannot be decoded and re-encoded
        i = rng.randrange(len(seal))
        return seal[:i] + rng.choice(kofu_verify.ALPHABET) + seal[i + 1:]


def mutate_once(seal, rng):
    alphabet = kofu_verify.ALPHABET + "abcxyz#_~é"
    i = rng.randrange(len(seal))
    choice = rng.randrange(8)
    if choice == 0:
        return seal[:i] + rng.choice(alphabet) + seal[i + 1:]
    if choice == 1:
        return seal[:i] + seal[i + 1:]
    if choice == 2:
        return seal[:i] + rng.choice(kofu_verify.ALPHABET) + seal[i:]
    if choice == 3:
        return seal[:rng.randrange(4, len(seal))]
    if choice == 4:  # a byte of the decoded body flipped, re-encoded (reaches the signature and field checks)
        raw = bytearray(kofu_verify.b45decode(seal[4:]))
        j = rng.randrange(len(raw))
        raw[j] ^= 1 << rng.randrange(8)
        return seal[:4] + b45encode(bytes(raw))
    if choice == 5:
        return rng.choice(["KF1:", "KF2:", "KF3:", "kf2:"]) + seal[4:]
    if choice == 6:  # the high-S twin
        raw = bytearray(kofu_verify.b45decode(seal[4:]))
        s = int.from_bytes(raw[-32:], "big")
        raw[-32:] = (kofu_verify.N - s).to_bytes(32, "big")
        return seal[:4] + b45encode(bytes(raw))
    return seal + rng.choice([" ", "0", "\n"])  # a trailing line end is removed, anything else is kept


def b45encode(data):
    out = []
    for i in range(0, len(data) - len(data) % 2, 2):
        n = data[i] * 256 + data[i + 1]
        out += [kofu_verify.ALPHABET[n % 45], kofu_verify.ALPHABET[n // 45 % 45], kofu_verify.ALPHABET[n // 2025]]
    if len(data) % 2:
        out += [kofu_verify.ALPHABET[data[-1] % 45], kofu_verify.ALPHABET[data[-1] // 45]]
    return "".join(out)


@needs_kofu
def test_python_and_kofu_agree_on_1000_random_mutations():
    rng = random.Random(15)
    data, keys, _ = load("vectors-kf2.json")
    kf1, kf1_keys, _ = load("vectors.json")
    sources = [(v["seal"].rstrip("\r\n"), "vectors-kf2.json") for v in data["vectors"] if v["seal"].startswith("KF")]
    sources += [(v["seal"], "vectors.json") for v in kf1["vectors"] if v["seal"].startswith("KF1:") and len(v["seal"]) > 8]
    by_file = {"vectors-kf2.json": [], "vectors.json": []}
    for n in range(1000):
        seal, file = sources[n % len(sources)]
        m = mutate(seal, rng)
        if m.endswith("\n"):  # batch input is one seal a line: a trailing line end is the line's own
            m = m[:-1]
        by_file[file].append(m)
    today = kofu_verify.parse_iso_date(data["verify_date"])
    total, outcomes = 0, set()
    for file, seals in by_file.items():
        d, k, _ = load(file)
        python = [kofu_verify.verify(s, k, d["municipality_code"], today) for s in seals]
        swift = kofu_batch(FIXTURES / d["keyring_file"], d["municipality_code"], d["verify_date"], seals)
        assert len(swift) == len(seals)
        for seal, p, s in zip(seals, python, swift):
            assert p == s, (file, seal)
        total += len(seals)
        outcomes |= set(python)
    assert total == 1000
    # The mutations reach the deep checks, not only the parser.
    assert {"malformed", "bad_signature", "valid"} <= outcomes
