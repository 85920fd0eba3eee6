//! Kernel sources from small packages made here: a .deb (ar with debian-binary,
//! control.tar.gz, data.tar.{xz,zst,gz}), an .apk (gzip members), trees and
//! directories of packages.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::*;

const V: &str = "6.1.0-99-test-amd64";

/// A tar of `(path, content)`; paths ending in `/` are directories.
fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        if path.ends_with('/') {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
        } else {
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
        }
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn ar(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        out.extend(
            format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                name,
                0,
                0,
                0,
                "100644",
                data.len()
            )
            .bytes(),
        );
        out.extend(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn kernel_tree(version: &str, vmlinuz: &str, with_dep: bool) -> Vec<u8> {
    let dep = format!("lib/modules/{version}/modules.dep");
    let ko = format!("lib/modules/{version}/kernel/fs/fat/fat.ko");
    let order = format!("lib/modules/{version}/modules.order");
    let mut e: Vec<(&str, &[u8])> = vec![
        ("boot/", b""),
        (vmlinuz, b"MZ fake kernel"),
        (&order, b"kernel/fs/fat/fat.ko\n"),
        (&ko, b"not really ELF"),
    ];
    if with_dep {
        e.push((&dep, b"kernel/fs/fat/fat.ko:\n"));
    }
    tar(&e)
}

/// A .deb whose data member is `data_name` (compressed to match).
fn deb(data_name: &str, data_tar: Vec<u8>) -> Vec<u8> {
    let data = match data_name {
        "data.tar.xz" => {
            let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(&data_tar).unwrap();
            e.finish().unwrap()
        }
        "data.tar.zst" => zstd::encode_all(&data_tar[..], 1).unwrap(),
        "data.tar.gz" => gzip(&data_tar),
        _ => data_tar,
    };
    ar(&[
        ("debian-binary", b"2.0\n".to_vec()),
        (
            "control.tar.gz",
            gzip(&tar(&[("./control", b"Package: linux-image-test\n")])),
        ),
        (data_name, data),
    ])
}

fn apk(version: &str, signed: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if signed {
        // The signature tar has no end-of-archive blocks: cut them off as apk does.
        let sig = tar(&[(".SIGN.RSA.test.rsa.pub", &[7u8; 64])]);
        out.extend(gzip(&sig[..sig.len() - 1024]));
    }
    let control = tar(&[(".PKGINFO", b"pkgname = linux-lts\npkgver = 6.12.13-r0\n")]);
    out.extend(gzip(&control[..control.len() - 1024]));
    out.extend(gzip(&kernel_tree(version, "boot/vmlinuz-lts", true)));
    out
}

#[test]
fn ar_members_with_odd_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.deb");
    fs::write(&p, ar(&[("a", b"odd".to_vec()), ("b/", b"even".to_vec())])).unwrap();
    let m = zos_host::deb::members(&p).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!((m[0].name.as_str(), m[0].offset, m[0].size), ("a", 68, 3));
    assert_eq!((m[1].name.as_str(), m[1].offset, m[1].size), ("b", 68 + 4 + 60, 4));
}

#[test]
fn deb_with_each_data_compression() {
    for name in ["data.tar.xz", "data.tar.zst", "data.tar.gz", "data.tar"] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("linux-image-{V}_1_amd64.deb"));
        fs::write(&p, deb(name, kernel_tree(V, &format!("boot/vmlinuz-{V}"), true))).unwrap();
        let k = open(&p, None, &dir.path().join("unpack")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(k.version, V, "{name}");
        assert_eq!(fs::read(&k.vmlinuz).unwrap(), b"MZ fake kernel", "{name}");
        assert!(k.modules_dir.ends_with(format!("lib/modules/{V}")), "{name}");
        let tree = crate::modules::ModuleTree::open(&k.modules_dir).unwrap();
        assert_eq!(tree.version, V);
    }
}

#[test]
fn deb_without_modules_dep_gets_depmod() {
    if !Path::new("/sbin/depmod").exists() && !Path::new("/usr/sbin/depmod").exists() {
        eprintln!("SKIP: no depmod (apt-get install kmod)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.deb");
    let order = format!("lib/modules/{V}/modules.order");
    let data = tar(&[(&format!("boot/vmlinuz-{V}"), b"MZ"), (&order, b"")]);
    fs::write(&p, deb("data.tar.xz", data)).unwrap();
    let k = open(&p, Some(V), &dir.path().join("unpack")).unwrap();
    assert!(k.modules_dir.join("modules.dep").is_file());
}

#[test]
fn bad_debs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.deb");
    fs::write(&p, b"PK\x03\x04 a zip").unwrap();
    let e = open(&p, None, dir.path()).unwrap_err().to_string();
    assert!(e.contains("broken.deb") && e.contains("not an ar archive"), "{e}");
    fs::write(&p, ar(&[("debian-binary", b"2.0\n".to_vec())])).unwrap();
    let e = open(&p, None, dir.path()).unwrap_err().to_string();
    assert!(e.contains("broken.deb") && e.contains("no data.tar"), "{e}");
    let mut truncated = deb("data.tar.gz", kernel_tree(V, "boot/vmlinuz", true));
    truncated.truncate(truncated.len() - 10);
    fs::write(&p, truncated).unwrap();
    let e = open(&p, None, dir.path()).unwrap_err().to_string();
    assert!(e.contains("runs past the end"), "{e}");
}

