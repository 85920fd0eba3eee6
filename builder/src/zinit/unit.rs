//! zinit 0.2 units as v0.2.11 reads them (src/zinit/config.rs of its source).
//!
//! zinit loads every regular file `/etc/zinit/*.yaml` (exactly `.yaml`: a `.yml` file
//! or a subdirectory is passed over without a word); the unit name is the file stem.
//! The file is deserialised with serde_yaml 0.8 into a struct that is
//! `#[serde(default)]` and does not deny unknown fields, so:
//! - every key is optional: `test` "" (no test), `oneshot` false, `after` [], `log`
//!   ring, `env` {}, `dir` "" (runs in `/`), `signal.stop` "sigterm",
//!   `shutdown_timeout` 10;
//! - an unknown key, at the top or under `signal`, is ignored silently (a typo such as
//!   `afer:` just drops an ordering);
//! - the string keys take any scalar (`exec: 5` is the string "5");
//! - a file is skipped, with one log line and nothing else, when it does not parse,
//!   when a value has the wrong shape (`after: udevd` instead of a list, `oneshot:
//!   yes`), when `exec` is missing or empty, or when `signal.stop` upper-cased is no
//!   signal name (`SIGTERM`, not `TERM`).
//!
//! Each of those becomes its own lint error here, naming the file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_norway::Value;

use super::keys::{LOG_VALUES, SIGNALS, YAML_KEYS, YAML_SIGNAL_KEYS};
use super::lint::LintError;

/// One service as lint and install care.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unit {
    pub name: String,
    /// The unit file on the build host.
    pub file: PathBuf,
    /// Where the file goes in the image (`etc/zinit/udevd.yaml`), relative to `/`.
    pub image_path: PathBuf,
    pub exec: String,
    /// The readiness command; None when empty (zinit then counts the unit Running as
    /// soon as it is spawned).
    pub test: Option<String>,
    pub oneshot: bool,
    /// None: zinit runs it in `/`.
    pub dir: Option<String>,
    pub env: BTreeMap<String, String>,
    pub after: Vec<String>,
}

/// A directory of units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSet {
    pub dir: PathBuf,
    pub units: Vec<Unit>,
}

