//! zinit 0.2.11, the supervisor `/init` hands over to (`/sbin/zinit init`, what
//! production Zero-OS ships), and its YAML units in `/etc/zinit/*.yaml`, each `exec`
//! split like a shell word list and run directly (no shell). docs/OVERVIEW.md.
//!
//! [`binary`] gets zinit (built from source once, cached), [`unit`] reads units exactly
//! as v0.2.11 does, [`lint`] checks a unit set against the image it goes into (through
//! [`image`] and [`shell`]), [`install`] turns zinit and units into image extras,
//! [`report`] is the boot-report unit of `zos-builder run --batch` and the tests, and
//! [`timeline`] reads a boot's serial log back into one timeline.

pub mod binary;
pub mod cli;
pub mod image;
pub mod install;
pub mod keys;
pub mod lint;
pub mod report;
pub mod shell;
pub mod timeline;
pub mod unit;

pub use install::{prepare, runnable, ZinitError};
pub use lint::{lint, LintError, LintReport};
pub use unit::{Unit, UnitSet};
