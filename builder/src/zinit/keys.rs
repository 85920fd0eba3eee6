//! The keys each zinit generation reads. zinit itself ignores any other key without a
//! word, so lint reports them (a typo such as `afer:` would silently drop an ordering).

/// zinit 0.2 keys (zinit's README and Zero-OS units).
pub const YAML_KEYS: &[&str] = &[
    "exec",
    "test",
    "oneshot",
    "after",
    "log",
    "env",
    "dir",
    "signal",
    "shutdown_timeout",
];
pub const YAML_SIGNAL_KEYS: &[&str] = &["stop"];

/// zinit 0.1.0 keys per table (src/sdk/config.rs of the crate).
pub const TOML_TABLES: &[(&str, &[&str])] = &[
    (
        "service",
        &["name", "exec", "dir", "oneshot", "env", "status", "class", "critical"],
    ),
    ("target", &["name", "critical"]),
    ("dependencies", &["after", "requires", "wants", "conflicts"]),
    (
        "lifecycle",
        &[
            "restart",
            "restart_delay_ms",
            "restart_delay_max_ms",
            "max_restarts",
            "stability_period_ms",
            "start_timeout_ms",
            "stop_timeout_ms",
            "stop_signal",
        ],
    ),
    (
        "health",
        &[
            "type",
            "target",
            "expect_status",
            "interval_ms",
            "timeout_ms",
            "retries",
            "start_period_ms",
        ],
    ),
    ("logging", &["buffer_lines", "file", "forward"]),
];
