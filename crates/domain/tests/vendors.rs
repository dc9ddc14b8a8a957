//! The vendor registry as tables: contract terms per role, the registry's configuration, and
//! which disclosures are allowed (and as what) or refused (and why).

use expect_test::{expect, Expect};
use facevault_domain::{
    check_capture, check_disclosure, disclose, missing_terms, required_terms, Catalogue, CatalogueConfig,
    ConsentDraft, ConsentRecord, ContractTerm, DataCategory, Jurisdiction, Notice, NoticeCovers, Signature,
    SignatureMethod, SubjectId, Timestamp, Vendor, VendorConfig, VendorRegistry, VendorRole,
};

fn instant(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
}

/// The defaults, vendor disclosure on (naming Acme), and a purpose that sells.
fn catalogue() -> Catalogue {
    let cfg: CatalogueConfig = toml::from_str(
        r#"
        [[purpose]]
        id = "vendor-disclosure"
        enabled = true
        vendor = "Acme 3D Labs"
        [[purpose]]
        id = "data-licensing"
        description = "License your scan to a data buyer."
        retention = "1y"
        sale = true
        "#,
    )
    .unwrap();
    Catalogue::from_config(cfg).unwrap()
}

fn terms(list: &[ContractTerm]) -> String {
    let ids: Vec<String> = list.iter().map(|t| format!("\"{}\"", t.id())).collect();
    format!("[{}]", ids.join(", "))
}

/// The registry used by the disclosure table.
fn registry(cat: &Catalogue) -> VendorRegistry {
    let text = format!(
        r#"
        [[vendor]]
        id = "planner-cloud"
        name = "Planner Cloud Inc."
        role = "service-provider"
        terms = {sp}
        purposes = ["treatment-planning", "outcome-simulation", "vendor-disclosure", "identification-templates"]
        categories = ["face-scan", "measurements"]
        region = "US"

        [[vendor]]
        id = "acme-3d-labs"
        name = "Acme 3D Labs"
        role = "third-party"
        purposes = ["vendor-disclosure", "research", "data-licensing"]
        categories = ["face-scan"]
        region = "EU"
        contact = "privacy@acme.example"

        [[vendor]]
        id = "imaging-ba"
        name = "Imaging Partners LLC"
        role = "business-associate"
        terms = {baa}
        purposes = ["clinical-photography"]
        categories = ["images"]
        region = "US"

        [[vendor]]
        id = "rivera-clinic"
        name = "Dr Rivera Facial Clinic"
        role = "provider"
        purposes = ["treatment-planning", "research"]
        categories = ["face-scan"]
        region = "US-IL"

        [[vendor]]
        id = "half-signed"
        name = "Half Signed Ltd"
        role = "service-provider"
        terms = ["no-sell-or-share", "specified-purposes"]
        purposes = ["treatment-planning"]
        categories = ["face-scan"]
        region = "US"
        "#,
        sp = terms(ContractTerm::CCPA_SERVICE_PROVIDER),
        baa = terms(ContractTerm::HIPAA_BAA),
    );
    let cfg: VendorConfig = toml::from_str(&text).unwrap();
    VendorRegistry::from_config(cfg, cat).unwrap()
}

/// A consent (no jurisdiction-specific elements) granting treatment planning, clinical
/// photography, vendor disclosure and research, with consent to share.
fn consent(cat: &Catalogue, share: bool) -> ConsentRecord {
    let all = NoticeCovers { purposes: true, retention: true, withdrawal: true, limit_use: true };
    let draft = ConsentDraft {
        notice: Some(Notice::new("v1", "We use your 3D facial scan for ...", all)),
        purposes: ["treatment-planning", "clinical-photography", "vendor-disclosure", "research"]
            .iter()
            .map(|p| cat.grant(p).unwrap())
            .collect(),
        collect: true,
        share,
        limit_use: false,
        signature: Some(Signature {
            method: SignatureMethod::Electronic,
            typed_name: "Jane Roe".into(),
            at: instant("2025-01-10T09:00:00Z"),
        }),
        expires: None,
        sale_authorization: None,
    };
    check_capture(Jurisdiction::Other, &draft, instant("2025-01-10T10:00:00Z")).unwrap().into()
}

