//! Typed ids (a scan id is never a subject id), lineage nodes and timestamps.

use std::fmt;
use std::str::FromStr;

use facevault_crypto::Id;

macro_rules! id_type {
    ($(#[$doc:meta])* $t:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $t(pub Id);

        impl $t {
            pub fn id(self) -> Id {
                self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                s.parse::<Id>().map($t).map_err(|e| format!(concat!($prefix, " id: {}"), e))
            }
        }
    };
}

id_type!(
    /// A subject (patient): a pseudonymous random id; who it is lives only in encrypted details.
    SubjectId,
    "subject"
);
id_type!(
    /// A scan.
    ScanId,
    "scan"
);
id_type!(
    /// A derivative (anything computed from scans or other derivatives).
    DerivativeId,
    "derivative"
);

/// A node of the lineage graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    Scan(ScanId),
    Derivative(DerivativeId),
}

impl Node {
    pub fn id(self) -> Id {
        match self {
            Node::Scan(s) => s.0,
            Node::Derivative(d) => d.0,
        }
    }

    /// This object as a deletion certificate lists it (`scan:<id>` or `derivative:<id>`).
    pub fn destroyed(self) -> facevault_audit::Destroyed {
        match self {
            Node::Scan(s) => facevault_audit::Destroyed { id: format!("scan:{s}"), kind: "scan".into() },
            Node::Derivative(d) => {
                facevault_audit::Destroyed { id: format!("derivative:{d}"), kind: "derivative".into() }
            }
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Scan(s) => write!(f, "scan {s}"),
            Node::Derivative(d) => write!(f, "derivative {d}"),
        }
    }
}

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);
