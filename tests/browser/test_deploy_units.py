"""The systemd units of deploy/systemd (docs/deployment.md): every unit parses, has the sections and keys a
municipality's IT staff rely on, and carries the hardening the deployment promises. `systemd-analyze verify`
checks them too where it exists (Debian's systemd package); any warning it prints (an unknown or misspelt
key, a bad calendar spec) fails the test. No browser and no server are needed here.
"""
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
SERVICES = ["kofu", "kofu-import", "kofu-rollover", "kofu-audit-purge", "kofu-backup"]
TIMERS = ["kofu-import", "kofu-rollover", "kofu-audit-purge", "kofu-backup"]

# Every service: these keys with exactly these values.
HARDENING = {
    "User": "kofu",
    "Group": "kofu",
    "UMask": "0077",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter": "@system-service",
    "EnvironmentFile": "/etc/kofu/kofu.env",
}


def parse(path):
    """A unit file as {section: {key: [values]}} (systemd allows a key more than once)."""
    units = {}
    section = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = units.setdefault(line[1:-1], {})
            continue
        assert section is not None, f"{path.name}:{number}: a key before any section"
        assert "=" in line, f"{path.name}:{number}: not key=value: {line}"
        key, value = line.split("=", 1)
        section.setdefault(key.strip(), []).append(value.strip())
    return units


def one(unit, section, key):
    values = unit.get(section, {}).get(key)
    assert values, f"[{section}] {key} missing"
    return values[-1]


@pytest.mark.parametrize("name", SERVICES)
def test_service_sections_and_hardening(name):
    unit = parse(UNITS / f"{name}.service")
    assert set(unit) >= {"Unit", "Service"}
    assert one(unit, "Unit", "Description")
    service = unit["Service"]
    for key, value in HARDENING.items():
        assert one(unit, "Service", key) == value, f"{name}.service: {key}"
    # Writable: the state (data) directory and the audit anchors' directory, and for the backup its target.
    writable = " ".join(service.get("ReadWritePaths", [])).split()
    allowed = {"/var/lib/kofu", "/var/log/kofu"} | ({"/var/backups/kofu"} if name == "kofu-backup" else set())
    assert set(writable) == allowed, f"{name}.service: ReadWritePaths {writable}"
    assert int(one(unit, "Service", "LimitNOFILE")) >= 4096
    assert all(v.startswith("/usr/local/bin/kofu ") for v in service["ExecStart"]), name


def test_server_unit():
    unit = parse(UNITS / "kofu.service")
    assert one(unit, "Service", "ExecStart") == "/usr/local/bin/kofu serve"
    assert one(unit, "Service", "ExecReload") == "/bin/kill -HUP $MAINPID"
    # Long enough for requests in progress (20 s) and the spool wipe of a graceful stop.
    assert int(one(unit, "Service", "TimeoutStopSec")) >= 60
    # serve exits (status 3) when the database is unavailable at start; systemd must start it again.
    assert one(unit, "Service", "Restart") in ("on-failure", "always")
    assert int(one(unit, "Service", "RestartSec").rstrip("s")) <= 10
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_jobs():
    commands = {name: parse(UNITS / f"{name}.service")["Service"]["ExecStart"] for name in SERVICES[1:]}
    assert commands["kofu-import"] == ["/usr/local/bin/kofu import"]
    assert commands["kofu-rollover"] == ["/usr/local/bin/kofu rollover"]
    assert commands["kofu-audit-purge"] == ["/usr/local/bin/kofu audit purge"]
    assert commands["kofu-backup"] == ["/usr/local/bin/kofu backup --out /var/backups/kofu",
                                       "/usr/local/bin/kofu backup --out /var/backups/kofu --prune"]
    for name in SERVICES[1:]:
        assert one(parse(UNITS / f"{name}.service"), "Service", "Type") == "oneshot"
    # After the rollover erased a year, the backups holding it are pruned at once (and a fresh one made).
    assert one(parse(UNITS / "kofu-rollover.service"), "Unit", "OnSuccess") == "kofu-backup.service"


@pytest.mark.parametrize("name", TIMERS)
def test_timers(name):
    unit = parse(UNITS / f"{name}.timer")
    assert one(unit, "Timer", "OnCalendar").endswith("Asia/Tokyo")
    assert one(unit, "Timer", "Persistent") == "yes"
    assert one(unit, "Install", "WantedBy") == "timers.target"
    assert (UNITS / f"{name}.service").exists()


def test_rollover_is_yearly_after_the_fiscal_year_change():
    # The fiscal year starts on April 1; the rollover runs once a year after it.
    month = one(parse(UNITS / "kofu-rollover.timer"), "Timer", "OnCalendar").split()[0].split("-")[1]
    assert 4 <= int(month) <= 12


def test_parser_catches_a_missing_option(tmp_path):
    broken = tmp_path / "kofu.service"
    broken.write_text((UNITS / "kofu.service").read_text().replace("PrivateTmp=yes\n", ""))
    with pytest.raises(AssertionError):
        one(parse(broken), "Service", "PrivateTmp")


def verify(directory):
    """Runs systemd-analyze verify on every unit in `directory`; returns its exit status and output."""
    files = sorted(str(p) for p in directory.iterdir() if p.suffix in (".service", ".timer"))
    result = subprocess.run(["systemd-analyze", "verify", *files], capture_output=True, text=True,
                            env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    return result.returncode, (result.stdout + result.stderr).strip()


def stub_copy(tmp_path):
    """The units with /usr/local/bin/kofu replaced by an empty executable (verify checks that it exists)."""
    stub = tmp_path / "kofu"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    out = tmp_path / "units"
    out.mkdir()
    for path in UNITS.iterdir():
        if path.suffix in (".service", ".timer"):
            (out / path.name).write_text(path.read_text(encoding="utf-8").replace("/usr/local/bin/kofu", str(stub)))
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify(tmp_path):
    units = stub_copy(tmp_path)
    status, output = verify(units)
    if status != 0 and "Failed to" in output and "kofu" not in output:
        pytest.skip(f"systemd-analyze cannot run here: {output}")
    assert (status, output) == (0, "")
    # And it does catch a misspelt key.
    (units / "kofu.service").write_text((units / "kofu.service").read_text().replace("PrivateTmp=", "PrivateTmpp="))
    status, output = verify(units)
    assert "PrivateTmpp" in output
