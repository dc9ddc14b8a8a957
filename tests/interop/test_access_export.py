"""`facevault subject export` opened with the real `age` CLI (Debian's `age` package).

Two subjects go through the CLI (consent, scans imported, analysed, one scan exported to a
vendor); the first one's access export is decrypted by `age -d` (driven through a terminal with
pexpect: age reads passphrases only from a tty), unpacked with tarfile, and checked: every scan,
derivative, consent, disclosure and audit entry of that subject is there, every file matches the
manifest's SHA-256 and size, and nothing of the other subject (id, name, object ids, vendor)
appears anywhere in the archive.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pexpect
import pytest

FACEVAULT = os.environ.get("FACEVAULT_BIN", "target/release/facevault")
KEK = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
PASSPHRASE = "correct horse battery staple export"
NOTICE = "We use your 3D facial scan to plan your surgery and follow your recovery.\n"
# Markup in a name must come out escaped in summary.html.
NAME_A = "Alice <b>Exportwell</b> & Co"
NAME_B = "Bob Otherside"
TYPED_A = "Alice Signer"
TYPED_B = "Bob Signer"

pytestmark = pytest.mark.skipif(shutil.which("age") is None, reason="the age CLI is not installed")


def fv(vault, role, *args, check=True, actor="u-1", env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEVAULT_")}
    env["FACEVAULT_KEK"] = KEK
    env.update(env_extra or {})
    proc = subprocess.run(
        [FACEVAULT, "--vault", str(vault), "--actor", actor, "--role", role, *map(str, args)],
        capture_output=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


def out(proc):
    return proc.stdout.decode()


def consent_toml(typed_name):
    return "\n".join(
        [
            'jurisdiction = "IL"',
            "collect = true",
            "share = true",
            "[notice]",
            'version = "il-2026-01"',
            'file = "notice.txt"',
            'covers = ["purposes", "retention", "withdrawal"]',
            "[signature]",
            'method = "electronic"',
            f'typed_name = "{typed_name}"',
            "[[purpose]]",
            'id = "treatment-planning"',
            'retention = "3y"',
            "[[purpose]]",
            'id = "post-op-tracking"',
            'retention = "3y"',
        ]
    ) + "\n"


VENDOR = """
[[vendor]]
id = "{id}"
name = "{name}"
role = "service-provider"
purposes = ["treatment-planning"]
categories = ["face-scan"]
region = "US"
contact = "privacy@{id}.example"
terms = [
  "no-sell-or-share", "specified-purposes", "no-use-outside-purposes", "no-use-outside-relationship",
  "no-combining", "comply-with-ccpa", "compliance-rights", "notify-if-unable", "stop-and-remediate",
  "consumer-requests", "subcontractor-terms",
]
"""


def make_subject(d, vault, name, typed_name, recipient):
    """A subject with a consent, two scans, a symmetry and a comparison, one scan exported."""
    sid = out(fv(vault, "front_desk", "subject", "add", "--name", name)).strip()
    toml = d / f"consent-{sid}.toml"
    toml.write_text(consent_toml(typed_name))
    consent = out(fv(vault, "front_desk", "consent", "add", sid, toml)).strip()
    scans = []
    for f in ("pre-op.ply", "post-op-dorsum-2mm.ply"):
        scans.append(
            out(fv(vault, "surgeon", "scan", "import", sid, d / "demo" / f, "--purpose", "treatment-planning")).strip()
        )
    derivatives = []
    for args in (("symmetry", scans[0]), ("compare", scans[0], scans[1])):
        for line in out(fv(vault, "surgeon", "scan", "analyze", *args)).splitlines():
            kind, did = line.split()
            assert kind in ("measurements", "mesh")
            derivatives.append(did)
    exported = d / f"exported-{sid}.ply"
    fv(
        vault, "surgeon", "scan", "export", scans[0], exported,
        "--purpose", "treatment-planning", "--recipient", recipient,
    )
    return {
        "id": sid,
        "name": name,
        "typed_name": typed_name,
        "consent": consent,
        "scans": scans,
        "derivatives": derivatives,
        "recipient": recipient,
        "exported": exported.read_bytes(),
    }


def audit_of(vault, s):
    """The audit entries about subject `s`, as `audit list --json` shows them."""
    entries = json.loads(out(fv(vault, "privacy_officer", "audit", "list", "--json", "--limit", "100000")))
    objects = {f"subject:{s['id']}"} | {f"scan:{x}" for x in s["scans"]} | {
        f"derivative:{x}" for x in s["derivatives"]
    }
    return [e for e in entries if e["object"] in objects or f"subject:{s['id']}" in e["reason"]]


def age_decrypt(src, dst, passphrase):
    child = pexpect.spawn("age", ["-d", "-o", str(dst), str(src)], timeout=120)
    child.expect("(?i)passphrase")
    child.sendline(passphrase)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before.decode(errors="replace")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    d = tmp_path_factory.mktemp("access-export")
    vault = d / "vault"
    subprocess.run([FACEVAULT, "demo", "--dir", str(d / "demo"), "--vertices", "6000", "--no-serve"], check=True, capture_output=True, timeout=600)
    (d / "notice.txt").write_text(NOTICE)
    fv(vault, "admin", "init")
    # A scan leaves the clinic only to a registered recipient: two labs under contract.
    vendors = d / "vendors.toml"
    vendors.write_text("".join(VENDOR.format(id=i, name=n) for i, n in (("lab-alpha", "Lab Alpha"), ("vendor-beta", "Vendor Beta"))))
    fv(vault, "privacy_officer", "vendor", "add", vendors)
    a = make_subject(d, vault, NAME_A, TYPED_A, "lab-alpha")
    b = make_subject(d, vault, NAME_B, TYPED_B, "vendor-beta")
    expected_audit = audit_of(vault, a)
    package = d / "export.tar.age"
    proc = fv(
        vault, "privacy_officer", "subject", "export", a["id"], package,
        env_extra={"FACEVAULT_EXPORT_PASSPHRASE": PASSPHRASE},
    )
    assert "passphrase:" not in proc.stderr.decode(), "a given passphrase is not printed"
    tar_path = d / "export.tar"
    status, output = age_decrypt(package, tar_path, PASSPHRASE)
    assert status == 0, output
    with tarfile.open(tar_path) as t:
        files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
        names = [m.name for m in t.getmembers()]
    return {"dir": d, "vault": vault, "a": a, "b": b, "audit": expected_audit,
            "package": package, "files": files, "names": names}


def test_the_package_is_age_encrypted_and_private(clinic):
    data = clinic["package"].read_bytes()
    assert data.startswith(b"age-encryption.org/v1\n-> scrypt ")
    assert clinic["a"]["name"].encode() not in data
    assert os.stat(clinic["package"]).st_mode & 0o777 == 0o600
    status, output = age_decrypt(clinic["package"], clinic["dir"] / "wrong.tar", "not the passphrase")
    assert status != 0, output


def test_manifest_lists_every_file_with_its_sha256(clinic):
    files, names = clinic["files"], clinic["names"]
    assert names[0] == "manifest.json"
    assert len(names) == len(set(names))
    m = json.loads(files["manifest.json"])
    assert (m["format"], m["version"], m["subject"]) == ("facevault-access-export", 1, clinic["a"]["id"])
    listed = {f["path"]: f for f in m["files"]}
    assert set(listed) | {"manifest.json"} == set(files)
    for path, f in listed.items():
        assert f["size"] == len(files[path]), path
        assert f["sha256"] == hashlib.sha256(files[path]).hexdigest(), path
    for category, paths in m["categories"].items():
        assert all(listed[p]["category"] == category for p in paths)


def test_every_object_of_the_subject_is_there(clinic):
    a, files = clinic["a"], clinic["files"]
    m = json.loads(files["manifest.json"])
    details = json.loads(files["details.json"])
    assert (details["subject"], details["name"]) == (a["id"], a["name"])

    # Scans: each one's PLY, byte for byte what `scan export` gave out.
    assert sorted(p for p in files if p.startswith("scans/")) == sorted(f"scans/{s}.ply" for s in a["scans"])
    assert files[f"scans/{a['scans'][0]}.ply"] == a["exported"]
    scans = json.loads(files["scans.json"])
    assert [s["id"] for s in scans] == a["scans"]

    # Derivatives: every one, flagged as automated processing and explained.
    derivatives = {d["id"]: d for d in json.loads(files["derivatives.json"])}
    assert set(derivatives) == set(a["derivatives"])
    for did, d in derivatives.items():
        assert d["file"] in files and d["file"].startswith(f"derivatives/{did}.")
        assert d["automated_processing"] is True
        assert d["producer"] in d["explanation"] and "facevault-analysis" in d["producer"]
        assert d["parents"] and all(p.split(":")[1] in a["scans"] for p in d["parents"])
        if d["kind"] == "measurements":
            json.loads(files[d["file"]])
        else:
            assert d["kind"] == "mesh" and files[d["file"]].startswith(b"ply\n")
    assert m["counts"]["automated_processing"] == len(a["derivatives"])

    # Consents with the notice text signed.
    consents = [json.loads(files[p]) for p in files if p.startswith("consents/")]
    assert [c["id"] for c in consents] == [a["consent"]]
    c = consents[0]
    assert (c["jurisdiction"], c["status"], c["signature"]["typed_name"]) == ("IL", "active", a["typed_name"])
    assert {p["id"] for p in c["purposes"]} == {"treatment-planning", "post-op-tracking"}
    assert files[c["notice"]["file"]].decode() == NOTICE
    assert c["notice"]["sha256"] == hashlib.sha256(NOTICE.encode()).hexdigest()

    # Disclosures and the third parties.
    disclosures = json.loads(files["disclosures.json"])
    assert [(x["object"], x["recipient"]) for x in disclosures["disclosures"]] == [
        (f"scan:{a['scans'][0]}", "lab-alpha")
    ]
    assert disclosures["third_parties"] == ["lab-alpha"]

    # Retention: the subject's planned destruction, after any of its objects due earlier.
    retention = json.loads(files["retention.json"])
    targets = [x["target"] for x in retention["destructions"]]
    assert targets[-1] == f"subject:{a['id']}"
    assert set(targets) <= {f"subject:{a['id']}"} | {f"scan:{s}" for s in a["scans"]} | {
        f"derivative:{x}" for x in a["derivatives"]
    }
    assert retention["destructions"][-1]["due"] > retention["as_of"]

    # Audit entries: exactly those about the subject, as `audit list` shows them.
    audit = json.loads(files["audit.json"])
    assert [e["index"] for e in audit] == [e["index"] for e in clinic["audit"]]
    assert [(e["action"], e["object"], e["decision"]) for e in audit] == [
        (e["action"], e["object"], e["decision"]) for e in clinic["audit"]
    ]
    actions = {e["action"] for e in audit}
    assert {"consent.add", "scan.import", "scan.analyze", "scan.disclose"} <= actions, actions


def test_summary_is_escaped_and_flags_automated_processing(clinic):
    html = clinic["files"]["summary.html"].decode()
    assert "Alice &lt;b&gt;Exportwell&lt;/b&gt; &amp; Co" in html
    assert "<b>Exportwell" not in html
    assert html.count("<strong>Automated processing</strong>") == len(clinic["a"]["derivatives"])
    assert NOTICE.strip() in html and "lab-alpha" in html


def test_nothing_of_the_other_subject(clinic):
    b = clinic["b"]
    needles = [b["id"], b["name"], b["typed_name"], b["consent"], b["recipient"], *b["scans"], *b["derivatives"]]
    for path, data in clinic["files"].items():
        for n in needles:
            assert n.encode() not in data, f"{path} holds {n!r} of the other subject"
        assert all(n not in path for n in needles)


def test_a_patient_exports_only_their_own_record(clinic):
    vault, a, b, d = clinic["vault"], clinic["a"], clinic["b"], clinic["dir"]
    env = {"FACEVAULT_EXPORT_PASSPHRASE": PASSPHRASE}
    fv(vault, "patient", "subject", "export", a["id"], d / "own.age", actor=a["id"], env_extra=env)
    refused = fv(vault, "patient", "subject", "export", b["id"], d / "other.age", actor=a["id"], env_extra=env, check=False)
    assert refused.returncode == 8, refused.stderr.decode()
    assert not (d / "other.age").exists()
    # Without a given passphrase one is generated and shown once, on stderr only.
    proc = fv(vault, "privacy_officer", "subject", "export", a["id"], d / "generated.age")
    line = [x for x in proc.stderr.decode().splitlines() if x.startswith("passphrase: ")]
    assert len(line) == 1 and not proc.stdout
    generated = line[0].split(": ", 1)[1]
    assert len(generated.split("-")) == 6
    status, output = age_decrypt(d / "generated.age", d / "generated.tar", generated)
    assert status == 0, output
    with tarfile.open(d / "generated.tar") as t:
        assert json.loads(t.extractfile("manifest.json").read())["subject"] == a["id"]
    # The exports are in the audit log, each as an export decision on the subject.
    entries = json.loads(out(fv(vault, "privacy_officer", "audit", "list", "--json", "--limit", "100000")))
    exports = [(e["object"], e["decision"]) for e in entries if e["action"] == "subject.export"]
    assert (f"subject:{b['id']}", "denied") in exports
    assert exports.count((f"subject:{a['id']}", "allowed")) == 3
