//! Parse udev rules files into the subset that loads modules.
//!
//! A rules line is `KEY[{arg}] OP "value"` pairs separated by commas; `\` at the end
//! of a line continues it. Only files with a `kmod load` matter: GOTO/LABEL jump
//! within one file, and no other rule loads a module. In those files every line is
//! kept (a GOTO decides whether a later load runs); keys the evaluator does not know
//! make the line [`Rule::unsupported`], reported once and never matched.

/// A comparison or an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Assign,
    Add,
    Final,
    Remove,
}

/// What a match key compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Action,
    Subsystem,
    Kernel,
    Driver,
    Devpath,
    Env(String),
    Attr(String),
    Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub key: Key,
    /// true for `==`, false for `!=`.
    pub equal: bool,
    /// `|`-separated globs, or a TEST path; `$env{..}`-style substitutions unexpanded.
    pub value: String,
}

/// One line of a rules file, reduced to what the evaluator needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// `80-drivers.rules:5`, for logs and the boot report.
    pub at: String,
    pub matches: Vec<Match>,
    /// `ENV{KEY}="value"` assignments (a later line of the file may match on them).
    pub set_env: Vec<(String, String)>,
    /// The arguments of each `kmod load` (unexpanded; empty: the device's MODALIAS).
    pub loads: Vec<String>,
    pub goto: Option<String>,
    pub label: Option<String>,
    /// Why this line cannot be evaluated (a key or substitution outside the subset).
    pub unsupported: Option<String>,
}

/// The lines of one rules file that matter, or none when it loads no module.
pub fn parse_file(name: &str, text: &str) -> Vec<Rule> {
    if !text.contains("kmod load") {
        return Vec::new();
    }
    let mut rules = Vec::new();
    let mut joined = String::new();
    let mut first = 0;
    for (i, raw) in text.lines().enumerate() {
        if joined.is_empty() {
            first = i + 1;
        }
        if let Some(head) = raw.strip_suffix('\\') {
            joined.push_str(head);
            continue;
        }
        joined.push_str(raw);
        let line = std::mem::take(&mut joined);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        rules.push(parse_line(&format!("{name}:{first}"), line));
    }
    rules
}

/// Parse one logical line.
pub fn parse_line(at: &str, line: &str) -> Rule {
    let mut rule = Rule {
        at: at.to_string(),
        ..Default::default()
    };
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            break;
        }
        match pair(rest) {
            Some((key, arg, op, value, tail)) => {
                if let Err(why) = add(&mut rule, key, arg, op, value) {
                    rule.unsupported.get_or_insert(why);
                }
                rest = tail;
            }
            None => {
                rule.unsupported = Some(format!("cannot parse `{rest}`"));
                break;
            }
        }
    }
    if let Some(why) = rule.matches.iter().find_map(|m| bad_subst(&m.value)) {
        rule.unsupported.get_or_insert(why);
    }
    if let Some(why) = rule.loads.iter().find_map(|l| bad_subst(l)) {
        rule.unsupported.get_or_insert(why);
    }
    rule
}

/// `KEY{arg}OP"value"` at the start of `s`: (key, arg, op, value, rest).
fn pair(s: &str) -> Option<(&str, Option<&str>, Op, String, &str)> {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let (key, mut rest) = s.split_at(end);
    let mut arg = None;
    if let Some(r) = rest.strip_prefix('{') {
        let close = r.find('}')?;
        arg = Some(&r[..close]);
        rest = &r[close + 1..];
    }
    rest = rest.trim_start();
    let (op, n) = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("+=", Op::Add),
        ("-=", Op::Remove),
        (":=", Op::Final),
        ("=", Op::Assign),
    ]
    .into_iter()
    .find(|(t, _)| rest.starts_with(t))
    .map(|(t, op)| (op, t.len()))?;
    rest = rest[n..].trim_start().strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((key, arg, op, value, &rest[i + 1..])),
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    if n != '"' && n != '\\' {
                        value.push('\\');
                    }
                    value.push(n);
                }
            }
            _ => value.push(c),
        }
    }
    None
}

