//! Dependency atoms as apk writes them in `D:`, `p:`, `i:`, `r:` and `etc/apk/world`
//! (apk-tools `apk_blob_pull_dep`): `[!]name[@tag][op version]`.

use std::cmp::Ordering;
use std::fmt;

use super::version;

/// The version part of a dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    Any,
    /// `<`, `<=`, `=`, `>=`, `>` as a set of accepted orderings.
    Cmp {
        less: bool,
        equal: bool,
        greater: bool,
        version: String,
    },
    /// `~1.2`: any version starting with these components.
    Fuzzy(String),
    /// `><Q1...`: exactly the package with this identity.
    Checksum(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub name: String,
    pub constraint: Constraint,
    /// `!name`: nothing providing `name` may be installed.
    pub conflict: bool,
    /// `name@tag`: only from the repository tagged so.
    pub tag: Option<String>,
}

impl Dep {
    pub fn parse(s: &str) -> Option<Dep> {
        let (conflict, s) = match s.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let op_at = s.find(['<', '>', '=', '~']).unwrap_or(s.len());
        let (name_tag, rest) = s.split_at(op_at);
        let (name, tag) = match name_tag.split_once('@') {
            Some((n, t)) => (n, Some(t.to_string())),
            None => (name_tag, None),
        };
        if name.is_empty() {
            return None;
        }
        let constraint = if rest.is_empty() {
            Constraint::Any
        } else if let Some(q) = rest.strip_prefix("><") {
            Constraint::Checksum(q.to_string())
        } else if let Some(v) = rest.strip_prefix('~') {
            Constraint::Fuzzy(v.trim_start_matches('=').to_string())
        } else {
            let op_len = rest.find(|c| !matches!(c, '<' | '>' | '=')).unwrap_or(rest.len());
            let (op, v) = rest.split_at(op_len);
            if v.is_empty() || !matches!(op, "<" | "<=" | "=" | ">=" | ">" | "=<" | "=>") {
                return None;
            }
            Constraint::Cmp {
                less: op.contains('<'),
                equal: op.contains('='),
                greater: op.contains('>'),
                version: v.to_string(),
            }
        };
        Some(Dep {
            name: name.to_string(),
            constraint,
            conflict,
            tag,
        })
    }

    /// Space-separated list, as in `D:` lines; unparsable atoms are returned apart so
    /// the caller can name them.
    pub fn parse_list(s: &str) -> Result<Vec<Dep>, String> {
        s.split_whitespace()
            .map(|a| Dep::parse(a).ok_or_else(|| a.to_string()))
            .collect()
    }

    /// Does a provider of `self.name` at `version` (None: an unversioned provides)
    /// with identity `identity` satisfy the constraint?
    pub fn accepts(&self, version: Option<&str>, identity: &str) -> bool {
        match (&self.constraint, version) {
            (Constraint::Any, _) => true,
            // apk: a `p:` entry without a version cannot satisfy a versioned dep.
            (_, None) => false,
            (Constraint::Checksum(q), _) => q == identity,
            (Constraint::Fuzzy(want), Some(v)) => version::compare_fuzzy(v, want, true) == Ordering::Equal,
            (
                Constraint::Cmp {
                    less,
                    equal,
                    greater,
                    version: want,
                },
                Some(v),
            ) => match version::compare(v, want) {
                Ordering::Less => *less,
                Ordering::Equal => *equal,
                Ordering::Greater => *greater,
            },
        }
    }
}

impl fmt::Display for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.conflict {
            f.write_str("!")?;
        }
        f.write_str(&self.name)?;
        if let Some(t) = &self.tag {
            write!(f, "@{t}")?;
        }
        match &self.constraint {
            Constraint::Any => Ok(()),
            Constraint::Fuzzy(v) => write!(f, "~{v}"),
            Constraint::Checksum(q) => write!(f, "><{q}"),
            Constraint::Cmp {
                less,
                equal,
                greater,
                version,
            } => {
                let op = match (less, equal, greater) {
                    (true, false, _) => "<",
                    (true, true, _) => "<=",
                    (false, true, false) => "=",
                    (false, true, true) => ">=",
                    _ => ">",
                };
                write!(f, "{op}{version}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        for s in [
            "musl>=1.2.3_git20230424",
            "so:libc.musl-x86_64.so.1",
            "!dash-binsh",
            "/bin/sh",
            "foo@edge=1.0-r0",
            "bar~1.2",
            "baz<2",
            "x><Q1abc=",
        ] {
            assert_eq!(Dep::parse(s).unwrap().to_string(), s);
        }
        let d = Dep::parse("cmd:busybox=1.36.1-r15").unwrap();
        assert_eq!(d.name, "cmd:busybox");
        assert!(d.accepts(Some("1.36.1-r15"), ""));
        assert!(!d.accepts(Some("1.36.1-r19"), ""));
        assert!(!d.accepts(None, ""));
        assert!(Dep::parse("musl>=1.2")
            .unwrap()
            .accepts(Some("1.2.4_git20230717-r4"), ""));
        assert!(Dep::parse("a~1.2").unwrap().accepts(Some("1.2.9-r3"), ""));
        assert!(!Dep::parse("a~1.2").unwrap().accepts(Some("1.3"), ""));
        assert!(Dep::parse("").is_none() && Dep::parse("a=").is_none());
    }
}
