//! APKINDEX.tar.gz: a signature member, then a tar with DESCRIPTION and APKINDEX, a
//! list of `X:value` records (apk-tools package.c `apk_pkg_write_index_header`).

use std::io::Read;

use super::dep::Dep;
use super::error::{format, Result};
use super::gzip::split_members;
use super::sign::{verify, Keyring};

/// One package as the index (and later the installed database) describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    /// `C:` identity, `Q1` + base64(SHA1 of the compressed control member).
    pub identity: String,
    pub name: String,
    pub version: String,
    pub arch: String,
    /// `S:` size of the .apk file.
    pub size: u64,
    /// `I:` installed size.
    pub installed_size: u64,
    pub description: String,
    pub url: String,
    pub license: String,
    pub origin: Option<String>,
    pub maintainer: Option<String>,
    pub build_time: Option<u64>,
    pub commit: Option<String>,
    /// `k:` provider priority: the highest wins among providers of a virtual name.
    pub provider_priority: Option<u32>,
    pub depends: Vec<Dep>,
    pub provides: Vec<Dep>,
    pub install_if: Vec<Dep>,
    /// Raw `D:`, `p:`, `i:` values, written back unchanged into the installed db.
    pub raw_depends: String,
    pub raw_provides: String,
    pub raw_install_if: String,
    /// Index of the repository (in config order) the record came from.
    pub repo: usize,
}

impl Package {
    /// `name-version`, as apk prints it and names the file.
    pub fn nv(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }

    pub fn file_name(&self) -> String {
        format!("{}.apk", self.nv())
    }

    /// The index header lines in apk's order; the installed db starts each record
    /// with exactly these.
    pub fn write_header(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "C:{}\nP:{}\nV:{}\nA:{}",
            self.identity, self.name, self.version, self.arch
        );
        let _ = writeln!(
            out,
            "S:{}\nI:{}\nT:{}\nU:{}\nL:{}",
            self.size, self.installed_size, self.description, self.url, self.license
        );
        let opt = |out: &mut String, k: &str, v: &Option<String>| {
            if let Some(v) = v {
                let _ = writeln!(out, "{k}:{v}");
            }
        };
        opt(out, "o", &self.origin);
        opt(out, "m", &self.maintainer);
        opt(out, "t", &self.build_time.map(|t| t.to_string()));
        opt(out, "c", &self.commit);
        opt(out, "k", &self.provider_priority.map(|k| k.to_string()));
        for (k, v) in [
            ("D", &self.raw_depends),
            ("p", &self.raw_provides),
            ("i", &self.raw_install_if),
        ] {
            if !v.is_empty() {
                let _ = writeln!(out, "{k}:{v}");
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Index {
    pub description: String,
    pub packages: Vec<Package>,
    /// The trusted key that signed it (None: allowed unsigned).
    pub signed_by: Option<String>,
}

/// Verifies and parses a whole APKINDEX.tar.gz; `what` names it (URL or path).
pub fn read_index(buf: &[u8], what: &str, ring: &Keyring, allow_untrusted: bool, repo: usize) -> Result<Index> {
    let members = split_members(buf, what)?;
    // An unsigned index is a single member holding the index tar itself.
    let (signed_by, body) = if members.len() >= 2 {
        let signed = &buf[members[1].raw.clone()];
        (
            verify(&members[0].data, signed, ring, what, allow_untrusted)?,
            &members[1].data,
        )
    } else {
        (verify(&[], &[], ring, what, allow_untrusted)?, &members[0].data)
    };
    let mut index = Index {
        signed_by,
        ..Index::default()
    };
    let mut text = None;
    let bad = |e: std::io::Error| format(what, format!("index tar: {e}"));
    let mut ar = tar::Archive::new(&body[..]);
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut s = String::new();
        if name == "DESCRIPTION" || name == "APKINDEX" {
            entry.read_to_string(&mut s).map_err(bad)?;
        }
        match name.as_str() {
            "DESCRIPTION" => index.description = s.trim().to_string(),
            "APKINDEX" => text = Some(s),
            _ => {}
        }
    }
    let text = text.ok_or_else(|| format(what, "no APKINDEX entry in the index tar"))?;
    index.packages = parse_records(&text, what, repo)?;
    Ok(index)
}

/// Parses APKINDEX text (also the header part of lib/apk/db/installed records).
pub fn parse_records(text: &str, what: &str, repo: usize) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut p = Package {
        repo,
        ..Package::default()
    };
    let mut started = false;
    // Split on `\n` only, as apk-tools does: `lines()` would also eat a `\r` before
    // it, so a value ending in `\r` lost one each time the db was written and read.
    for (n, line) in text.split('\n').enumerate().map(|(n, l)| (n + 1, l)) {
        if line.is_empty() {
            if started {
                out.push(finish(std::mem::take(&mut p), what, n)?);
                p.repo = repo;
                started = false;
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':').filter(|(k, _)| k.len() == 1) else {
            return Err(format(what, format!("line {n}: not a `X:value` line: {line:?}")));
        };
        started = true;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format(what, format!("line {n}: {k}:{v} is not a number")))
        };
        let deps = |v: &str| Dep::parse_list(v).map_err(|a| format(what, format!("line {n}: bad dependency {a:?}")));
        match k {
            "C" => p.identity = v.into(),
            "P" => p.name = v.into(),
            "V" => p.version = v.into(),
            "A" => p.arch = v.into(),
            "S" => p.size = num(v)?,
            "I" => p.installed_size = num(v)?,
            "T" => p.description = v.into(),
            "U" => p.url = v.into(),
            "L" => p.license = v.into(),
            "o" => p.origin = Some(v.into()),
            "m" => p.maintainer = Some(v.into()),
            "t" => p.build_time = Some(num(v)?),
            "c" => p.commit = Some(v.into()),
            // u32 as apk has it: `k:4294967297` is an error, not priority 1.
            "k" => {
                p.provider_priority =
                    Some(u32::try_from(num(v)?).map_err(|_| format(what, format!("line {n}: k:{v} is out of range")))?)
            }
            "D" => (p.depends, p.raw_depends) = (deps(v)?, v.into()),
            "p" => (p.provides, p.raw_provides) = (deps(v)?, v.into()),
            "i" => (p.install_if, p.raw_install_if) = (deps(v)?, v.into()),
            // Installed-db-only fields (files, replaces, ...) are read elsewhere.
            _ => {}
        }
    }
    if started {
        out.push(finish(p, what, text.lines().count())?);
    }
    Ok(out)
}

