//! Fuzz the consent form as the server receives it (JSON) and the CLI reads it (TOML): bytes of
//! any shape must give a form or an error, never a panic; an accepted form converts to a draft
//! or an error naming the field, and a draft goes through every jurisdiction's capture check.
#![no_main]

use facevault_domain::consent_form::ConsentForm;
use facevault_domain::{check_capture, Catalogue, Jurisdiction, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let catalogue = Catalogue::defaults();
    let now: Timestamp = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    let forms = [
        serde_json::from_slice::<ConsentForm>(data).ok(),
        std::str::from_utf8(data).ok().and_then(|t| toml::from_str::<ConsentForm>(t).ok()),
    ];
    for form in forms.into_iter().flatten() {
        if let Ok((_, draft)) = form.draft(&catalogue, now, |_| Err("no files here".into())) {
            for j in Jurisdiction::ALL {
                let _ = check_capture(j, &draft, now);
            }
        }
    }
});
