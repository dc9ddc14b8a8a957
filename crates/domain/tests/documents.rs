//! The generated documents as snapshots: each document for one configuration, then how each
//! changes when the configuration does (a line diff), and that every generated consent notice
//! passes the capture check of its jurisdiction.

use expect_test::{expect, Expect};
use facevault_domain::{
    check_capture, Catalogue, CatalogueConfig, ClinicInfo, ConsentDraft, Documents, Jurisdiction,
    MissingElement, Signature, SignatureMethod, Timestamp, VendorConfig, VendorRegistry,
};

fn instant(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
}

const CATALOGUE: &str =
    "[[purpose]]\nid = \"vendor-disclosure\"\nenabled = true\nvendor = \"Acme 3D Labs\"\n";

const VENDORS: &str = r#"
[[vendor]]
id = "planner-cloud"
name = "Planner Cloud Inc."
role = "service-provider"
terms = ["no-sell-or-share", "specified-purposes", "no-use-outside-purposes", "no-use-outside-relationship",
         "no-combining", "comply-with-ccpa", "compliance-rights", "notify-if-unable", "stop-and-remediate",
         "consumer-requests", "subcontractor-terms"]
purposes = ["treatment-planning", "outcome-simulation"]
categories = ["face-scan", "measurements"]
region = "US"

[[vendor]]
id = "acme-3d-labs"
name = "Acme 3D Labs"
role = "third-party"
purposes = ["vendor-disclosure"]
categories = ["face-scan"]
region = "EU"
"#;

fn clinic() -> ClinicInfo {
    ClinicInfo::new(
        "Lakeside Facial Surgery",
        "100 Lake St, Chicago, IL; front-desk@lakeside.example",
        "Privacy Officer, privacy@lakeside.example",
        "US",
    )
}

/// The documents for the base configuration extended by `catalogue` and `vendors` TOML.
fn generate(catalogue: &str, vendors: &str) -> Documents {
    let cfg: CatalogueConfig = toml::from_str(&format!("{CATALOGUE}{catalogue}")).unwrap();
    let cat = Catalogue::from_config(cfg).unwrap();
    let vcfg: VendorConfig = toml::from_str(&format!("{VENDORS}{vendors}")).unwrap();
    let reg = VendorRegistry::from_config(vcfg, &cat).unwrap();
    Documents::generate(&cat, reg.vendors(), &clinic())
}

fn markdown(d: &Documents) -> [(&'static str, String); 3] {
    [
        ("record-of-processing", d.record_of_processing.to_markdown()),
        ("retention-schedule", d.retention_schedule.to_markdown()),
        ("consent-notices", d.consent_notices.to_markdown()),
    ]
}

/// The lines removed (`-`) and added (`+`) between two texts, by longest common subsequence.
fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out += &format!("- {}\n", a[i]);
            i += 1;
        } else {
            out += &format!("+ {}\n", b[j]);
            j += 1;
        }
    }
    out
}

/// How every document's Markdown changes when the configuration gains `catalogue` and
/// `vendors`; a document that does not change says so.
fn check_change(catalogue: &str, vendors: &str, expect: Expect) {
    let before = markdown(&generate("", ""));
    let after = markdown(&generate(catalogue, vendors));
    let mut out = String::new();
    for ((name, old), (_, new)) in before.iter().zip(after.iter()) {
        let d = diff(old, new);
        if d.is_empty() {
            out += &format!("{name}: unchanged\n");
        } else {
            out += &format!("{name}:\n{d}");
        }
    }
    expect.assert_eq(&out);
}

