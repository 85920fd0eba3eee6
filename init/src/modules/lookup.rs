//! The compact lookup that makes a kernel module request for an unknown name fast.
//! Each request is a new process (`/init -q -- name`, modprobe.rs), so the parsed
//! index cannot stay in memory between requests; parsing depmod's whole index
//! (tens of thousands of aliases) for each took 1.8-4.9 s under TCG. The lookup is
//! written once, by the first process that parsed the index, and holds only what
//! tells "no module or alias has this name" apart from the rest: every literal name
//! (modules, built-ins, literal aliases) and every alias glob. A request the lookup
//! says nothing matches fails at once; any other reads the index as before.
//!
//! Format (text, one entry a line): `zos-modlookup 1 <stamp>`, then `=<name>` or
//! `*<glob>` lines. The stamp is the size and mtime of the index files: the copy
//! keeps both (`cp -a`), debug injection that replaces them does not, so a lookup
//! never answers for an index it was not made from.

use std::collections::BTreeSet;
use std::path::Path;

use zos_common::modules::glob::{bus, fnmatch, has_glob};

use super::index::ModIndex;
use super::normalize;
use crate::error::SysError;
use crate::sys::Sys;

const MAGIC: &str = "zos-modlookup 1 ";

/// The index files a name is resolved against (modules.softdep is not).
const FILES: [&str; 4] = [
    "modules.dep",
    "modules.alias",
    "modules.builtin",
    "modules.builtin.modinfo",
];

/// Size and mtime of the index files of `dir` (`-` for one that is missing); a file
/// gone from `dir` is taken from `moved_to` (copy-and-free, modules/moved.rs).
pub fn stamp(sys: &dyn Sys, dir: &Path, moved_to: Option<&Path>) -> String {
    FILES
        .iter()
        .map(|f| {
            let meta = sys.look().version(&dir.join(f));
            match moved_to {
                Some(to) if meta.is_err() => sys.look().version(&to.join(f)),
                _ => meta,
            }
        })
        .map(|m| match m {
            Ok(v) => format!("{}.{}.{}", v.size, v.mtime, v.mtime_nsec),
            Err(_) => "-".into(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The lookup text for `idx`, stamped with `stamp`.
pub fn build(idx: &ModIndex, stamp: &str) -> String {
    let mut lines: BTreeSet<String> = BTreeSet::new();
    lines.extend(idx.modules.keys().map(|m| format!("={m}")));
    lines.extend(idx.builtin.iter().map(|m| format!("={m}")));
    for (pat, _) in idx.aliases.entries().chain(idx.builtin_aliases.entries()) {
        let kind = if has_glob(pat) { '*' } else { '=' };
        lines.insert(format!("{kind}{pat}"));
    }
    let mut out = format!("{MAGIC}{stamp}\n");
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Whether `name` may resolve to something in the index `text` was built from:
/// Some(false) is certain (no module, built-in or alias by that name), Some(true)
/// means "read the index"; None when `text` is not a lookup for `stamp`.
pub fn may_resolve(text: &str, stamp: &str, name: &str) -> Option<bool> {
    let (head, body) = text.split_once('\n')?;
    if head.strip_prefix(MAGIC)? != stamp {
        return None;
    }
    // A truncated file cannot pass for a complete one: the writer renames it in
    // place only once it is whole, and ends it with a newline.
    if !body.is_empty() && !body.ends_with('\n') {
        return None;
    }
    let n = normalize(name);
    let b = bus(name);
    for line in body.lines() {
        let hit = if let Some(lit) = line.strip_prefix('=') {
            // Module names are normalised (`-` is `_`), aliases compare as given.
            lit == name || lit == n
        } else if let Some(pat) = line.strip_prefix('*') {
            let pb = bus(pat);
            (has_glob(pb) || pb == b) && fnmatch(pat, name)
        } else {
            false
        };
        if hit {
            return Some(true);
        }
    }
    Some(false)
}

/// Write the lookup at `path` whole or not at all (a temporary file renamed over
/// it), so a request running meanwhile never reads half of one.
pub fn publish(sys: &dyn Sys, path: &Path, text: &str) -> Result<(), SysError> {
    sys.write(path, text.as_bytes(), crate::sys::Write::Replace)
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
