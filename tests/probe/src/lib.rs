//! zos-probe: the in-guest probe used as the handover target in QEMU tests.
//!
//! The binary (`src/main.rs`) prints facts to the console; this library holds the code
//! the host side shares with it, so a test computes the expected tree listing of a
//! fixture with exactly the code the guest uses, and compares field by field.

pub mod escape;
pub mod listing;