#[test]
fn record_of_processing_lists_controller_purposes_recipients_transfers_retention_safeguards() {
    expect![[r#"
        # Record of processing: Lakeside Facial Surgery

        The record of processing activities (GDPR Art. 30(1)) and data map, generated from the clinic's live FaceVault configuration.

        ## Controller

        - Name: Lakeside Facial Surgery
        - Contact: 100 Lake St, Chicago, IL; front-desk@lakeside.example
        - Privacy officer: Privacy Officer, privacy@lakeside.example
        - Region: US

        ## Purposes

        | Purpose | Description | Legal basis | Shares | Sells | Named recipient |
        | --- | --- | --- | --- | --- | --- |
        | treatment-planning | Plan your surgical treatment from your 3D facial scan. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | no | no | none |
        | outcome-simulation | Show you a simulated outcome of the planned procedure. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | no | no | none |
        | post-op-tracking | Compare scans after surgery to follow your recovery. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | no | no | none |
        | clinical-photography | Keep images derived from the scan in your clinical record. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | no | no | none |
        | marketing-images | Use images derived from your scan in the clinic's marketing. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | no | no | none |
        | research | Use your de-identified scan in clinical research. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | no | no | none |
        | ai-model-training | Use your scan to train or evaluate AI models. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | no | no | none |
        | vendor-disclosure | Disclose your scan to a named vendor. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | yes | no | Acme 3D Labs |

        ## Categories of data subjects

        - Patients and prospective patients of the clinic whose face is scanned.

        ## Categories of personal data

        | Category | Description | Biometric |
        | --- | --- | --- |
        | face-scan | 3D facial scans (meshes and textures): scans of face geometry | yes |
        | measurements | measurements and distance maps computed from the scans | yes |
        | images | renders and clinical images derived from the scans | no |
        | identity | name, date of birth and contact details | no |
        | consent-records | consent records: notice version and hash, purposes, signatures, withdrawals | no |

        ## Recipients

        | Vendor | Name | Role | Region | Purposes | Categories | Contract |
        | --- | --- | --- | --- | --- | --- | --- |
        | acme-3d-labs | Acme 3D Labs | third party | EU | vendor-disclosure | face-scan | complete |
        | planner-cloud | Planner Cloud Inc. | service provider | US | treatment-planning, outcome-simulation | face-scan, measurements | complete |

        ## Transfers outside the clinic's region

        | Vendor | From | To |
        | --- | --- | --- |
        | acme-3d-labs | US | EU |

        ## Retention

        | Purpose | Retention |
        | --- | --- |
        | treatment-planning | 3 years |
        | outcome-simulation | 1 year |
        | post-op-tracking | 3 years |
        | clinical-photography | 3 years |
        | marketing-images | 2 years |
        | research | 3 years |
        | ai-model-training | 1 year |
        | vendor-disclosure | 1 year |

        - Each purpose keeps data for the period the subject's consent states (at most the period listed), counted from the day consent was given, or until the purpose is satisfied or the consent expires, whichever comes first.
        - Illinois (BIPA 740 ILCS 14/15(a)): destroyed when the purpose is satisfied or 3 years after the subject's last interaction with the clinic, whichever comes first.
        - Texas (CUBI, Tex. Bus. \& Com. Code 503.001(c)(3)): destroyed no later than 1 year after the purpose expires.
        - Withdrawal: destroyed on the day consent is withdrawn, in every jurisdiction.
        - Legal holds (warrant, subpoena, litigation) suspend destruction until released. BIPA 15(a) names only a valid warrant or subpoena issued by a court of competent jurisdiction, and Texas's CUBI names no hold: a hold of another kind on such a subject still suspends destruction, and is referred to counsel.
        - Audit records hold pseudonymous ids only and are kept 6 years (HIPAA 45 CFR 164.316(b)(2)(i)).

        ## Safeguards

        - Each subject's data is encrypted with its own AES-256-GCM data key; destroying that key (crypto-shredding) makes every copy unreadable, backups included.
        - Data keys are wrapped by key-encryption keys kept in a key file encrypted under an Argon2id-derived key; storage only ever holds ciphertext.
        - Access is bound to a consented purpose and decided per request by Cedar policies for the user's role; an opt-out, a limit-use request or a legal hold restricts it in code.
        - A consent staff record for a purpose beyond care, or after the patient withdrew, grants nothing until the patient confirms it or the privacy officer approves it against the signed form; an opt-out is lifted by the patient only.
        - Every access decision, allowed or denied, is written to a tamper-evident audit log (RFC 9162 Merkle tree) with signed checkpoints.
        - A retention engine destroys data when its purpose lapses, consent is withdrawn or expires, or a legal limit is reached, and issues signed deletion certificates.
    "#]].assert_eq(&generate("", "").record_of_processing.to_markdown());
}

#[test]
fn retention_schedule_is_public_and_states_each_rule() {
    expect![[r#"
        # Biometric data retention schedule and destruction policy: Lakeside Facial Surgery

        Lakeside Facial Surgery collects 3D facial scans, which are biometric identifiers, only with the subject's consent (in Illinois, a written release), and publishes this schedule under BIPA 740 ILCS 14/15(a). Questions: Privacy Officer, privacy@lakeside.example.

        ## Retention schedule

        | Purpose | What it is for | Kept at most |
        | --- | --- | --- |
        | treatment-planning | Plan your surgical treatment from your 3D facial scan. | 3 years |
        | outcome-simulation | Show you a simulated outcome of the planned procedure. | 1 year |
        | post-op-tracking | Compare scans after surgery to follow your recovery. | 3 years |
        | clinical-photography | Keep images derived from the scan in your clinical record. | 3 years |
        | marketing-images | Use images derived from your scan in the clinic's marketing. | 2 years |
        | research | Use your de-identified scan in clinical research. | 3 years |
        | ai-model-training | Use your scan to train or evaluate AI models. | 1 year |
        | vendor-disclosure | Disclose your scan to a named vendor. | 1 year |

        ## When biometric data is destroyed

        Biometric data is permanently destroyed under these rules:

        - Each purpose keeps data for the period the subject's consent states (at most the period listed), counted from the day consent was given, or until the purpose is satisfied or the consent expires, whichever comes first.
        - Illinois (BIPA 740 ILCS 14/15(a)): destroyed when the purpose is satisfied or 3 years after the subject's last interaction with the clinic, whichever comes first.
        - Texas (CUBI, Tex. Bus. \& Com. Code 503.001(c)(3)): destroyed no later than 1 year after the purpose expires.
        - Withdrawal: destroyed on the day consent is withdrawn, in every jurisdiction.
        - Legal holds (warrant, subpoena, litigation) suspend destruction until released. BIPA 15(a) names only a valid warrant or subpoena issued by a court of competent jurisdiction, and Texas's CUBI names no hold: a hold of another kind on such a subject still suspends destruction, and is referred to counsel.
        - Audit records hold pseudonymous ids only and are kept 6 years (HIPAA 45 CFR 164.316(b)(2)(i)).

        ## How it is destroyed

        - Destruction is automatic: the FaceVault server enforces this schedule every day at a set time (03:00 UTC unless the clinic configures another), destroying what is due that day, and on starting it catches up a day it missed while stopped.
        - When every consented purpose of a subject has lapsed, the subject's data key is destroyed (crypto-shredding): every scan, measurement and image of the subject, in every copy and backup, becomes unreadable at once.
        - Scans and derived data kept only for purposes that lapsed earlier are deleted individually on the day they lapse.
        - Each destruction is recorded in the audit log and a signed deletion certificate is issued.
        - Biometric data is never sold, leased or traded (BIPA 740 ILCS 14/15(c)).
    "#]].assert_eq(&generate("", "").retention_schedule.to_markdown());
}

#[test]
fn consent_notices_per_jurisdiction() {
    expect![[r##"
        # Consent notices: Lakeside Facial Surgery

        The consent notice shown to a subject before a scan, per jurisdiction, generated from the clinic's live FaceVault configuration. The version names the text's SHA-256.

        ## Notice for Illinois

        IL (BIPA, 740 ILCS 14). Version il-ecb6e6bfe2b4.

        Lakeside Facial Surgery asks for your consent to collect and store a 3D scan of your face, which is a scan of your face geometry (biometric data), and data derived from it. We collect it only if you agree, before the scan is taken.

        We use it only for the purposes you tick below. Each is kept at most as long as stated, counted from the day you consent, and is destroyed earlier when its purpose is satisfied:

        - treatment-planning: Plan your surgical treatment from your 3D facial scan. Kept at most 3 years.
        - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
        - post-op-tracking: Compare scans after surgery to follow your recovery. Kept at most 3 years.
        - clinical-photography: Keep images derived from the scan in your clinical record. Kept at most 3 years.
        - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
        - research: Use your de-identified scan in clinical research. Kept at most 3 years.
        - ai-model-training: Use your scan to train or evaluate AI models. Kept at most 1 year.
        - vendor-disclosure: Disclose your scan to a named vendor. Kept at most 1 year. Disclosed to Acme 3D Labs. This purpose shares your data and needs your separate consent to share.

        These vendors receive your data, each only for the purposes its contract names:

        - Acme 3D Labs (third party, EU)
        - Planner Cloud Inc. (service provider, US)

        We do not sell your biometric data. We share it only for the purposes marked as sharing, and only if you give your separate consent to share.

        You may withdraw your consent at any time, as easily as you gave it, by telling us in person or by contacting Privacy Officer, privacy@lakeside.example. Withdrawal does not affect what was done before it; on the day you withdraw we stop using your scan and destroy it, unless a court order requires us to keep it.

        Illinois: this written release is required by BIPA, 740 ILCS 14/15(b). We never sell, lease, trade or otherwise profit from your biometric data (15(c)) and disclose it only with your consent or as the law requires (15(d)). Our retention schedule is public: your biometric data is destroyed when the purpose is satisfied or within 3 years of your last interaction with us, whichever comes first (15(a)).

        ## Notice for Texas

        TX (CUBI, Tex. Bus. \& Com. Code 503.001). Version tx-c35cd7245b55.

        Lakeside Facial Surgery asks for your consent to collect and store a 3D scan of your face, which is a scan of your face geometry (biometric data), and data derived from it. We collect it only if you agree, before the scan is taken.

        We use it only for the purposes you tick below. Each is kept at most as long as stated, counted from the day you consent, and is destroyed earlier when its purpose is satisfied:

        - treatment-planning: Plan your surgical treatment from your 3D facial scan. Kept at most 3 years.
        - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
        - post-op-tracking: Compare scans after surgery to follow your recovery. Kept at most 3 years.
        - clinical-photography: Keep images derived from the scan in your clinical record. Kept at most 3 years.
        - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
        - research: Use your de-identified scan in clinical research. Kept at most 3 years.
        - ai-model-training: Use your scan to train or evaluate AI models. Kept at most 1 year.
        - vendor-disclosure: Disclose your scan to a named vendor. Kept at most 1 year. Disclosed to Acme 3D Labs. This purpose shares your data and needs your separate consent to share.

        These vendors receive your data, each only for the purposes its contract names:

        - Acme 3D Labs (third party, EU)
        - Planner Cloud Inc. (service provider, US)

        We do not sell your biometric data. We share it only for the purposes marked as sharing, and only if you give your separate consent to share.

        You may withdraw your consent at any time, as easily as you gave it, by telling us in person or by contacting Privacy Officer, privacy@lakeside.example. Withdrawal does not affect what was done before it; on the day you withdraw we stop using your scan and destroy it, unless a court order requires us to keep it.

        Texas: we tell you before capturing your biometric identifier and capture it only with your consent (Tex. Bus. \& Com. Code 503.001(b)). We do not sell or lease it (503.001(c)), and destroy it within a reasonable time, no later than one year after the purpose for collecting it expires.

        ## Notice for Washington

        WA (My Health My Data Act, RCW 19.373). Version wa-d88dbbb55408.

        Lakeside Facial Surgery asks for your consent to collect and store a 3D scan of your face, which is a scan of your face geometry (biometric data), and data derived from it. We collect it only if you agree, before the scan is taken.

        We use it only for the purposes you tick below. Each is kept at most as long as stated, counted from the day you consent, and is destroyed earlier when its purpose is satisfied:

        - treatment-planning: Plan your surgical treatment from your 3D facial scan. Kept at most 3 years.
        - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
        - post-op-tracking: Compare scans after surgery to follow your recovery. Kept at most 3 years.
        - clinical-photography: Keep images derived from the scan in your clinical record. Kept at most 3 years.
        - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
        - research: Use your de-identified scan in clinical research. Kept at most 3 years.
        - ai-model-training: Use your scan to train or evaluate AI models. Kept at most 1 year.
        - vendor-disclosure: Disclose your scan to a named vendor. Kept at most 1 year. Disclosed to Acme 3D Labs. This purpose shares your data and needs your separate consent to share.

        These vendors receive your data, each only for the purposes its contract names:

        - Acme 3D Labs (third party, EU)
        - Planner Cloud Inc. (service provider, US)

        We do not sell your biometric data. We share it only for the purposes marked as sharing, and only if you give your separate consent to share.

        You may withdraw your consent at any time, as easily as you gave it, by telling us in person or by contacting Privacy Officer, privacy@lakeside.example. Withdrawal does not affect what was done before it; on the day you withdraw we stop using your scan and destroy it, unless a court order requires us to keep it.

        Washington: under the My Health My Data Act your consent to collect is separate from any consent to share (RCW 19.373.030). You have the right to confirm, access and delete your consumer health data and to withdraw consent (RCW 19.373.040); our consumer health data privacy policy is available from 100 Lake St, Chicago, IL; front-desk@lakeside.example.

        ## Notice for California

        CA (CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.). Version ca-c8eb2c628ebc.

        Lakeside Facial Surgery asks for your consent to collect and store a 3D scan of your face, which is a scan of your face geometry (biometric data), and data derived from it. We collect it only if you agree, before the scan is taken.

        We use it only for the purposes you tick below. Each is kept at most as long as stated, counted from the day you consent, and is destroyed earlier when its purpose is satisfied:

        - treatment-planning: Plan your surgical treatment from your 3D facial scan. Kept at most 3 years.
        - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
        - post-op-tracking: Compare scans after surgery to follow your recovery. Kept at most 3 years.
        - clinical-photography: Keep images derived from the scan in your clinical record. Kept at most 3 years.
        - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
        - research: Use your de-identified scan in clinical research. Kept at most 3 years.
        - ai-model-training: Use your scan to train or evaluate AI models. Kept at most 1 year.
        - vendor-disclosure: Disclose your scan to a named vendor. Kept at most 1 year. Disclosed to Acme 3D Labs. This purpose shares your data and needs your separate consent to share.

        These vendors receive your data, each only for the purposes its contract names:

        - Acme 3D Labs (third party, EU)
        - Planner Cloud Inc. (service provider, US)

        We do not sell your biometric data. We share it only for the purposes marked as sharing, and only if you give your separate consent to share.

        You may withdraw your consent at any time, as easily as you gave it, by telling us in person or by contacting Privacy Officer, privacy@lakeside.example. Withdrawal does not affect what was done before it; on the day you withdraw we stop using your scan and destroy it, unless a court order requires us to keep it.

        California: this notice at collection lists the categories of sensitive personal information collected (your face scan and data derived from it), the purposes, and how long each is kept (Cal. Civ. Code 1798.100(a)).

        Your right to limit: you may direct us to limit the use and disclosure of your sensitive personal information to what is necessary to provide the services you asked for (Cal. Civ. Code 1798.121). To use it, tick "Limit the use of my sensitive personal information" on this form or contact Privacy Officer, privacy@lakeside.example. You may also opt out of the sale or sharing of your personal information (1798.120); a Global Privacy Control signal from your browser while you are logged in to the patient portal is honoured as that opt-out (11 CCR 7025), and only you can lift it (1798.135(c)(4)). You may request access, correction or deletion.

        ## Notice for the EU/EEA

        EU (GDPR Art. 7, 9(2)(a), 13). Version eu-04946ff1d3d5.

        Lakeside Facial Surgery asks for your consent to collect and store a 3D scan of your face, which is a scan of your face geometry (biometric data), and data derived from it. We collect it only if you agree, before the scan is taken.

        We use it only for the purposes you tick below. Each is kept at most as long as stated, counted from the day you consent, and is destroyed earlier when its purpose is satisfied:

        - treatment-planning: Plan your surgical treatment from your 3D facial scan. Kept at most 3 years.
        - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
        - post-op-tracking: Compare scans after surgery to follow your recovery. Kept at most 3 years.
        - clinical-photography: Keep images derived from the scan in your clinical record. Kept at most 3 years.
        - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
        - research: Use your de-identified scan in clinical research. Kept at most 3 years.
        - ai-model-training: Use your scan to train or evaluate AI models. Kept at most 1 year.
        - vendor-disclosure: Disclose your scan to a named vendor. Kept at most 1 year. Disclosed to Acme 3D Labs. This purpose shares your data and needs your separate consent to share.

        These vendors receive your data, each only for the purposes its contract names:

        - Acme 3D Labs (third party, EU)
        - Planner Cloud Inc. (service provider, US)

        We do not sell your biometric data. We share it only for the purposes marked as sharing, and only if you give your separate consent to share.

        You may withdraw your consent at any time, as easily as you gave it, by telling us in person or by contacting Privacy Officer, privacy@lakeside.example. Withdrawal does not affect what was done before it; on the day you withdraw we stop using your scan and destroy it, unless a court order requires us to keep it.

        EU/EEA: the controller is Lakeside Facial Surgery (100 Lake St, Chicago, IL; front-desk@lakeside.example); contact the data protection officer at Privacy Officer, privacy@lakeside.example. The legal basis is your explicit consent (GDPR Art. 9(2)(a)); you may withdraw it at any time (Art. 7(3)). You have the right of access, rectification, erasure, restriction, data portability and objection (Art. 15-21), and may lodge a complaint with a supervisory authority (Art. 77).

        ## Notice for other jurisdictions

        other (FaceVault baseline). Version other-b3550cb713bd.

        Lakeside Facial Surgery asks for your consent to collect and store a 3D scan of your face, which is a scan of your face geometry (biometric data), and data derived from it. We collect it only if you agree, before the scan is taken.

        We use it only for the purposes you tick below. Each is kept at most as long as stated, counted from the day you consent, and is destroyed earlier when its purpose is satisfied:

        - treatment-planning: Plan your surgical treatment from your 3D facial scan. Kept at most 3 years.
        - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
        - post-op-tracking: Compare scans after surgery to follow your recovery. Kept at most 3 years.
        - clinical-photography: Keep images derived from the scan in your clinical record. Kept at most 3 years.
        - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
        - research: Use your de-identified scan in clinical research. Kept at most 3 years.
        - ai-model-training: Use your scan to train or evaluate AI models. Kept at most 1 year.
        - vendor-disclosure: Disclose your scan to a named vendor. Kept at most 1 year. Disclosed to Acme 3D Labs. This purpose shares your data and needs your separate consent to share.

        These vendors receive your data, each only for the purposes its contract names:

        - Acme 3D Labs (third party, EU)
        - Planner Cloud Inc. (service provider, US)

        We do not sell your biometric data. We share it only for the purposes marked as sharing, and only if you give your separate consent to share.

        You may withdraw your consent at any time, as easily as you gave it, by telling us in person or by contacting Privacy Officer, privacy@lakeside.example. Withdrawal does not affect what was done before it; on the day you withdraw we stop using your scan and destroy it, unless a court order requires us to keep it.
    "##]].assert_eq(&generate("", "").consent_notices.to_markdown());
}

#[test]
fn json_is_typed_and_deterministic() {
    let d = generate("", "");
    expect![[r#"
        {
          "clinic": "Lakeside Facial Surgery",
          "contact": "Privacy Officer, privacy@lakeside.example",
          "schedule": [
            {
              "purpose": "treatment-planning",
              "description": "Plan your surgical treatment from your 3D facial scan.",
              "retention": "3y"
            },
            {
              "purpose": "outcome-simulation",
              "description": "Show you a simulated outcome of the planned procedure.",
              "retention": "1y"
            },
            {
              "purpose": "post-op-tracking",
              "description": "Compare scans after surgery to follow your recovery.",
              "retention": "3y"
            },
            {
              "purpose": "clinical-photography",
              "description": "Keep images derived from the scan in your clinical record.",
              "retention": "3y"
            },
            {
              "purpose": "marketing-images",
              "description": "Use images derived from your scan in the clinic's marketing.",
              "retention": "2y"
            },
            {
              "purpose": "research",
              "description": "Use your de-identified scan in clinical research.",
              "retention": "3y"
            },
            {
              "purpose": "ai-model-training",
              "description": "Use your scan to train or evaluate AI models.",
              "retention": "1y"
            },
            {
              "purpose": "vendor-disclosure",
              "description": "Disclose your scan to a named vendor.",
              "retention": "1y"
            }
          ],
          "rules": [
            "Each purpose keeps data for the period the subject's consent states (at most the period listed), counted from the day consent was given, or until the purpose is satisfied or the consent expires, whichever comes first.",
            "Illinois (BIPA 740 ILCS 14/15(a)): destroyed when the purpose is satisfied or 3 years after the subject's last interaction with the clinic, whichever comes first.",
            "Texas (CUBI, Tex. Bus. & Com. Code 503.001(c)(3)): destroyed no later than 1 year after the purpose expires.",
            "Withdrawal: destroyed on the day consent is withdrawn, in every jurisdiction.",
            "Legal holds (warrant, subpoena, litigation) suspend destruction until released. BIPA 15(a) names only a valid warrant or subpoena issued by a court of competent jurisdiction, and Texas's CUBI names no hold: a hold of another kind on such a subject still suspends destruction, and is referred to counsel.",
            "Audit records hold pseudonymous ids only and are kept 6 years (HIPAA 45 CFR 164.316(b)(2)(i))."
          ],
          "destruction": [
            "Destruction is automatic: the FaceVault server enforces this schedule every day at a set time (03:00 UTC unless the clinic configures another), destroying what is due that day, and on starting it catches up a day it missed while stopped.",
            "When every consented purpose of a subject has lapsed, the subject's data key is destroyed (crypto-shredding): every scan, measurement and image of the subject, in every copy and backup, becomes unreadable at once.",
            "Scans and derived data kept only for purposes that lapsed earlier are deleted individually on the day they lapse.",
            "Each destruction is recorded in the audit log and a signed deletion certificate is issued.",
            "Biometric data is never sold, leased or traded (BIPA 740 ILCS 14/15(c))."
          ]
        }"#]].assert_eq(&d.retention_schedule.to_json().unwrap());
    // Same configuration, vendors in another order: the same bytes.
    let reordered = {
        let cfg: CatalogueConfig = toml::from_str(CATALOGUE).unwrap();
        let cat = Catalogue::from_config(cfg).unwrap();
        let vcfg: VendorConfig = toml::from_str(VENDORS).unwrap();
        let mut vendors = VendorRegistry::from_config(vcfg, &cat).unwrap().vendors().to_vec();
        vendors.reverse();
        Documents::generate(&cat, &vendors, &clinic())
    };
    assert_eq!(d, reordered);
    for json in [
        d.record_of_processing.to_json().unwrap(),
        d.retention_schedule.to_json().unwrap(),
        d.consent_notices.to_json().unwrap(),
    ] {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(v.is_object());
    }
    // Typed structs serialise in field order, whatever serde_json's features.
    let recipients = serde_json::to_string(&d.record_of_processing.recipients).unwrap();
    let transfers = serde_json::to_string(&d.record_of_processing.transfers).unwrap();
    expect![[r#"
        [{"id":"acme-3d-labs","name":"Acme 3D Labs","role":"third-party","region":"EU","purposes":["vendor-disclosure"],"categories":["face-scan"],"contract_complete":true},{"id":"planner-cloud","name":"Planner Cloud Inc.","role":"service-provider","region":"US","purposes":["treatment-planning","outcome-simulation"],"categories":["face-scan","measurements"],"contract_complete":true}]
        [{"vendor":"acme-3d-labs","from":"US","to":"EU"}]"#]].assert_eq(&format!("{recipients}\n{transfers}"));
    let ca = d.consent_notices.get(Jurisdiction::Ca).unwrap();
    let ca = serde_json::to_string(&(&ca.version, &ca.covers, &ca.purposes)).unwrap();
    expect![[r#"["ca-c8eb2c628ebc",{"purposes":true,"retention":true,"withdrawal":true,"limit_use":true},["treatment-planning","outcome-simulation","post-op-tracking","clinical-photography","marketing-images","research","ai-model-training","vendor-disclosure"]]"#]].assert_eq(&ca);
}

#[test]
fn html_escapes_every_configured_text() {
    let mut info = clinic();
    info.name = "Smith & <b>Jones</b> \"Clinic\"".into();
    let cfg: CatalogueConfig = toml::from_str(&format!(
        "{CATALOGUE}[[purpose]]\nid = \"research\"\ndescription = \"<script>alert('x')</script> research | *bold*\""
    ))
    .unwrap();
    let cat = Catalogue::from_config(cfg).unwrap();
    let d = Documents::generate(&cat, &[], &info);
    let html = d.retention_schedule.to_html();
    assert!(!html.contains("<script>") && !html.contains("<b>"), "{html}");
    expect![[r#"
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Biometric data retention schedule and destruction policy: Smith &amp; &lt;b&gt;Jones&lt;/b&gt; &quot;Clinic&quot;</title>
        </head>
        <body>
        <h1>Biometric data retention schedule and destruction policy: Smith &amp; &lt;b&gt;Jones&lt;/b&gt; &quot;Clinic&quot;</h1>
        <p>Smith &amp; &lt;b&gt;Jones&lt;/b&gt; &quot;Clinic&quot; collects 3D facial scans, which are biometric identifiers, only with the subject&#39;s consent (in Illinois, a written release), and publishes this schedule under BIPA 740 ILCS 14/15(a). Questions: Privacy Officer, privacy@lakeside.example.</p>
        <h2>Retention schedule</h2>
        <table>
        <thead>
        <tr><th>Purpose</th><th>What it is for</th><th>Kept at most</th></tr>
        </thead>
        <tbody>
        <tr><td>treatment-planning</td><td>Plan your surgical treatment from your 3D facial scan.</td><td>3 years</td></tr>
        <tr><td>outcome-simulation</td><td>Show you a simulated outcome of the planned procedure.</td><td>1 year</td></tr>
        <tr><td>post-op-tracking</td><td>Compare scans after surgery to follow your recovery.</td><td>3 years</td></tr>
        <tr><td>clinical-photography</td><td>Keep images derived from the scan in your clinical record.</td><td>3 years</td></tr>
        <tr><td>marketing-images</td><td>Use images derived from your scan in the clinic&#39;s marketing.</td><td>2 years</td></tr>
        <tr><td>research</td><td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; research | *bold*</td><td>3 years</td></tr>
        <tr><td>ai-model-training</td><td>Use your scan to train or evaluate AI models.</td><td>1 year</td></tr>
        <tr><td>vendor-disclosure</td><td>Disclose your scan to a named vendor.</td><td>1 year</td></tr>
        </tbody>
        </table>
        <h2>When biometric data is destroyed</h2>
        <p>Biometric data is permanently destroyed under these rules:</p>
        <ul>
        <li>Each purpose keeps data for the period the subject&#39;s consent states (at most the period listed), counted from the day consent was given, or until the purpose is satisfied or the consent expires, whichever comes first.</li>
        <li>Illinois (BIPA 740 ILCS 14/15(a)): destroyed when the purpose is satisfied or 3 years after the subject&#39;s last interaction with the clinic, whichever comes first.</li>
        <li>Texas (CUBI, Tex. Bus. &amp; Com. Code 503.001(c)(3)): destroyed no later than 1 year after the purpose expires.</li>
        <li>Withdrawal: destroyed on the day consent is withdrawn, in every jurisdiction.</li>
        <li>Legal holds (warrant, subpoena, litigation) suspend destruction until released. BIPA 15(a) names only a valid warrant or subpoena issued by a court of competent jurisdiction, and Texas&#39;s CUBI names no hold: a hold of another kind on such a subject still suspends destruction, and is referred to counsel.</li>
        <li>Audit records hold pseudonymous ids only and are kept 6 years (HIPAA 45 CFR 164.316(b)(2)(i)).</li>
        </ul>
        <h2>How it is destroyed</h2>
        <ul>
        <li>Destruction is automatic: the FaceVault server enforces this schedule every day at a set time (03:00 UTC unless the clinic configures another), destroying what is due that day, and on starting it catches up a day it missed while stopped.</li>
        <li>When every consented purpose of a subject has lapsed, the subject&#39;s data key is destroyed (crypto-shredding): every scan, measurement and image of the subject, in every copy and backup, becomes unreadable at once.</li>
        <li>Scans and derived data kept only for purposes that lapsed earlier are deleted individually on the day they lapse.</li>
        <li>Each destruction is recorded in the audit log and a signed deletion certificate is issued.</li>
        <li>Biometric data is never sold, leased or traded (BIPA 740 ILCS 14/15(c)).</li>
        </ul>
        </body>
        </html>
    "#]].assert_eq(&html);
    let md = d.retention_schedule.to_markdown();
    assert!(md.contains(r"\<script\>alert('x')\</script\> research \| \*bold\*"), "{md}");
}

#[test]
fn adding_a_purpose_changes_every_document() {
    check_change(
        "[[purpose]]\nid = \"second-opinion\"\ndescription = \"Send your scan to a second surgeon.\"\nretention = \"90d\"\nshare = true\n",
        "",
        expect![[r#"
            record-of-processing:
            + | second-opinion | Send your scan to a second surgeon. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | yes | no | none |
            + | second-opinion | 90 days |
            retention-schedule:
            + | second-opinion | Send your scan to a second surgeon. | 90 days |
            consent-notices:
            - IL (BIPA, 740 ILCS 14). Version il-ecb6e6bfe2b4.
            + IL (BIPA, 740 ILCS 14). Version il-54c7a1446f9a.
            + - second-opinion: Send your scan to a second surgeon. Kept at most 90 days. This purpose shares your data and needs your separate consent to share.
            - TX (CUBI, Tex. Bus. \& Com. Code 503.001). Version tx-c35cd7245b55.
            + TX (CUBI, Tex. Bus. \& Com. Code 503.001). Version tx-b66ed02ecab4.
            + - second-opinion: Send your scan to a second surgeon. Kept at most 90 days. This purpose shares your data and needs your separate consent to share.
            - WA (My Health My Data Act, RCW 19.373). Version wa-d88dbbb55408.
            + WA (My Health My Data Act, RCW 19.373). Version wa-feadf361cfd9.
            + - second-opinion: Send your scan to a second surgeon. Kept at most 90 days. This purpose shares your data and needs your separate consent to share.
            - CA (CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.). Version ca-c8eb2c628ebc.
            + CA (CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.). Version ca-3015a2d5ff08.
            + - second-opinion: Send your scan to a second surgeon. Kept at most 90 days. This purpose shares your data and needs your separate consent to share.
            - EU (GDPR Art. 7, 9(2)(a), 13). Version eu-04946ff1d3d5.
            + EU (GDPR Art. 7, 9(2)(a), 13). Version eu-272724df21ff.
            + - second-opinion: Send your scan to a second surgeon. Kept at most 90 days. This purpose shares your data and needs your separate consent to share.
            - other (FaceVault baseline). Version other-b3550cb713bd.
            + other (FaceVault baseline). Version other-2cb59ec28e8d.
            + - second-opinion: Send your scan to a second surgeon. Kept at most 90 days. This purpose shares your data and needs your separate consent to share.
        "#]],
    );
}

#[test]
fn disabling_a_purpose_removes_it_everywhere() {
    check_change(
        "[[purpose]]\nid = \"marketing-images\"\nenabled = false\n",
        "",
        expect![[r#"
            record-of-processing:
            - | marketing-images | Use images derived from your scan in the clinic's marketing. | explicit consent (GDPR Art. 6(1)(a), 9(2)(a)) | no | no | none |
            - | marketing-images | 2 years |
            retention-schedule:
            - | marketing-images | Use images derived from your scan in the clinic's marketing. | 2 years |
            consent-notices:
            - IL (BIPA, 740 ILCS 14). Version il-ecb6e6bfe2b4.
            + IL (BIPA, 740 ILCS 14). Version il-eb633d6530a7.
            - - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
            - TX (CUBI, Tex. Bus. \& Com. Code 503.001). Version tx-c35cd7245b55.
            + TX (CUBI, Tex. Bus. \& Com. Code 503.001). Version tx-ee7f70003502.
            - - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
            - WA (My Health My Data Act, RCW 19.373). Version wa-d88dbbb55408.
            + WA (My Health My Data Act, RCW 19.373). Version wa-dae6cd221748.
            - - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
            - CA (CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.). Version ca-c8eb2c628ebc.
            + CA (CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.). Version ca-740dab6b483a.
            - - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
            - EU (GDPR Art. 7, 9(2)(a), 13). Version eu-04946ff1d3d5.
            + EU (GDPR Art. 7, 9(2)(a), 13). Version eu-0f1027d8428a.
            - - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
            - other (FaceVault baseline). Version other-b3550cb713bd.
            + other (FaceVault baseline). Version other-8166afaddd01.
            - - marketing-images: Use images derived from your scan in the clinic's marketing. Kept at most 2 years.
        "#]],
    );
}

#[test]
fn changing_a_retention_changes_the_schedule_and_the_notices() {
    check_change(
        "[[purpose]]\nid = \"outcome-simulation\"\nretention = \"6m\"\n",
        "",
        expect![[r#"
            record-of-processing:
            - | outcome-simulation | 1 year |
            + | outcome-simulation | 6 months |
            retention-schedule:
            - | outcome-simulation | Show you a simulated outcome of the planned procedure. | 1 year |
            + | outcome-simulation | Show you a simulated outcome of the planned procedure. | 6 months |
            consent-notices:
            - IL (BIPA, 740 ILCS 14). Version il-ecb6e6bfe2b4.
            + IL (BIPA, 740 ILCS 14). Version il-ca74b35979a6.
            - - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
            + - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 6 months.
            - TX (CUBI, Tex. Bus. \& Com. Code 503.001). Version tx-c35cd7245b55.
            + TX (CUBI, Tex. Bus. \& Com. Code 503.001). Version tx-1eec4f4d82dd.
            - - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
            + - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 6 months.
            - WA (My Health My Data Act, RCW 19.373). Version wa-d88dbbb55408.
            + WA (My Health My Data Act, RCW 19.373). Version wa-decccd18c37d.
            - - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
            + - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 6 months.
            - CA (CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.). Version ca-c8eb2c628ebc.
            + CA (CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.). Version ca-5d4ead2008ce.
            - - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
            + - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 6 months.
            - EU (GDPR Art. 7, 9(2)(a), 13). Version eu-04946ff1d3d5.
            + EU (GDPR Art. 7, 9(2)(a), 13). Version eu-bb328405157d.
            - - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
            + - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 6 months.
            - other (FaceVault baseline). Version other-b3550cb713bd.
            + other (FaceVault baseline). Version other-96621ec29348.
            - - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 1 year.
            + - outcome-simulation: Show you a simulated outcome of the planned procedure. Kept at most 6 months.
        "#]],
    );
}

#[test]
fn adding_a_vendor_changes_recipients_transfers_and_notices() {
    check_change(
        "",
        r#"
[[vendor]]
id = "imaging-ba"
name = "Imaging Partners LLC"
role = "business-associate"
terms = ["baa-permitted-uses", "baa-no-other-use", "baa-safeguards", "baa-report-incidents",
         "baa-subcontractors", "baa-access", "baa-amendment", "baa-accounting", "baa-books-to-hhs",
         "baa-return-or-destroy", "baa-termination"]
purposes = ["clinical-photography"]
categories = ["images"]
region = "Canada"

[[vendor]]
id = "unsigned-lab"
name = "Unsigned Lab"
role = "contractor"
purposes = ["research"]
categories = ["face-scan"]
region = "US"
"#,
        expect![[r#"
            record-of-processing:
            + | imaging-ba | Imaging Partners LLC | business associate | Canada | clinical-photography | images | complete |
            + | unsigned-lab | Unsigned Lab | contractor | US | research | face-scan | incomplete: nothing is disclosed |
            + | imaging-ba | US | Canada |
            retention-schedule: unchanged
            consent-notices:
            - IL (BIPA, 740 ILCS 14). Version il-ecb6e6bfe2b4.
            + IL (BIPA, 740 ILCS 14). Version il-6046c8b13b66.
            + - Imaging Partners LLC (business associate, Canada)
            - TX (CUBI, Tex. Bus. \& Com. Code 503.001). Version tx-c35cd7245b55.
            + TX (CUBI, Tex. Bus. \& Com. Code 503.001). Version tx-7a68191abc8b.
            + - Imaging Partners LLC (business associate, Canada)
            - WA (My Health My Data Act, RCW 19.373). Version wa-d88dbbb55408.
            + WA (My Health My Data Act, RCW 19.373). Version wa-218711a85bd0.
            + - Imaging Partners LLC (business associate, Canada)
            - CA (CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.). Version ca-c8eb2c628ebc.
            + CA (CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.). Version ca-875572573da1.
            + - Imaging Partners LLC (business associate, Canada)
            - EU (GDPR Art. 7, 9(2)(a), 13). Version eu-04946ff1d3d5.
            + EU (GDPR Art. 7, 9(2)(a), 13). Version eu-1a41eaecdfa1.
            + - Imaging Partners LLC (business associate, Canada)
            - other (FaceVault baseline). Version other-b3550cb713bd.
            + other (FaceVault baseline). Version other-55e42b71fe70.
            + - Imaging Partners LLC (business associate, Canada)
        "#]],
    );
}

/// A consent on the generated notice of `j`, granting every purpose it offers, with collect and
/// share consents and an electronic signature.
fn draft_on_notice(d: &Documents, j: Jurisdiction, cat: &Catalogue) -> ConsentDraft {
    let n = d.consent_notices.get(j).unwrap();
    ConsentDraft {
        notice: Some(n.notice()),
        purposes: n.purposes.iter().map(|p| cat.grant(p.as_str()).unwrap()).collect(),
        collect: true,
        share: true,
        limit_use: false,
        signature: Some(Signature {
            method: SignatureMethod::Electronic,
            typed_name: "Jane Roe".into(),
            at: instant("2025-01-10T09:00:00Z"),
        }),
        expires: None,
        sale_authorization: None,
    }
}

#[test]
fn each_generated_notice_passes_the_capture_check_of_its_jurisdiction() {
    let extra = "[[purpose]]\nid = \"second-opinion\"\ndescription = \"Send your scan to a second surgeon.\"\nretention = \"90d\"\nshare = true\n";
    let cfg: CatalogueConfig = toml::from_str(&format!("{CATALOGUE}{extra}")).unwrap();
    let cat = Catalogue::from_config(cfg).unwrap();
    let vcfg: VendorConfig = toml::from_str(VENDORS).unwrap();
    let reg = VendorRegistry::from_config(vcfg, &cat).unwrap();
    let d = Documents::generate(&cat, reg.vendors(), &clinic());
    let enabled = cat.iter().filter(|p| p.enabled).count();
    for j in Jurisdiction::ALL {
        let draft = draft_on_notice(&d, j, &cat);
        assert_eq!(draft.purposes.len(), enabled, "{j}: the notice offers every enabled purpose");
        let consent = check_capture(j, &draft, instant("2025-01-10T10:00:00Z"));
        let consent = consent.unwrap_or_else(|e| panic!("{j}: {}", e.refusal(j)));
        assert_eq!(consent.notice().text(), d.consent_notices.get(j).unwrap().text);
    }
    // The notices differ where the law does: Illinois's does not state the California right to
    // limit use, so it does not pass in California.
    let draft = draft_on_notice(&d, Jurisdiction::Il, &cat);
    assert_eq!(
        check_capture(Jurisdiction::Ca, &draft, instant("2025-01-10T10:00:00Z")).err(),
        Some(MissingElement::NoticeLimitUse)
    );
}

#[test]
fn an_illinois_notice_offers_no_sale_purpose() {
    let d = generate("[[purpose]]\nid = \"data-licensing\"\ndescription = \"License your scan.\"\nretention = \"1y\"\nsale = true\n", "");
    let offered =
        |j| d.consent_notices.get(j).unwrap().purposes.iter().any(|p| p.as_str() == "data-licensing");
    assert!(!offered(Jurisdiction::Il));
    assert!(offered(Jurisdiction::Wa));
    assert!(d.consent_notices.get(Jurisdiction::Wa).unwrap().text.contains("separate signed authorization"));
}
