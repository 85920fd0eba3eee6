use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| m.get(k).cloned()
}

fn file(pairs: &[(&str, &str)]) -> KnobFile {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn all_flags(v: &str) -> KnobFlags {
    KnobFlags {
        buildmode: Some(if v == "flag" { "release" } else { v }.into()),
        targetarch: Some("arm64".into()),
        kernel_version: Some(format!("{v}-k")),
        alpine_version: Some(format!("{v}-a")),
        include_modules: Some("full".into()),
        cache_downloads: Some("0".into()),
        verify_checksums: Some("no".into()),
    }
}

#[test]
fn defaults_when_nothing_is_set() {
    let k = resolve(&KnobFlags::default(), env(&[]), &KnobFile::new()).unwrap();
    assert_eq!(k.mode, BuildMode::Debug);
    assert_eq!(k.arch, TargetArch::Amd64);
    assert_eq!(k.kernel_version, None);
    assert_eq!(k.alpine_version, None);
    assert_eq!(k.include_modules, "standard");
    assert!(k.cache_downloads && k.verify_checksums);
    assert!(
        k.describe().iter().all(|l| l.ends_with("(default)")),
        "{:?}",
        k.describe()
    );
}

/// Each knob on its own: config alone, env over config, flag over both.
#[test]
fn flag_beats_env_beats_config_for_every_knob() {
    let cases: [(&str, &str, &str, &str); 7] = [
        ("BUILDMODE", "debug", "release", "debug"),
        ("TARGETARCH", "amd64", "arm64", "amd64"),
        ("KERNEL_VERSION", "6.1.0-c", "6.1.0-e", "6.1.0-f"),
        ("ALPINE_VERSION", "3.20", "3.21", "3.22"),
        ("INCLUDE_MODULES", "minimal", "standard", "full"),
        ("CACHE_DOWNLOADS", "true", "0", "yes"),
        ("VERIFY_CHECKSUMS", "0", "1", "off"),
    ];
    for (name, cfg, envv, flag) in cases {
        let f = file(&[(name, cfg)]);
        let e = env(&[(name, envv)]);
        let mut flags = KnobFlags::default();
        let only_cfg = resolve(&flags, env(&[]), &f).unwrap();
        assert_eq!(only_cfg.raw[name], (cfg.to_string(), Origin::Config), "{name}");
        let with_env = resolve(&flags, &e, &f).unwrap();
        assert_eq!(with_env.raw[name], (envv.to_string(), Origin::Env), "{name}");
        match name {
            "BUILDMODE" => flags.buildmode = Some(flag.into()),
            "TARGETARCH" => flags.targetarch = Some(flag.into()),
            "KERNEL_VERSION" => flags.kernel_version = Some(flag.into()),
            "ALPINE_VERSION" => flags.alpine_version = Some(flag.into()),
            "INCLUDE_MODULES" => flags.include_modules = Some(flag.into()),
            "CACHE_DOWNLOADS" => flags.cache_downloads = Some(flag.into()),
            _ => flags.verify_checksums = Some(flag.into()),
        }
        let with_flag = resolve(&flags, &e, &f).unwrap();
        assert_eq!(with_flag.raw[name], (flag.to_string(), Origin::Flag), "{name}");
    }
}

#[test]
fn typed_values_follow_the_winner() {
    let f = file(&[
        ("BUILDMODE", "release"),
        ("VERIFY_CHECKSUMS", "1"),
        ("TARGETARCH", "arm64"),
    ]);
    let k = resolve(&KnobFlags::default(), env(&[("VERIFY_CHECKSUMS", "0")]), &f).unwrap();
    assert_eq!(k.mode, BuildMode::Release);
    assert_eq!(k.arch, TargetArch::Arm64);
    assert!(!k.verify_checksums);
    let k = resolve(&all_flags("flag"), env(&[("BUILDMODE", "debug")]), &f).unwrap();
    assert_eq!(k.mode, BuildMode::Release);
    assert_eq!(k.kernel_version.as_deref(), Some("flag-k"));
    assert!(!k.cache_downloads && !k.verify_checksums);
    assert_eq!(k.include_modules, "full");
}

#[test]
fn empty_env_is_unset() {
    let k = resolve(
        &KnobFlags::default(),
        env(&[("BUILDMODE", ""), ("ALPINE_VERSION", "")]),
        &file(&[("BUILDMODE", "release"), ("ALPINE_VERSION", "3.20")]),
    )
    .unwrap();
    assert_eq!(k.mode, BuildMode::Release);
    assert_eq!(k.alpine_version.as_deref(), Some("3.20"));
}

#[test]
fn bad_values_name_knob_value_and_origin() {
    let e = resolve(
        &KnobFlags::default(),
        env(&[("TARGETARCH", "riscv64")]),
        &KnobFile::new(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "TARGETARCH=\"riscv64\" (from the environment): expected amd64 or arm64"
    );
    let e = resolve(&KnobFlags::default(), env(&[]), &file(&[("VERIFY_CHECKSUMS", "maybe")])).unwrap_err();
    assert!(
        e.to_string().contains("VERIFY_CHECKSUMS=\"maybe\" (from the config)"),
        "{e}"
    );
    let flags = KnobFlags {
        buildmode: Some("fast".into()),
        ..Default::default()
    };
    let e = resolve(&flags, env(&[]), &KnobFile::new()).unwrap_err();
    assert!(
        e.to_string().contains("(from the flag): expected debug or release"),
        "{e}"
    );
}

#[test]
fn config_table_keys_are_taken_out() {
    let mut t: toml::Table = toml::from_str(
        "BUILDMODE = \"release\"\nVERIFY_CHECKSUMS = false\nSOURCE_DATE_EPOCH = 5\n[pack]\ncompression = \"xz\"\n",
    )
    .unwrap();
    let f = take_from_table(&mut t).unwrap();
    assert_eq!(f["BUILDMODE"], "release");
    assert_eq!(f["VERIFY_CHECKSUMS"], "0");
    assert!(t.contains_key("SOURCE_DATE_EPOCH") && t.contains_key("pack") && !t.contains_key("BUILDMODE"));
}

#[test]
fn env_overlay_passes_knobs_on() {
    let k = resolve(&all_flags("flag"), env(&[]), &KnobFile::new()).unwrap();
    let get = k.env_overlay();
    assert_eq!(get("TARGETARCH"), Some("arm64".into()));
    assert_eq!(get("VERIFY_CHECKSUMS"), Some("0".into()));
    assert_eq!(get("ALPINE_VERSION"), Some("flag-a".into()));
}
