//! Synthetic face scans with exact ground truth, for testing analysis accuracy and for
//! benchmarks.
//!
//! For most cases: [`generate`] a face from [`FaceParams::default`] at the vertex count you
//! need, optionally [`SynthFace::transformed`] by a [`RigidMotion`] and deformed with
//! [`nasal_dorsum_reduction`], [`cheek_augmentation`] or [`gaussian_bump`], then check an
//! analysis against the truth carried alongside.
//!
//! # Frame and units
//! Millimetres throughout. In the face's own frame +x is the patient's left (the viewer's
//! right), +y is up and +z points out of the face toward the viewer, so the nose tip
//! ([`Landmark::Pronasale`]) is the most anterior point. The mask spans about
//! `face_height_mm` in y (centred on y = 0, chin at -y) and `face_width_mm` in x.
//!
//! # The surface
//! An open face mask like a structured-light scan: a height field z = f(x, y) over a
//! face-shaped domain ([`Surface`]), C2-smooth, built from a curved base and compact bumps for
//! forehead, brows, eye sockets, nose (dorsum, tip, alae), philtrum, lips, chin, cheeks and jaw.
//! f(-x, y) == f(x, y) exactly (bit for bit). The mesh samples f on a regular grid that is
//! itself mirror-symmetric, with a column at x = 0; `jitter_mm` moves vertices off the grid
//! (still exactly on the surface) and `noise_mm` adds seeded noise along the normal.
//!
//! # Ground truth
//! - [`SynthFace::symmetry_plane`]: x = 0, carried by every motion (exact unless `noise_mm` > 0).
//! - [`SynthFace::landmarks`]: named points on the analytic surface.
//! - [`SynthFace::pose`]: the motion from the face's own frame to the mesh's, for registration.
//! - [`SynthFace::signed_distance`]: distance from any point to the undeformed surface.
//! - [`Deformed::displacement`]: the exact per-vertex displacement of a deformation.
//!
//! Mesh positions are `f32`, so coordinates carry rounding of a few µm; the truth is `f64`.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod deform;
mod face;
mod motion;
mod params;
mod rng;
mod surface;

pub use deform::{cheek_augmentation, gaussian_bump, nasal_dorsum_reduction, Deformed};
pub use face::{generate, Landmark, Side, SynthFace, MAX_VERTICES, MIN_VERTICES};
pub use motion::{Plane, RigidMotion};
pub use params::FaceParams;
pub use surface::{surface_height, surface_normal, Surface};
