"""`facevault consent fhir` against an independent FHIR model: the `fhir.resources` package.

Consents are recorded on a real vault through the CLI (Illinois without sharing, California
with sharing and an expiry, the EU, and one withdrawn), exported, and parsed by
fhir.resources' pydantic models, which refuse unknown elements, missing required elements,
wrong cardinalities and malformed primitives. They do not check codes against value sets, so
the required bindings (status, provision.type) are checked here.

Which FHIR release: fhir.resources 7+ models R5 by default and R4B (4.3.0) in
`fhir.resources.R4B`; releases modelling R4 (4.0.1) itself need pydantic 1, which the venv's
other packages (dash) cannot share. R4B's Consent is R4's unchanged, so FaceVault's R4 resource
is checked against the R4B model.
"""
import base64
import hashlib
import json
import os
import subprocess

import pytest
from fhir.resources.R4B.consent import Consent
from pydantic import ValidationError

FACEVAULT = os.environ.get("FACEVAULT_BIN", "target/release/facevault")
KEK = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
TYPED_NAME = "Zed Q. Signer"
NOTICE = "We use your 3D facial scan to plan your surgery and follow your recovery.\n"
PURPOSE_SYSTEM = "https://facevault.example/fhir/CodeSystem/purpose"
# Required bindings: consent-state-codes, consent-provision-type, consent action (example).
STATUS_CODES = {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"}
PROVISION_TYPES = {"deny", "permit"}


def fv(vault, role, *args, check=True, actor="u-1"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEVAULT_")}
    env["FACEVAULT_KEK"] = KEK
    proc = subprocess.run(
        [FACEVAULT, "--vault", str(vault), "--actor", actor, "--role", role, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def consent_toml(jurisdiction, share, purposes, expires=None):
    lines = [
        f'jurisdiction = "{jurisdiction}"',
        "collect = true",
        f"share = {'true' if share else 'false'}",
        "limit_use = true",
    ]
    if expires:
        lines.append(f'expires = "{expires}"')
    lines += [
        "[notice]",
        'version = "v-2026-01"',
        'file = "notice.txt"',
        'covers = ["purposes", "retention", "withdrawal", "limit-use"]',
        "[signature]",
        'method = "electronic"',
        f'typed_name = "{TYPED_NAME}"',
    ]
    for pid, retention in purposes:
        lines += ["[[purpose]]", f'id = "{pid}"', f'retention = "{retention}"']
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    d = tmp_path_factory.mktemp("fhir")
    v = d / "vault"
    fv(v, "admin", "init")
    (d / "notice.txt").write_text(NOTICE)
    return d, v


def record(vault, name, jurisdiction, share, purposes, expires=None, withdraw=False):
    d, v = vault
    subject = fv(v, "front_desk", "subject", "add", "--name", TYPED_NAME).stdout.strip()
    f = d / f"{name}.toml"
    f.write_text(consent_toml(jurisdiction, share, purposes, expires))
    consent_id = fv(v, "front_desk", "consent", "add", subject, f).stdout.strip()
    # A consent the front desk types for purposes beyond care (research, sharing) waits for the
    # privacy officer's approval against the signed form; one for care alone is in force already
    # (its approval is refused as not pending).
    fv(v, "privacy_officer", "consent", "approve", subject, consent_id, "--form-sha256", "a" * 64, check=False)
    if withdraw:
        # A patient withdraws their own consent: the actor is the subject's id.
        fv(v, "patient", "consent", "withdraw", subject, actor=subject)
    out = fv(v, "front_desk", "consent", "fhir", subject).stdout
    assert TYPED_NAME not in out and "Signer" not in out, "the typed signature name leaked"
    raw = json.loads(out)
    c = Consent.model_validate(raw)
    assert c.status in STATUS_CODES
    assert c.provision.type in PROVISION_TYPES
    assert all(p.type in PROVISION_TYPES for p in c.provision.provision or [])
    return subject, consent_id, raw, c


def nested(c):
    return [(p.type, [a.coding[0].code for a in p.action or []]) for p in c.provision.provision or []]


def purposes(p):
    return [x.code for x in p.purpose or [] if x.system == PURPOSE_SYSTEM]


def ext(resource, name):
    hits = [e for e in resource.extension or [] if e.url.endswith("/" + name)]
    return hits[0] if hits else None


def test_illinois_consent_without_share_is_valid_active_and_denies_disclosure(vault):
    subject, cid, raw, c = record(
        vault, "il", "IL", False, [("treatment-planning", "3y"), ("post-op-tracking", "18m")]
    )
    assert c.status == "active"
    assert c.id == cid
    assert c.identifier[0].value == cid
    assert c.patient.reference == f"Patient/{subject}"
    assert [p.reference for p in c.performer] == [f"Patient/{subject}"]
    assert c.scope.coding[0].code == "patient-privacy"
    assert c.category[0].coding[0].system == "http://loinc.org"
    assert c.category[0].coding[0].code == "59284-0"
    assert c.policyRule.coding[0].code == "OPTIN"
    assert c.provision.type == "permit"
    assert [a.coding[0].code for a in c.provision.action] == ["collect", "use"]
    assert purposes(c.provision) == ["treatment-planning", "post-op-tracking"]
    assert nested(c) == [
        ("permit", ["collect", "use"]),
        ("permit", ["collect", "use"]),
        ("deny", ["disclose"]),
    ]
    kept = [ext(p, "retention-period").valueDuration for p in c.provision.provision[:2]]
    assert [(d.value, d.code, d.system) for d in kept] == [
        (3, "a", "http://unitsofmeasure.org"),
        (18, "mo", "http://unitsofmeasure.org"),
    ]
    assert c.provision.period.start is not None and c.provision.period.end is None
    assert ext(c, "jurisdiction").valueCode == "IL"
    assert ext(c, "withdrawn") is None
    # The notice: the exact text, its version and its SHA-256 (Attachment.hash would be SHA-1).
    a = c.sourceAttachment
    text = base64.b64decode(raw["sourceAttachment"]["data"]).decode()
    assert text == NOTICE and a.size == len(NOTICE.encode())
    assert a.title == "v-2026-01"
    assert ext(a, "notice-sha256").valueString == hashlib.sha256(NOTICE.encode()).hexdigest()
    assert a.hash is None


def test_california_consent_with_share_and_expiry_ends_the_day_before(vault):
    _, _, _, c = record(
        vault, "ca", "CA", True, [("outcome-simulation", "1y"), ("research", "30d")], expires="2099-07-01"
    )
    assert c.status == "active"
    assert [a.coding[0].code for a in c.provision.action] == ["collect", "use", "disclose"]
    assert nested(c) == [("permit", ["collect", "use"]), ("permit", ["collect", "use"])]
    assert str(c.provision.period.end) == "2099-06-30"
    assert ext(c, "limit-use").valueBoolean is True
    research = c.provision.provision[1].purpose
    assert [(p.system.rsplit("/", 1)[-1], p.code) for p in research] == [
        ("purpose", "research"),
        ("v3-ActReason", "HRESCH"),
    ]


def test_withdrawn_eu_consent_is_inactive_and_ends_at_the_withdrawal(vault):
    _, _, _, c = record(vault, "eu", "EU", False, [("clinical-photography", "3y")], withdraw=True)
    assert c.status == "inactive"
    withdrawn = ext(c, "withdrawn").valueDateTime
    assert withdrawn is not None
    assert c.provision.period.end == withdrawn
    assert c.provision.period.start <= withdrawn
    assert ext(c, "jurisdiction").valueCode == "EU"


def test_the_model_is_not_vacuous(vault):
    """The checks above mean something: the same model refuses a broken resource."""
    _, _, raw, _ = record(vault, "il2", "IL", False, [("treatment-planning", "3y")])
    broken = [
        {**raw, "extension": [{"valueCode": "IL"}]},  # an extension needs its url
        {**raw, "sourceAttachment": [raw["sourceAttachment"]]},  # 0..1 in R4
        {**raw, "signature": {"typedName": "x"}},  # no such element
        {**raw, "dateTime": "5 Jan 2026"},
        {k: v for k, v in raw.items() if k != "scope"},  # 1..1
    ]
    for b in broken:
        with pytest.raises(ValidationError):
            Consent.model_validate(b)


def test_no_consent_is_not_found(vault):
    _, v = vault
    subject = fv(v, "front_desk", "subject", "add", "--name", "No Consent").stdout.strip()
    proc = fv(v, "front_desk", "consent", "fhir", subject, check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "no consent on record" in proc.stderr
