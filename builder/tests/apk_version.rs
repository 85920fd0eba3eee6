//! Version comparison against apk-tools' own table (test/version.data): each line is
//! `a op b`. These are cases from that table covering every token kind: dotted
//! numbers, leading zeros, letters, pre/post suffixes with numbers, revisions, dates.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::cmp::Ordering;

use zos_builder::apk::version::{compare, validate};

const TABLE: &str = "\
2.34 > 0.1.0_alpha
23_foo > 4_beta
0.1.0_alpha = 0.1.0_alpha
0.1.0_alpha < 0.1.3_alpha
0.1.3_alpha > 0.1.0_alpha
0.1.0_alpha2 > 0.1.0_alpha
0.1.0_alpha < 2.2.39-r1
2.2.39-r1 > 1.0.4-r3
1.0.4-r3 < 1.0.4-r4
1.0.4-r4 < 1.6
1.6 > 1.0.2
1.0.2 > 0.7-r1
0.7-r1 < 1.0.0
1.0.0 < 1.0.1
1.0.1 < 1.1
1.1 > 1.1_alpha1
1.1_alpha1 < 1.2.1
1.2.1 > 1.2
1.2 < 1.3_alpha
1.3_alpha < 1.3_alpha2
1.3_alpha2 < 1.3_alpha3
1.3_alpha8 > 0.6.0
0.7.0 < 0.8_beta1
0.8_beta1 < 0.8_beta2
0.8_beta4 < 4.8-r1
3.10.18-r1 > 2.3.0b-r1
2.3.0b-r1 < 2.3.0b-r2
2.3.0b-r4 > 0.12.1
0.12.3 > 0.12
0.12 < 0.13_beta1
0.13_beta5 > 0.9.12
0.9.13 > 0.0.16
0.0.16 < 0.6
1.2.11 < 1.2.12.1
1.2.12.1 < 1.2.13
0.2.0-r1 = 0.2.0-r1
0.2.0-r1 < 3.1_p16
3.1_p16 < 3.1_p17
3.1_p17 > 1.06-r6
1.06-r6 < 006
006 > 1.0.0
1.2.2-r1 > 1.2.2
9.3.4-r2 > 9.3.4
2.16.1-r3 = 2.16.1-r3
1.2.1-r1 < 1.2.2.1
2.59 < 20050718-r1
20050718-r1 < 20050718-r2
3.9.8-r5 > 2.01.01_alpha10
2.01.01_alpha10 > 0.94
0.94 < 1.0
1.0 > 0.99.3.20040818
1.39 > 1.00_beta2
1.00_beta2 > 0.9.2
7.15.1-r1 > 1.02
1.02 < 1.03-r1
1.12.12-r2 < 2.8.0.6-r1
4.2.52_p2-r1 < 4.2.52_p4-r2
4.2.52_p4-r2 > 1.02.07
1.02.07 < 1.02.10-r1
1.05-r18 < 1.05-r19
2.38 < 20050405
2.11-r1 > 2.11
0.7.3-r2 > 0.7.3
1.0.0 < 10-r1
20060720 > 3.0.20060720
3.0.20060720 < 20060720
0.7.18-r2 < 0.17-r6
1.4.4-r1 < 2.1.9.200602141850
2.5.1-r8 < 2.5.1a-r1
2.5.1a-r1 > 1.19.2-r1
1.3.5-r10 > 1.3.5-r8
20040401 > 2.0.0_rc3-r1
2.6.15.20060110 < 2.6.16.20060323
3.0.0-r2 < 021109-r3
021109-r3 < 20060512
0.9.16-r1 < 3.9_pre20060124
3.9_pre20060124 > 0.01
0.01 < 0.06
1.1.7 < 6b-r7
6b-r7 > 1.12-r7
0.10.0-r1 > 0.10.0
0.10.0 < 0.10.1_rc1
0.10.1_rc1 > 0.9.11
2.0.2 > 1.1a
1.1a < 1.3a
1.0-r1 > 0.15.1b
0.15.1b-r2 > 0.15.1b
0.0.31 < 0.0.50
22.7-r1 < 22.7.3-r1
22.7.3-r1 > 22.7
22.7 > 2.1_pre20
2.1_pre20 < 2.1_pre26
2.10.1 > 02.08.01b
3.81 > 1.6d
1.6d > 1.2.07.8
1.2.07.8 < 1.2.12.04
1.2.12.04 < 1.2.12.05
3.3.17 > 0.59s-r11
4.20 > 0.20070118
0.20070118 < 0.20070207_rc1
0.20070207_rc1 < 1.0
2.3.30-r2 < 3.7_p1
4.3_p2-r1 < 4.3_p2-r5
4.5_p1-r1 > 4.5_p1
4.5_p1 > 0.9.8c-r1
0.9.8c-r1 < 0.9.8d
2.2.3-r2 < 013
013 < 014-r1
3.2.7 > 0.3.1_rc8
1.7 < 1.7b
1.7b < 1.8.4-r3
1.8.5 < 1.8.5_p2
2.9.11_pre20051101-r3 > 2.9.11_pre20051101
2.9.11_pre20051101 < 2.9.11_pre20061021-r1
1.6.8_p12-r1 > 1.6.8_p9-r2
0.9.28-r2 < 0.9.28.1
0.9.28.1 > 0.9.28
0.9.28.1 < 087-r1
104-r11 > 104-r9
1.2.5_rc2 > 0.1
20040406-r1 > 2.12r-r4
2.12r-r4 < 2.12r-r5
7.0.17 < 7.0.174
0.3.4_pre20061029 < 0.4.0
1.2.9.1-r1 > 1.2.9.1
1.3-r0 < 1.3.1-r0
1.3_pre1-r1 < 1.3.2
1.0_p10-r0 > 1.0_p9-r0
1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0
";

fn expect(op: &str) -> Ordering {
    match op {
        "<" => Ordering::Less,
        ">" => Ordering::Greater,
        "=" => Ordering::Equal,
        other => panic!("bad op {other}"),
    }
}

#[test]
fn apk_version_table() {
    let mut failures = Vec::new();
    let mut n = 0;
    for line in TABLE.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (a, op, b) = (f[0], f[1], f[2]);
        n += 1;
        if compare(a, b) != expect(op) {
            failures.push(format!("{a} {op} {b}: got {:?}", compare(a, b)));
        }
        // The table is symmetric: the reverse must hold too.
        if compare(b, a) != expect(op).reverse() {
            failures.push(format!("{b} vs {a} (reversed): got {:?}", compare(b, a)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} lines failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn real_alpine_versions() {
    // From the 3.19 fixture repository and the 3.19.4 minirootfs.
    assert_eq!(compare("1.36.1-r19", "1.36.1-r15"), Ordering::Greater);
    assert_eq!(compare("1.2.4_git20230717-r4", "1.2.3_git20230424"), Ordering::Greater);
    assert_eq!(compare("2.14.4-r0", "2.14.0-r5"), Ordering::Greater);
    for v in [
        "1.36.1-r15",
        "1.2.4_git20230717-r4",
        "20230506-r0",
        "3.1.4-r5",
        "2.4-r1",
    ] {
        assert!(validate(v), "{v}");
    }
    for v in ["", "1.0-", "1..", "1.0_foo", "x1"] {
        assert!(!validate(v), "{v:?} should be invalid");
    }
}