fn add(rule: &mut Rule, key: &str, arg: Option<&str>, op: Op, value: String) -> Result<(), String> {
    let is_match = matches!(op, Op::Eq | Op::Ne);
    let shown = || format!("{key}{}", arg.map(|a| format!("{{{a}}}")).unwrap_or_default());
    if is_match {
        let key = match (key, arg) {
            ("ACTION", None) => Key::Action,
            ("SUBSYSTEM", None) => Key::Subsystem,
            ("KERNEL", None) => Key::Kernel,
            ("DRIVER", None) => Key::Driver,
            ("DEVPATH", None) => Key::Devpath,
            ("ENV", Some(a)) => Key::Env(a.to_string()),
            ("ATTR", Some(a)) => Key::Attr(a.to_string()),
            ("TEST", None) => Key::Test,
            _ => return Err(format!("match key {} is outside the evaluated subset", shown())),
        };
        rule.matches.push(Match {
            key,
            equal: op == Op::Eq,
            value,
        });
        return Ok(());
    }
    match (key, arg) {
        ("RUN" | "IMPORT", Some("builtin")) => {
            if let Some(args) = value.strip_prefix("kmod load") {
                if args.is_empty() || args.starts_with(' ') {
                    rule.loads.push(args.trim().to_string());
                }
            }
        }
        ("GOTO", None) => rule.goto = Some(value),
        ("LABEL", None) => rule.label = Some(value),
        ("ENV", Some(a)) if op != Op::Remove => rule.set_env.push((a.to_string(), value)),
        // Assignments that load nothing (names, modes, programs, options): no effect
        // on which modules load.
        _ => {}
    }
    Ok(())
}

/// A substitution the evaluator cannot expand, as a reason.
fn bad_subst(v: &str) -> Option<String> {
    let mut rest = v;
    while let Some(i) = rest.find(['$', '%']) {
        let tail = &rest[i + 1..];
        let sigil = &rest[i..i + 1];
        let ok = [
            "$", "%", "env{", "E{", "kernel", "k", "devpath", "p", "id", "b", "driver", "d",
        ]
        .iter()
        .any(|t| tail.starts_with(t));
        if !ok {
            let word: String = tail.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            return Some(format!("substitution `{sigil}{word}` is outside the evaluated subset"));
        }
        rest = if tail.starts_with(['$', '%']) { &tail[1..] } else { tail };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kmod_line_with_test_and_env() {
        let r = parse_line(
            "x:4",
            r#"SUBSYSTEM=="scsi", ENV{DEVTYPE}=="scsi_device", TEST!="[module/sg]", RUN{builtin}+="kmod load sg""#,
        );
        assert_eq!(r.unsupported, None);
        assert_eq!(r.loads, vec!["sg"]);
        assert_eq!(r.matches.len(), 3);
        assert_eq!(r.matches[1].key, Key::Env("DEVTYPE".into()));
        assert!(!r.matches[2].equal);
        assert_eq!(r.matches[2].value, "[module/sg]");
    }

    #[test]
    fn goto_label_and_continuation() {
        let rules = parse_file(
            "80-drivers.rules",
            "ACTION!=\"add\", \\\n  GOTO=\"end\"\nENV{MODALIAS}==\"?*\", RUN{builtin}+=\"kmod load\"\nLABEL=\"end\"\n",
        );
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].goto.as_deref(), Some("end"));
        assert_eq!(rules[0].at, "80-drivers.rules:1");
        assert_eq!(rules[1].loads, vec![""]);
        assert_eq!(rules[1].at, "80-drivers.rules:3");
        assert_eq!(rules[2].label.as_deref(), Some("end"));
    }

    #[test]
    fn files_without_kmod_load_are_skipped() {
        assert!(parse_file("60-block.rules", "KERNEL==\"sd*\", GOTO=\"x\"\n").is_empty());
    }

    #[test]
    fn unknown_keys_and_substitutions_are_named() {
        let r = parse_line("f:1", r#"ATTRS{vendor}=="0x8086", RUN{builtin}+="kmod load x""#);
        assert_eq!(
            r.unsupported.as_deref(),
            Some("match key ATTRS{vendor} is outside the evaluated subset")
        );
        let r = parse_line("f:2", r#"RUN{builtin}+="kmod load $attr{foo}""#);
        assert_eq!(
            r.unsupported.as_deref(),
            Some("substitution `$attr` is outside the evaluated subset")
        );
        let r = parse_line("f:3", r#"RUN{builtin}+="kmod load $env{MODALIAS}""#);
        assert_eq!(r.unsupported, None);
        assert!(parse_line("f:4", "GARBAGE").unsupported.is_some());
    }

    #[test]
    fn other_builtins_are_not_loads() {
        let r = parse_line(
            "f:1",
            r#"SUBSYSTEM=="net", IMPORT{builtin}="net_id", RUN{builtin}+="kmod loader""#,
        );
        assert!(r.loads.is_empty());
        assert_eq!(r.unsupported, None);
    }
}
