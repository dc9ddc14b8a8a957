//! The FHIR R4 Consent export: the resource's JSON for an active, a withdrawn, an expired
//! consent and one without consent to share. The validation against a FHIR library is
//! tests/interop/test_fhir.py.

use expect_test::{expect, Expect};
use facevault_domain::fhir::consent_resource;
use facevault_domain::{
    check_capture, Catalogue, CatalogueConfig, ConsentDraft, ConsentRecord, Jurisdiction, Notice,
    NoticeCovers, Signature, SignatureMethod, Timestamp,
};

const TYPED_NAME: &str = "Q. Patient";
const SUBJECT: &str = "Patient/00112233445566778899aabbccddeeff";
const CONSENT_ID: &str = "ffeeddccbbaa99887766554433221100";

fn instant(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
}

/// A consent signed 2026-01-05 for `purposes` (with their default retention), expiring on
/// `expires` if given, checked for `jurisdiction`.
fn record(
    jurisdiction: Jurisdiction,
    purposes: &[&str],
    share: bool,
    expires: Option<&str>,
) -> ConsentRecord {
    let cfg: CatalogueConfig = toml::from_str(
        "[[purpose]]\nid = \"vendor-disclosure\"\nenabled = true\nvendor = \"Acme Aligners\"\n",
    )
    .unwrap();
    let cat = Catalogue::from_config(cfg).unwrap();
    let all = NoticeCovers { purposes: true, retention: true, withdrawal: true, limit_use: true };
    let draft = ConsentDraft {
        notice: Some(Notice::new("il-2026-01", "We use your 3D facial scan to plan your care.", all)),
        purposes: purposes.iter().map(|p| cat.grant(p).unwrap()).collect(),
        collect: true,
        share,
        limit_use: true,
        signature: Some(Signature {
            method: SignatureMethod::Electronic,
            typed_name: TYPED_NAME.into(),
            at: instant("2026-01-05T10:00:00Z"),
        }),
        expires: expires.map(|e| e.parse().unwrap()),
        sale_authorization: None,
    };
    check_capture(jurisdiction, &draft, instant("2026-01-05T10:00:00Z")).unwrap().into()
}

/// The resource at `at`, pretty-printed; it never holds the typed signature name.
fn check(record: &ConsentRecord, organization: Option<&str>, at: &str, expect: Expect) {
    let v = consent_resource(record, CONSENT_ID, SUBJECT, organization, instant(at));
    let text = serde_json::to_string_pretty(&sorted(&v)).unwrap();
    assert!(!text.contains(TYPED_NAME), "typed name leaked: {text}");
    expect.assert_eq(&format!("{text}\n"));
}

