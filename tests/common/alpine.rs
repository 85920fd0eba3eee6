//! An Alpine userland for a test image, installed by the native installer from the
//! fixture repository (../shared/alpine-fixtures, or ZOS_ALPINE_FIXTURES).

use std::path::{Path, PathBuf};

use zos_builder::apk::dep::Dep;
use zos_builder::apk::{Report, Request, Settings};

pub fn fixtures() -> PathBuf {
    std::env::var_os("ZOS_ALPINE_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/alpine-fixtures"))
}

/// alpine-base (3.19.1) into `root`; the installer's log goes to `log`.
pub fn install_base(root: &Path, log: &Path) -> Report {
    // ssl_client (install_if busybox + libssl3) is not among the fixture files.
    install(root, log, &["alpine-base", "!ssl_client"])
}

/// `world` from the 3.19.1 fixture repository into `root`.
pub fn install(root: &Path, log: &Path, world: &[&str]) -> Report {
    let settings = Settings {
        repositories: vec![fixtures().join("v3.19.1-iso-x86_64").display().to_string()],
        image_repositories: vec!["https://dl-cdn.alpinelinux.org/alpine/v3.19/main".into()],
        arch: "x86_64".into(),
        keys_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/keys"),
        allow_untrusted: false,
        verify_checksums: true,
        cache_downloads: false,
        offline: false,
        cache_dir: None,
        groups: Vec::new(),
        users: Vec::new(),
        config_users: false,
    };
    let req = Request {
        root: root.to_path_buf(),
        world: world.iter().map(|a| Dep::parse(a).unwrap()).collect(),
        settings,
        base_tar: None,
        log_path: Some(log.to_path_buf()),
        verbose: false,
    };
    zos_builder::apk::install(&req).unwrap_or_else(|e| panic!("install {world:?}: {e}"))
}
