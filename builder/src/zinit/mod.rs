//! zinit, the supervisor `/init` hands over to, and its service units.
//!
//! Two generations exist and both are handled here (docs/OVERVIEW.md):
//! - zinit 0.2 (what production Zero-OS runs, GitHub releases only): `/sbin/zinit init`,
//!   YAML units in `/etc/zinit/*.yaml`, each `exec` split like a shell word list and run
//!   directly (no shell).
//! - zinit 0.1.0 from crates.io (what the demo and test images run, because it builds
//!   here): PID 1 is `zinit-pid1`, which starts `zinit-server`; TOML units in
//!   `/etc/zinit/system` and `/etc/zinit/services`; every `exec` runs as `/bin/sh -c`.
//!
//! [`fetch`] builds and caches the 0.1 binaries, [`unit`] reads both unit formats,
//! [`lint`] checks a unit set against the image it goes into (through [`image`]),
//! [`install`] turns binaries and units into image extras, and [`timeline`] reads a
//! boot's serial log back into one timeline.

pub mod cli;
pub mod fetch;
pub mod image;
pub mod install;
pub mod keys;
pub mod lint;
pub mod timeline;
pub mod unit;

pub use fetch::{zinit_binaries, FetchError, ZinitBins};
pub use install::{prepare, ZinitError};
pub use lint::{lint, LintError, LintReport};
pub use unit::{Generation, Unit, UnitSet};