// ---------------------------------------------------------------------------------------------
// Contract terms

/// One line per role: `ROLE TERMS` where TERMS is `none`, `all` or `all-but-first`; prints
/// what is missing.
fn check_terms(script: &str, expect: Expect) {
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let w: Vec<&str> = line.split_whitespace().collect();
        let role = match w[0] {
            "service-provider" => VendorRole::ServiceProvider,
            "contractor" => VendorRole::Contractor,
            "third-party" => VendorRole::ThirdParty,
            "business-associate" => VendorRole::BusinessAssociate,
            "provider" => VendorRole::Provider,
            r => panic!("unknown role {r}"),
        };
        let required = required_terms(role);
        let held: Vec<ContractTerm> = match w[1] {
            "none" => vec![],
            "all" => required.to_vec(),
            "all-but-first" => required.iter().skip(1).copied().collect(),
            "sp-terms" => ContractTerm::CCPA_SERVICE_PROVIDER.to_vec(),
            t => panic!("unknown terms {t}"),
        };
        let v = Vendor {
            id: facevault_domain::VendorId::new("v").unwrap(),
            name: "V".into(),
            role,
            terms: held.into_iter().collect(),
            purposes: vec![],
            categories: Default::default(),
            region: "US".into(),
            contact: None,
        };
        let missing = missing_terms(&v);
        let shown: Vec<&str> = missing.iter().map(|t| t.id()).collect();
        out += &format!("{line}: missing {} [{}]\n", missing.len(), shown.join(" "));
    }
    expect.assert_eq(&out);
}

