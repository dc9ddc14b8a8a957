//! Fuzz the Stl reader: it must never panic, and whatever it accepts must be a valid mesh that
//! survives a write-then-read round trip.
#![no_main]

use facevault_mesh::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| facevault_fuzz::check(data, Format::Stl));