/// `v` with every object's keys in sorted order, whether or not serde_json's `preserve_order`
/// is on (features unify across a workspace build, so it may be).
fn sorted(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            serde_json::Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Only the elements that differ between cases: status, period, extensions, nested provisions.
fn check_summary(record: &ConsentRecord, at: &str, expect: Expect) {
    let v = consent_resource(record, CONSENT_ID, SUBJECT, None, instant(at));
    let v = sorted(&v);
    let text = serde_json::to_string(&v).unwrap();
    assert!(!text.contains(TYPED_NAME), "typed name leaked: {text}");
    let p = &v["provision"];
    let codes = |actions: &serde_json::Value| {
        actions
            .as_array()
            .map(|a| a.iter().map(|c| c["coding"][0]["code"].as_str().unwrap_or("?")).collect::<Vec<_>>())
            .unwrap_or_default()
            .join(",")
    };
    let mut out = format!(
        "status {}\nperiod {}\nroot {} [{}]\n",
        v["status"],
        p["period"],
        p["type"],
        codes(&p["action"])
    );
    for e in v["extension"].as_array().unwrap() {
        let name = e["url"].as_str().unwrap().rsplit('/').next().unwrap();
        let value = e.as_object().unwrap().iter().find(|(k, _)| k.starts_with("value")).map(|(_, v)| v);
        out += &format!("ext {name} = {}\n", value.map_or("(complex)".into(), |v| v.to_string()));
    }
    for n in p["provision"].as_array().unwrap() {
        out += &format!(
            "  {} [{}] {} {}\n",
            n["type"],
            codes(&n["action"]),
            n["purpose"][0]["code"],
            n["extension"][0]["valueDuration"]
        );
    }
    expect.assert_eq(&out);
}

#[test]
fn active_consent_is_a_permit_with_a_nested_permit_per_purpose() {
    let r = record(Jurisdiction::Il, &["treatment-planning", "vendor-disclosure"], true, None);
    check(
        &r,
        Some("Organization/clinic-1"),
        "2026-03-01T00:00:00Z",
        expect![[r#"
            {
              "category": [
                {
                  "coding": [
                    {
                      "code": "59284-0",
                      "display": "Patient Consent",
                      "system": "http://loinc.org"
                    }
                  ],
                  "text": "Biometric data consent"
                }
              ],
              "dateTime": "2026-01-05T10:00:00Z",
              "extension": [
                {
                  "url": "https://facevault.example/fhir/StructureDefinition/jurisdiction",
                  "valueCode": "IL"
                },
                {
                  "url": "https://facevault.example/fhir/StructureDefinition/signature-method",
                  "valueCode": "electronic"
                },
                {
                  "url": "https://facevault.example/fhir/StructureDefinition/limit-use",
                  "valueBoolean": true
                }
              ],
              "id": "ffeeddccbbaa99887766554433221100",
              "identifier": [
                {
                  "system": "https://facevault.example/fhir/sid/consent",
                  "value": "ffeeddccbbaa99887766554433221100"
                }
              ],
              "organization": [
                {
                  "reference": "Organization/clinic-1"
                }
              ],
              "patient": {
                "reference": "Patient/00112233445566778899aabbccddeeff"
              },
              "performer": [
                {
                  "reference": "Patient/00112233445566778899aabbccddeeff"
                }
              ],
              "policyRule": {
                "coding": [
                  {
                    "code": "OPTIN",
                    "display": "opt-in",
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode"
                  }
                ]
              },
              "provision": {
                "action": [
                  {
                    "coding": [
                      {
                        "code": "collect",
                        "display": "Collect",
                        "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                      }
                    ]
                  },
                  {
                    "coding": [
                      {
                        "code": "use",
                        "display": "Use",
                        "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                      }
                    ]
                  },
                  {
                    "coding": [
                      {
                        "code": "disclose",
                        "display": "Disclose",
                        "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                      }
                    ]
                  }
                ],
                "period": {
                  "start": "2026-01-05T10:00:00Z"
                },
                "provision": [
                  {
                    "action": [
                      {
                        "coding": [
                          {
                            "code": "collect",
                            "display": "Collect",
                            "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                          }
                        ]
                      },
                      {
                        "coding": [
                          {
                            "code": "use",
                            "display": "Use",
                            "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                          }
                        ]
                      }
                    ],
                    "extension": [
                      {
                        "url": "https://facevault.example/fhir/StructureDefinition/retention-period",
                        "valueDuration": {
                          "code": "a",
                          "system": "http://unitsofmeasure.org",
                          "unit": "years",
                          "value": 3
                        }
                      }
                    ],
                    "purpose": [
                      {
                        "code": "treatment-planning",
                        "display": "Plan your surgical treatment from your 3D facial scan.",
                        "system": "https://facevault.example/fhir/CodeSystem/purpose"
                      },
                      {
                        "code": "TREAT",
                        "display": "treatment",
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason"
                      }
                    ],
                    "type": "permit"
                  },
                  {
                    "action": [
                      {
                        "coding": [
                          {
                            "code": "collect",
                            "display": "Collect",
                            "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                          }
                        ]
                      },
                      {
                        "coding": [
                          {
                            "code": "use",
                            "display": "Use",
                            "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                          }
                        ]
                      },
                      {
                        "coding": [
                          {
                            "code": "disclose",
                            "display": "Disclose",
                            "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                          }
                        ]
                      }
                    ],
                    "actor": [
                      {
                        "reference": {
                          "display": "Acme Aligners"
                        },
                        "role": {
                          "coding": [
                            {
                              "code": "IRCP",
                              "display": "information recipient",
                              "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
                            }
                          ]
                        }
                      }
                    ],
                    "extension": [
                      {
                        "url": "https://facevault.example/fhir/StructureDefinition/retention-period",
                        "valueDuration": {
                          "code": "a",
                          "system": "http://unitsofmeasure.org",
                          "unit": "years",
                          "value": 1
                        }
                      }
                    ],
                    "purpose": [
                      {
                        "code": "vendor-disclosure",
                        "display": "Disclose your scan to a named vendor.",
                        "system": "https://facevault.example/fhir/CodeSystem/purpose"
                      }
                    ],
                    "type": "permit"
                  }
                ],
                "purpose": [
                  {
                    "code": "treatment-planning",
                    "display": "Plan your surgical treatment from your 3D facial scan.",
                    "system": "https://facevault.example/fhir/CodeSystem/purpose"
                  },
                  {
                    "code": "TREAT",
                    "display": "treatment",
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason"
                  },
                  {
                    "code": "vendor-disclosure",
                    "display": "Disclose your scan to a named vendor.",
                    "system": "https://facevault.example/fhir/CodeSystem/purpose"
                  }
                ],
                "type": "permit"
              },
              "resourceType": "Consent",
              "scope": {
                "coding": [
                  {
                    "code": "patient-privacy",
                    "display": "Privacy Consent",
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope"
                  }
                ]
              },
              "sourceAttachment": {
                "contentType": "text/plain; charset=utf-8",
                "data": "V2UgdXNlIHlvdXIgM0QgZmFjaWFsIHNjYW4gdG8gcGxhbiB5b3VyIGNhcmUu",
                "extension": [
                  {
                    "url": "https://facevault.example/fhir/StructureDefinition/notice-sha256",
                    "valueString": "c15e9ef0101548f18c6964795a2c935add587cea9a48f0a31e33f3373671bdbe"
                  }
                ],
                "size": 45,
                "title": "il-2026-01"
              },
              "status": "active"
            }
        "#]],
    );
}

#[test]
fn withdrawn_consent_is_inactive_and_ends_at_the_withdrawal() {
    let mut r = record(Jurisdiction::Eu, &["treatment-planning", "research"], false, Some("2028-01-01"));
    r.withdraw(instant("2026-06-30T08:15:00.250Z"));
    // Before the withdrawal it was active; the period ends at the withdrawal either way.
    check_summary(
        &r,
        "2026-06-30T08:00:00Z",
        expect![[r#"
        status "active"
        period {"end":"2026-06-30T08:15:00.250Z","start":"2026-01-05T10:00:00Z"}
        root "permit" [collect,use]
        ext jurisdiction = "EU"
        ext signature-method = "electronic"
        ext limit-use = true
        ext withdrawn = "2026-06-30T08:15:00.250Z"
          "permit" [collect,use] "treatment-planning" {"code":"a","system":"http://unitsofmeasure.org","unit":"years","value":3}
          "permit" [collect,use] "research" {"code":"a","system":"http://unitsofmeasure.org","unit":"years","value":3}
          "deny" [disclose] null null
    "#]],
    );
    check_summary(
        &r,
        "2026-06-30T08:15:00.250Z",
        expect![[r#"
        status "inactive"
        period {"end":"2026-06-30T08:15:00.250Z","start":"2026-01-05T10:00:00Z"}
        root "permit" [collect,use]
        ext jurisdiction = "EU"
        ext signature-method = "electronic"
        ext limit-use = true
        ext withdrawn = "2026-06-30T08:15:00.250Z"
          "permit" [collect,use] "treatment-planning" {"code":"a","system":"http://unitsofmeasure.org","unit":"years","value":3}
          "permit" [collect,use] "research" {"code":"a","system":"http://unitsofmeasure.org","unit":"years","value":3}
          "deny" [disclose] null null
    "#]],
    );
}

#[test]
fn expired_consent_is_inactive_and_ends_the_day_before_expiry() {
    let r = record(Jurisdiction::Ca, &["outcome-simulation"], true, Some("2027-01-05"));
    check_summary(
        &r,
        "2027-01-04T23:59:59Z",
        expect![[r#"
        status "active"
        period {"end":"2027-01-04","start":"2026-01-05T10:00:00Z"}
        root "permit" [collect,use,disclose]
        ext jurisdiction = "CA"
        ext signature-method = "electronic"
        ext limit-use = true
          "permit" [collect,use] "outcome-simulation" {"code":"a","system":"http://unitsofmeasure.org","unit":"years","value":1}
    "#]],
    );
    check_summary(
        &r,
        "2027-01-05T00:00:00Z",
        expect![[r#"
        status "inactive"
        period {"end":"2027-01-04","start":"2026-01-05T10:00:00Z"}
        root "permit" [collect,use,disclose]
        ext jurisdiction = "CA"
        ext signature-method = "electronic"
        ext limit-use = true
          "permit" [collect,use] "outcome-simulation" {"code":"a","system":"http://unitsofmeasure.org","unit":"years","value":1}
    "#]],
    );
}

#[test]
fn a_withdrawal_after_the_expiry_leaves_the_period_ending_before_expiry() {
    let mut r = record(Jurisdiction::Ca, &["outcome-simulation"], true, Some("2027-01-05"));
    r.withdraw(instant("2027-02-01T09:00:00Z"));
    let v = consent_resource(&r, CONSENT_ID, SUBJECT, None, instant("2027-03-01T00:00:00Z"));
    assert_eq!(v["status"], "inactive");
    assert_eq!(v["provision"]["period"]["end"], "2027-01-04");
}

#[test]
fn consent_without_share_denies_disclosure() {
    let r = record(Jurisdiction::Ca, &["post-op-tracking", "ai-model-training"], false, None);
    check(
        &r,
        None,
        "2026-03-01T00:00:00Z",
        expect![[r#"
        {
          "category": [
            {
              "coding": [
                {
                  "code": "59284-0",
                  "display": "Patient Consent",
                  "system": "http://loinc.org"
                }
              ],
              "text": "Biometric data consent"
            }
          ],
          "dateTime": "2026-01-05T10:00:00Z",
          "extension": [
            {
              "url": "https://facevault.example/fhir/StructureDefinition/jurisdiction",
              "valueCode": "CA"
            },
            {
              "url": "https://facevault.example/fhir/StructureDefinition/signature-method",
              "valueCode": "electronic"
            },
            {
              "url": "https://facevault.example/fhir/StructureDefinition/limit-use",
              "valueBoolean": true
            }
          ],
          "id": "ffeeddccbbaa99887766554433221100",
          "identifier": [
            {
              "system": "https://facevault.example/fhir/sid/consent",
              "value": "ffeeddccbbaa99887766554433221100"
            }
          ],
          "patient": {
            "reference": "Patient/00112233445566778899aabbccddeeff"
          },
          "performer": [
            {
              "reference": "Patient/00112233445566778899aabbccddeeff"
            }
          ],
          "policyRule": {
            "coding": [
              {
                "code": "OPTIN",
                "display": "opt-in",
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode"
              }
            ]
          },
          "provision": {
            "action": [
              {
                "coding": [
                  {
                    "code": "collect",
                    "display": "Collect",
                    "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                  }
                ]
              },
              {
                "coding": [
                  {
                    "code": "use",
                    "display": "Use",
                    "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                  }
                ]
              }
            ],
            "period": {
              "start": "2026-01-05T10:00:00Z"
            },
            "provision": [
              {
                "action": [
                  {
                    "coding": [
                      {
                        "code": "collect",
                        "display": "Collect",
                        "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                      }
                    ]
                  },
                  {
                    "coding": [
                      {
                        "code": "use",
                        "display": "Use",
                        "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                      }
                    ]
                  }
                ],
                "extension": [
                  {
                    "url": "https://facevault.example/fhir/StructureDefinition/retention-period",
                    "valueDuration": {
                      "code": "a",
                      "system": "http://unitsofmeasure.org",
                      "unit": "years",
                      "value": 3
                    }
                  }
                ],
                "purpose": [
                  {
                    "code": "post-op-tracking",
                    "display": "Compare scans after surgery to follow your recovery.",
                    "system": "https://facevault.example/fhir/CodeSystem/purpose"
                  },
                  {
                    "code": "TREAT",
                    "display": "treatment",
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason"
                  }
                ],
                "type": "permit"
              },
              {
                "action": [
                  {
                    "coding": [
                      {
                        "code": "collect",
                        "display": "Collect",
                        "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                      }
                    ]
                  },
                  {
                    "coding": [
                      {
                        "code": "use",
                        "display": "Use",
                        "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                      }
                    ]
                  }
                ],
                "extension": [
                  {
                    "url": "https://facevault.example/fhir/StructureDefinition/retention-period",
                    "valueDuration": {
                      "code": "a",
                      "system": "http://unitsofmeasure.org",
                      "unit": "years",
                      "value": 1
                    }
                  }
                ],
                "purpose": [
                  {
                    "code": "ai-model-training",
                    "display": "Use your scan to train or evaluate AI models.",
                    "system": "https://facevault.example/fhir/CodeSystem/purpose"
                  }
                ],
                "type": "permit"
              },
              {
                "action": [
                  {
                    "coding": [
                      {
                        "code": "disclose",
                        "display": "Disclose",
                        "system": "http://terminology.hl7.org/CodeSystem/consentaction"
                      }
                    ]
                  }
                ],
                "type": "deny"
              }
            ],
            "purpose": [
              {
                "code": "post-op-tracking",
                "display": "Compare scans after surgery to follow your recovery.",
                "system": "https://facevault.example/fhir/CodeSystem/purpose"
              },
              {
                "code": "TREAT",
                "display": "treatment",
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason"
              },
              {
                "code": "ai-model-training",
                "display": "Use your scan to train or evaluate AI models.",
                "system": "https://facevault.example/fhir/CodeSystem/purpose"
              }
            ],
            "type": "permit"
          },
          "resourceType": "Consent",
          "scope": {
            "coding": [
              {
                "code": "patient-privacy",
                "display": "Privacy Consent",
                "system": "http://terminology.hl7.org/CodeSystem/consentscope"
              }
            ]
          },
          "sourceAttachment": {
            "contentType": "text/plain; charset=utf-8",
            "data": "V2UgdXNlIHlvdXIgM0QgZmFjaWFsIHNjYW4gdG8gcGxhbiB5b3VyIGNhcmUu",
            "extension": [
              {
                "url": "https://facevault.example/fhir/StructureDefinition/notice-sha256",
                "valueString": "c15e9ef0101548f18c6964795a2c935add587cea9a48f0a31e33f3373671bdbe"
              }
            ],
            "size": 45,
            "title": "il-2026-01"
          },
          "status": "active"
        }
    "#]],
    );
}

#[test]
fn a_consent_id_that_is_not_a_fhir_id_stays_an_identifier_only() {
    let r = record(Jurisdiction::Other, &["research"], false, None);
    let v = consent_resource(&r, "consent 7/x", SUBJECT, None, instant("2026-03-01T00:00:00Z"));
    assert!(v.get("id").is_none(), "{v}");
    assert_eq!(v["identifier"][0]["value"], "consent 7/x");
    let v = consent_resource(&r, CONSENT_ID, SUBJECT, None, instant("2026-03-01T00:00:00Z"));
    assert_eq!(v["id"], CONSENT_ID);
    assert!(v.get("organization").is_none(), "{v}");
}
