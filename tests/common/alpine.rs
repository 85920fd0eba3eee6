//! An Alpine userland for a test image, installed by the native installer from the
//! fixture repository (../shared/alpine-fixtures, or ZOS_ALPINE_FIXTURES).

use std::path::{Path, PathBuf};

use zos_builder::apk::dep::Dep;
use zos_builder::apk::{install, Report, Request, Settings};

pub fn fixtures() -> PathBuf {
    std::env::var_os("ZOS_ALPINE_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/alpine-fixtures"))
}

/// alpine-base (3.19.1) into `root`; the installer's log goes to `log`.
pub fn install_base(root: &Path, log: &Path) -> Report {
    let settings = Settings {
        repositories: vec![fixtures().join("v3.19.1-iso-x86_64").display().to_string()],
        arch: "x86_64".into(),
        keys_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/keys"),
        allow_untrusted: false,
        verify_checksums: true,
        cache_downloads: false,
        offline: false,
        cache_dir: None,
        groups: Vec::new(),
        users: Vec::new(),
    };
    let req = Request {
        root: root.to_path_buf(),
        // ssl_client (install_if busybox + libssl3) is not among the fixture files.
        world: ["alpine-base", "!ssl_client"]
            .iter()
            .map(|a| Dep::parse(a).unwrap())
            .collect(),
        settings,
        base_tar: None,
        log_path: Some(log.to_path_buf()),
        verbose: false,
    };
    install(&req).expect("install alpine-base")
}
