//! The keys and values zinit v0.2.11 reads (src/zinit/config.rs of its source). zinit
//! ignores any other key without a word, so lint reports them (a typo such as `afer:`
//! would silently drop an ordering).

/// The fields of its `Service` struct, as spelled in YAML.
pub const YAML_KEYS: &[&str] = &[
    "exec",
    "test",
    "oneshot",
    "shutdown_timeout",
    "after",
    "signal",
    "log",
    "env",
    "dir",
];
/// The fields of its `Signal` struct.
pub const YAML_SIGNAL_KEYS: &[&str] = &["stop"];
/// Its `Log` enum, `rename_all = "lowercase"`.
pub const LOG_VALUES: &[&str] = &["none", "ring", "stdout"];
/// What `nix::sys::signal::Signal::from_str` (nix 0.22, Linux) accepts; zinit passes
/// it `signal.stop` upper-cased.
pub const SIGNALS: &[&str] = &[
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];
