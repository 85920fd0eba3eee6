//! The unit model shared by both zinit generations, and the two readers.
//!
//! Each file is read in three steps so that every kind of mistake gets its own error:
//! the text must parse (YAML/TOML), every key must be one zinit knows (zinit itself
//! ignores unknown keys silently, so a typo such as `afer:` would just drop an
//! ordering), and the values must have the right types.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::keys::{TOML_TABLES, YAML_KEYS, YAML_SIGNAL_KEYS};
use super::lint::LintError;

/// Which zinit reads the units (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// zinit 0.2: `/etc/zinit/*.yaml`, name = file stem, exec run without a shell.
    V2Yaml,
    /// zinit 0.1: `/etc/zinit/{system,services}/*.toml`, name from the file, `sh -c`.
    V1Toml,
}

impl Generation {
    pub fn as_str(self) -> &'static str {
        match self {
            Generation::V2Yaml => "zinit 0.2 (YAML)",
            Generation::V1Toml => "zinit 0.1 (TOML)",
        }
    }

    /// Whether `exec` runs through `/bin/sh -c` (so shell builtins and `;` work).
    pub fn exec_via_shell(self) -> bool {
        self == Generation::V1Toml
    }
}

/// One service (or, in 0.1, target) as far as lint and install care.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unit {
    pub name: String,
    /// The unit file on the build host.
    pub file: PathBuf,
    /// Where the file goes in the image (`etc/zinit/udevd.yaml`), relative to `/`.
    pub image_path: PathBuf,
    /// None for a 0.1 target (no process).
    pub exec: Option<String>,
    /// zinit 0.2's readiness command.
    pub test: Option<String>,
    pub oneshot: bool,
    pub dir: Option<String>,
    pub env: BTreeMap<String, String>,
    pub after: Vec<String>,
    pub requires: Vec<String>,
    pub wants: Vec<String>,
}

/// A directory of units of one generation, plus helper scripts (0.1 sets only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSet {
    pub generation: Generation,
    pub dir: PathBuf,
    pub units: Vec<Unit>,
    /// `scripts/*` of a TOML set: (host file, image path `etc/zinit/scripts/NAME`).
    pub scripts: Vec<(PathBuf, PathBuf)>,
}

#[derive(Deserialize)]
struct YamlUnit {
    exec: String,
    #[serde(default)]
    test: Option<String>,
    #[serde(default)]
    oneshot: bool,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    log: Option<YamlLog>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    dir: Option<String>,
    #[serde(default)]
    signal: Option<YamlSignal>,
    #[serde(default)]
    shutdown_timeout: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum YamlLog {
    Null,
    Ring,
    Stdout,
}

#[derive(Deserialize)]
struct YamlSignal {
    #[allow(dead_code)] // read for its type check only
    stop: Option<String>,
}

#[derive(Deserialize)]
struct TomlUnit {
    service: Option<TomlService>,
    target: Option<TomlTarget>,
    #[serde(default)]
    dependencies: TomlDeps,
}

#[derive(Deserialize)]
struct TomlService {
    name: String,
    exec: String,
    dir: Option<String>,
    #[serde(default)]
    oneshot: bool,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct TomlTarget {
    name: String,
}

#[derive(Deserialize, Default)]
struct TomlDeps {
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    wants: Vec<String>,
}

impl UnitSet {
    /// Read every unit under `dir`. The generation follows from what is there: `*.yaml`
    /// files -> zinit 0.2; `system/` or `services/` with `*.toml` -> zinit 0.1. Files that
    /// cannot be used are returned as errors next to the set, so one run reports all.
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
                generation: Generation::V2Yaml,
                dir: dir.to_path_buf(),
                units: Vec::new(),
                scripts: Vec::new(),
            };
            return (
                set,
                vec![LintError::NoDir {
                    dir: dir.to_path_buf(),
                    why,
                }],
            );
        }
        let yaml = files_with(dir, "yaml", &mut errors);
        let toml_dirs: Vec<_> = ["system", "services"]
            .iter()
            .map(|sub| (*sub, files_with(&dir.join(sub), "toml", &mut errors)))
            .collect();
        let has_toml = toml_dirs.iter().any(|(_, f)| !f.is_empty());
        let generation = if has_toml {
            Generation::V1Toml
        } else {
            Generation::V2Yaml
        };
        let mut set = UnitSet {
            generation,
            dir: dir.to_path_buf(),
            units: Vec::new(),
            scripts: Vec::new(),
        };
        if has_toml && !yaml.is_empty() {
            errors.push(LintError::MixedSet { dir: dir.to_path_buf() });
        }
        if !has_toml && yaml.is_empty() {
            errors.push(LintError::EmptySet { dir: dir.to_path_buf() });
        }
        let mut add = |res: Result<Unit, LintError>| match res {
            Ok(u) => set.units.push(u),
            Err(e) => errors.push(e),
        };
        match generation {
            Generation::V2Yaml => yaml.iter().for_each(|f| add(parse_yaml_file(f))),
            Generation::V1Toml => {
                for (sub, files) in &toml_dirs {
                    files.iter().for_each(|f| add(parse_toml_file(f, sub)));
                }
            }
        }
        if generation == Generation::V1Toml {
            let scripts = dir.join("scripts");
            for f in files_with(&scripts, "", &mut errors) {
                let name = f.file_name().unwrap_or_default();
                set.scripts.push((f.clone(), Path::new("etc/zinit/scripts").join(name)));
            }
        }
        (set, errors)
    }

    pub fn get(&self, name: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.name == name)
    }
}

