//! Checks a unit set before it is packed (and alone: `zos-builder lint`). zinit finds
//! none of these at build time: it skips an unparsable file with a log line, ignores
//! unknown keys and a missing `after`, and only fails a service when it runs. Every
//! error names the unit file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use super::image::ImageView;
use super::unit::{Generation, Unit, UnitSet};

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("{}: {cause}", file.display())]
    Read { file: PathBuf, cause: std::io::Error },
    #[error("{}: does not parse: {cause}", file.display())]
    Parse { file: PathBuf, cause: String },
    #[error("{}: unknown key `{key}` (zinit ignores it silently; known here: {known})", file.display())]
    UnknownKey { file: PathBuf, key: String, known: String },
    #[error("{}: bad value: {cause}", file.display())]
    BadValue { file: PathBuf, cause: String },
    #[error("{}: unit name `{name}` is also used by {}", file.display(), other.display())]
    DuplicateName {
        file: PathBuf,
        name: String,
        other: PathBuf,
    },
    #[error("{}: `{key}` names `{dep}`, which is no unit of this set", file.display())]
    UnknownDependency {
        file: PathBuf,
        key: &'static str,
        dep: String,
    },
    #[error("{}: dependency cycle {}", file.display(), cycle.join(" -> "))]
    Cycle { file: PathBuf, cycle: Vec<String> },
    #[error("{}: {field} `{command}`: {why}", file.display())]
    MissingProgram {
        file: PathBuf,
        field: &'static str,
        command: String,
        why: String,
    },
    #[error("{}: holds both *.yaml (zinit 0.2) and system/ or services/ *.toml (zinit 0.1) units", dir.display())]
    MixedSet { dir: PathBuf },
    #[error("{}: no units (*.yaml, or system/*.toml and services/*.toml)", dir.display())]
    EmptySet { dir: PathBuf },
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

/// Words that `sh -c` runs without looking for a program (busybox ash builtins and
/// keywords); zinit 0.1 runs every `exec` through `/bin/sh -c`.
const SHELL_WORDS: &[&str] = &[
    ".", ":", "[", "[[", "alias", "break", "cd", "command", "continue", "echo", "eval", "exec", "exit", "export",
    "false", "getopts", "hash", "kill", "let", "local", "printf", "pwd", "read", "readonly", "return", "set", "shift",
    "source", "test", "trap", "true", "type", "ulimit", "umask", "unset", "wait", "if", "for", "while", "until",
    "case", "{", "(", "!",
];

/// Check `set` (plus errors from loading it) against `image`; `None`: the image is not
/// known here, so `exec` programs are not checked.
pub fn lint(set: &UnitSet, load_errors: Vec<LintError>, image: Option<&ImageView>) -> LintReport {
    let mut errors = load_errors;
    let mut by_name: BTreeMap<&str, &Unit> = BTreeMap::new();
    for u in &set.units {
        if let Some(other) = by_name.insert(&u.name, u) {
            errors.push(LintError::DuplicateName {
                file: u.file.clone(),
                name: u.name.clone(),
                other: other.file.clone(),
            });
        }
    }
    for u in &set.units {
        for (key, deps) in [("after", &u.after), ("requires", &u.requires), ("wants", &u.wants)] {
            for dep in deps.iter().filter(|d| !by_name.contains_key(d.as_str())) {
                errors.push(LintError::UnknownDependency {
                    file: u.file.clone(),
                    key,
                    dep: dep.clone(),
                });
            }
        }
    }
    errors.extend(cycles(&by_name));
    if let Some(image) = image {
        for u in &set.units {
            for (field, cmd) in [("exec", &u.exec), ("test", &u.test)] {
                if let Some(cmd) = cmd {
                    if let Err(why) = check_command(set.generation, u, cmd, image) {
                        errors.push(LintError::MissingProgram {
                            file: u.file.clone(),
                            field,
                            command: cmd.clone(),
                            why,
                        });
                    }
                }
            }
        }
    }
    LintReport { errors }
}

