//! The clinic's governance configuration read from text: the vendor registry
//! (`vendors.toml`), who the clinic is (`clinic.toml`), the risk acceptance criteria
//! (`posture.toml`), and the holiday calendar request deadlines are counted over. Every front
//! end (the CLI, the server) reads the files itself and hands the text here, so both parse and
//! check it the same way. Nothing here knows a file path: an error says what is wrong, and the
//! caller names the file.

use crate::posture::RiskCriteria;
use crate::request::HolidayCalendar;
use crate::vendor::{VendorConfig, VendorError, VendorRegistry};
use crate::{Catalogue, ClinicInfo};

/// What is wrong with a configuration text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The text is not TOML of the expected shape (an unknown key, a missing field, a bad
    /// value); the message names the line and the key.
    ///
    /// How to fix: compare with the examples in `docs/examples/`.
    #[error("{message}")]
    Syntax { message: String },
    /// The vendor registry parses but is inconsistent (a duplicate id, an unknown purpose).
    #[error(transparent)]
    Vendor(#[from] VendorError),
    /// A value is out of its range.
    #[error("{message}")]
    Invalid { message: String },
}

fn syntax(e: toml::de::Error) -> SettingsError {
    SettingsError::Syntax { message: e.to_string() }
}

/// The vendor registry from the text of `vendors.toml` (`[[vendor]]` tables), checked against
/// `catalogue`. An empty text (no file) is an empty registry.
pub fn vendor_registry(text: &str, catalogue: &Catalogue) -> Result<VendorRegistry, SettingsError> {
    let config: VendorConfig = toml::from_str(text).map_err(syntax)?;
    Ok(VendorRegistry::from_config(config, catalogue)?)
}

/// Who the clinic is, from the text of `clinic.toml` (name, contact, privacy_officer, region,
/// and optionally safeguards).
pub fn clinic_info(text: &str) -> Result<ClinicInfo, SettingsError> {
    toml::from_str(text).map_err(syntax)
}

/// The risk acceptance criteria from the text of `posture.toml`, or the defaults when there is
/// none (`None`: no file).
pub fn risk_criteria(text: Option<&str>) -> Result<RiskCriteria, SettingsError> {
    let c = match text {
        Some(t) => toml::from_str(t).map_err(syntax)?,
        None => RiskCriteria::default(),
    };
    c.validate().map_err(|message| SettingsError::Invalid { message })?;
    Ok(c)
}

/// The calendar request deadlines are counted over when `year` is the current one: US federal
/// holidays from two years before to two years after (a request received two years ago still
/// has its deadlines computed right, and so does one due next year).
pub fn request_calendar(year: i32) -> HolidayCalendar {
    HolidayCalendar::us_federal(year - 2..=year + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_vendor_text_is_an_empty_registry() {
        let reg = vendor_registry("", &Catalogue::defaults()).unwrap();
        assert!(reg.vendors().is_empty());
    }

    #[test]
    fn vendor_text_is_parsed_and_checked() {
        let text = "[[vendor]]\nid = \"lab\"\nname = \"Lab\"\nrole = \"service-provider\"\n\
                    purposes = [\"treatment-planning\"]\ncategories = [\"face-scan\"]\nregion = \"US\"\n";
        let reg = vendor_registry(text, &Catalogue::defaults()).unwrap();
        assert_eq!(reg.vendors().len(), 1);
        assert_eq!(reg.vendors()[0].id.as_str(), "lab");
        let twice = format!("{text}{text}");
        let err = vendor_registry(&twice, &Catalogue::defaults()).unwrap_err();
        assert!(matches!(err, SettingsError::Vendor(VendorError::DuplicateVendor { .. })), "{err}");
        let unknown = text.replace("treatment-planning", "no-such-purpose");
        assert!(matches!(
            vendor_registry(&unknown, &Catalogue::defaults()),
            Err(SettingsError::Vendor(VendorError::UnknownPurpose { .. }))
        ));
        let err = vendor_registry("[[vendor]]\nid = 3\n", &Catalogue::defaults()).unwrap_err();
        assert!(matches!(err, SettingsError::Syntax { .. }), "{err}");
    }

    #[test]
    fn clinic_text_needs_its_fields() {
        let c = clinic_info("name = \"C\"\ncontact = \"c@x\"\nprivacy_officer = \"po@x\"\nregion = \"US\"\n")
            .unwrap();
        assert_eq!(c.name, "C");
        assert_eq!(c.safeguards, ClinicInfo::default_safeguards());
        assert!(matches!(clinic_info("name = \"C\"\n"), Err(SettingsError::Syntax { .. })));
    }

    #[test]
    fn criteria_default_without_text_and_are_checked() {
        assert_eq!(risk_criteria(None).unwrap(), RiskCriteria::default());
        assert_eq!(risk_criteria(Some("acceptable-score = 9\n")).unwrap().acceptable_score, 9);
        assert!(matches!(risk_criteria(Some("acceptable-score = 30\n")), Err(SettingsError::Invalid { .. })));
        assert!(matches!(risk_criteria(Some("nope = 1\n")), Err(SettingsError::Syntax { .. })));
    }

    #[test]
    fn request_calendar_spans_five_years() {
        let cal = request_calendar(2026);
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(cal.is_holiday(day(2024, 7, 4)));
        assert!(cal.is_holiday(day(2028, 7, 4)));
        assert!(!cal.is_holiday(day(2029, 7, 4)));
        assert!(!cal.is_holiday(day(2023, 7, 4)));
    }
}
