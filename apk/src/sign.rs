//! APK v2 signatures (apk-tools package.c `apk_sign_ctx_*`): the first gzip member
//! is a tar with one `.SIGN.<TYPE>.<keyname>` entry holding a raw RSA PKCS#1 v1.5
//! signature. The key is chosen by file name in the trusted keys dir, as apk does:
//! a signature by a key we do not have is ignored, and no trusted signature at all
//! is an error.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::error::{io_at, ApkError, Result};

/// Trusted public keys by file name (`alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`).
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    pub dir: PathBuf,
    pub keys: BTreeMap<String, RsaPublicKey>,
    /// The PEM text, copied into the rootfs's etc/apk/keys.
    pub pem: BTreeMap<String, Vec<u8>>,
}

impl Keyring {
    /// Loads every `*.pub` file of `dir`.
    pub fn load(dir: &Path) -> Result<Keyring> {
        let mut ring = Keyring {
            dir: dir.to_owned(),
            ..Keyring::default()
        };
        let mut names: Vec<_> = fs::read_dir(dir)
            .map_err(io_at(dir))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .filter_map(|n| n.into_string().ok())
            .filter(|n| n.ends_with(".pub"))
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let pem = fs::read(&path).map_err(io_at(&path))?;
            ring.add(&name, &pem).map_err(|reason| ApkError::Key { path, reason })?;
        }
        Ok(ring)
    }

    pub fn add(&mut self, name: &str, pem: &[u8]) -> std::result::Result<(), String> {
        let text = std::str::from_utf8(pem).map_err(|_| "not PEM text".to_string())?;
        let key = RsaPublicKey::from_public_key_pem(text)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(text))
            .map_err(|e| format!("not an RSA public key: {e}"))?;
        self.keys.insert(name.to_string(), key);
        self.pem.insert(name.to_string(), pem.to_vec());
        Ok(())
    }
}

/// One `.SIGN.*` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub algo: Algo,
    pub key: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Sha1,
    Sha256,
    Sha512,
}

/// The `.SIGN.*` entries of a signature member (other entries are not signatures:
/// a member without any means the file is unsigned).
pub fn signatures(sig_tar: &[u8], what: &str) -> Result<Vec<Signature>> {
    let mut out = Vec::new();
    let mut ar = tar::Archive::new(sig_tar);
    let bad = |e: std::io::Error| super::error::format(what, format!("signature tar: {e}"));
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let (algo, key) = if let Some(k) = name.strip_prefix(".SIGN.RSA512.") {
            (Algo::Sha512, k)
        } else if let Some(k) = name.strip_prefix(".SIGN.RSA256.") {
            (Algo::Sha256, k)
        } else if let Some(k) = name.strip_prefix(".SIGN.RSA.") {
            (Algo::Sha1, k)
        } else {
            // `.SIGN.DSA.` and anything else: apk cannot verify these either.
            continue;
        };
        let key = key.to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(bad)?;
        out.push(Signature { algo, key, bytes });
    }
    Ok(out)
}

/// Verifies that `signed` (raw compressed bytes) carries a signature from `ring`.
/// Returns the key name, or None when untrusted input is explicitly allowed.
pub fn verify(
    sig_tar: &[u8],
    signed: &[u8],
    ring: &Keyring,
    what: &str,
    allow_untrusted: bool,
) -> Result<Option<String>> {
    let sigs = signatures(sig_tar, what)?;
    for sig in &sigs {
        let Some(key) = ring.keys.get(&sig.key) else { continue };
        let ok = match sig.algo {
            Algo::Sha1 => key.verify(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(signed), &sig.bytes),
            Algo::Sha256 => key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(signed), &sig.bytes),
            Algo::Sha512 => key.verify(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(signed), &sig.bytes),
        };
        if ok.is_err() && !allow_untrusted {
            return Err(ApkError::BadSignature {
                what: what.into(),
                key: sig.key.clone(),
            });
        }
        if ok.is_ok() {
            return Ok(Some(sig.key.clone()));
        }
    }
    if allow_untrusted {
        return Ok(None);
    }
    if sigs.is_empty() {
        return Err(ApkError::Unsigned { what: what.into() });
    }
    Err(ApkError::UnknownKey {
        what: what.into(),
        keys: sigs.iter().map(|s| s.key.as_str()).collect::<Vec<_>>().join(", "),
        keys_dir: ring.dir.clone(),
    })
}
