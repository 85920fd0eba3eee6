use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

use super::*;
use crate::{build_image, Compression, ExtraEntry, ImageRequest};

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// An image of `root` with the host's /bin/sh (a real dynamic ELF) as /bin/sh and
/// the handover target, and its interpreter and libraries copied when `libs`.
fn image(dir: &Path, libs: bool, config: &str) -> PathBuf {
    let r = dir.join("rootfs");
    fs::create_dir_all(r.join("bin")).unwrap();
    fs::create_dir_all(r.join("sbin")).unwrap();
    fs::create_dir_all(r.join("etc")).unwrap();
    let host_sh = fs::canonicalize("/bin/sh").unwrap();
    fs::copy(&host_sh, r.join("bin/sh")).unwrap();
    symlink("../bin/sh", r.join("sbin/zinit")).unwrap();
    fs::write(r.join("etc/zos-init.conf"), config).unwrap();
    if libs {
        let deps = crate::elf_deps::read(&fs::read(&host_sh).unwrap()).unwrap();
        let interp = deps.interp.unwrap();
        let mut wanted = vec![interp.clone()];
        for lib in deps.needed {
            let found = LIB_DIRS
                .iter()
                .map(|d| format!("/{d}/{lib}"))
                .find(|p| Path::new(p).exists())
                .unwrap();
            wanted.push(found);
        }
        for w in wanted {
            let dst = r.join(w.trim_start_matches('/'));
            fs::create_dir_all(dst.parent().unwrap()).unwrap();
            fs::copy(fs::canonicalize(&w).unwrap(), &dst).unwrap();
            chmod(&dst, 0o755);
        }
    }
    let init = dir.join("init");
    fs::write(&init, "#!/bin/sh\n").unwrap();
    chmod(&init, 0o755);
    let out = dir.join("img.cpio");
    build_image(&ImageRequest {
        rootfs: Some(r),
        init: Some(init),
        extras: Vec::<ExtraEntry>::new(),
        compression: Compression::None,
        level: None,
        root_owned: true,
        source_date_epoch: Some(0),
        output: out.clone(),
    })
    .unwrap();
    out
}

#[test]
fn a_complete_image_passes() {
    let t = tempfile::tempdir().unwrap();
    let img = image(t.path(), true, "");
    assert_eq!(check(&img).unwrap(), Vec::<String>::new());
}

#[test]
fn missing_loader_and_libraries_are_named() {
    let t = tempfile::tempdir().unwrap();
    let img = image(t.path(), false, "");
    let p = check(&img).unwrap();
    assert!(
        p.iter()
            .any(|l| l
                .starts_with("handover target /sbin/zinit (/etc/zos-init.conf handover): its ELF interpreter /lib")),
        "{p:#?}"
    );
    assert!(p.iter().any(|l| l.contains("needs libc.so")), "{p:#?}");
}

#[test]
fn a_missing_target_or_shell_is_named_and_allow_shell_no_drops_the_shell_check() {
    let t = tempfile::tempdir().unwrap();
    let img = image(t.path(), true, "handover = /sbin/nope\nshell = /bin/ash\n");
    let p = check(&img).unwrap();
    assert_eq!(
        p,
        vec![
            "handover target /sbin/nope (/etc/zos-init.conf handover): not in the image".to_string(),
            "shell /bin/ash: not in the image (the config allows a break/emergency shell; allow_shell = no forbids it)"
                .to_string(),
        ]
    );
    let t = tempfile::tempdir().unwrap();
    let img = image(t.path(), true, "shell = /bin/ash\nallow_shell = no\n");
    assert_eq!(check(&img).unwrap(), Vec::<String>::new());
}
