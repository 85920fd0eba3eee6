//! Fuzz bodies for the init's parsers: each takes arbitrary bytes, must not panic, and
//! checks the invariants the boot relies on. Also compiled into tests/fuzz_corpora.rs.

use zos_init::{cmdline, config::Config, modules::index, modules::options::ModprobeConf};

/// The kernel cmdline: tokenize and parse never panic; no word is empty or holds a
/// kernel space outside what quotes allowed, and re-parsing is stable.
pub fn cmdline(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let words = cmdline::tokenize(&text);
    assert!(words.iter().all(|w| !w.is_empty()), "{words:?}");
    let flags = cmdline::parse(&text);
    assert_eq!(flags, cmdline::parse(&text), "parse is not deterministic");
    // Whatever the flags say, the config they produce renders and parses back.
    let cfg = Config::default().with_flags(&flags);
    let (back, errors) = Config::parse(&cfg.render(), "fuzz");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(back.render(), cfg.render());
}

/// /etc/zos-init.conf: never panics; what it accepted renders to a file that parses
/// back to the same config without errors.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (cfg, _errors) = Config::parse(&text, "fuzz");
    let rendered = cfg.render();
    let (back, errors) = Config::parse(&rendered, "fuzz");
    assert!(errors.is_empty(), "{errors:?}\n{rendered}");
    assert_eq!(back.render(), rendered);
}

/// modules.dep, modules.alias, modules.softdep, modules.builtin.modinfo and
/// modprobe.d options: never panic on any text.
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
}
