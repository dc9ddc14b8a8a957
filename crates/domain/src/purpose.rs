//! The purpose catalogue: every use the clinic may make of a faceprint, with the text a notice
//! shows, a default retention period, whether it shares or sells, and whether it is enabled.
//! A consent grants purposes from here; the clinic edits the catalogue through configuration.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DomainError, RetentionPeriod};

/// A purpose's stable id, kebab-case (`post-op-tracking`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PurposeId(String);

impl PurposeId {
    pub fn new(id: impl Into<String>) -> Result<Self, DomainError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(id))
        } else {
            Err(DomainError::BadPurposeId { id })
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PurposeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PurposeId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::new(s)
    }
}

impl From<PurposeId> for String {
    fn from(p: PurposeId) -> String {
        p.0
    }
}

/// One use of a faceprint, as the clinic's catalogue defines it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Purpose {
    pub id: PurposeId,
    /// The sentence a notice shows for this purpose.
    pub description: String,
    /// The retention period a consent states for this purpose unless it states another.
    pub retention: RetentionPeriod,
    /// Disclosure to another party ("share" in CCPA/CPRA, MHMDA, BIPA 15(d)).
    pub share: bool,
    /// Disclosure for value ("sale"); BIPA 15(c) forbids it outright.
    pub sale: bool,
    /// The named recipient of a disclosure purpose.
    pub vendor: Option<String>,
    pub enabled: bool,
    /// Needed for the care the patient came for (planning the treatment, following it up). A
    /// consent for anything beyond care that staff record waits for the patient's confirmation
    /// or the privacy officer's approval against the signed form.
    pub care: bool,
}

impl Purpose {
    /// Whether a consent for this purpose reaches beyond the patient's care: not marked care,
    /// or a disclosure (share or sale).
    pub fn beyond_care(&self) -> bool {
        !self.care || self.share || self.sale
    }
}

/// The defaults: (id, description, retention, share, sale, enabled, care).
/// Retention never exceeds BIPA's 3-year cap; what no clinic should assume is off.
const DEFAULTS: &[(&str, &str, RetentionPeriod, bool, bool, bool, bool)] = &[
    (
        "treatment-planning",
        "Plan your surgical treatment from your 3D facial scan.",
        RetentionPeriod::Years(3),
        false,
        false,
        true,
        true,
    ),
    (
        "outcome-simulation",
        "Show you a simulated outcome of the planned procedure.",
        RetentionPeriod::Years(1),
        false,
        false,
        true,
        true,
    ),
    (
        "post-op-tracking",
        "Compare scans after surgery to follow your recovery.",
        RetentionPeriod::Years(3),
        false,
        false,
        true,
        true,
    ),
    (
        "clinical-photography",
        "Keep images derived from the scan in your clinical record.",
        RetentionPeriod::Years(3),
        false,
        false,
        true,
        true,
    ),
    (
        "marketing-images",
        "Use images derived from your scan in the clinic's marketing.",
        RetentionPeriod::Years(2),
        false,
        false,
        true,
        false,
    ),
    (
        "research",
        "Use your de-identified scan in clinical research.",
        RetentionPeriod::Years(3),
        false,
        false,
        true,
        false,
    ),
    (
        "ai-model-training",
        "Use your scan to train or evaluate AI models.",
        RetentionPeriod::Years(1),
        false,
        false,
        true,
        false,
    ),
    (
        "vendor-disclosure",
        "Disclose your scan to a named vendor.",
        RetentionPeriod::Years(1),
        true,
        false,
        false,
        false,
    ),
    (
        "identification-templates",
        "Derive a template that can identify you.",
        RetentionPeriod::Days(30),
        false,
        false,
        false,
        false,
    ),
];

/// The clinic's purposes. Ids are unique; order is the order notices list them in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    purposes: Vec<Purpose>,
}