#[test]
fn alpine_apk_signed_and_unsigned() {
    let av = "6.12.13-0-lts";
    for signed in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("linux-lts-6.12.13-r0.apk");
        fs::write(&p, apk(av, signed)).unwrap();
        let k = open(&p, None, &dir.path().join("unpack")).unwrap();
        assert_eq!(k.version, av);
        assert!(k.vmlinuz.ends_with("boot/vmlinuz-lts"), "{}", k.vmlinuz.display());
        assert!(k.modules_dir.join("modules.dep").is_file());
    }
}

#[test]
fn apk_without_control_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("odd.apk");
    fs::write(&p, gzip(&kernel_tree(V, "boot/vmlinuz", true))).unwrap();
    let e = open(&p, None, dir.path()).unwrap_err().to_string();
    assert!(e.contains("odd.apk") && e.contains("1 gzip member"), "{e}");
}

#[test]
fn tree_with_two_kernels_needs_kernel_version() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for v in ["6.1.0-1-a", "6.6.0-2-b"] {
        fs::create_dir_all(root.join(format!("lib/modules/{v}"))).unwrap();
        fs::write(root.join(format!("lib/modules/{v}/modules.dep")), "").unwrap();
    }
    fs::write(root.join("vmlinuz"), "MZ").unwrap();
    fs::create_dir_all(root.join("boot")).unwrap();
    fs::write(root.join("boot/vmlinuz-6.6.0-2-b"), "MZ b").unwrap();
    let e = open(root, None, root).unwrap_err().to_string();
    assert!(
        e.contains("6.1.0-1-a, 6.6.0-2-b") && e.contains("KERNEL_VERSION"),
        "{e}"
    );
    let k = open(root, Some("6.6.0-2-b"), root).unwrap();
    assert!(k.vmlinuz.ends_with("boot/vmlinuz-6.6.0-2-b"));
    // No boot/vmlinuz-<v> and no flavor match: the top-level vmlinuz.
    let k = open(root, Some("6.1.0-1-a"), root).unwrap();
    assert_eq!(k.vmlinuz, root.join("vmlinuz"));
    let e = open(root, Some("5.10.0"), root).unwrap_err().to_string();
    assert!(
        e.contains("KERNEL_VERSION=5.10.0 not found") && e.contains("6.1.0-1-a"),
        "{e}"
    );
}

#[test]
fn tree_without_vmlinuz_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join(format!("usr/lib/modules/{V}"));
    fs::create_dir_all(&m).unwrap();
    fs::write(m.join("modules.dep"), "").unwrap();
    let e = open(dir.path(), None, dir.path()).unwrap_err().to_string();
    assert!(
        e.contains(&format!("boot/vmlinuz-{V}")) && e.contains("boot/vmlinuz-amd64"),
        "{e}"
    );
    // merged-/usr layout with the image beside the modules (Fedora, Arch).
    fs::write(m.join("vmlinuz"), "MZ").unwrap();
    let k = open(dir.path(), None, dir.path()).unwrap();
    assert_eq!(k.vmlinuz, m.join("vmlinuz"));
}

#[test]
fn directory_of_packages_picks_by_version() {
    let dir = tempfile::tempdir().unwrap();
    let pkgs = dir.path().join("pkgs");
    fs::create_dir_all(&pkgs).unwrap();
    let other = "6.1.0-98-test-amd64";
    for v in [V, other] {
        let p = pkgs.join(format!("linux-image-{v}_6.1.1-1_amd64.deb"));
        fs::write(
            &p,
            deb("data.tar.gz", kernel_tree(v, &format!("boot/vmlinuz-{v}"), true)),
        )
        .unwrap();
    }
    fs::write(pkgs.join("linux-lts-6.12.13-r0.apk"), apk("6.12.13-0-lts", true)).unwrap();
    assert_eq!(kind(&pkgs).unwrap(), SourceKind::Packages);
    let unpack_dir = dir.path().join("unpack");
    let e = open(&pkgs, None, &unpack_dir).unwrap_err().to_string();
    assert!(e.contains("several kernels"), "{e}");
    assert_eq!(open(&pkgs, Some(other), &unpack_dir).unwrap().version, other);
    assert_eq!(
        open(&pkgs, Some("6.12.13-0-lts"), &unpack_dir).unwrap().version,
        "6.12.13-0-lts"
    );
    let e = open(&pkgs, Some("4.19.0"), &unpack_dir).unwrap_err().to_string();
    assert!(e.contains("linux-lts-6.12.13-r0.apk"), "{e}");
}

#[test]
fn unpack_is_reused_until_the_package_changes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.deb");
    fs::write(
        &p,
        deb("data.tar.gz", kernel_tree(V, &format!("boot/vmlinuz-{V}"), true)),
    )
    .unwrap();
    let unpack_dir = dir.path().join("unpack");
    let k = open(&p, None, &unpack_dir).unwrap();
    fs::write(&k.vmlinuz, "marker").unwrap();
    assert_eq!(
        fs::read(&open(&p, None, &unpack_dir).unwrap().vmlinuz).unwrap(),
        b"marker"
    );
    // A different package (size changes) is unpacked afresh.
    fs::write(
        &p,
        deb("data.tar.xz", kernel_tree(V, &format!("boot/vmlinuz-{V}"), true)),
    )
    .unwrap();
    assert_eq!(
        fs::read(&open(&p, None, &unpack_dir).unwrap().vmlinuz).unwrap(),
        b"MZ fake kernel"
    );
}

#[test]
fn alpine_package_version() {
    assert_eq!(alpine_pkgver("6.12.13-0-lts").as_deref(), Some("6.12.13-r0"));
    assert_eq!(alpine_pkgver("6.1.0-56-cloud-amd64").as_deref(), Some("6.1.0-r56"));
    assert_eq!(alpine_pkgver("6.1.0"), None);
}
