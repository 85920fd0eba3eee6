//! fnmatch(3)-style globs for `modules.alias` (`*`, `?`, `[a-z]`, `[!x]`, no
//! FNM_PATHNAME: `/` is an ordinary character there), and the alias table with a bus
//! prefilter: a modalias `pci:v...` is only tried against patterns starting `pci:`
//! (and the few whose bus part is itself a glob), so the generic kernel's ~26k aliases
//! cost a few hundred comparisons per device, not 26k.

use std::collections::HashMap;

/// Whether `text` matches the glob `pat`.
pub fn fnmatch(pat: &str, text: &str) -> bool {
    let (p, t) = (pat.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Position after the last `*` and the text index it was tried at: on a mismatch
    // the star swallows one more byte (classic linear backtracking, no recursion).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi + 1, ti));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = class(p, pi, t[ti]) {
                        if ok {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == b'[' {
                        // An unterminated `[` is a literal, as in fnmatch.
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                b'\\' if pi + 1 < p.len() && p[pi + 1] == t[ti] => {
                    pi += 2;
                    ti += 1;
                    continue;
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A `[...]` class at `p[start]` tried on `c`: (matched, index after `]`), or None
/// when the class is not terminated.
fn class(p: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        let lo = p[i];
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            matched |= (lo..=p[i + 2]).contains(&c);
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
    None
}

pub fn has_glob(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
}

/// The bus part of a modalias or pattern: up to the first `:` (`pci`, `virtio`,
/// `acpi*`), or the whole string (`fs-btrfs`, `crypto-crc32c`).
pub fn bus(s: &str) -> &str {
    s.split(':').next().unwrap_or(s)
}

/// `modules.alias`: patterns in file order, bucketed by literal bus prefix.
#[derive(Debug, Default, Clone)]
pub struct AliasTable {
    entries: Vec<(String, String)>,
    by_bus: HashMap<String, Vec<usize>>,
    /// Patterns whose bus part is a glob (`acpi*:...`): tried for every modalias.
    wild: Vec<usize>,
}

impl AliasTable {
    pub fn push(&mut self, pattern: &str, module: &str) {
        let i = self.entries.len();
        self.entries.push((pattern.to_string(), module.to_string()));
        let b = bus(pattern);
        if has_glob(b) {
            self.wild.push(i);
        } else {
            self.by_bus.entry(b.to_string()).or_default().push(i);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Modules whose pattern matches `modalias`, in file order, without repeats.
    pub fn lookup(&self, modalias: &str) -> Vec<String> {
        let mut idx: Vec<usize> = self.by_bus.get(bus(modalias)).cloned().unwrap_or_default();
        idx.extend(&self.wild);
        idx.sort_unstable();
        let mut out: Vec<String> = Vec::new();
        for i in idx {
            let (pat, module) = &self.entries[i];
            if !out.contains(module) && fnmatch(pat, modalias) {
                out.push(module.clone());
            }
        }
        out
    }

    /// (pattern, module) in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(p, m)| (p.as_str(), m.as_str()))
    }

    /// How many patterns a lookup of `modalias` tries (for tests of the prefilter).
    pub fn candidates(&self, modalias: &str) -> usize {
        self.by_bus.get(bus(modalias)).map_or(0, Vec::len) + self.wild.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_cases() {
        let yes = [
            (
                "pci:v00001AF4d*sv*sd*bc*sc*i*",
                "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00",
            ),
            ("virtio:d00000002v*", "virtio:d00000002v00001AF4"),
            ("fs-btrfs", "fs-btrfs"),
            ("a?c", "abc"),
            ("[a-c]x", "bx"),
            ("[!a-c]x", "dx"),
            ("*", ""),
            ("a*b*c", "aXXbYYc"),
            ("acpi*:LNRO0005:*", "acpi:LNRO0005:"),
            ("x[", "x["),
            ("a/b*", "a/b/c"),
        ];
        for (p, t) in yes {
            assert!(fnmatch(p, t), "{p} !~ {t}");
        }
        let no = [
            ("virtio:d00000002v*", "virtio:d00000001v00001AF4"),
            ("a?c", "ac"),
            ("[a-c]x", "dx"),
            ("[!a-c]x", "ax"),
            ("a*b*c", "aXXbYY"),
            ("abc", "abcd"),
        ];
        for (p, t) in no {
            assert!(!fnmatch(p, t), "{p} ~ {t}");
        }
    }

    #[test]
    fn prefilter_keeps_results_and_cuts_work() {
        let mut t = AliasTable::default();
        for i in 0..1000 {
            t.push(&format!("hid:b0003g*v0000{i:04X}p*"), "usbhid");
        }
        t.push("pci:v00001AF4d*sv*sd*bc*sc*i*", "virtio_pci");
        t.push("acpi*:LNRO0005:*", "virtio_mmio");
        t.push("pci:v*d*sv*sd*bc01sc08i02*", "nvme");
        let m = "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00";
        assert_eq!(t.lookup(m), vec!["virtio_pci"]);
        assert_eq!(t.candidates(m), 3);
        assert_eq!(t.lookup("acpi:LNRO0005:"), vec!["virtio_mmio"]);
        assert!(t.lookup("usb:v1234").is_empty());
    }
}