fn finish(p: Package, what: &str, line: usize) -> Result<Package> {
    if p.name.is_empty() || p.version.is_empty() || p.identity.is_empty() {
        return Err(format(what, format!("record ending at line {line} lacks C:, P: or V:")));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let text = "C:Q1kqFQHSGzXGq3k7gQTqb+GxbmnOw=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nS:407278\nI:667648\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Timo Teräs <timo.teras@iki.fi>\nt:1699271358\nc:ca7f2ab5e88794e4e654b40776f8a92256f50639\np:so:libc.musl-x86_64.so.1=1\n";
        let p = parse_records(text, "t", 0).unwrap();
        let mut out = String::new();
        p[0].write_header(&mut out);
        assert_eq!(out, text);
        assert_eq!(p[0].provides[0].name, "so:libc.musl-x86_64.so.1");
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse_records("P:a\nnonsense\n", "idx", 0).unwrap_err().to_string();
        assert!(e.contains("idx: line 2"), "{e}");
        let e = parse_records("P:a\nV:1\n\n", "idx", 0).unwrap_err().to_string();
        assert!(e.contains("lacks C:"), "{e}");
        let e = parse_records("C:Q1x\nP:a\nV:1\nk:4294967297\n", "idx", 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 4: k:4294967297 is out of range"), "{e}");
    }

    /// Found by the apkindex fuzz target: `P:busybox\r\r\n` read with `lines()` lost
    /// a `\r` on each write and read of the record.
    #[test]
    fn a_carriage_return_in_a_value_survives_a_round_trip() {
        let text = "C:Q1x\nP:busybox\r\r\nV:1\nA:x86_64\nS:1\nI:2\nT:t\r\nU:u\nL:MIT\n";
        let p = parse_records(text, "t", 0).unwrap();
        assert_eq!((p[0].name.as_str(), p[0].description.as_str()), ("busybox\r\r", "t\r"));
        let mut out = String::new();
        p[0].write_header(&mut out);
        assert_eq!(out, text);
        assert_eq!(parse_records(&out, "t", 0).unwrap(), p);
    }
}