#[test]
fn each_role_requires_its_contract_terms() {
    check_terms(
        "service-provider none
         service-provider all-but-first
         service-provider all
         contractor sp-terms
         contractor all
         business-associate none
         business-associate sp-terms
         business-associate all
         third-party none",
        expect![[r#"
            service-provider none: missing 11 [no-sell-or-share specified-purposes no-use-outside-purposes no-use-outside-relationship no-combining comply-with-ccpa compliance-rights notify-if-unable stop-and-remediate consumer-requests subcontractor-terms]
            service-provider all-but-first: missing 1 [no-sell-or-share]
            service-provider all: missing 0 []
            contractor sp-terms: missing 1 [contractor-certification]
            contractor all: missing 0 []
            business-associate none: missing 11 [baa-permitted-uses baa-no-other-use baa-safeguards baa-report-incidents baa-subcontractors baa-access baa-amendment baa-accounting baa-books-to-hhs baa-return-or-destroy baa-termination]
            business-associate sp-terms: missing 11 [baa-permitted-uses baa-no-other-use baa-safeguards baa-report-incidents baa-subcontractors baa-access baa-amendment baa-accounting baa-books-to-hhs baa-return-or-destroy baa-termination]
            business-associate all: missing 0 []
            third-party none: missing 0 []
        "#]],
    );
}

#[test]
fn every_term_names_its_source() {
    let all: Vec<String> = [ContractTerm::CCPA_CONTRACTOR, ContractTerm::HIPAA_BAA]
        .concat()
        .iter()
        .map(|t| format!("{t}\n"))
        .collect();
    expect![[r#"
        no-sell-or-share (CCPA regs §7051(a)(1))
        specified-purposes (CCPA regs §7051(a)(2))
        no-use-outside-purposes (CCPA regs §7051(a)(3), (4))
        no-use-outside-relationship (CCPA regs §7051(a)(5))
        no-combining (CCPA regs §7051(a)(6))
        comply-with-ccpa (CCPA regs §7051(a)(7))
        compliance-rights (CCPA regs §7051(a)(8))
        notify-if-unable (CCPA regs §7051(a)(9))
        stop-and-remediate (CCPA regs §7051(a)(10))
        consumer-requests (CCPA regs §7051(a)(11))
        subcontractor-terms (CCPA 1798.140(ag)(2) (check))
        contractor-certification (CCPA 1798.140(j)(1) (check))
        baa-permitted-uses (45 CFR 164.504(e)(2)(i))
        baa-no-other-use (45 CFR 164.504(e)(2)(ii)(A))
        baa-safeguards (45 CFR 164.504(e)(2)(ii)(B))
        baa-report-incidents (45 CFR 164.504(e)(2)(ii)(C), 164.314(a)(2)(i)(C))
        baa-subcontractors (45 CFR 164.504(e)(2)(ii)(D))
        baa-access (45 CFR 164.504(e)(2)(ii)(E))
        baa-amendment (45 CFR 164.504(e)(2)(ii)(F))
        baa-accounting (45 CFR 164.504(e)(2)(ii)(G))
        baa-books-to-hhs (45 CFR 164.504(e)(2)(ii)(I))
        baa-return-or-destroy (45 CFR 164.504(e)(2)(ii)(J))
        baa-termination (45 CFR 164.504(e)(2)(iii))
    "#]]
    .assert_eq(&all.concat());
    // The configuration's names are the ids.
    for t in [ContractTerm::CCPA_CONTRACTOR, ContractTerm::HIPAA_BAA].concat() {
        let parsed: ContractTerm = parse_term(t.id());
        assert_eq!(parsed, t);
    }
}

/// Parses a term id the way configuration does (a TOML string).
fn parse_term(id: &str) -> ContractTerm {
    #[derive(serde::Deserialize)]
    struct T {
        t: ContractTerm,
    }
    toml::from_str::<T>(&format!("t = \"{id}\"")).unwrap().t
}

// ---------------------------------------------------------------------------------------------
// Registry configuration

fn check_registry(toml_text: &str, expect: Expect) {
    let cat = catalogue();
    let actual = match toml::from_str::<VendorConfig>(toml_text) {
        Err(e) => format!("config error: {}", e.message()),
        Ok(cfg) => match VendorRegistry::from_config(cfg, &cat) {
            Err(e) => format!("registry error: {e}"),
            Ok(r) => r
                .vendors()
                .iter()
                .map(|v| {
                    let cats: Vec<&str> = v.categories.iter().map(|c| c.id()).collect();
                    let purposes: Vec<&str> = v.purposes.iter().map(|p| p.as_str()).collect();
                    format!(
                        "{} ({}, {}, {}): purposes {}; categories {}; missing {} terms\n",
                        v.id,
                        v.name,
                        v.role,
                        v.region,
                        purposes.join(" "),
                        cats.join(" "),
                        missing_terms(v).len()
                    )
                })
                .collect(),
        },
    };
    expect.assert_eq(&actual);
}

const MINIMAL: &str =
    "name = \"N\"\nrole = \"third-party\"\npurposes = [\"research\"]\ncategories = [\"face-scan\"]\nregion = \"US\"";

#[test]
fn registry_config_sorts_by_id_and_refuses_bad_vendors() {
    check_registry(
        &format!("[[vendor]]\nid = \"zeta\"\n{MINIMAL}\n[[vendor]]\nid = \"alpha\"\nname = \"A\"\nrole = \"contractor\"\npurposes = [\"treatment-planning\"]\ncategories = [\"measurements\", \"face-scan\"]\nregion = \"EU\""),
        expect![[r#"
            alpha (A, contractor, EU): purposes treatment-planning; categories face-scan measurements; missing 12 terms
            zeta (N, third party, US): purposes research; categories face-scan; missing 0 terms
        "#]],
    );
    check_registry(
        &format!("[[vendor]]\nid = \"a\"\n{MINIMAL}\n[[vendor]]\nid = \"a\"\n{MINIMAL}"),
        expect![[r#"registry error: vendor a is configured twice"#]],
    );
    check_registry(
        &format!("[[vendor]]\nid = \"Acme Labs\"\n{MINIMAL}"),
        expect![[r#"config error: bad vendor id "Acme Labs": use 1-64 characters a-z, 0-9 and '-'"#]],
    );
    check_registry(
        "[[vendor]]\nid = \"a\"\nname = \"N\"\nrole = \"third-party\"\npurposes = [\"gossip\"]\ncategories = [\"face-scan\"]\nregion = \"US\"",
        expect![[r#"registry error: vendor a: unknown purpose gossip"#]],
    );
    check_registry(
        "[[vendor]]\nid = \"a\"\nname = \" \"\nrole = \"third-party\"\npurposes = [\"research\"]\ncategories = [\"face-scan\"]\nregion = \"US\"",
        expect![[r#"registry error: vendor a: field name must not be empty"#]],
    );
    check_registry(
        "[[vendor]]\nid = \"a\"\nname = \"N\"\nrole = \"third-party\"\npurposes = [\"research\"]\ncategories = []\nregion = \"US\"",
        expect![[r#"registry error: vendor a: field categories must not be empty"#]],
    );
    check_registry(
        &format!("[[vendor]]\nid = \"a\"\n{MINIMAL}\nterms = [\"no-selling\"]"),
        expect![[
            r#"config error: unknown variant `no-selling`, expected one of `no-sell-or-share`, `specified-purposes`, `no-use-outside-purposes`, `no-use-outside-relationship`, `no-combining`, `comply-with-ccpa`, `compliance-rights`, `notify-if-unable`, `stop-and-remediate`, `consumer-requests`, `subcontractor-terms`, `contractor-certification`, `baa-permitted-uses`, `baa-no-other-use`, `baa-safeguards`, `baa-report-incidents`, `baa-subcontractors`, `baa-access`, `baa-amendment`, `baa-accounting`, `baa-books-to-hhs`, `baa-return-or-destroy`, `baa-termination`"#
        ]],
    );
    check_registry(
        "[[vendor]]\nid = \"a\"\nname = \"N\"\nrole = \"partner\"\npurposes = [\"research\"]\ncategories = [\"face-scan\"]\nregion = \"US\"",
        expect!["config error: unknown variant `partner`, expected one of `service-provider`, `contractor`, `third-party`, `business-associate`, `provider`"],
    );
    check_registry("", expect![[""]]);
}

// ---------------------------------------------------------------------------------------------
// Disclosures

/// One disclosure per line: `VENDOR PURPOSE CATEGORY [flags]`, flags `opted-out`,
/// `no-consent`, `no-share-consent`, `withdrawn` (at 2025-03-01, before the disclosure).
/// Disclosures happen at 2025-06-01.
fn check_disclosures(script: &str, expect: Expect) {
    let cat = catalogue();
    let reg = registry(&cat);
    let at = instant("2025-06-01T12:00:00Z");
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let w: Vec<&str> = line.split_whitespace().collect();
        let vendor = reg.get(w[0]).unwrap_or_else(|| panic!("unknown vendor {}", w[0]));
        let purpose = cat.get(w[1]).unwrap_or_else(|| panic!("unknown purpose {}", w[1]));
        let category = DataCategory::ALL
            .into_iter()
            .find(|c| c.id() == w[2])
            .unwrap_or_else(|| panic!("unknown category {}", w[2]));
        let flags = &w[3..];
        let mut record = consent(&cat, !flags.contains(&"no-share-consent"));
        if flags.contains(&"withdrawn") {
            record.withdraw(instant("2025-03-01T00:00:00Z"));
        }
        let consent = (!flags.contains(&"no-consent")).then_some(&record);
        let verdict =
            match check_disclosure(vendor, purpose, category, consent, flags.contains(&"opted-out"), at) {
                Ok(kind) => format!("allowed as {kind}"),
                Err(e) => format!("refused: {e} [{}]", e.source()),
            };
        out += &format!("{line}: {verdict}\n");
    }
    expect.assert_eq(&out);
}

#[test]
fn opt_out_refuses_sale_and_sharing_but_not_a_service_provider_for_treatment() {
    check_disclosures(
        "planner-cloud treatment-planning face-scan
         planner-cloud treatment-planning face-scan opted-out
         imaging-ba clinical-photography images opted-out
         acme-3d-labs vendor-disclosure face-scan
         acme-3d-labs vendor-disclosure face-scan opted-out
         acme-3d-labs research face-scan
         acme-3d-labs research face-scan opted-out
         acme-3d-labs data-licensing face-scan opted-out",
        expect![[r#"
            planner-cloud treatment-planning face-scan: allowed as business-purpose disclosure to a service provider
            planner-cloud treatment-planning face-scan opted-out: allowed as business-purpose disclosure to a service provider
            imaging-ba clinical-photography images opted-out: allowed as business-purpose disclosure to a business associate
            acme-3d-labs vendor-disclosure face-scan: allowed as share
            acme-3d-labs vendor-disclosure face-scan opted-out: refused: the subject opted out of sale and sharing, and this disclosure to acme-3d-labs is a share [CCPA 1798.120, 1798.135]
            acme-3d-labs research face-scan: allowed as share
            acme-3d-labs research face-scan opted-out: refused: the subject opted out of sale and sharing, and this disclosure to acme-3d-labs is a share [CCPA 1798.120, 1798.135]
            acme-3d-labs data-licensing face-scan opted-out: refused: the subject opted out of sale and sharing, and this disclosure to acme-3d-labs is a sale [CCPA 1798.120, 1798.135]
        "#]],
    );
}

#[test]
fn a_health_care_provider_receives_for_treatment_only_with_the_share_consent_even_after_an_opt_out() {
    check_disclosures(
        "rivera-clinic treatment-planning face-scan
         rivera-clinic treatment-planning face-scan opted-out
         rivera-clinic treatment-planning face-scan no-share-consent
         rivera-clinic treatment-planning face-scan withdrawn
         rivera-clinic research face-scan",
        expect![[r#"
            rivera-clinic treatment-planning face-scan: allowed as treatment disclosure to a health care provider
            rivera-clinic treatment-planning face-scan opted-out: allowed as treatment disclosure to a health care provider
            rivera-clinic treatment-planning face-scan no-share-consent: refused: the subject did not consent to sharing, and this disclosure to rivera-clinic is a treatment disclosure to a health care provider [BIPA 740 ILCS 14/15(d)(1); MHMDA RCW 19.373.030(1)(b)]
            rivera-clinic treatment-planning face-scan withdrawn: refused: consent does not cover purpose treatment-planning: consent withdrawn at 2025-03-01 00:00:00 UTC [BIPA 740 ILCS 14/15(d)(1); GDPR Art. 9(2)(a)]
            rivera-clinic research face-scan: refused: rivera-clinic is a health care provider: only a care purpose goes to one, not research [HIPAA 45 CFR 164.506(c)(2)]
        "#]],
    );
}

#[test]
fn a_registry_may_not_use_the_reserved_recipients() {
    for id in ["clinic", "subject"] {
        let text = format!("[[vendor]]\nid = \"{id}\"\n{MINIMAL}");
        let err = facevault_domain::settings::vendor_registry(&text, &catalogue()).unwrap_err().to_string();
        assert!(err.contains("reserved"), "{id}: {err}");
    }
}

#[test]
fn disclosure_outside_the_contract_or_the_consent_is_refused() {
    check_disclosures(
        "planner-cloud research face-scan
         planner-cloud treatment-planning images
         planner-cloud vendor-disclosure face-scan
         planner-cloud identification-templates face-scan
         half-signed treatment-planning face-scan
         planner-cloud treatment-planning face-scan no-consent
         planner-cloud treatment-planning face-scan withdrawn
         planner-cloud outcome-simulation face-scan
         acme-3d-labs vendor-disclosure face-scan no-share-consent
         acme-3d-labs research face-scan no-share-consent
         acme-3d-labs data-licensing face-scan",
        expect![[r#"
            planner-cloud research face-scan: refused: vendor planner-cloud: contract does not allow purpose research [CCPA regs §7051(a)(2),(3); 45 CFR 164.504(e)(2)(i)]
            planner-cloud treatment-planning images: refused: vendor planner-cloud: contract does not allow data category images [CCPA regs §7051(a)(2),(3); 45 CFR 164.504(e)(2)(i)]
            planner-cloud vendor-disclosure face-scan: refused: purpose vendor-disclosure names recipient "Acme 3D Labs", not vendor planner-cloud [BIPA 740 ILCS 14/15(d)(1); MHMDA RCW 19.373.030(1)(b)]
            planner-cloud identification-templates face-scan: refused: purpose identification-templates is disabled in this clinic's catalogue [FaceVault catalogue]
            half-signed treatment-planning face-scan: refused: vendor half-signed (service provider): contract lacks no-use-outside-purposes (CCPA regs §7051(a)(3), (4)), no-use-outside-relationship (CCPA regs §7051(a)(5)), no-combining (CCPA regs §7051(a)(6)), comply-with-ccpa (CCPA regs §7051(a)(7)), compliance-rights (CCPA regs §7051(a)(8)), notify-if-unable (CCPA regs §7051(a)(9)), stop-and-remediate (CCPA regs §7051(a)(10)), consumer-requests (CCPA regs §7051(a)(11)), subcontractor-terms (CCPA 1798.140(ag)(2) (check)) [CCPA 1798.140(ag); CCPA regs §7051]
            planner-cloud treatment-planning face-scan no-consent: refused: no consent on record for the subject [BIPA 740 ILCS 14/15(d)(1); GDPR Art. 9(2)(a)]
            planner-cloud treatment-planning face-scan withdrawn: refused: consent does not cover purpose treatment-planning: consent withdrawn at 2025-03-01 00:00:00 UTC [BIPA 740 ILCS 14/15(d)(1); GDPR Art. 9(2)(a)]
            planner-cloud outcome-simulation face-scan: refused: consent does not cover purpose outcome-simulation: the purpose is not granted, or lacks its share consent or sale authorization [BIPA 740 ILCS 14/15(d)(1); GDPR Art. 9(2)(a)]
            acme-3d-labs vendor-disclosure face-scan no-share-consent: refused: consent does not cover purpose vendor-disclosure: the purpose is not granted, or lacks its share consent or sale authorization [BIPA 740 ILCS 14/15(d)(1); GDPR Art. 9(2)(a)]
            acme-3d-labs research face-scan no-share-consent: refused: the subject did not consent to sharing, and this disclosure to acme-3d-labs is a share [BIPA 740 ILCS 14/15(d)(1); MHMDA RCW 19.373.030(1)(b)]
            acme-3d-labs data-licensing face-scan: refused: consent does not cover purpose data-licensing: the purpose is not granted, or lacks its share consent or sale authorization [BIPA 740 ILCS 14/15(d)(1); GDPR Art. 9(2)(a)]
        "#]],
    );
}

#[test]
fn an_allowed_disclosure_is_recorded_and_a_refused_one_is_not() {
    let cat = catalogue();
    let reg = registry(&cat);
    let record = consent(&cat, true);
    let at = instant("2025-06-01T12:00:00Z");
    let subject = SubjectId("s-7f3a".into());
    let vendor = reg.get("planner-cloud").unwrap();
    let purpose = cat.get("treatment-planning").unwrap();
    let d = disclose(&subject, vendor, purpose, DataCategory::Measurements, Some(&record), true, at).unwrap();
    assert_eq!(
        format!("{} {} {} {} {} {}", d.subject(), d.vendor(), d.purpose(), d.category(), d.kind(), d.at()),
        "s-7f3a planner-cloud treatment-planning measurements business-purpose disclosure to a service provider 2025-06-01 12:00:00 UTC"
    );
    let acme = reg.get("acme-3d-labs").unwrap();
    let research = cat.get("research").unwrap();
    assert!(disclose(&subject, acme, research, DataCategory::FaceScan, Some(&record), true, at).is_err());
}
