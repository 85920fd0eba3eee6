//! Dependency resolution on the real 3.19.1 index (100 records) and on small
//! synthetic universes for conflicts and provider priorities.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod apk_support;

use apk_support::*;
use zos_builder::apk::dep::Dep;
use zos_builder::apk::index::{parse_records, read_index, Package};
use zos_builder::apk::resolve::Resolver;
use zos_builder::apk::sign::Keyring;
use zos_builder::apk::ApkError;

fn index() -> Vec<Package> {
    let ring = Keyring::load(&keys()).unwrap();
    let bytes = std::fs::read(repo319().join("APKINDEX.tar.gz")).unwrap();
    read_index(&bytes, "3.19.1", &ring, false, 0).unwrap().packages
}

fn names(avail: &[Package], world: &[&str]) -> Result<Vec<String>, ApkError> {
    let w: Vec<Dep> = world.iter().map(|a| Dep::parse(a).unwrap()).collect();
    let plan = Resolver::new(avail, &[]).resolve(&w)?;
    Ok(plan.install.iter().map(|&i| avail[i].name.clone()).collect())
}

#[test]
fn virtuals_resolve_to_their_providers() {
    let idx = index();
    // so: (shared library), cmd: (command), a path, pc:-style versioned provides.
    assert_eq!(names(&idx, &["so:libz.so.1"]).unwrap(), ["musl", "zlib"]);
    assert!(names(&idx, &["cmd:ldd"]).unwrap().contains(&"musl-utils".to_string()));
    assert!(names(&idx, &["so:libcrypto.so.3"])
        .unwrap()
        .contains(&"libcrypto3".to_string()));
    // /bin/sh: busybox-binsh has k:100, the highest provider priority.
    let sh = names(&idx, &["/bin/sh"]).unwrap();
    assert!(sh.contains(&"busybox-binsh".to_string()), "{sh:?}");
    // Versioned: a provided version satisfies a constraint on the virtual.
    assert!(names(&idx, &["cmd:busybox>=1.36"])
        .unwrap()
        .contains(&"busybox".to_string()));
    // Dependencies come before dependents.
    let all = names(&idx, &["alpine-base", "!ssl_client"]).unwrap();
    let pos = |n: &str| all.iter().position(|p| p == n).unwrap();
    assert!(pos("musl") < pos("busybox") && pos("libcrypto3") < pos("libssl3") && pos("libssl3") < pos("apk-tools"));
    assert!(!all.contains(&"ssl_client".to_string()));
    // Without the ban, install_if brings ssl_client (busybox + libssl3), as apk does.
    assert!(names(&idx, &["alpine-base"])
        .unwrap()
        .contains(&"ssl_client".to_string()));
}

#[test]
fn unsatisfiable_dependencies_say_what_and_why() {
    let idx = index();
    let e = names(&idx, &["no-such-package"]).unwrap_err().to_string();
    assert_eq!(
        e,
        "unsatisfiable: no-such-package (required by world): no package in the repositories provides it"
    );
    let e = names(&idx, &["musl>=99"]).unwrap_err().to_string();
    assert!(
        e.starts_with("unsatisfiable: musl>=99 (required by world): available: musl-1.2.4_git20230717-r4"),
        "{e}"
    );
    // Deep: a package whose dependency cannot be met names its requirer.
    let u = parse_records("C:Q1a=\nP:a\nV:1-r0\nD:b>=2\n\nC:Q1b=\nP:b\nV:1-r0\n", "t", 0).unwrap();
    let e = names(&u, &["a"]).unwrap_err().to_string();
    assert!(e.contains("b>=2 (required by a-1-r0)"), "{e}");
    // An unversioned provides cannot satisfy a versioned dependency.
    let u = parse_records("C:Q1a=\nP:a\nV:1-r0\np:virt\n", "t", 0).unwrap();
    assert!(names(&u, &["virt"]).is_ok());
    assert!(names(&u, &["virt>=1"]).is_err());
}

#[test]
fn conflicts_are_reported() {
    let u = parse_records("C:Q1a=\nP:a\nV:1-r0\nD:!b\n\nC:Q1b=\nP:b\nV:1-r0\n", "t", 0).unwrap();
    let e = names(&u, &["a", "b"]).unwrap_err().to_string();
    assert_eq!(e, "conflict: a-1-r0 declares !b, but b-1-r0 is to be installed");
    assert_eq!(names(&u, &["a"]).unwrap(), ["a"]);
    let e = names(&u, &["b", "!b"]).unwrap_err();
    assert!(matches!(e, ApkError::Conflict { .. }), "{e}");
}

#[test]
fn provider_priority_then_version_wins() {
    let u = parse_records(
        "C:Q1x=\nP:sh-low\nV:9-r0\nk:10\np:/bin/sh\n\nC:Q1y=\nP:sh-high\nV:1-r0\nk:100\np:/bin/sh\n\nC:Q1z=\nP:lib\nV:1.0-r0\n\nC:Q1w=\nP:lib\nV:1.10-r0\n",
        "t",
        0,
    )
    .unwrap();
    assert_eq!(names(&u, &["/bin/sh"]).unwrap(), ["sh-high"]);
    let w = [Dep::parse("lib").unwrap()];
    let plan = Resolver::new(&u, &[]).resolve(&w).unwrap();
    assert_eq!(u[plan.install[0]].version, "1.10-r0");
    let plan = Resolver::new(&u, &[])
        .resolve(&[Dep::parse("lib<1.5").unwrap()])
        .unwrap();
    assert_eq!(u[plan.install[0]].version, "1.0-r0");
    let plan = Resolver::new(&u, &[])
        .resolve(&[Dep::parse("/bin/sh").unwrap()])
        .unwrap();
    assert!(
        plan.notes[0].contains("chose sh-high among sh-high, sh-low"),
        "{:?}",
        plan.notes
    );
}
