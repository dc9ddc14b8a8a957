//! The crate's one error type for malformed configuration and impossible state changes.
//! A refused capture is not an error of this kind: it is a [`crate::MissingElement`].

/// What went wrong building a catalogue or changing a subject's retention state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// A purpose id is empty, too long or not `a-z`, `0-9` and `-`.
    ///
    /// How to fix: use a short kebab-case id such as `post-op-tracking`.
    #[error("bad purpose id {id:?}: use 1-64 characters a-z, 0-9 and '-'")]
    BadPurposeId { id: String },
    /// A retention period is not `<n>d`, `<n>m` or `<n>y`.
    #[error("bad retention period {text:?}: write e.g. 30d, 6m or 3y")]
    BadPeriod { text: String },
    /// A purpose new to the catalogue lacks a field that has no default.
    #[error("purpose {id}: field {field} is required for a purpose not in the defaults")]
    MissingField { id: String, field: &'static str },
    /// Disclosure to a vendor is enabled without naming the vendor.
    #[error("purpose {id}: a sharing purpose that discloses to a vendor must name it")]
    VendorUnnamed { id: String },
    /// The same purpose id appears twice in one configuration.
    #[error("purpose {id} is configured twice")]
    DuplicatePurpose { id: String },
    /// The catalogue has no such purpose.
    #[error("unknown purpose {id}")]
    UnknownPurpose { id: String },
    /// The purpose exists but the clinic has not enabled it.
    #[error("purpose {id} is disabled in this clinic's catalogue")]
    PurposeDisabled { id: String },
    /// No open legal hold has this reference.
    #[error("no open legal hold with reference {reference:?}")]
    NoSuchHold { reference: String },
}
