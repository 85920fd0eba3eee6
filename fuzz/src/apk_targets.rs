//! Fuzz bodies for the Alpine installer (zos-apk): APKINDEX, the .apk reader, the
//! extraction of a data tar (paths, links, the root it must never leave), versions
//! and dependency atoms. Also compiled into tests/fuzz_corpora.rs.

use std::cmp::Ordering;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path};

use zos_builder::apk::dep::Dep;
use zos_builder::apk::extract::{clean, extract, resolve_in_root, resolve_parent};
use zos_builder::apk::index::{parse_records, read_index, Package};
use zos_builder::apk::owners::Owners;
use zos_builder::apk::package::{open, Checks};
use zos_builder::apk::sign::Keyring;
use zos_builder::apk::version::{compare, validate};

/// APKINDEX text, or a whole APKINDEX.tar.gz (unsigned allowed: the signature check
/// needs keys the fuzzer cannot forge): never panics, and every record writes back
/// (`write_header`, the installed db's record start) to text that parses to the same
/// record, dependencies included.
pub fn apkindex(data: &[u8]) {
    let packages = if data.starts_with(&[0x1f, 0x8b]) {
        match read_index(data, "fuzz", &Keyring::default(), true, 0) {
            Ok(i) => i.packages,
            Err(_) => return,
        }
    } else {
        match parse_records(&String::from_utf8_lossy(data), "fuzz", 0) {
            Ok(p) => p,
            Err(_) => return,
        }
    };
    let mut all = String::new();
    for p in &packages {
        let mut text = String::new();
        p.write_header(&mut text);
        let back = parse_records(&text, "fuzz", 0).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, std::slice::from_ref(p), "{text}");
        for d in p.depends.iter().chain(&p.provides).chain(&p.install_if) {
            assert_eq!(Dep::parse(&d.to_string()).as_ref(), Some(d));
        }
        all += &text;
        all.push('\n');
    }
    assert_eq!(parse_records(&all, "fuzz", 0).expect("rewritten index"), packages);
}

/// A .apk file (gzip members: signature, control, data): `open` never panics (with
/// checksums off and unsigned allowed, as far as the fuzzer can get), and what it
/// opens extracts without leaving the root.
pub fn apk(data: &[u8]) {
    let pkg = Package {
        name: "fuzz".into(),
        version: "1-r0".into(),
        ..Package::default()
    };
    let checks = Checks {
        ring: &Keyring::default(),
        allow_untrusted: true,
        verify_checksums: false,
    };
    let Ok(f) = open(data, &pkg, "fuzz", &checks) else {
        return;
    };
    assert!(!f.pkginfo.is_empty(), "opened without a .PKGINFO");
    extract_jailed(&f.data);
}

/// A package's data tar: extraction never panics and never touches anything outside
/// its root, even through the links planted there (an absolute link to a host
/// directory, a relative one climbing out, baselayout's `var/run -> /run`).
pub fn apk_tar(data: &[u8]) {
    extract_jailed(data);
}

/// The jail an extraction runs in: `outside` (a directory with a canary file, which
/// the planted links point at) beside `root`. Made once per thread and reused: a
/// temporary tree per input cost more than the extraction it checks.
struct Jail {
    dir: tempfile::TempDir,
    /// False while an extraction runs: one that panicked (a replay under
    /// catch_unwind) leaves a jail that is remade whole before the next input.
    clean: bool,
}

thread_local! {
    static JAIL: std::cell::RefCell<Option<Jail>> = const { std::cell::RefCell::new(None) };
}

