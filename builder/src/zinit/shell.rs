//! Which programs a unit's command line needs. zinit 0.2 splits `exec` (and `test`)
//! with shlex and runs the first word directly, without a shell, so that word must be
//! a program of the image. When it is a shell given `-c SCRIPT` (the Zero-OS units use
//! `sh -c "a; b"` for sequences), the script's commands are looked up too: a unit
//! whose script calls a program the image lacks would run and fail (exit 127), which
//! lint can tell before the boot.
//!
//! The script reader is deliberately small: it splits on `;`, `&&`, `||`, `|`, `&` and
//! newlines, steps over `VAR=value` prefixes, keywords and a `for NAME in WORDS` list,
//! and checks the first word of each command. A command word holding `$` or a backquote
//! is not known before run time and is not checked.

use super::image::ImageView;
use super::lint::SERVICE_PATH;
use super::unit::Unit;

/// Built into busybox ash and every POSIX shell: no program needed.
const BUILTINS: &[&str] = &[
    ".", ":", "[", "[[", "alias", "break", "cd", "continue", "echo", "eval", "exit", "export", "false", "getopts",
    "hash", "kill", "let", "local", "printf", "pwd", "read", "readonly", "return", "set", "shift", "source", "test",
    "trap", "true", "type", "ulimit", "umask", "unset", "wait",
];
/// Keywords after which the next word is a command again.
/// `exec` and `command` run the next word as a program.
const LEADING_KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "(", "exec", "command",
];
/// Keywords that end a compound command: nothing to check.
const CLOSING_KEYWORDS: &[&str] = &["fi", "done", "}", ")", "esac"];
const SHELLS: &[&str] = &["sh", "ash", "bash", "dash"];

/// `Ok` when every program `cmd` starts is in the image, else why not.
pub fn check_command(unit: &Unit, cmd: &str, image: &ImageView) -> Result<(), String> {
    let path_var = unit.env.get("PATH").map_or(SERVICE_PATH, String::as_str);
    let cwd = unit.dir.as_deref().unwrap_or("/");
    let words = shlex::split(cmd).ok_or_else(|| "unbalanced quotes (zinit cannot split it)".to_string())?;
    let program = words.first().ok_or_else(|| "empty command".to_string())?;
    image.find_program(program, path_var, cwd)?;
    let base = program.rsplit('/').next().unwrap_or(program);
    if SHELLS.contains(&base) {
        if let Some(i) = words.iter().position(|w| w == "-c") {
            if let Some(script) = words.get(i + 1) {
                for word in script_commands(script) {
                    image
                        .find_program(&word, path_var, cwd)
                        .map_err(|why| format!("its script runs `{word}`, but {why}"))?;
                }
            }
        }
    }
    Ok(())
}

/// The command words of a shell script that name programs (see the module docs).
pub fn script_commands(script: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(script.len() * 2);
    let mut chars = script.chars().peekable();
    // Operators become their own words so that `a;b` splits like `a ; b`.
    while let Some(c) = chars.next() {
        match c {
            ';' | '\n' => spaced.push_str(" ; "),
            '&' | '|' => {
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                spaced.push_str(" ; ");
            }
            _ => spaced.push(c),
        }
    }
    let words = shlex::split(&spaced).unwrap_or_default();
    let mut out = Vec::new();
    let mut at_start = true;
    let mut in_for_list = false;
    let mut skip_next = false;
    for w in words {
        if w == ";" {
            at_start = true;
            in_for_list = false;
            continue;
        }
        if in_for_list {
            continue;
        }
        if skip_next {
            // The variable name after `for`.
            skip_next = false;
            in_for_list = true;
            continue;
        }
        if !at_start {
            continue;
        }
        if LEADING_KEYWORDS.contains(&w.as_str()) {
            continue;
        }
        if w == "for" {
            skip_next = true;
            continue;
        }
        if is_assignment(&w) || w.starts_with('>') || w.starts_with('<') {
            continue;
        }
        at_start = false;
        if CLOSING_KEYWORDS.contains(&w.as_str()) || BUILTINS.contains(&w.as_str()) {
            continue;
        }
        if w.contains('$') || w.contains('`') || w == "case" {
            continue;
        }
        out.push(w);
    }
    out
}

/// `NAME=value` with a shell variable name before the `=`.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::FileData;
    use crate::ExtraEntry;

    #[test]
    fn script_commands_of_the_zero_os_units() {
        assert_eq!(
            script_commands(
                "mount -t tmpfs cgroup_root /sys/fs/cgroup && for c in pids cpu; do mkdir -p /sys/fs/cgroup/$c && \
                 mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c; done"
            ),
            vec!["mount", "mkdir", "mount"]
        );
        assert_eq!(
            script_commands(
                "modprobe fuse; echo never > /sys/kernel/mm/transparent_hugepage/enabled; prlimit --pid 1 --nofile=1"
            ),
            vec!["modprobe", "prlimit"]
        );
        assert_eq!(
            script_commands("A=1 udevadm trigger|cat;if true; then $X; fi; exec sleep 1"),
            vec!["udevadm", "cat", "sleep"]
        );
    }

    #[test]
    fn no_shell_in_exec_and_programs_inside_sh_c() {
        let t = tempfile::tempdir().unwrap();
        let exe = |p: &str| ExtraEntry::File {
            path: p.into(),
            source: FileData::Bytes(vec![]),
            mode: Some(0o755),
        };
        let view = ImageView::new(Some(t.path()), &[exe("/bin/sh"), exe("/bin/mount")]);
        let mut u = Unit::default();
        assert_eq!(check_command(&u, "sh -c 'mount -a; true'", &view), Ok(()));
        let why = check_command(&u, "sh -c \"mount -a; prlimit --pid 1\"", &view).unwrap_err();
        assert!(why.contains("its script runs `prlimit`"), "{why}");
        // zinit 0.2 has no shell: `echo` must exist as a program.
        assert!(check_command(&u, "echo hi", &view).is_err());
        assert!(check_command(&u, "sh -c 'a", &view).unwrap_err().contains("unbalanced"));
        u.env.insert("PATH".into(), "/usr/bin".into());
        assert!(check_command(&u, "sh -c x", &view).is_err());
    }
}
