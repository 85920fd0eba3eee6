//! The netboot kernel command line: a base (the console), Zero-OS's own parameters,
//! then anything appended, checked against the x86 limit and against what iPXE would
//! reinterpret in a script line.

use super::{NetbootError, UKI};

/// The x86 kernel's command-line buffer is 2048 bytes with its NUL
/// (`zos_host::MAX_CMDLINE`); iPXE cuts a longer one silently.
pub const MAX_CMDLINE: usize = 2047;

/// Zero-OS's parameters, read by the zos daemons after the handover (the init passes
/// them through: init/src/cmdline.rs).
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub farmer_id: Option<String>,
    pub runmode: Option<String>,
    pub version: Option<String>,
}

/// `base`, then `farmer_id=` `runmode=` `version=`, then `append`, in that order;
/// a key given twice is refused rather than leaving the winner to the reader.
pub fn compose(base: &str, params: &Params, append: &str) -> Result<String, NetbootError> {
    let mut words: Vec<String> = base.split_whitespace().map(str::to_string).collect();
    for (key, value) in [
        ("farmer_id", &params.farmer_id),
        ("runmode", &params.runmode),
        ("version", &params.version),
    ] {
        if let Some(v) = value {
            words.push(format!("{key}={v}"));
        }
    }
    words.extend(append.split_whitespace().map(str::to_string));
    for (i, w) in words.iter().enumerate() {
        let key = w.split('=').next().unwrap_or(w);
        if let Some(first) = words[..i].iter().find(|o| o.split('=').next() == Some(key)) {
            // Repeated bare flags (`console=` twice is legal for the kernel) stay.
            if key != "console" {
                return Err(NetbootError::Duplicate {
                    key: key.into(),
                    first: first.clone(),
                    second: w.clone(),
                });
            }
        }
    }
    Ok(words.join(" "))
}

/// Refuse what would not reach the kernel intact: iPXE expands `${...}`, splits on
/// `||`/`&&` and treats a leading `#` as a comment, and it has no quoting (so a
/// kernel-quoted `x="a b"` would be cut); under UEFI it prepends the image's name
/// (`vmlinuz.efi `) to the options the stub sees.
pub fn check(cmdline: &str, bios: bool, uefi: bool) -> Result<(), NetbootError> {
    for word in cmdline.split_whitespace() {
        let why = if word.contains('$') {
            Some("iPXE would expand `$` (settings such as ${ip})")
        } else if word.contains('|') || word.contains('&') {
            Some("iPXE treats `|` and `&` as command operators")
        } else if word.contains('"') || word.contains('\'') || word.contains('\\') {
            Some("iPXE scripts have no quoting: the word would reach the kernel changed")
        } else if word.starts_with('#') {
            Some("a word starting with `#` is an iPXE comment")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(NetbootError::BadWord { word: word.into(), why });
        }
    }
    if cmdline.contains('\n') {
        return Err(NetbootError::BadWord {
            word: "\\n".into(),
            why: "a newline ends the iPXE command",
        });
    }
    let lens = [
        (bios, "BIOS", cmdline.len()),
        (uefi, "UEFI", UKI.len() + 1 + cmdline.len()),
    ];
    for (on, firmware, len) in lens {
        if on && len > MAX_CMDLINE {
            return Err(NetbootError::CmdlineTooLong {
                firmware,
                len,
                max: MAX_CMDLINE,
                head: cmdline.chars().take(80).collect(),
            });
        }
    }
    Ok(())
}
