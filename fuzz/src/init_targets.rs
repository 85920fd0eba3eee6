//! Fuzz bodies for the init's parsers: each takes arbitrary bytes, must not panic, and
//! checks the invariants the boot relies on. Also compiled into tests/fuzz_corpora.rs.

use zos_init::{cmdline, config::Config, modules::glob, modules::index, modules::options::ModprobeConf};

/// The kernel cmdline: tokenize and parse never panic; no word is empty, the flags
/// keep the promises the boot relies on, and the config they give renders to a file
/// that parses back to the same config when the file can hold its values.
pub fn cmdline(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let words = cmdline::tokenize(&text);
    assert!(words.iter().all(|w| !w.is_empty()), "{words:?}");
    let flags = cmdline::parse(&text);
    assert_eq!(flags, cmdline::parse(&text), "parse is not deterministic");
    let cfg = Config::default().with_flags(&flags);
    // What the copy stage relies on: `zos.copy+=` adds top-level /NAME paths only.
    for p in &flags.copy_add {
        let name = p.strip_prefix('/').unwrap_or_else(|| panic!("{p:?} is not absolute"));
        assert!(
            !name.is_empty() && !name.contains('/') && name != "." && name != "..",
            "{p:?}"
        );
        assert!(cfg.copy.contains(p), "{p:?} missing from {:?}", cfg.copy);
    }
    for p in &flags.copy_exclude {
        assert!(p.starts_with('/') && !p.split('/').any(|c| c == ".."), "{p:?}");
    }
    assert!(
        flags.init.as_ref().is_none_or(|i| i.starts_with('/')),
        "{:?}",
        flags.init
    );
    // The file cannot hold every value a cmdline can: its lists split on whitespace
    // (any Unicode space, where the kernel splits on ASCII ones only, and a quoted
    // `zos.copy+="/a b"` holds an ASCII space) and `#` starts a comment. Nothing
    // renders a cmdline-made config (the init applies the flags at boot, the builder
    // renders configs it parsed from a file, which the `config` target covers), so
    // the round trip is checked on the words the file can hold. Words with a `"` left
    // inside are dropped too: joined again, that quote would open a quoted span and
    // give other words.
    let plain: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !w.contains(['#', '"']) && !w.contains(char::is_whitespace))
        .collect();
    let mut cfg = Config::default().with_flags(&cmdline::parse(&plain.join(" ")));
    // root= is the kernel's, read at boot and never written to the file.
    cfg.kernel_root = None;
    let (back, errors) = Config::parse(&cfg.render(), "fuzz");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(back, cfg, "{}", cfg.render());
}

/// /etc/zos-init.conf: never panics; what it accepted renders to a file that parses
/// back to the same config without errors.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (cfg, _errors) = Config::parse(&text, "fuzz");
    let rendered = cfg.render();
    let (back, errors) = Config::parse(&rendered, "fuzz");
    assert!(errors.is_empty(), "{errors:?}\n{rendered}");
    assert_eq!(back, cfg, "{rendered}");
}

/// modules.dep, modules.alias, modules.softdep, modules.builtin.modinfo and
/// modprobe.d options: never panic on any text. The index built from the text (as
/// every one of its files) resolves each word without panicking, and the alias
/// glob matcher (first line the pattern, second the text) agrees with itself on a
/// literal pattern.
pub fn modules(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let deps = index::parse_dep(&text);
    for m in deps.keys() {
        let _ = deps.get(m);
    }
    let _ = index::parse_alias(&text);
    let _ = index::parse_softdep(&text);
    let _ = index::parse_builtin_modinfo(&text);
    let mut o = ModprobeConf::default();
    o.parse(&text);
    let idx =
        index::ModIndex::load_with(std::path::Path::new("/m"), &mut |_| Ok(data.to_vec())).expect("every file reads");
    for w in text.split_whitespace().take(32) {
        if let index::Resolved::Modules(ms) = idx.resolve(w) {
            assert!(!ms.is_empty(), "{w:?}");
        }
        let _ = o.params(w, &[]);
    }
    let mut lines = text.lines();
    if let (Some(pat), Some(t)) = (lines.next(), lines.next()) {
        let _ = glob::fnmatch(pat, t);
        let literal = !pat.contains(['*', '?', '[', '\\']);
        if literal {
            assert_eq!(glob::fnmatch(pat, t), pat == t, "{pat:?} {t:?}");
        }
    }
}
