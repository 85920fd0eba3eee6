//! A native Alpine package installer (APK v2), the way apko works: no Docker, no
//! apk-tools and no root on the build host. See docs/BUILD.md for the behaviour and
//! ../shared/reference/APK-FACTS.md for the formats.
//!
//! Flow (install.rs): config.rs -> fetch.rs -> index.rs + sign.rs -> resolve.rs
//! (dep.rs, version.rs) -> package.rs (gzip.rs) -> extract.rs (ids.rs, owners.rs)
//! -> scripts.rs -> db.rs.

pub mod chroot;
pub mod cli;
pub mod config;
pub mod db;
pub mod dep;
pub mod error;
pub mod extract;
pub mod fetch;
pub mod gzip;
pub mod ids;
pub mod index;
pub mod install;
pub mod owners;
pub mod package;
mod progress;
pub mod resolve;
pub mod scripts;
pub mod sign;
pub mod tarsrc;
pub mod upgrade;
pub mod userns;
pub mod version;

pub use config::Settings;
pub use error::ApkError;
pub use install::{install, Report, Request};