/// The program a command line starts must be in the image.
fn check_command(generation: Generation, unit: &Unit, cmd: &str, image: &ImageView) -> Result<(), String> {
    let path_var = unit.env.get("PATH").map_or(SERVICE_PATH, String::as_str);
    let cwd = unit.dir.as_deref().unwrap_or("/");
    if generation.exec_via_shell() {
        // zinit 0.1 runs `/bin/sh -c EXEC`; `@builtin:NAME` is handled inside zinit.
        if cmd.trim_start().starts_with("@builtin:") {
            return Ok(());
        }
        image
            .executable("/bin/sh")
            .map_err(|why| format!("zinit 0.1 runs it with /bin/sh -c, but {why}"))?;
    }
    let words = shlex::split(cmd).ok_or_else(|| "unbalanced quotes".to_string())?;
    let mut words = words.iter().map(|w| w.trim_end_matches([';', '&', '|']));
    let program = if generation.exec_via_shell() {
        // Leading `VAR=value` assignments and `exec` do not name the program.
        let first = words.find(|w| !is_assignment(w) && *w != "exec");
        match first {
            None => return Ok(()),
            Some(w) if SHELL_WORDS.contains(&w) => return Ok(()),
            Some(w) => w,
        }
    } else {
        words.next().ok_or_else(|| "empty command".to_string())?
    };
    if program.is_empty() {
        return Err("empty command".into());
    }
    image.find_program(program, path_var, cwd).map(drop)
}

/// `NAME=value` with a shell variable name before the `=`.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Cycles over after/requires/wants edges, each reported once, named from the unit
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
        for dep in u.after.iter().chain(&u.requires).chain(&u.wants) {
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

    fn unit(name: &str, after: &[&str]) -> Unit {
        Unit {
            name: name.into(),
            file: format!("{name}.yaml").into(),
            exec: Some("true".into()),
            after: after.iter().map(|s| s.to_string()).collect(),
            ..Unit::default()
        }
    }

    fn set(units: Vec<Unit>) -> UnitSet {
        UnitSet {
            generation: Generation::V2Yaml,
            dir: Path::new("d").into(),
            units,
            scripts: vec![],
        }
    }

    #[test]
    fn finds_each_cycle_once() {
        let s = set(vec![
            unit("a", &["b"]),
            unit("b", &["c"]),
            unit("c", &["a"]),
            unit("d", &["d"]),
            unit("e", &["a"]),
        ]);
        let r = lint(&s, vec![], None);
        let msgs: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            vec![
                "a.yaml: dependency cycle a -> b -> c -> a",
                "d.yaml: dependency cycle d -> d"
            ]
        );
    }

    #[test]
    fn shell_exec_skips_assignments_and_builtins() {
        let t = tempfile::tempdir().unwrap();
        let extras = vec![crate::ExtraEntry::File {
            path: "/bin/sh".into(),
            source: crate::cpio::FileData::Bytes(vec![]),
            mode: Some(0o755),
        }];
        let view = ImageView::new(Some(t.path()), &extras);
        let mut u = unit("x", &[]);
        for ok in [
            "A=1 exec echo hi",
            "for m in a b; do x; done",
            "@builtin:sysvol",
            "sh -c 'true'",
        ] {
            assert_eq!(check_command(Generation::V1Toml, &u, ok, &view), Ok(()), "{ok}");
        }
        assert!(check_command(Generation::V1Toml, &u, "A=1 udevd", &view).is_err());
        // zinit 0.2 has no shell: `echo` must exist as a program.
        assert!(check_command(Generation::V2Yaml, &u, "echo hi", &view).is_err());
        u.env.insert("PATH".into(), "/bin".into());
        assert_eq!(check_command(Generation::V2Yaml, &u, "sh -c x", &view), Ok(()));
    }
}
