//! Checks a unit set before it is packed (and alone: `zos-builder lint`). zinit 0.2.11
//! finds none of these itself: it skips a file it cannot load with one log line,
//! ignores unknown keys, leaves a unit `after` a missing unit Blocked for ever, and
//! only fails a service when it runs. Every error names the unit file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use super::image::ImageView;
use super::unit::{Unit, UnitSet};

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("{}: {cause}", file.display())]
    Read { file: PathBuf, cause: std::io::Error },
    #[error("{}: does not parse: {cause}", file.display())]
    Parse { file: PathBuf, cause: String },
    #[error("{}: unknown key `{key}` (zinit 0.2.11 ignores it silently; it reads: {known})", file.display())]
    UnknownKey { file: PathBuf, key: String, known: String },
    #[error("{}: bad value (zinit 0.2.11 would skip this unit): {cause}", file.display())]
    BadValue { file: PathBuf, cause: String },
    #[error("{}: ignored by zinit: {why}", file.display())]
    Ignored { file: PathBuf, why: String },
    #[error("{}: `after` names `{dep}`, which is no unit of this set (zinit keeps the unit Blocked for ever)", file.display())]
    UnknownDependency { file: PathBuf, dep: String },
    #[error("{}: dependency cycle {}", file.display(), cycle.join(" -> "))]
    Cycle { file: PathBuf, cycle: Vec<String> },
    #[error("{}: {field} `{command}`: {why}", file.display())]
    MissingProgram {
        file: PathBuf,
        field: &'static str,
        command: String,
        why: String,
    },
    #[error("{}: no units (*.yaml)", dir.display())]
    EmptySet { dir: PathBuf },
    #[error("{}: not a unit directory: {why}", dir.display())]
    NoDir { dir: PathBuf, why: String },
}

impl LintError {
    /// The error says a program is missing from the image (the unit could be fine
    /// elsewhere), not that the unit itself is wrong.
    pub fn is_missing_program(&self) -> bool {
        matches!(self, LintError::MissingProgram { .. })
    }
}

/// All errors of one set; empty means clean.
#[derive(Debug, Default)]
pub struct LintReport {
    pub errors: Vec<LintError>,
}

impl LintReport {
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for LintReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The PATH services get: zinit inherits the one the init sets at handover.
pub const SERVICE_PATH: &str = zos_common::config::HANDOVER_PATH;

/// Check `set` (plus errors from loading it) against `image`; `None`: the image is not
/// known here, so `exec` and `test` programs are not checked.
pub fn lint(set: &UnitSet, load_errors: Vec<LintError>, image: Option<&ImageView>) -> LintReport {
    let mut errors = load_errors;
    let by_name: BTreeMap<&str, &Unit> = set.units.iter().map(|u| (u.name.as_str(), u)).collect();
    for u in &set.units {
        for dep in u.after.iter().filter(|d| !by_name.contains_key(d.as_str())) {
            errors.push(LintError::UnknownDependency {
                file: u.file.clone(),
                dep: dep.clone(),
            });
        }
    }
    errors.extend(cycles(&by_name));
    if let Some(image) = image {
        for u in &set.units {
            errors.extend(missing_programs(u, image));
        }
    }
    LintReport { errors }
}

/// The `exec` and `test` programs of `u` that the image lacks.
pub fn missing_programs(u: &Unit, image: &ImageView) -> Vec<LintError> {
    let mut out = Vec::new();
    for (field, cmd) in [("exec", Some(&u.exec)), ("test", u.test.as_ref())] {
        if let Some(cmd) = cmd {
            if let Err(why) = super::shell::check_command(u, cmd, image) {
                out.push(LintError::MissingProgram {
                    file: u.file.clone(),
                    field,
                    command: cmd.clone(),
                    why,
                });
            }
        }
    }
    out
}

/// Cycles over `after` edges, each reported once, named from the unit
/// that sorts first so the message is stable.
fn cycles(by_name: &BTreeMap<&str, &Unit>) -> Vec<LintError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        by_name: &BTreeMap<&'a str, &'a Unit>,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
        found: &mut BTreeSet<Vec<String>>,
    ) {
        marks.insert(name, Mark::Active);
        stack.push(name);
        let u = by_name[name];
        for dep in &u.after {
            let Some((&dep, _)) = by_name.get_key_value(dep.as_str()) else {
                continue;
            };
            match marks[dep] {
                Mark::Active => {
                    let start = stack.iter().position(|n| *n == dep).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                    // Rotate so the smallest name leads: one cycle, one message.
                    let min = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
                    cycle.rotate_left(min);
                    found.insert(cycle);
                }
                Mark::New => visit(dep, by_name, marks, stack, found),
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(name, Mark::Done);
    }
    let mut marks: BTreeMap<&str, Mark> = by_name.keys().map(|k| (*k, Mark::New)).collect();
    let mut found = BTreeSet::new();
    for name in by_name.keys() {
        if marks[name] == Mark::New {
            visit(name, by_name, &mut marks, &mut Vec::new(), &mut found);
        }
    }
    found
        .into_iter()
        .map(|mut cycle| {
            let file = by_name[cycle[0].as_str()].file.clone();
            cycle.push(cycle[0].clone());
            LintError::Cycle { file, cycle }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    pub(crate) fn unit(name: &str, after: &[&str]) -> Unit {
        Unit {
            name: name.into(),
            file: format!("{name}.yaml").into(),
            exec: "true".into(),
            after: after.iter().map(|s| s.to_string()).collect(),
            ..Unit::default()
        }
    }

    #[test]
    fn finds_each_cycle_once() {
        let s = UnitSet {
            dir: Path::new("d").into(),
            units: vec![
                unit("a", &["b"]),
                unit("b", &["c"]),
                unit("c", &["a"]),
                unit("d", &["d"]),
                unit("e", &["a", "zz"]),
            ],
        };
        let r = lint(&s, vec![], None);
        let msgs: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            vec![
                "e.yaml: `after` names `zz`, which is no unit of this set (zinit keeps the unit Blocked for ever)",
                "a.yaml: dependency cycle a -> b -> c -> a",
                "d.yaml: dependency cycle d -> d"
            ]
        );
    }
}