impl UnitSet {
    /// Read every `*.yaml` of `dir`. Files zinit would not load are returned as errors
    /// next to the set, so one run reports all of them; so are files zinit passes
    /// over although they look like units (`*.yml`, directories).
    pub fn load(dir: &Path) -> (UnitSet, Vec<LintError>) {
        let mut errors = Vec::new();
        // A missing path or a file is said as such, not as an empty set.
        let why = match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => None,
            Ok(_) => Some("it is not a directory".to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("it does not exist".to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = why {
            let set = UnitSet {
                dir: dir.to_path_buf(),
                units: Vec::new(),
            };
            return (
                set,
                vec![LintError::NoDir {
                    dir: dir.to_path_buf(),
                    why,
                }],
            );
        }
        let mut set = UnitSet {
            dir: dir.to_path_buf(),
            units: Vec::new(),
        };
        let mut entries: Vec<PathBuf> = match fs::read_dir(dir) {
            Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
            Err(cause) => {
                errors.push(LintError::Read {
                    file: dir.to_path_buf(),
                    cause,
                });
                return (set, errors);
            }
        };
        entries.sort();
        for p in entries {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if p.is_file() && ext == "yaml" {
                match parse_file(&p) {
                    Ok(u) => set.units.push(u),
                    Err(e) => errors.push(e),
                }
            } else if ext == "yml" || (p.is_dir() && p.read_dir().is_ok_and(|mut d| d.next().is_some())) {
                errors.push(LintError::Ignored {
                    file: p.clone(),
                    why: if ext == "yml" {
                        "zinit 0.2.11 loads only *.yaml".into()
                    } else {
                        "zinit 0.2.11 does not read subdirectories".into()
                    },
                });
            }
        }
        if set.units.is_empty() && errors.is_empty() {
            errors.push(LintError::EmptySet { dir: dir.to_path_buf() });
        }
        (set, errors)
    }

    pub fn get(&self, name: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.name == name)
    }
}

/// A unit file: the name is the file stem (`udevd.yaml` -> `udevd`).
pub fn parse_file(file: &Path) -> Result<Unit, LintError> {
    let text = fs::read_to_string(file).map_err(|cause| LintError::Read {
        file: file.to_path_buf(),
        cause,
    })?;
    let mut unit = parse(&text, file)?;
    unit.name = file.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    unit.image_path = Path::new("etc/zinit").join(file.file_name().unwrap_or_default());
    Ok(unit)
}

/// Parse the YAML text of a unit; `file` only names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Unit, LintError> {
    let value: Value = serde_norway::from_str(text).map_err(|e| LintError::Parse {
        file: file.to_path_buf(),
        cause: e.to_string(),
    })?;
    let bad = |cause: String| LintError::BadValue {
        file: file.to_path_buf(),
        cause,
    };
    let map = value
        .as_mapping()
        .ok_or_else(|| bad("a unit must be a mapping of keys (exec: ..., oneshot: ...)".into()))?;
    let mut unit = Unit {
        file: file.to_path_buf(),
        ..Unit::default()
    };
    for (k, v) in map {
        let key = scalar(k).unwrap_or_else(|| "<non-scalar key>".into());
        let want = |what: &str| bad(format!("`{key}` must be {what}, not {}", shape(v)));
        match key.as_str() {
            "exec" => unit.exec = scalar(v).ok_or_else(|| want("a command line"))?,
            "test" => unit.test = Some(scalar(v).ok_or_else(|| want("a command line"))?),
            "dir" => unit.dir = Some(scalar(v).ok_or_else(|| want("a directory"))?),
            "oneshot" => {
                unit.oneshot = v.as_bool().ok_or_else(|| want("true or false"))?;
                // serde_norway reads YAML 1.1 spellings (`True`, `TRUE`) as booleans;
                // serde_yaml 0.8, zinit's reader, takes only `true` and `false`.
                let raw = text.lines().find_map(|l| l.strip_prefix("oneshot:")).map(str::trim);
                let raw = raw.map(|r| r.split(" #").next().unwrap_or(r).trim());
                if raw.is_some_and(|r| r != "true" && r != "false") {
                    return Err(want("true or false (lowercase, as serde_yaml 0.8 reads it)"));
                }
            }
            "shutdown_timeout" => {
                v.as_u64().ok_or_else(|| want("whole seconds (0 or more)"))?;
            }
            "after" => {
                let list = v.as_sequence().ok_or_else(|| want("a list of unit names"))?;
                for item in list {
                    unit.after
                        .push(scalar(item).ok_or_else(|| want("a list of unit names"))?);
                }
            }
            "env" => {
                let m = v.as_mapping().ok_or_else(|| want("a mapping NAME: value"))?;
                for (n, val) in m {
                    let (Some(n), Some(val)) = (scalar(n), scalar(val)) else {
                        return Err(want("a mapping NAME: value"));
                    };
                    unit.env.insert(n, val);
                }
            }
            "log" => {
                let s = v.as_str().filter(|s| LOG_VALUES.contains(s));
                s.ok_or_else(|| want(&format!("one of {}", LOG_VALUES.join(", "))))?;
            }
            "signal" => signal(v, file, &want)?,
            other => {
                return Err(LintError::UnknownKey {
                    file: file.to_path_buf(),
                    key: other.to_string(),
                    known: YAML_KEYS.join(", "),
                })
            }
        }
    }
    if unit.exec.is_empty() {
        return Err(bad(
            "no `exec` (or an empty one): zinit 0.2.11 skips the file (\"missing exec directive\")".into(),
        ));
    }
    unit.test = unit.test.filter(|t| !t.is_empty());
    unit.dir = unit.dir.filter(|d| !d.is_empty());
    Ok(unit)
}

