//! Tests of resolve.rs.

use super::*;
use crate::index::parse_records;

fn deps(atoms: &[&str]) -> Vec<Dep> {
    atoms.iter().filter_map(|a| Dep::parse(a)).collect()
}

#[test]
fn every_missing_name_is_listed_at_once() {
    let u = parse_records("C:Q1a=\nP:a\nV:1-r0\nD:gone-dep\n\nC:Q1b=\nP:b\nV:1-r0\n", "t", 0).unwrap();
    let e = Resolver::new(&u, &[])
        .resolve(&deps(&["nope1", "a", "b", "nope2"]))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unsatisfiable: no package in the repositories provides nope1 (required by world), \
         nope2 (required by world), gone-dep (required by a-1-r0)"
    );
}

#[test]
fn installed_packages_are_replaced_when_a_dependency_needs_it() {
    // Installed: lib 2 and bin 2 (bin wants lib=2); the repository has only 1s.
    let installed = parse_records(
        "C:Q1l2=\nP:lib\nV:2-r0\n\nC:Q1b2=\nP:bin\nV:2-r0\nD:lib=2-r0\n\nC:Q1o=\nP:other\nV:1-r0\n",
        "installed",
        usize::MAX,
    )
    .unwrap();
    let avail = parse_records(
        "C:Q1l1=\nP:lib\nV:1-r0\n\nC:Q1b1=\nP:bin\nV:1-r0\nD:lib=1-r0\n\nC:Q1t=\nP:tool\nV:1-r0\nD:bin=1-r0\n",
        "repo",
        0,
    )
    .unwrap();
    // Pinned: lib goes down; bin (installed, wants lib=2) gives way to bin 1.
    let plan = Resolver::new(&avail, &installed)
        .resolve(&deps(&["lib=1-r0", "bin", "other"]))
        .unwrap();
    let mut got: Vec<String> = plan.install.iter().map(|&i| avail[i].nv()).collect();
    got.sort();
    assert_eq!(got, ["bin-1-r0", "lib-1-r0"]);
    // A dependency pins it: tool wants bin=1, which wants lib=1.
    let plan = Resolver::new(&avail, &installed)
        .resolve(&deps(&["lib", "bin", "tool"]))
        .unwrap();
    let got: Vec<String> = plan.install.iter().map(|&i| avail[i].nv()).collect();
    assert_eq!(got, ["lib-1-r0", "bin-1-r0", "tool-1-r0"]);
    // Nothing asks for a change: everything installed stays.
    let plan = Resolver::new(&avail, &installed)
        .resolve(&deps(&["lib", "bin"]))
        .unwrap();
    assert!(plan.install.is_empty(), "{:?}", plan.install);
}
