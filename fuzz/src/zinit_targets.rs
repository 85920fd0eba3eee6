//! Fuzz body for the zinit unit parser and lint (builder/src/zinit). Also compiled
//! into tests/fuzz_corpora.rs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use zos_builder::zinit::{lint, unit, LintError, UnitSet};

/// Up to 8 unit files separated by lines `%%` (named u0, u1, ...): parsing never
/// panics, a unit that parses has a non-empty exec (zinit skips it otherwise), and
/// lint reports a dependency cycle exactly when the `after` graph has one.
pub fn zinit(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut units = Vec::new();
    for (i, doc) in text.split("\n%%\n").take(8).enumerate() {
        let file = PathBuf::from(format!("/etc/zinit/u{i}.yaml"));
        match unit::parse(doc, &file) {
            Ok(mut u) => {
                assert!(!u.exec.is_empty(), "{doc:?}");
                assert!(u.test.as_ref().is_none_or(|t| !t.is_empty()));
                assert!(u.dir.as_ref().is_none_or(|d| !d.is_empty()));
                u.name = format!("u{i}");
                units.push(u);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let graph: BTreeMap<String, Vec<String>> = units.iter().map(|u| (u.name.clone(), u.after.clone())).collect();
    let set = UnitSet {
        dir: PathBuf::from("/etc/zinit"),
        units,
    };
    let report = lint(&set, Vec::new(), None);
    let _ = report.to_string();
    let reported = report.errors.iter().any(|e| matches!(e, LintError::Cycle { .. }));
    assert_eq!(reported, has_cycle(&graph), "{graph:?}\n{report}");
}

/// Whether some unit reaches itself through `after` (names outside the set ignored).
fn has_cycle(graph: &BTreeMap<String, Vec<String>>) -> bool {
    fn reaches(graph: &BTreeMap<String, Vec<String>>, from: &str, to: &str, seen: &mut Vec<String>) -> bool {
        for d in graph.get(from).into_iter().flatten() {
            if d == to {
                return true;
            }
            if graph.contains_key(d) && !seen.contains(d) {
                seen.push(d.clone());
                if reaches(graph, d, to, seen) {
                    return true;
                }
            }
        }
        false
    }
    graph.keys().any(|n| reaches(graph, n, n, &mut Vec::new()))
}