/// `signal: {stop: NAME}`: zinit upper-cases NAME and parses it as a signal name.
fn signal(v: &Value, file: &Path, want: &dyn Fn(&str) -> LintError) -> Result<(), LintError> {
    let m = v.as_mapping().ok_or_else(|| want("a mapping (stop: SIGTERM)"))?;
    for (k, v) in m {
        let key = scalar(k).unwrap_or_default();
        if !YAML_SIGNAL_KEYS.contains(&key.as_str()) {
            return Err(LintError::UnknownKey {
                file: file.to_path_buf(),
                key: format!("signal.{key}"),
                known: YAML_SIGNAL_KEYS.join(", "),
            });
        }
        let name = scalar(v).unwrap_or_default().to_uppercase();
        if !SIGNALS.contains(&name.as_str()) {
            return Err(want("a signal name such as SIGTERM or sighup (with the SIG)"));
        }
    }
    Ok(())
}

/// A scalar as serde_yaml 0.8 hands it to a `String` field: its text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn shape(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key_of_v0_2_11() {
        let u = parse(
            "exec: udevadm settle\ntest: \"true\"\noneshot: true\nafter: [udevd]\nlog: stdout\n\
             env: {A: b, N: 1}\ndir: /\nsignal: {stop: sighup}\nshutdown_timeout: 10\n",
            Path::new("x.yaml"),
        )
        .unwrap();
        assert_eq!(u.exec, "udevadm settle");
        assert_eq!(u.after, vec!["udevd"]);
        assert!(u.oneshot);
        assert_eq!((u.env["A"].as_str(), u.env["N"].as_str()), ("b", "1"));
        // Every key but exec is optional; empty test and dir mean none.
        let u = parse("exec: 5\ntest: ''\ndir: ''\n", Path::new("y.yaml")).unwrap();
        assert_eq!((u.exec.as_str(), u.test, u.dir), ("5", None, None));
    }

    #[test]
    fn each_file_zinit_would_skip_or_misread_has_its_own_error() {
        let f = Path::new("u.yaml");
        let msg = |t: &str| parse(t, f).unwrap_err().to_string();
        assert!(msg("exec: [").contains("does not parse"));
        assert!(msg("exec: a\nafer: [b]\n").contains("unknown key `afer`"));
        assert!(msg("exec: a\nsignal: {stp: x}\n").contains("`signal.stp`"));
        assert!(msg("exec: a\noneshot: yes\n").contains("`oneshot` must be true or false, not a string"));
        // serde_yaml 0.8 takes only lowercase true/false for a bool.
        assert!(msg("exec: a\noneshot: True\n").contains("`oneshot` must be true or false"));
        assert!(msg("exec: a\nsignal: {stop: 9}\n").contains("signal name"));
        assert!(msg("exec: a\nafter: udevd\n").contains("`after` must be a list"));
        // v0.2.11's values are none|ring|stdout ("null" is not one of them).
        assert!(msg("exec: a\nlog: null\n").contains("one of none, ring, stdout"));
        assert!(msg("exec: a\nlog: file\n").contains("one of none, ring, stdout"));
        assert!(msg("exec: a\nsignal: {stop: TERM}\n").contains("signal name"));
        assert!(msg("exec: a\nshutdown_timeout: -1\n").contains("whole seconds"));
        assert!(msg("oneshot: true\n").contains("missing exec directive"));
        assert!(msg("exec: ''\n").contains("missing exec directive"));
        assert!(msg("- exec: a\n").contains("mapping"));
    }

    #[test]
    fn load_reports_files_zinit_passes_over() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("a.yaml"), "exec: sleep 1\n").unwrap();
        fs::write(t.path().join("b.yml"), "exec: sleep 1\n").unwrap();
        fs::write(t.path().join("README.md"), "notes\n").unwrap();
        let (set, errors) = UnitSet::load(t.path());
        assert_eq!(set.units.len(), 1);
        assert_eq!(set.units[0].name, "a");
        let msgs: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(msgs[0].contains("b.yml") && msgs[0].contains("only *.yaml"), "{msgs:?}");
    }
}
