//! The clinical endpoints in process (`oneshot`) over a real vault (SQLite, blob files, the SQL
//! audit log in a temporary directory): analyses stored as derivatives with their lineage,
//! consents recorded over HTTP and checked per jurisdiction, restrictions and legal holds, each
//! with the roles the CLI allows.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::common::{self, get, json_req, post_empty, send, small_ply, Fixture, Reply, Subjects, Who};

/// Patients A and B in California, each with a scan.
async fn fixture(name: &str) -> Fixture {
    let subjects = Subjects { jurisdiction: "US-CA", b_scanned: true };
    common::fixture(&format!("clinical-{name}"), subjects, |_| ()).await
}

fn code(r: &Reply) -> (StatusCode, Option<&str>) {
    (r.status, r.body["code"].as_str())
}

// ---------------------------------------------------------------- analyses

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surgeons_symmetry_analysis_stores_a_report_and_a_mesh_derived_from_the_scan() {
    let f = fixture("symmetry").await;
    let w = f.session("surgeon").await;
    let scan = f.scan_a;
    let r =
        send(&f.app, post_empty(&format!("/api/scans/{scan}/symmetry?purpose=treatment-planning"), &w)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["analysis"], "symmetry");
    assert_eq!(r.body["scans"], json!([scan.to_string()]));
    let plane = &r.body["report"]["plane"];
    assert!(plane["normal"].is_array() && plane["offset"].is_number(), "{}", r.body["report"]);
    // The synthetic face is symmetric about x = 0: the plane's normal is along x.
    let nx = plane["normal"][0].as_f64().unwrap().abs();
    assert!(nx > 0.99, "plane normal {}", plane["normal"]);
    let (m, mesh) = (r.body["measurements"].as_str().unwrap(), r.body["mesh"].as_str().unwrap());
    assert_ne!(m, mesh);

    // Both derivatives are the scan's, and nothing else is.
    let mut got = f.descendants(scan).await;
    got.sort();
    let mut want = vec![format!("derivative {m}"), format!("derivative {mesh}")];
    want.sort();
    assert_eq!(got, want);
    let d = send(&f.app, get(&format!("/api/derivatives/{m}"), Some(&w))).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(d.body["derivative"]["kind"], "measurements");
    assert_eq!(d.body["derivative"]["parents"], json!([format!("scan {scan}")]));
    assert!(d.body["derivative"]["producer"].as_str().unwrap().ends_with(" symmetry"));
    // What was stored is the report returned.
    assert_eq!(d.body["content"], r.body["report"]);
    let d = send(&f.app, get(&format!("/api/derivatives/{mesh}"), Some(&w))).await;
    assert_eq!((d.body["derivative"]["kind"].as_str(), d.body["content"].is_null()), (Some("mesh"), true));
    assert_eq!(d.body["derivative"]["parents"], json!([format!("scan {scan}")]));

    // The decision and both derivatives are in the audit log.
    let log = f.audit().await;
    let analyze = log
        .iter()
        .find(|e| e["action"] == "scan.analyze" && e["object"] == format!("scan:{scan}"))
        .expect("the analyze decision is audited");
    assert_eq!((analyze["decision"].as_str(), analyze["role"].as_str()), (Some("allowed"), Some("surgeon")));
    for id in [m, mesh] {
        assert!(
            log.iter().any(|e| e["action"] == "derivative.add" && e["object"] == format!("derivative:{id}")),
            "derivative {id} not audited"
        );
    }

    // Bad and unknown ids.
    let r = send(&f.app, post_empty("/api/scans/nope/symmetry", &w)).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("id")));
    let ghost = "00112233445566778899aabbccddeeff";
    let r = send(&f.app, post_empty(&format!("/api/scans/{ghost}/symmetry"), &w)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_registers_two_scans_of_one_subject_and_refuses_two_subjects() {
    let f = fixture("compare").await;
    let w = f.session("surgeon").await;
    let (pre, post_scan) = (f.scan_a, f.post_a);
    let body = json!({"pre": pre.to_string(), "post": post_scan.to_string(), "purpose": "post-op-tracking"});
    let r = send(&f.app, json_req(Method::POST, "/api/compare", Some(&w), &body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["analysis"], "compare");
    let report = &r.body["report"];
    assert!(report["registration"].is_object(), "{report}");
    // The post scan is the pre scan with a 2 mm dorsum reduction: the map sees it go inward.
    let dist = &report["distance"];
    assert!(dist["min_mm"].as_f64().unwrap() < -1.0, "{dist}");
    assert!(dist["max_mm"].as_f64().unwrap() < 0.5, "{dist}");
    let m = r.body["measurements"].as_str().unwrap();
    let d = send(&f.app, get(&format!("/api/derivatives/{m}?purpose=post-op-tracking"), Some(&w))).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(d.body["derivative"]["parents"], json!([format!("scan {pre}"), format!("scan {post_scan}")]));
    assert!(f.descendants(post_scan).await.contains(&format!("derivative {m}")));

    // Two subjects' scans: refused before any work, and nothing is stored for b.
    let body = json!({"pre": pre.to_string(), "post": f.scan_b().to_string()});
    let r = send(&f.app, json_req(Method::POST, "/api/compare", Some(&w), &body)).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("post")), "{}", r.body);
    assert!(f.descendants(f.scan_b()).await.is_empty());
    // Malformed bodies.
    let r = send(&f.app, json_req(Method::POST, "/api/compare", Some(&w), &json!({"pre": "x", "post": "y"})))
        .await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("pre")));
    let r = send(&f.app, json_req(Method::POST, "/api/compare", Some(&w), &json!({"pre": pre.to_string()})))
        .await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("body")));
    let r = send(
        &f.app,
        Request::post("/api/compare")
            .header(header::COOKIE, &w.cookie)
            .header("x-csrf-token", &w.csrf)
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_takes_a_mask_a_direction_regions_and_a_threshold_and_refuses_bad_ones_naming_the_field() {
    use facevault_synthface::{generate, FaceParams, Landmark};
    let f = fixture("compare-options").await;
    let w = f.session("surgeon").await;
    let (pre, post_scan) = (f.scan_a.to_string(), f.post_a.to_string());
    // The fixture's face: its landmarks place the mask (forehead) and the region (nose).
    let face = generate(&FaceParams::default(), 1500);
    // To the µm, as a clinician would type them (and as JSON carries them exactly).
    let [gx, gy, gz] = face.landmarks[&Landmark::Glabella].map(|v| (v * 1000.0).round() / 1000.0);
    let nose = face.landmarks[&Landmark::Pronasale];
    let body = json!({
        "pre": pre, "post": post_scan, "purpose": "post-op-tracking",
        "mask": [[gx, gy, gz, 40.0]], "direction": [0.0, 0.0, -1.0],
        "regions": [{"name": "nose", "centre": nose, "radius_mm": 20.0}], "threshold_mm": 0.25
    });
    let r = send(&f.app, json_req(Method::POST, "/api/compare", Some(&w), &body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let report = &r.body["report"];
    assert_eq!(report["regions"][0]["region"]["name"], "nose", "{report}");
    assert!(report["regions"][0]["distance"]["vertices"].as_u64().unwrap() > 0, "{report}");
    // The dorsum moved 2 mm along -z: a positive displacement along the direction.
    assert!(report["along_direction"]["max_mm"].as_f64().unwrap() > 1.0, "{report}");
    assert_eq!(report["parameters"]["threshold_mm"], 0.25, "{report}");
    let m = r.body["measurements"].as_str().unwrap();
    let d = send(&f.app, get(&format!("/api/derivatives/{m}?purpose=post-op-tracking"), Some(&w))).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    let parameters: Value =
        serde_json::from_str(d.body["derivative"]["parameters"].as_str().unwrap()).unwrap();
    assert_eq!(parameters["mask"], json!([[gx, gy, gz, 40.0]]), "{parameters}");
    assert_eq!(parameters["direction"], json!([0.0, 0.0, -1.0]));
    assert_eq!(parameters["regions"][0]["name"], "nose");

    // Values no analysis can run: 400 naming the field, before any decision or work.
    let analyses = |log: Vec<Value>| log.iter().filter(|e| e["action"] == "scan.analyze").count();
    let before = (analyses(f.audit().await), f.descendants(f.scan_a).await.len());
    for (option, value, field) in [
        ("mask", json!([[0.0, 0.0, 0.0, -1.0]]), "mask"),
        ("mask", json!([[0.0, 0.0, 0.0, 0.0]]), "mask"),
        ("mask", json!(vec![[0.0, 0.0, 0.0, 1.0]; 33]), "mask"),
        ("direction", json!([0.0, 0.0, 0.0]), "direction"),
        ("regions", json!([{"name": "nose", "centre": [0.0, 0.0, 0.0], "radius_mm": -2.0}]), "regions"),
        ("threshold_mm", json!(-0.5), "threshold_mm"),
    ] {
        let mut bad = json!({"pre": pre, "post": post_scan, "purpose": "post-op-tracking"});
        bad[option] = value;
        let r = send(&f.app, json_req(Method::POST, "/api/compare", Some(&w), &bad)).await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{bad}: {}",
            r.body
        );
    }
    // What JSON cannot carry as a number (NaN, 1e999) or the wrong shape is the body's 400.
    for raw in [
        format!(r#"{{"pre":"{pre}","post":"{post_scan}","mask":[[0,0,0,NaN]]}}"#),
        format!(r#"{{"pre":"{pre}","post":"{post_scan}","mask":[[0,0,0,"NaN"]]}}"#),
        format!(r#"{{"pre":"{pre}","post":"{post_scan}","threshold_mm":1e999}}"#),
        format!(r#"{{"pre":"{pre}","post":"{post_scan}","direction":[0,1]}}"#),
        format!(r#"{{"pre":"{pre}","post":"{post_scan}","regions":[{{"name":"n","centre":[0,0,0]}}]}}"#),
    ] {
        let req = Request::post("/api/compare")
            .header(header::COOKIE, &w.cookie)
            .header("x-csrf-token", &w.csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(raw.clone()))
            .unwrap();
        let r = send(&f.app, req).await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("body")),
            "{raw}: {}",
            r.body
        );
    }
    assert_eq!(before, (analyses(f.audit().await), f.descendants(f.scan_a).await.len()));

    // The symmetry analysis keeps the side asked for; anything but true or false is refused.
    let path = format!("/api/scans/{pre}/symmetry?keep_negative_side=true");
    let r = send(&f.app, post_empty(&path, &w)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["report"]["parameters"]["keep_positive_side"], false, "{}", r.body);
    let r =
        send(&f.app, post_empty(&format!("/api/scans/{pre}/symmetry?keep_negative_side=maybe"), &w)).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("keep_negative_side")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyses_are_refused_to_the_roles_the_policy_does_not_let_analyse() {
    let f = fixture("analysis-roles").await;
    let scan = f.scan_a;
    let path = format!("/api/scans/{scan}/symmetry");
    for user in ["patient-a", "patient-b", "front_desk", "marketing", "privacy_officer", "vendor", "admin"] {
        let w = f.session(user).await;
        let r = send(&f.app, post_empty(&path, &w)).await;
        assert_eq!(code(&r), (StatusCode::FORBIDDEN, Some("denied")), "{user}: {}", r.body);
        let body = json!({"pre": scan.to_string(), "post": f.post_a.to_string()});
        let r = send(&f.app, json_req(Method::POST, "/api/compare", Some(&w), &body)).await;
        assert_eq!(code(&r), (StatusCode::FORBIDDEN, Some("denied")), "{user}: {}", r.body);
    }
    // Marketing may not analyse even for its own purpose.
    let w = f.session("marketing").await;
    let r = send(&f.app, post_empty(&format!("{path}?purpose=marketing-images"), &w)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(f.descendants(scan).await.is_empty(), "a refused analysis stored something");
    let log = f.audit().await;
    let denied = log
        .iter()
        .filter(|e| e["action"] == "scan.analyze" && e["decision"] == "denied")
        .map(|e| e["role"].as_str().unwrap().to_owned())
        .collect::<std::collections::BTreeSet<_>>();
    for role in ["patient", "front_desk", "marketing", "privacy_officer", "vendor", "admin"] {
        assert!(denied.contains(role), "no denied scan.analyze audited for {role}: {denied:?}");
    }
    // Clinical staff may, for care.
    let w = f.session("clinical_staff").await;
    let r = send(&f.app, post_empty(&path, &w)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(f.descendants(scan).await.len(), 2);
}

// ---------------------------------------------------------------- consent

const TYPED_NAME: &str = "Carla Unique-Testname";

fn il_form(signed: bool) -> Value {
    let mut form = json!({
        "jurisdiction": "IL",
        "collect": true,
        "share": false,
        "notice": {
            "version": "il-2026-01",
            "text": "We collect your face geometry for treatment planning and keep it 3 years.",
            "covers": ["purposes", "retention", "withdrawal"]
        },
        "purpose": [{"id": "treatment-planning", "retention": "3y"}]
    });
    if signed {
        form["signature"] = json!({"method": "electronic", "typed_name": TYPED_NAME});
    }
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_is_recorded_over_http_only_when_the_jurisdiction_has_what_it_needs() {
    let f = fixture("consent").await;
    let c = f.c;
    let path = format!("/api/subjects/{c}/consent");
    let surgeon = f.session("surgeon").await;
    let upload = |w: &Who, purpose: &str| {
        Request::post(format!("/api/subjects/{c}/scans?purpose={purpose}"))
            .header(header::COOKIE, &w.cookie)
            .header("x-csrf-token", &w.csrf)
            .body(Body::from(small_ply()))
            .unwrap()
    };
    // No consent yet: no capture.
    let r = send(&f.app, upload(&surgeon, "treatment-planning")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    let desk = f.session("front_desk").await;
    // IL without a signature: refused naming the element and BIPA.
    let r = send(&f.app, json_req(Method::POST, &path, Some(&desk), &il_form(false))).await;
    assert_eq!(code(&r), (StatusCode::FORBIDDEN, Some("denied")), "{}", r.body);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.contains("signature") && msg.contains("BIPA"), "{msg}");
    // A verbal signature is no written release in Illinois.
    let mut verbal = il_form(true);
    verbal["signature"]["method"] = json!("verbal");
    let r = send(&f.app, json_req(Method::POST, &path, Some(&desk), &verbal)).await;
    assert_eq!(code(&r), (StatusCode::FORBIDDEN, Some("denied")), "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("written release"), "{}", r.body);
    let r = send(&f.app, upload(&surgeon, "treatment-planning")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a refused consent allowed a capture: {}", r.body);

    // Values the form cannot hold are 400 naming the field.
    let mut bad = il_form(true);
    bad["purpose"][0]["id"] = json!("no-such-purpose");
    let r = send(&f.app, json_req(Method::POST, &path, Some(&desk), &bad)).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("purpose[0].id")));
    let mut file = il_form(true);
    file["notice"] = json!({"version": "v", "file": "/etc/passwd"});
    let r = send(&f.app, json_req(Method::POST, &path, Some(&desk), &file)).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("notice.file")));
    let mut unknown = il_form(true);
    unknown["surprise"] = json!(1);
    let r = send(&f.app, json_req(Method::POST, &path, Some(&desk), &unknown)).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("body")));

    // Roles: not marketing, not another patient.
    for user in ["marketing", "vendor", "patient-a"] {
        let w = f.session(user).await;
        let r = send(&f.app, json_req(Method::POST, &path, Some(&w), &il_form(true))).await;
        assert_eq!(code(&r), (StatusCode::FORBIDDEN, Some("forbidden")), "{user}: {}", r.body);
    }
    let ghost = "00112233445566778899aabbccddeeff";
    let r = send(
        &f.app,
        json_req(Method::POST, &format!("/api/subjects/{ghost}/consent"), Some(&desk), &il_form(true)),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Complete: recorded, shown, and a capture for its purpose works (not for another).
    let r = send(&f.app, json_req(Method::POST, &path, Some(&desk), &il_form(true))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (r.body["jurisdiction"].as_str(), &r.body["purposes"]),
        (Some("IL"), &json!(["treatment-planning"]))
    );
    let shown = send(&f.app, get(&path, Some(&desk))).await;
    assert_eq!(shown.body["id"], r.body["id"]);
    assert_eq!(shown.body["status"], "active");
    let r = send(&f.app, upload(&surgeon, "treatment-planning")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = send(&f.app, upload(&surgeon, "clinical-photography")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The patient may give their own.
    let w = f.session("patient-c").await;
    let r = send(&f.app, json_req(Method::POST, &path, Some(&w), &il_form(true))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // The refusals and the recording are audited; the typed name is nowhere in the log.
    let log = f.audit().await;
    let object = format!("subject:{c}");
    let adds: Vec<&Value> =
        log.iter().filter(|e| e["action"] == "consent.add" && e["object"] == object).collect();
    assert!(adds
        .iter()
        .any(|e| e["decision"] == "denied" && e["reason"].as_str().unwrap().contains("signature")));
    assert_eq!(adds.iter().filter(|e| e["decision"] == "allowed").count(), 2, "{adds:?}");
    assert!(
        !serde_json::to_string(&log).unwrap().contains(TYPED_NAME),
        "the typed name reached the audit log"
    );
}

// ---------------------------------------------------------------- restrictions and holds

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restrictions_and_holds_take_the_cli_roles_and_apply() {
    let f = fixture("govern").await;
    let a = f.a;
    let restrict = format!("/api/subjects/{a}/restrictions");
    let limit = json!({"restriction": "limit-use"});
    for user in ["surgeon", "clinical_staff", "marketing", "vendor", "patient-b"] {
        let w = f.session(user).await;
        let r = send(&f.app, json_req(Method::POST, &restrict, Some(&w), &limit)).await;
        assert_eq!(code(&r), (StatusCode::FORBIDDEN, Some("forbidden")), "{user}: {}", r.body);
    }
    // Limit-use keeps the data to care: marketing's read, allowed before, is refused after.
    let marketing = f.session("marketing").await;
    let read = format!("/api/scans/{}?purpose=marketing-images", f.scan_a);
    let before = send(&f.app, get(&read, Some(&marketing))).await.status;
    assert_eq!(before, StatusCode::OK);
    let desk = f.session("front_desk").await;
    let r = send(&f.app, json_req(Method::POST, &restrict, Some(&desk), &limit)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["restriction"].as_str(), r.body["active"].as_bool()), (Some("limit-use"), Some(true)));
    let r = send(&f.app, get(&read, Some(&marketing))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The patient lifts it themself.
    let pa = f.session("patient-a").await;
    let lift = json!({"restriction": "limit-use", "lift": true});
    let r = send(&f.app, json_req(Method::POST, &restrict, Some(&pa), &lift)).await;
    assert_eq!((r.status, r.body["active"].as_bool()), (StatusCode::OK, Some(false)), "{}", r.body);
    assert_eq!(send(&f.app, get(&read, Some(&marketing))).await.status, StatusCode::OK);
    let po = f.session("privacy_officer").await;
    let r =
        send(&f.app, json_req(Method::POST, &restrict, Some(&po), &json!({"restriction": "opt-out"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r =
        send(&f.app, json_req(Method::POST, &restrict, Some(&po), &json!({"restriction": "never"}))).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("restriction")));

    // Holds: the privacy office only.
    let holds = format!("/api/subjects/{a}/holds");
    let reference = "Case 26-CV-0042 Doe";
    let hold = json!({"kind": "litigation", "reference": reference, "reason": "preservation letter"});
    for user in ["surgeon", "front_desk", "clinical_staff", "marketing", "patient-a"] {
        let w = f.session(user).await;
        let r = send(&f.app, json_req(Method::POST, &holds, Some(&w), &hold)).await;
        assert_eq!(code(&r), (StatusCode::FORBIDDEN, Some("forbidden")), "{user}: {}", r.body);
        let r = send(
            &f.app,
            json_req(Method::POST, &format!("{holds}/release"), Some(&w), &json!({"reference": reference})),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}: {}", r.body);
    }
    let r = send(
        &f.app,
        json_req(
            Method::POST,
            &holds,
            Some(&po),
            &json!({"kind": "rumour", "reference": "x", "reason": "y"}),
        ),
    )
    .await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("kind")));
    let r = send(&f.app, json_req(Method::POST, &holds, Some(&po), &hold)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let hash = r.body["reference_sha256"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    assert_eq!(f.state.app().vault().governance(a).await.unwrap().open_hold(), Some(reference));
    let r = send(&f.app, json_req(Method::POST, &holds, Some(&po), &hold)).await;
    assert_eq!(code(&r), (StatusCode::CONFLICT, Some("conflict")), "{}", r.body);
    let admin = f.session("admin").await;
    let release = json!({"reference": reference});
    let r = send(&f.app, json_req(Method::POST, &format!("{holds}/release"), Some(&admin), &release)).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("released")), "{}", r.body);
    assert_eq!(f.state.app().vault().governance(a).await.unwrap().open_hold(), None);
    let r = send(&f.app, json_req(Method::POST, &format!("{holds}/release"), Some(&admin), &release)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let ghost = "00112233445566778899aabbccddeeff";
    let r =
        send(&f.app, json_req(Method::POST, &format!("/api/subjects/{ghost}/holds"), Some(&po), &hold)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // The audit log names the hold by its hash, never its reference.
    let log = f.audit().await;
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(reference), "the hold reference reached the audit log");
    assert!(log.iter().any(|e| e["action"] == "hold.place" && e["reason"].as_str().unwrap().contains(&hash)));
    assert!(log.iter().any(|e| e["action"] == "hold.release" && e["role"] == "admin"));
    assert!(log.iter().any(|e| e["action"] == "restriction.set" && e["role"] == "patient"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_clinical_endpoints_and_their_statuses() {
    let f = fixture("openapi").await;
    let doc = send(&f.app, get("/openapi.json", None)).await.body;
    for (path, statuses) in [
        ("/api/scans/{id}/symmetry", &["201", "400", "401", "403", "404", "422"][..]),
        ("/api/compare", &["201", "400", "401", "403", "404", "413", "415", "422"]),
        ("/api/subjects/{id}/consent", &["201", "400", "401", "403", "404", "413", "415"]),
        ("/api/subjects/{id}/restrictions", &["200", "400", "401", "403", "404", "413", "415"]),
        ("/api/subjects/{id}/holds", &["201", "400", "401", "403", "404", "409", "413", "415"]),
        ("/api/subjects/{id}/holds/release", &["200", "400", "401", "403", "404", "409", "413", "415"]),
    ] {
        let responses = &doc["paths"][path]["post"]["responses"];
        for s in statuses {
            assert!(responses[*s].is_object(), "POST {path}: {s} not documented: {responses}");
        }
    }
    // The consent read is still there beside the new write.
    assert!(doc["paths"]["/api/subjects/{id}/consent"]["get"].is_object());
    // The analyses' options, with examples.
    let compare = &doc["components"]["schemas"]["CompareBody"]["properties"];
    for option in ["mask", "direction", "regions", "threshold_mm"] {
        let o = &compare[option];
        assert!(!o["examples"].is_null() || !o["example"].is_null(), "{option}: {o}");
    }
    let params = doc["paths"]["/api/scans/{id}/symmetry"]["post"]["parameters"].as_array().unwrap();
    assert!(params.iter().any(|p| p["name"] == "keep_negative_side" && p["in"] == "query"), "{params:?}");
}