impl Jail {
    fn new() -> Jail {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).expect("mkdir outside");
        fs::write(outside.join("canary"), "canary").expect("canary");
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o755)).expect("chmod");
        Jail { dir, clean: true }
    }

    fn outside(&self) -> std::path::PathBuf {
        self.dir.path().join("outside")
    }

    fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("root")
    }

    /// A fresh root holding the planted links (an absolute link to the outside
    /// directory, a relative one climbing out, baselayout's `var/run -> /run`).
    fn plant(&self) {
        let root = self.root();
        match fs::remove_dir_all(&root) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("clear the root: {e}"),
            _ => {}
        }
        for d in ["etc", "lib", "var"] {
            fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        symlink(self.outside(), root.join("lib/esc")).expect("symlink");
        symlink("../outside", root.join("up")).expect("symlink");
        symlink("/run", root.join("var/run")).expect("symlink");
    }

    /// Nothing was made beside the root, nor in, to or through the outside directory:
    /// its listing, its canary's bytes and link count, its mode are as made.
    fn check_outside(&self) {
        let mut names: Vec<_> = fs::read_dir(self.dir.path())
            .expect("jail")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["outside", "root"], "something was made beside the root");
        let outside = self.outside();
        let inside: Vec<_> = fs::read_dir(&outside)
            .expect("outside")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(inside, ["canary"], "written outside the root");
        let canary = outside.join("canary");
        assert_eq!(fs::read(&canary).expect("canary"), b"canary");
        let links = std::os::unix::fs::MetadataExt::nlink(&fs::metadata(&canary).expect("canary"));
        assert_eq!(links, 1, "the canary outside the root was hard-linked into it");
        let mode = fs::metadata(&outside).expect("outside").permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755, "the directory outside the root was chmodded");
    }
}

fn extract_jailed(data: &[u8]) {
    JAIL.with(|cell| {
        let mut cell = cell.borrow_mut();
        if !cell.as_ref().is_some_and(|j| j.clean) {
            *cell = Some(Jail::new());
        }
        let jail = cell.as_mut().expect("just made");
        jail.clean = false;
        jail.plant();
        let root = jail.root();
        let mut owners = Owners::default();
        if let Ok(out) = extract(data, &root, "fuzz", &mut owners, true, false) {
            for d in &out.dirs {
                assert!(
                    d.name.is_empty() || clean(&d.name).as_deref() == Some(d.name.as_str()),
                    "{:?}",
                    d.name
                );
            }
        }
        jail.check_outside();
        for p in owners.map.keys() {
            assert!(
                p.components().all(|c| matches!(c, Component::Normal(_))),
                "owner path {p:?}"
            );
        }
        walk_resolves_inside(&root, Path::new(""));
        jail.clean = true;
    });
}

/// Every path in the extracted tree resolves (links followed the booted system's
/// way) to a path under the root: only normal components, never `..` or `/`.
fn walk_resolves_inside(root: &Path, rel: &Path) {
    let Ok(dir) = fs::read_dir(root.join(rel)) else { return };
    for e in dir.flatten() {
        let r = rel.join(e.file_name());
        let Some(s) = r.to_str() else { continue };
        for res in [resolve_in_root(root, s), resolve_parent(root, s)]
            .into_iter()
            .flatten()
        {
            assert!(
                res.components().all(|c| matches!(c, Component::Normal(_))),
                "{s} -> {res:?}"
            );
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk_resolves_inside(root, &r);
        }
    }
}

/// Versions and dependency atoms, one per line. Comparison never panics; on valid
/// versions (what the solver orders) it is reflexive, antisymmetric and transitive
/// on the first three lines; an atom that parses prints back to itself.
pub fn apk_version(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().take(16).collect();
    for a in &lines {
        assert_eq!(compare(a, a), Ordering::Equal, "{a:?}");
        for b in &lines {
            let ab = compare(a, b);
            if validate(a) && validate(b) {
                assert_eq!(ab, compare(b, a).reverse(), "{a:?} {b:?}");
            }
        }
        if let Some(d) = Dep::parse(a) {
            assert_eq!(Dep::parse(&d.to_string()).as_ref(), Some(&d), "{a:?}");
            let _ = d.accepts(lines.first().copied(), "");
        }
    }
    if let [a, b, c, ..] = lines[..] {
        if validate(a) && validate(b) && validate(c) && compare(a, b).is_le() && compare(b, c).is_le() {
            assert!(compare(a, c).is_le(), "{a:?} <= {b:?} <= {c:?} but not {a:?} <= {c:?}");
        }
    }
}