/// Regular files directly in `dir` ending in `.ext` (any file for ""), sorted; a
/// missing directory is empty.
fn files_with(dir: &Path, ext: &str, errors: &mut Vec<LintError>) -> Vec<PathBuf> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(cause) => {
            errors.push(LintError::Read {
                file: dir.to_path_buf(),
                cause,
            });
            return Vec::new();
        }
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| ext.is_empty() || p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

fn read(file: &Path) -> Result<String, LintError> {
    fs::read_to_string(file).map_err(|cause| LintError::Read {
        file: file.to_path_buf(),
        cause,
    })
}

/// A zinit 0.2 unit: the name is the file stem (`udevd.yaml` -> `udevd`).
pub fn parse_yaml_file(file: &Path) -> Result<Unit, LintError> {
    let name = file.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    let mut unit = parse_yaml(&read(file)?, file)?;
    unit.name = name;
    unit.image_path = Path::new("etc/zinit").join(file.file_name().unwrap_or_default());
    Ok(unit)
}

/// Parse YAML text of a unit; `file` only names it in errors.
pub fn parse_yaml(text: &str, file: &Path) -> Result<Unit, LintError> {
    let parse_err = |cause: String| LintError::Parse {
        file: file.to_path_buf(),
        cause,
    };
    let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| parse_err(e.to_string()))?;
    let map = value
        .as_mapping()
        .ok_or_else(|| parse_err("a unit must be a mapping of keys (exec: ..., oneshot: ...)".into()))?;
    for (k, v) in map {
        let key = k.as_str().unwrap_or("<non-string key>");
        unknown_key(file, "", key, YAML_KEYS)?;
        if key == "signal" {
            for k in v.as_mapping().into_iter().flat_map(|m| m.keys()) {
                unknown_key(file, "signal.", k.as_str().unwrap_or("?"), YAML_SIGNAL_KEYS)?;
            }
        }
    }
    let typed: YamlUnit = serde_norway::from_value(value).map_err(|e| LintError::BadValue {
        file: file.to_path_buf(),
        cause: e.to_string(),
    })?;
    let _ = (typed.log, typed.signal, typed.shutdown_timeout);
    Ok(Unit {
        file: file.to_path_buf(),
        exec: Some(typed.exec),
        test: typed.test.filter(|t| !t.trim().is_empty()),
        oneshot: typed.oneshot,
        dir: typed.dir,
        env: typed.env,
        after: typed.after,
        ..Unit::default()
    })
}

/// A zinit 0.1 unit in `system/` or `services/` (`sub`).
pub fn parse_toml_file(file: &Path, sub: &str) -> Result<Unit, LintError> {
    let mut unit = parse_toml(&read(file)?, file)?;
    unit.image_path = Path::new("etc/zinit")
        .join(sub)
        .join(file.file_name().unwrap_or_default());
    Ok(unit)
}

