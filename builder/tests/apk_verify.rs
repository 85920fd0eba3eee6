//! Trust and integrity, with broken repositories derived at test time from the real
//! fixture one (temp dirs): a flipped byte in a package, an index re-signed with a
//! key generated here, a corrupted signature, an unsigned index, a package removed.
//! Also the real dl-cdn indexes and the synthetic RSA256 vector verify.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod apk_support;

use std::fs;
use std::path::Path;

use apk_support::*;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha1::{Digest, Sha1};
use zos_builder::apk::dep::Dep;
use zos_builder::apk::index::read_index;
use zos_builder::apk::sign::Keyring;
use zos_builder::apk::{install, ApkError, Request, Settings};

fn try_install(repo: &Path, s: Option<Settings>, atoms: &[&str]) -> Result<Vec<String>, ApkError> {
    let t = tempfile::tempdir().unwrap();
    let s = s.unwrap_or_else(|| settings(&serve(repo.to_owned()).url, &t.path().join("c")));
    let req = Request {
        root: t.path().join("root"),
        world: atoms.iter().map(|a| Dep::parse(a).unwrap()).collect(),
        settings: s,
        base_tar: None,
        log_path: None,
        verbose: false,
    };
    install(&req).map(|r| r.installed)
}

/// Replaces a repository file (a symlink) by a modified copy.
fn patch(repo: &Path, name: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = fs::read(repo.join(name)).unwrap();
    fs::remove_file(repo.join(name)).unwrap();
    f(&mut b);
    fs::write(repo.join(name), b).unwrap();
}

const ZLIB: &str = "zlib-1.3.1-r0.apk";

#[test]
fn flipped_byte_in_package_data_is_a_checksum_mismatch() {
    let t = tempfile::tempdir().unwrap();
    let repo = link_repo(&t.path().join("repo"), &[]);
    // Byte 4 of a gzip member is its MTIME, outside the deflate stream and CRC: the
    // member still inflates, so only the checksum can catch the change.
    patch(&repo, ZLIB, |b| {
        let data = members(b).iter().take(2).map(Vec::len).sum::<usize>();
        b[data + 4] ^= 0x01;
    });
    let e = try_install(&repo, None, &["zlib"]).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ApkError::Checksum { .. }), "{msg}");
    assert!(
        msg.contains("zlib-1.3.1-r0") && msg.contains("datahash") && msg.contains(ZLIB),
        "{msg}"
    );
    // VERIFY_CHECKSUMS=0 does not let it through: the signature covers the control
    // member only, the datahash is the payload's only authentication (issue 14.1).
    let c = tempfile::tempdir().unwrap();
    let mut s = settings(&serve(repo.clone()).url, c.path());
    s.verify_checksums = false;
    let e = try_install(&repo, Some(s), &["zlib"]).unwrap_err();
    assert!(e.to_string().contains("datahash"), "{e}");
}

#[test]
fn data_member_swapped_under_a_valid_signature_is_refused_even_without_checksums() {
    let t = tempfile::tempdir().unwrap();
    let repo = link_repo(&t.path().join("repo"), &[]);
    // zlib's signature and control member (valid, trusted) with musl's data member: a
    // well-formed package whose payload is not the one the packager signed.
    let musl = members(&fs::read(repo.join("musl-1.2.4_git20230717-r4.apk")).unwrap());
    patch(&repo, ZLIB, |b| {
        let m = members(b);
        *b = [m[0].clone(), m[1].clone(), musl[2].clone()].concat();
    });
    let c = tempfile::tempdir().unwrap();
    let mut s = settings(&serve(repo.clone()).url, c.path());
    s.verify_checksums = false;
    let e = try_install(&repo, Some(s), &["zlib"]).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ApkError::Checksum { .. }), "{msg}");
    assert!(msg.contains("zlib-1.3.1-r0") && msg.contains("datahash"), "{msg}");
}

#[test]
fn flipped_byte_in_control_member_breaks_the_identity() {
    let t = tempfile::tempdir().unwrap();
    let repo = link_repo(&t.path().join("repo"), &[]);
    patch(&repo, ZLIB, |b| {
        let sig = members(b)[0].len();
        b[sig + 4] ^= 0x01;
    });
    let msg = try_install(&repo, None, &["zlib"]).unwrap_err().to_string();
    assert!(msg.contains("identity (C:") && msg.contains("zlib-1.3.1-r0"), "{msg}");
    // A byte flipped inside the compressed data: named, whatever layer notices.
    let repo2 = link_repo(&t.path().join("repo2"), &[]);
    patch(&repo2, ZLIB, |b| {
        let n = b.len();
        b[n - 100] ^= 0xff;
    });
    let msg = try_install(&repo2, None, &["zlib"]).unwrap_err().to_string();
    assert!(msg.contains("zlib-1.3.1-r0"), "{msg}");
}

