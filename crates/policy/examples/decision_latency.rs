//! Decision latency of the default policies: p50/p99 over a mix of allowed and denied requests.
//! Run by `cargo xtask bench audit`; the target is p99 <= 50 us.

use std::time::Instant;

use facevault_domain::{
    check_capture, Catalogue, ConsentDraft, ConsentRecord, Jurisdiction, Notice, NoticeCovers, ObjectId,
    Signature, SignatureMethod,
};
use facevault_policy::{AccessRequest, Action, Policy, Restrictions, Role};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cat = Catalogue::defaults();
    let policy = Policy::default_for(cat.clone())?;
    let signed = "2025-01-10T09:00:00Z".parse()?;
    let all = NoticeCovers { purposes: true, retention: true, withdrawal: true, limit_use: true };
    let draft = ConsentDraft {
        notice: Some(Notice::new("v1", "We use your 3D facial scan for ...", all)),
        purposes: vec![cat.grant("treatment-planning")?, cat.grant("marketing-images")?],
        collect: true,
        share: true,
        limit_use: false,
        signature: Some(Signature {
            method: SignatureMethod::Electronic,
            typed_name: "Jane Roe".into(),
            at: signed,
        }),
        expires: None,
        sale_authorization: None,
    };
    let record: ConsentRecord = check_capture(Jurisdiction::Other, &draft, "2025-01-10T10:00:00Z".parse()?)
        .map_err(|e| e.refusal(Jurisdiction::Other))?
        .into();
    let object = ObjectId("obj-1".into());
    let purposes: Vec<String> = cat.iter().map(|p| p.id.as_str().to_owned()).collect();
    let at = "2025-06-01T12:00:00Z".parse()?;
    let retained_until = "2027-01-01".parse()?;

    let mut samples = Vec::new();
    let mut allowed = 0usize;
    for round in 0..50 {
        for role in Role::ALL {
            for action in Action::ALL {
                for p in &purposes {
                    let r = AccessRequest {
                        actor: "actor-1",
                        role,
                        action,
                        purpose: p,
                        object: &object,
                        consent: Some(&record),
                        retained_until,
                        restrictions: Restrictions::default(),
                        break_glass: None,
                        actor_is_subject: true,
                        right_of_access: false,
                        at,
                    };
                    let start = Instant::now();
                    let d = policy.decide(&r);
                    let took = start.elapsed();
                    if round > 0 {
                        samples.push(took);
                        allowed += usize::from(d.allowed());
                    }
                }
            }
        }
    }
    samples.sort();
    let pct = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    println!(
        "authorization decision latency: p50 {:.1} us, p99 {:.1} us over {} decisions ({} allowed; target p99 <= 50 us)",
        pct(0.50),
        pct(0.99),
        samples.len(),
        allowed
    );
    Ok(())
}