/// The catalogue as configuration states it (e.g. a TOML table `[[purpose]]`); parsed by the
/// caller with serde, turned into a [`Catalogue`] by [`Catalogue::from_config`].
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueConfig {
    /// Start from the defaults (true unless said otherwise).
    #[serde(default = "yes")]
    pub defaults: bool,
    #[serde(default, rename = "purpose")]
    pub purposes: Vec<PurposeConfig>,
}

fn yes() -> bool {
    true
}

/// Changes to one purpose, or a new purpose (which must give description and retention).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeConfig {
    pub id: PurposeId,
    pub description: Option<String>,
    pub retention: Option<RetentionPeriod>,
    pub share: Option<bool>,
    pub sale: Option<bool>,
    pub vendor: Option<String>,
    pub enabled: Option<bool>,
    /// Whether the purpose is part of the patient's care (a new purpose is not unless it says so).
    pub care: Option<bool>,
}

impl Catalogue {
    /// The built-in catalogue. Vendor disclosure and identification templates are off.
    pub fn defaults() -> Self {
        let purposes = DEFAULTS
            .iter()
            .map(|&(id, description, retention, share, sale, enabled, care)| Purpose {
                id: PurposeId(id.to_owned()),
                description: description.to_owned(),
                retention,
                share,
                sale,
                vendor: None,
                enabled,
                care,
            })
            .collect();
        Self { purposes }
    }

    /// The defaults (unless `defaults = false`) changed and extended by `config`.
    pub fn from_config(config: CatalogueConfig) -> Result<Self, DomainError> {
        let mut cat = if config.defaults { Self::defaults() } else { Self { purposes: Vec::new() } };
        let mut seen = Vec::new();
        for c in config.purposes {
            if seen.contains(&c.id) {
                return Err(DomainError::DuplicatePurpose { id: c.id.0 });
            }
            seen.push(c.id.clone());
            let index = match cat.purposes.iter().position(|p| p.id == c.id) {
                Some(i) => i,
                None => {
                    let missing = |field| DomainError::MissingField { id: c.id.0.clone(), field };
                    cat.purposes.push(Purpose {
                        id: c.id.clone(),
                        description: c.description.clone().ok_or_else(|| missing("description"))?,
                        retention: c.retention.ok_or_else(|| missing("retention"))?,
                        share: false,
                        sale: false,
                        vendor: None,
                        enabled: true,
                        care: false,
                    });
                    cat.purposes.len() - 1
                }
            };
            let p = &mut cat.purposes[index];
            if let Some(v) = c.description {
                p.description = v;
            }
            if let Some(v) = c.retention {
                p.retention = v;
            }
            if let Some(v) = c.share {
                p.share = v;
            }
            if let Some(v) = c.sale {
                p.sale = v;
            }
            if let Some(v) = c.vendor {
                p.vendor = Some(v);
            }
            if let Some(v) = c.enabled {
                p.enabled = v;
            }
            if let Some(v) = c.care {
                p.care = v;
            }
            // A disclosure "to a named vendor" is not specific without the name.
            if p.enabled && p.id.as_str() == "vendor-disclosure" && p.vendor.is_none() {
                return Err(DomainError::VendorUnnamed { id: p.id.0.clone() });
            }
        }
        Ok(cat)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Purpose> {
        self.purposes.iter()
    }

    pub fn get(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id.as_str() == id)
    }

    /// A grant of an enabled purpose for a consent draft, stating the purpose's default
    /// retention period (the draft may state a shorter one).
    pub fn grant(&self, id: &str) -> Result<crate::PurposeGrant, DomainError> {
        let p = self.get(id).ok_or_else(|| DomainError::UnknownPurpose { id: id.to_owned() })?;
        if !p.enabled {
            return Err(DomainError::PurposeDisabled { id: id.to_owned() });
        }
        Ok(crate::PurposeGrant { purpose: p.clone(), retention: Some(p.retention) })
    }
}
