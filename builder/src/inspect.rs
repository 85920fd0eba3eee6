//! `zos-builder ls`: lists an image like `lsinitrd`, one line per entry, whatever
//! the compression and however many segments are concatenated.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::cpio::header::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK};
use crate::cpio::{read_image, ReadEntry, Segment};
use crate::error::InspectError;

/// Reads and parses a whole image file.
pub fn read_image_file(path: &Path) -> Result<Vec<Segment>, InspectError> {
    let buf = fs::read(path).map_err(|source| InspectError::Open {
        path: path.to_owned(),
        cause: source,
    })?;
    read_image(&buf).map_err(|source| InspectError::Parse {
        path: path.to_owned(),
        cause: source,
    })
}

/// The listing of an image, newline-terminated. With several segments each gets a
/// heading, so one can tell the early (microcode) archive from the main one.
pub fn list_image(path: &Path) -> Result<String, InspectError> {
    let segments = read_image_file(path)?;
    let mut out = String::new();
    for s in &segments {
        if segments.len() > 1 {
            let _ = writeln!(out, "# segment at offset {} ({})", s.offset, s.compression);
        }
        for e in &s.entries {
            out.push_str(&format_entry(e));
            out.push('\n');
        }
    }
    Ok(out)
}

/// `drwxr-xr-x   0   0         0 2024-01-01 00:00 etc`; devices show
/// `major,minor` in the size column and symlinks ` -> target`.
pub fn format_entry(e: &ReadEntry) -> String {
    let size = match e.mode & S_IFMT {
        S_IFCHR | S_IFBLK => format!("{},{}", e.rdev.0, e.rdev.1),
        _ => e.size.to_string(),
    };
    let mut line = format!(
        "{} {:>3} {:>3} {:>9} {} {}",
        mode_string(e.mode),
        e.uid,
        e.gid,
        size,
        format_utc(u64::from(e.mtime)),
        escaped(e.name.as_os_str().as_encoded_bytes())
    );
    if let Some(t) = e.symlink_target() {
        let _ = write!(line, " -> {}", escaped(t.as_os_str().as_encoded_bytes()));
    }
    line
}

/// A name as text a terminal shows safely: control bytes (a name may hold ESC
/// sequences or newlines), DEL, backslash and invalid UTF-8 become `\xNN`.
pub fn escaped(name: &[u8]) -> String {
    let mut out = String::new();
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '\\' {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// `ls -l` style mode, including setuid/setgid/sticky.
pub fn mode_string(mode: u32) -> String {
    let t = match mode & S_IFMT {
        S_IFDIR => 'd',
        S_IFLNK => 'l',
        S_IFCHR => 'c',
        S_IFBLK => 'b',
        S_IFIFO => 'p',
        S_IFSOCK => 's',
        S_IFREG => '-',
        _ => '?',
    };
    let mut s = String::with_capacity(10);
    s.push(t);
    // (read bit, write bit, exec bit, special bit, char when special+exec, when special only)
    for (shift, special, on, off) in [(6, 0o4000, 's', 'S'), (3, 0o2000, 's', 'S'), (0, 0o1000, 't', 'T')] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(match (bits & 1 != 0, mode & special != 0) {
            (true, true) => on,
            (false, true) => off,
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// `YYYY-MM-DD HH:MM` in UTC, without a date crate (days-to-civil from
/// Howard Hinnant's algorithms).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}", rem / 3600, rem % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn names_are_escaped_for_the_terminal() {
        assert_eq!(escaped(b"a\x1b[31m\nb\\\xffc\x7f"), "a\\x1b[31m\\x0ab\\x5c\\xffc\\x7f");
        assert_eq!(escaped("usr/bin/é".as_bytes()), "usr/bin/é");
    }

    #[test]
    fn dates() {
        for (secs, want) in [
            (0, "1970-01-01 00:00"),
            (1_704_067_200, "2024-01-01 00:00"),
            (951_782_400, "2000-02-29 00:00"),
            (1_709_208_000 + 3_723, "2024-02-29 13:02"),
            (4_294_967_295, "2106-02-07 06:28"),
        ] {
            assert_eq!(format_utc(secs), want, "{secs}");
        }
    }

    #[test]
    fn modes() {
        for (mode, want) in [
            (0o040_755, "drwxr-xr-x"),
            (0o100_644, "-rw-r--r--"),
            (0o104_755, "-rwsr-xr-x"),
            (0o102_644, "-rw-r-Sr--"),
            (0o041_777, "drwxrwxrwt"),
            (0o120_777, "lrwxrwxrwx"),
            (0o020_600, "crw-------"),
            (0o060_660, "brw-rw----"),
            (0o010_644, "prw-r--r--"),
        ] {
            assert_eq!(mode_string(mode), want, "{mode:o}");
        }
    }

    #[test]
    fn lines() {
        let base = ReadEntry {
            name: PathBuf::from("dev/console"),
            mode: 0o020_600,
            uid: 0,
            gid: 0,
            nlink: 1,
            mtime: 1_704_067_200,
            size: 0,
            dev: (0, 0),
            rdev: (5, 1),
            ino: 3,
            data: vec![],
        };
        assert_eq!(
            format_entry(&base),
            "crw-------   0   0       5,1 2024-01-01 00:00 dev/console"
        );
        let link = ReadEntry {
            name: "bin/sh".into(),
            mode: 0o120_777,
            size: 7,
            data: b"busybox".to_vec(),
            rdev: (0, 0),
            ..base
        };
        assert_eq!(
            format_entry(&link),
            "lrwxrwxrwx   0   0         7 2024-01-01 00:00 bin/sh -> busybox"
        );
    }
}