#[test]
fn index_signed_by_unknown_key_then_trusted() {
    let t = tempfile::tempdir().unwrap();
    let repo = link_repo(&t.path().join("repo"), &[]);
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    let name = "zos-test-unknown.rsa.pub";
    patch(&repo, "APKINDEX.tar.gz", |b| {
        let m = members(b);
        let sig = key.sign(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(&m[1])).unwrap();
        *b = [sig_member(&format!(".SIGN.RSA.{name}"), &sig), m[1].clone()].concat();
    });
    let e = try_install(&repo, None, &["zlib"]).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ApkError::UnknownKey { .. }), "{msg}");
    assert!(msg.contains(name) && msg.contains("APKINDEX.tar.gz"), "{msg}");
    // Trust it: the re-signed index verifies, the packages still by Alpine's key.
    let trusted = t.path().join("keys");
    fs::create_dir(&trusted).unwrap();
    for e in fs::read_dir(keys()).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), trusted.join(e.file_name())).unwrap();
    }
    fs::write(
        trusted.join(name),
        key.to_public_key().to_public_key_pem(LineEnding::LF).unwrap(),
    )
    .unwrap();
    let c = tempfile::tempdir().unwrap();
    let mut s = settings(&serve(repo.clone()).url, c.path());
    s.keys_dir = trusted;
    assert_eq!(try_install(&repo, Some(s), &["zlib"]).unwrap().len(), 2);
}

#[test]
fn corrupted_signature_is_bad_and_unsigned_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let repo = link_repo(&t.path().join("repo"), &[]);
    patch(&repo, "APKINDEX.tar.gz", |b| {
        let m = members(b);
        let sigs = zos_builder::apk::sign::signatures(
            &zos_builder::apk::gzip::split_members(&m[0], "t").unwrap()[0].data,
            "t",
        )
        .unwrap();
        let mut sig = sigs[0].bytes.clone();
        sig[100] ^= 0x01;
        *b = [sig_member(&format!(".SIGN.RSA.{}", sigs[0].key), &sig), m[1].clone()].concat();
    });
    let e = try_install(&repo, None, &["zlib"]).unwrap_err();
    assert!(matches!(e, ApkError::BadSignature { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("BAD signature by trusted key alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"),
        "{e}"
    );

    let repo2 = link_repo(&t.path().join("repo2"), &[]);
    patch(&repo2, "APKINDEX.tar.gz", |b| *b = members(b)[1].clone());
    let e = try_install(&repo2, None, &["zlib"]).unwrap_err();
    assert!(matches!(e, ApkError::Unsigned { .. }), "{e}");
    let c = tempfile::tempdir().unwrap();
    let mut s = settings(&serve(repo2.clone()).url, c.path());
    s.allow_untrusted = true;
    assert_eq!(try_install(&repo2, Some(s), &["zlib"]).unwrap().len(), 2);
}

#[test]
fn package_removed_from_repository_names_the_url() {
    let t = tempfile::tempdir().unwrap();
    let repo = link_repo(&t.path().join("repo"), &[ZLIB]);
    let e = try_install(&repo, None, &["zlib"]).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ApkError::Fetch { .. }), "{msg}");
    assert!(
        msg.contains("/x86_64/zlib-1.3.1-r0.apk") && msg.contains("HTTP 404"),
        "{msg}"
    );
}

#[test]
fn real_indexes_and_rsa256_vector_verify() {
    let ring = Keyring::load(&keys()).unwrap();
    // 2048-bit SHA-1 (v3.8) and 4096-bit keys, all among the shipped x86_64 keys.
    for (dir, sha) in [
        ("v3.8-main-x86_64", "4a6a0840"),
        ("v3.16-main-x86_64", ""),
        ("v3.19.1-iso-x86_64", "6165ee59"),
    ] {
        let p = fixtures().join(dir).join("APKINDEX.tar.gz");
        let idx = read_index(&fs::read(&p).unwrap(), dir, &ring, false, 0).unwrap();
        assert!(idx.signed_by.unwrap().contains(sha), "{dir}");
        assert!(idx.packages.len() > 50, "{dir}");
    }
    let syn = fixtures().join("synthetic-rsa256");
    let mut ring = Keyring::default();
    ring.add(
        "test-rsa256.rsa.pub",
        &fs::read(syn.join("test-rsa256.rsa.pub")).unwrap(),
    )
    .unwrap();
    let bytes = fs::read(syn.join("APKINDEX.tar.gz")).unwrap();
    let sigs = zos_builder::apk::sign::signatures(
        &zos_builder::apk::gzip::split_members(&bytes, "t").unwrap()[0].data,
        "t",
    )
    .unwrap();
    assert_eq!(sigs[0].algo, zos_builder::apk::sign::Algo::Sha256);
    let idx = read_index(&bytes, "rsa256", &ring, false, 0).unwrap();
    assert_eq!(idx.signed_by.as_deref(), Some("test-rsa256.rsa.pub"));
}
