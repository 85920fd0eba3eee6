//! Alpine version comparison, a transcription of apk-tools 2.14 `src/version.c`
//! (Gentoo-style versions: `{digit}{.digit}...{letter}{_suf{#}}...{-r#}`). Written as
//! the same token state machine rather than a "cleaner" parser, because the solver's
//! choices must match what `apk` on the booted node would pick, corner cases included
//! (leading zeros, invalid tails, pre-release suffixes).

use std::cmp::Ordering;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Tok {
    Invalid = -1,
    DigitOrZero = 0,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

/// Decides the type of the token starting at `b[0]`, consuming a separator.
fn next_token(t: &mut Tok, b: &mut &[u8]) {
    let mut n = Tok::Invalid;
    if b.is_empty() || b[0] == 0 {
        n = Tok::End;
    } else if matches!(*t, Tok::Digit | Tok::DigitOrZero) && b[0].is_ascii_lowercase() {
        n = Tok::Letter;
    } else if *t == Tok::Letter && b[0].is_ascii_digit() {
        n = Tok::Digit;
    } else if *t == Tok::Suffix && b[0].is_ascii_digit() {
        n = Tok::SuffixNo;
    } else {
        match b[0] {
            b'.' => n = Tok::DigitOrZero,
            b'_' => n = Tok::Suffix,
            b'-' if b.len() > 1 && b[1] == b'r' => {
                n = Tok::RevisionNo;
                *b = &b[1..];
            }
            _ => {}
        }
        *b = &b[1..];
    }
    if n < *t
        && !((n == Tok::DigitOrZero && *t == Tok::Digit)
            || (n == Tok::Suffix && *t == Tok::SuffixNo)
            || (n == Tok::Digit && *t == Tok::Letter))
    {
        n = Tok::Invalid;
    }
    *t = n;
}

/// Reads the value of the current token and advances to the next one.
fn get_token(t: &mut Tok, b: &mut &[u8]) -> i64 {
    let mut v: i64 = 0;
    let mut i = 0;
    let mut nt = Tok::Invalid;
    if b.is_empty() {
        *t = Tok::End;
        return 0;
    }
    let digits = |b: &[u8], i: &mut usize, v: &mut i64| {
        while *i < b.len() && b[*i].is_ascii_digit() {
            *v = v.saturating_mul(10).saturating_add((b[*i] - b'0') as i64);
            *i += 1;
        }
    };
    match *t {
        // Leading zeros after a dot sort below any number ("1.01" < "1.1"), as in C.
        Tok::DigitOrZero if b[0] == b'0' => {
            while i < b.len() && b[i] == b'0' {
                i += 1;
            }
            nt = Tok::Digit;
            v = -(i as i64);
        }
        Tok::DigitOrZero | Tok::Digit | Tok::SuffixNo | Tok::RevisionNo => digits(b, &mut i, &mut v),
        Tok::Letter => {
            v = b[0] as i64;
            i = 1;
        }
        Tok::Suffix => {
            if let Some(k) = PRE_SUFFIXES.iter().position(|s| b.starts_with(s.as_bytes())) {
                i = PRE_SUFFIXES[k].len();
                v = k as i64 - PRE_SUFFIXES.len() as i64;
            } else if let Some(k) = POST_SUFFIXES.iter().position(|s| b.starts_with(s.as_bytes())) {
                i = POST_SUFFIXES[k].len();
                v = k as i64;
            } else {
                *t = Tok::Invalid;
                return -1;
            }
        }
        _ => {
            *t = Tok::Invalid;
            return -1;
        }
    }
    *b = &b[i..];
    if b.is_empty() {
        *t = Tok::End;
    } else if nt != Tok::Invalid {
        *t = nt;
    } else {
        next_token(t, b);
    }
    v
}

/// True when apk would accept `v` as a version.
pub fn validate(v: &str) -> bool {
    // apk-tools' token loop alone accepts "", an empty number ("1..", "1.0-") and a
    // leading letter ("x1"): no package has such a version, so they are refused here.
    let empty_number = v.split(['.', '-']).any(str::is_empty);
    if !v.starts_with(|c: char| c.is_ascii_digit()) || empty_number {
        return false;
    }
    let mut t = Tok::Digit;
    let mut b = v.as_bytes();
    while t != Tok::End && t != Tok::Invalid {
        get_token(&mut t, &mut b);
    }
    t == Tok::End
}

/// `apk_version_compare_blob_fuzzy`: with `fuzzy`, `a` matches when `b` is a
/// component-wise prefix of it (the `~` operator).
pub fn compare_fuzzy(a: &str, b: &str, fuzzy: bool) -> Ordering {
    let (mut at, mut bt) = (Tok::Digit, Tok::Digit);
    let (mut av, mut bv) = (0i64, 0i64);
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while at == bt && at != Tok::End && at != Tok::Invalid && av == bv {
        av = get_token(&mut at, &mut a);
        bv = get_token(&mut bt, &mut b);
    }
    if av != bv {
        return av.cmp(&bv);
    }
    if at == bt || fuzzy {
        return Ordering::Equal;
    }
    // Equal so far: the longer version is greater, unless what follows is a
    // pre-release suffix (1.0_rc1 < 1.0).
    let mut tt = at;
    if at == Tok::Suffix && get_token(&mut tt, &mut a) < 0 {
        return Ordering::Less;
    }
    tt = bt;
    if bt == Tok::Suffix && get_token(&mut tt, &mut b) < 0 {
        return Ordering::Greater;
    }
    bt.cmp(&at)
}

pub fn compare(a: &str, b: &str) -> Ordering {
    compare_fuzzy(a, b, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(compare("1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare("1.1_rc1", "1.1"), Ordering::Less);
        assert_eq!(compare("1.0_p1", "1.0"), Ordering::Greater);
        assert_eq!(compare("1.0-r1", "1.0"), Ordering::Greater);
        assert_eq!(compare_fuzzy("1.2.3", "1.2", true), Ordering::Equal);
        assert!(validate("1.36.1-r15") && validate("1.2.4_git20230717-r4"));
        assert!(!validate("1.0-x") && !validate("abc"));
    }
}