/// Parse TOML text of a unit; `file` only names it in errors.
pub fn parse_toml(text: &str, file: &Path) -> Result<Unit, LintError> {
    let value: toml::Table = toml::from_str(text).map_err(|e| LintError::Parse {
        file: file.to_path_buf(),
        cause: e.to_string().trim_end().to_string(),
    })?;
    let tables: Vec<&str> = TOML_TABLES.iter().map(|(t, _)| *t).collect();
    for (table, v) in &value {
        unknown_key(file, "", table, &tables)?;
        let known = TOML_TABLES
            .iter()
            .find(|(t, _)| t == table)
            .map_or(&[][..], |(_, k)| *k);
        for key in v.as_table().into_iter().flat_map(|t| t.keys()) {
            unknown_key(file, &format!("{table}."), key, known)?;
        }
    }
    let bad = |cause: String| LintError::BadValue {
        file: file.to_path_buf(),
        cause,
    };
    let typed: TomlUnit = value.try_into().map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let deps = typed.dependencies;
    let mut unit = Unit {
        file: file.to_path_buf(),
        after: deps.after,
        requires: deps.requires,
        wants: deps.wants,
        ..Unit::default()
    };
    match (typed.service, typed.target) {
        (Some(s), None) => {
            unit.name = s.name;
            unit.exec = Some(s.exec);
            unit.dir = s.dir;
            unit.oneshot = s.oneshot;
            unit.env = s.env;
        }
        (None, Some(t)) => unit.name = t.name,
        _ => return Err(bad("a unit needs exactly one of [service] or [target]".into())),
    }
    Ok(unit)
}

fn unknown_key(file: &Path, prefix: &str, key: &str, known: &[&str]) -> Result<(), LintError> {
    if known.contains(&key) {
        return Ok(());
    }
    Err(LintError::UnknownKey {
        file: file.to_path_buf(),
        key: format!("{prefix}{key}"),
        known: known.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_unit_reads_every_key() {
        let u = parse_yaml(
            "exec: udevadm settle\ntest: \"true\"\noneshot: true\nafter: [udevd]\nlog: stdout\n\
             env: {A: b}\ndir: /\nsignal: {stop: SIGHUP}\nshutdown_timeout: 10\n",
            Path::new("x.yaml"),
        )
        .unwrap();
        assert_eq!(u.exec.as_deref(), Some("udevadm settle"));
        assert_eq!(u.after, vec!["udevd"]);
        assert!(u.oneshot);
        assert_eq!(u.env["A"], "b");
    }

    #[test]
    fn toml_service_and_target() {
        let u = parse_toml(
            "[service]\nname = \"a\"\nexec = \"sleep 1\"\n[dependencies]\nrequires = [\"b\"]\n",
            Path::new("a.toml"),
        )
        .unwrap();
        assert_eq!((u.name.as_str(), u.requires.clone()), ("a", vec!["b".to_string()]));
        let t = parse_toml("[target]\nname = \"ready\"\n", Path::new("t.toml")).unwrap();
        assert_eq!((t.name.as_str(), t.exec.clone()), ("ready", None));
    }

    #[test]
    fn each_mistake_has_its_own_error() {
        let f = Path::new("u.yaml");
        let msg = |r: Result<Unit, LintError>| r.unwrap_err().to_string();
        assert!(msg(parse_yaml("exec: [", f)).contains("does not parse"));
        assert!(msg(parse_yaml("exec: a\nafer: [b]\n", f)).contains("unknown key `afer`"));
        assert!(msg(parse_yaml("exec: a\nsignal: {stp: x}\n", f)).contains("`signal.stp`"));
        assert!(msg(parse_yaml("exec: a\noneshot: maybe\n", f)).contains("bad value"));
        assert!(msg(parse_yaml("exec: a\nlog: file\n", f)).contains("bad value"));
        let t = Path::new("u.toml");
        assert!(msg(parse_toml("[service\n", t)).contains("does not parse"));
        assert!(msg(parse_toml("[service]\nname=\"a\"\nexec=\"b\"\nrestart=\"x\"\n", t)).contains("`service.restart`"));
        assert!(msg(parse_toml("[lifecycle]\nrestart=\"always\"\n", t)).contains("exactly one"));
    }
}
