//! Module options and policy from `/etc/modprobe.d/*.conf` (and `/lib/modprobe.d`):
//! `options <mod> a=1 b=2`, `blacklist <mod>` (no loading by alias, as modprobe),
//! `softdep <mod> pre: .. post: ..`; plus `mod.param=value` words of the cmdline.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::index::{parse_softdep, SoftDep};
use super::normalize;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModprobeConf {
    pub options: HashMap<String, Vec<String>>,
    /// modprobe.d `blacklist`: never loaded for a device (alias), still by name.
    pub blacklist: HashSet<String>,
    pub softdeps: HashMap<String, SoftDep>,
}

impl ModprobeConf {
    pub fn parse(&mut self, text: &str) {
        for raw in text.lines() {
            let line = raw.split('#').next().unwrap_or("");
            let mut w = line.split_whitespace();
            match (w.next(), w.next()) {
                (Some("options"), Some(m)) => self
                    .options
                    .entry(normalize(m))
                    .or_default()
                    .extend(w.map(String::from)),
                (Some("blacklist"), Some(m)) => {
                    self.blacklist.insert(normalize(m));
                }
                (Some("softdep"), Some(_)) => {
                    for (m, sd) in parse_softdep(line) {
                        let e = self.softdeps.entry(m).or_default();
                        e.pre.extend(sd.pre);
                        e.post.extend(sd.post);
                    }
                }
                _ => {}
            }
        }
    }

    /// Every `*.conf` of these directories, by file name (modprobe's order); missing
    /// directories are fine. Read with std::fs (the builder, tests).
    pub fn load(dirs: &[&Path]) -> ModprobeConf {
        let mut list = |d: &Path| -> std::io::Result<Vec<String>> {
            let mut names = Vec::new();
            for e in std::fs::read_dir(d)?.flatten() {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
            Ok(names)
        };
        ModprobeConf::load_with(dirs, &mut list, &mut |p| std::fs::read(p))
    }

    /// [`ModprobeConf::load`] through `list_dir` (entry names) and `read_file`: the
    /// init passes its syscall seam. An unreadable directory or file is skipped.
    pub fn load_with(
        dirs: &[&Path],
        list_dir: &mut dyn FnMut(&Path) -> std::io::Result<Vec<String>>,
        read_file: &mut dyn FnMut(&Path) -> std::io::Result<Vec<u8>>,
    ) -> ModprobeConf {
        let mut files: Vec<(String, std::path::PathBuf)> = Vec::new();
        for d in dirs {
            let Ok(names) = list_dir(d) else { continue };
            for name in names {
                if name.ends_with(".conf") && !files.iter().any(|(n, _)| *n == name) {
                    let p = d.join(&name);
                    files.push((name, p));
                }
            }
        }
        files.sort();
        let mut conf = ModprobeConf::default();
        for (_, p) in files {
            if let Ok(bytes) = read_file(&p) {
                conf.parse(&String::from_utf8_lossy(&bytes));
            }
        }
        conf
    }

    /// The parameter string for `module`: modprobe.d options, then the cmdline's
    /// `module.param=value` words (later wins in the kernel's parser).
    pub fn params(&self, module: &str, cmdline: &[String]) -> String {
        let mut p: Vec<String> = self.options.get(module).cloned().unwrap_or_default();
        for word in cmdline {
            if let Some((m, param)) = word.split_once('.') {
                if normalize(m) == module && !param.is_empty() {
                    p.push(param.to_string());
                }
            }
        }
        p.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_blacklist_softdep_and_cmdline() {
        let mut c = ModprobeConf::default();
        c.parse("# comment\noptions virtio-net napi_tx=1\noptions virtio_net x=2 # why\nblacklist floppy\nsoftdep fuse pre: overlay post: vfat\nbogus line\n");
        assert_eq!(c.options["virtio_net"], vec!["napi_tx=1", "x=2"]);
        assert!(c.blacklist.contains("floppy"));
        assert_eq!(c.softdeps["fuse"].pre, vec!["overlay"]);
        let cmd = vec![
            "virtio_net.x=3".to_string(),
            "virtio-net.debug".into(),
            "fuse.y=1".into(),
        ];
        assert_eq!(c.params("virtio_net", &cmd), "napi_tx=1 x=2 x=3 debug");
        assert_eq!(c.params("btrfs", &cmd), "");
    }

    #[test]
    fn reads_conf_files_in_name_order() {
        let t = tempfile::tempdir().unwrap();
        let (etc, lib) = (t.path().join("etc"), t.path().join("lib"));
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(etc.join("b.conf"), "options m b=1\n").unwrap();
        std::fs::write(lib.join("a.conf"), "options m a=1\n").unwrap();
        // /etc overrides a same-named file of /lib.
        std::fs::write(lib.join("b.conf"), "options m ignored=1\n").unwrap();
        std::fs::write(etc.join("c.txt"), "options m no=1\n").unwrap();
        let c = ModprobeConf::load(&[&etc, &lib, &t.path().join("missing")]);
        assert_eq!(c.params("m", &[]), "a=1 b=1");
    }
}
