//! Hostile data tars against the extractor (issue 14.2): a directory entry whose path
//! is already a symlink out of the rootfs must be made inside the rootfs, never
//! created or chmodded through the link on the build host.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use zos_builder::apk::extract::extract;
use zos_builder::apk::owners::Owners;

fn entry(b: &mut tar::Builder<Vec<u8>>, path: &str, kind: tar::EntryType, mode: u32, link: Option<&Path>) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(0);
    h.set_path(path).unwrap();
    if let Some(l) = link {
        h.set_link_name(l).unwrap();
    }
    h.set_cksum();
    b.append(&h, &[][..]).unwrap();
}

#[test]
fn directory_entry_over_an_escaping_symlink_stays_in_the_root() {
    let t = tempfile::tempdir().unwrap();
    let victim = t.path().join("victim");
    fs::create_dir(&victim).unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o700)).unwrap();
    let root = t.path().join("root");
    fs::create_dir(&root).unwrap();
    // `lib/esc -> <host victim>` (absolute: on the host that is the victim dir), then
    // the directory `lib/esc` mode 0777 and a file in it.
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, "lib/", tar::EntryType::Directory, 0o755, None);
    entry(&mut b, "lib/esc", tar::EntryType::Symlink, 0o777, Some(&victim));
    entry(&mut b, "lib/esc/", tar::EntryType::Directory, 0o777, None);
    entry(&mut b, "lib/esc/dropped", tar::EntryType::Regular, 0o644, None);
    let data = b.into_inner().unwrap();
    let mut owners = Owners::default();
    extract(&data, &root, "hostile-1-r0", &mut owners, true, false).unwrap();
    let mode = fs::metadata(&victim).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700, "the host directory was chmodded through lib/esc");
    assert!(
        fs::read_dir(&victim).unwrap().next().is_none(),
        "a file was written into the host dir"
    );
    // Inside the root, the link resolves as it will on the booted system.
    let inside = root.join(victim.strip_prefix("/").unwrap());
    assert!(
        inside.is_dir() && inside.join("dropped").is_file(),
        "{}",
        inside.display()
    );
    assert!(fs::symlink_metadata(root.join("lib/esc"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn directory_entry_over_a_dotdot_symlink_cannot_climb_out() {
    // Everything the old code could have reached stays inside this temp dir: the link
    // `up -> ../..` from `a/b/root` names `a` on the host.
    let t = tempfile::tempdir().unwrap();
    let above = t.path().join("a");
    let root = above.join("b/root");
    fs::create_dir_all(&root).unwrap();
    fs::set_permissions(&above, fs::Permissions::from_mode(0o750)).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, "up", tar::EntryType::Symlink, 0o777, Some(Path::new("../..")));
    entry(&mut b, "up/", tar::EntryType::Directory, 0o777, None);
    entry(&mut b, "up/made/", tar::EntryType::Directory, 0o777, None);
    let data = b.into_inner().unwrap();
    let mut owners = Owners::default();
    extract(&data, &root, "hostile-2-r0", &mut owners, true, false).unwrap();
    let mode = fs::metadata(&above).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o750, "the directory above the root was chmodded through `up`");
    assert!(!above.join("made").exists() && !above.join("b/made").exists());
    assert!(root.join("made").is_dir());
    assert!(!owners.map.keys().any(|k| k.as_os_str().is_empty()), "{owners:?}");
}
