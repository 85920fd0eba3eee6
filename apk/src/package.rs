//! Opening a downloaded .apk (v2): split the members, check the control member's
//! SHA1 against the index identity (`C:`), the data member's SHA256 against the
//! signed `datahash`, the signature against the trusted keys, and read `.PKGINFO`
//! and the install scripts.

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::error::{format, ApkError, Result};
use super::gzip::split_members;
use super::index::Package;
use super::sign::{verify, Keyring};

/// A control-member script (`.post-install`, `.trigger`, ...).
#[derive(Debug, Clone)]
pub struct Script {
    /// Without the leading dot: `post-install`.
    pub action: String,
    pub body: Vec<u8>,
    pub mtime: u64,
}

#[derive(Debug, Clone)]
pub struct ApkFile {
    /// `.PKGINFO` keys with all their values in order (`depend` repeats).
    pub pkginfo: BTreeMap<String, Vec<String>>,
    pub scripts: Vec<Script>,
    /// The decompressed data tar.
    pub data: Vec<u8>,
}

impl ApkFile {
    pub fn info(&self, key: &str) -> Option<&str> {
        self.pkginfo.get(key).and_then(|v| v.first()).map(String::as_str)
    }

    pub fn info_all(&self, key: &str) -> String {
        self.pkginfo.get(key).map(|v| v.join(" ")).unwrap_or_default()
    }
}

/// `Q1` + base64(SHA1), the form of `C:` and of the installed db's `Z:`.
pub fn q1(sha1: &[u8]) -> String {
    format!("Q1{}", base64::engine::general_purpose::STANDARD.encode(sha1))
}

pub struct Checks<'a> {
    pub ring: &'a Keyring,
    pub allow_untrusted: bool,
    pub verify_checksums: bool,
}

/// Verifies and opens `bytes`, the file of index record `pkg` fetched from `url`.
pub fn open(bytes: &[u8], pkg: &Package, url: &str, checks: &Checks) -> Result<ApkFile> {
    let what = format!("package {} ({url})", pkg.nv());
    let members = split_members(bytes, &what)?;
    let mismatch = |what: &str, expected: String, found: String| ApkError::Checksum {
        package: pkg.nv(),
        url: url.to_string(),
        what: what.to_string(),
        expected,
        found,
    };
    // Signed packages have 3 members; an unsigned one (allowed only on request) 2.
    let (sig, control, data) = match members.as_slice() {
        [s, c, d] => (Some(s), c, d),
        [c, d] => (None, c, d),
        _ => {
            return Err(format(
                &what,
                format!("{} gzip members, want 3 (signature, control, data)", members.len()),
            ))
        }
    };
    if checks.verify_checksums {
        if pkg.size != 0 && pkg.size != bytes.len() as u64 {
            return Err(mismatch("size (S:)", pkg.size.to_string(), bytes.len().to_string()));
        }
        let id = q1(&Sha1::digest(&bytes[control.raw.clone()]));
        if id != pkg.identity {
            return Err(mismatch(
                "identity (C:, SHA1 of the control member)",
                pkg.identity.clone(),
                id,
            ));
        }
    }
    let mut file = ApkFile {
        pkginfo: BTreeMap::new(),
        scripts: Vec::new(),
        data: Vec::new(),
    };
    read_control(&control.data, &what, &mut file)?;
    // With datahash the signature covers the control member only, and the data is
    // trusted through the hash; older packages sign control and data together.
    let datahash = file.info("datahash").map(str::to_string);
    let signed = match datahash {
        Some(_) => &bytes[control.raw.clone()],
        None => &bytes[control.raw.start..data.raw.end],
    };
    verify(
        sig.map_or(&[][..], |s| &s.data[..]),
        signed,
        checks.ring,
        &what,
        checks.allow_untrusted,
    )?;
    // Always, whatever VERIFY_CHECKSUMS says: under a control-only signature the
    // hash is the only authentication of the payload.
    if let Some(want) = datahash {
        let got = hex::encode(Sha256::digest(&bytes[data.raw.clone()]));
        if got != want {
            return Err(mismatch("datahash (SHA256 of the data member)", want, got));
        }
    }
    file.data = members.into_iter().last().map(|m| m.data).unwrap_or_default();
    Ok(file)
}

fn read_control(tar_bytes: &[u8], what: &str, file: &mut ApkFile) -> Result<()> {
    let bad = |e: std::io::Error| format(what, format!("control tar: {e}"));
    let mut ar = tar::Archive::new(tar_bytes);
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mtime = entry.header().mtime().unwrap_or(0);
        let mut body = Vec::new();
        entry.read_to_end(&mut body).map_err(bad)?;
        if name == ".PKGINFO" {
            for line in String::from_utf8_lossy(&body).lines() {
                if line.starts_with('#') {
                    continue;
                }
                if let Some((k, v)) = line.split_once(" = ") {
                    file.pkginfo
                        .entry(k.trim().to_string())
                        .or_default()
                        .push(v.trim().to_string());
                }
            }
        } else if let Some(action) = name.strip_prefix('.') {
            file.scripts.push(Script {
                action: action.to_string(),
                body,
                mtime,
            });
        }
    }
    if file.pkginfo.is_empty() {
        return Err(format(what, "no .PKGINFO in the control member"));
    }
    Ok(())
}
