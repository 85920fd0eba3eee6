//! Plan, then act: config + kernel cmdline -> the ordered list of steps. Pure: nothing
//! here touches the system, so the whole boot order is unit-tested.

use std::fmt;

use std::time::Duration;

use crate::config::{ColdplugMode, Config, RootMode, CONFIG_PATH, HANDOVER_PATH};
use crate::copy::CopySpec;
use crate::modules::load::Request;
use crate::stage::Stage;
use crate::table::{self, MountRow};

/// One thing the init does. Its `Display` is the shell line an operator would type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A shell on the console before a stage (`zos.break=`); the boot goes on when it exits.
    Break(Stage),
    Mount(MountRow),
    /// Read `/proc/cmdline` and the image's config: the inputs the rest of the plan is
    /// built from (see [`inputs`]).
    ReadInputs,
    Mkdir(String),
    /// Reopen stdin/stdout/stderr on /dev/console if the kernel found none at start.
    Console,
    /// Refuse to copy a rootfs that cannot fit the tmpfs or the free RAM.
    FitCheck {
        dst: String,
        spec: CopySpec,
    },
    Copy {
        dst: String,
        spec: CopySpec,
    },
    /// Bind mode (zero-copy): remove what the copy would leave out, cap the rootfs
    /// tmpfs at `size`, bind `/` onto `dst`; falls back to the copy steps when the cap
    /// is smaller than what is used.
    BindRoot {
        dst: String,
        size: String,
        spec: CopySpec,
    },
    /// `zos.root=auto`: [`Step::BindRoot`] when `/` is the kernel's tmpfs (no `root=`)
    /// and fits `size`, else the copy steps.
    ChooseRoot {
        dst: String,
        size: String,
        spec: CopySpec,
    },
    /// Drivers for the devices present (docs/MODULES.md); `timeout` bounds the wait
    /// for the device set to settle.
    Coldplug {
        mode: ColdplugMode,
        timeout: Duration,
    },
    /// Load these modules (the essential tier, then `modules_load=`) in one parallel
    /// batch; empty: nothing asked.
    LoadModules(Vec<Request>),
    /// Run `Task` on its own thread from here on (coldplug and module loading overlap
    /// the copy); the runner logs and times it under the task's stage.
    Start(Task),
    /// Wait for the threads of these stages (the switch needs their modules, and the
    /// debug disk may overwrite the module tree).
    Join(Vec<Stage>),
    /// Debug-file injection, when `/init-debug`, the config (`image_says`) or the
    /// cmdline's `zos.debug*` asks for it (decided at run time: `/init-debug` is a
    /// file of the image).
    DebugInject {
        image_says: bool,
    },
    Umount(String),
    SwitchRoot {
        new_root: String,
        target: String,
        argv: Vec<String>,
        env_path: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Break(s) => write!(f, "shell (break before {s})"),
            Step::ReadInputs => write!(f, "read /proc/cmdline and {}", crate::config::CONFIG_PATH),
            Step::Mount(m) if m.data.is_empty() => {
                write!(f, "mount -t {} {} {}", m.fstype, m.source, m.target)
            }
            Step::Mount(m) => write!(f, "mount -t {} -o {} {} {}", m.fstype, m.data, m.source, m.target),
            Step::Mkdir(p) => write!(f, "mkdir -p {p}"),
            Step::Console => f.write_str("reopen stdio on /dev/console"),
            Step::FitCheck { dst, .. } => write!(f, "check the rootfs fits {dst}"),
            Step::Copy { dst, spec } => {
                write!(f, "cp -a {} {dst}", spec.patterns.join(" "))?;
                if spec.free_source {
                    f.write_str(" (freeing each source)")?;
                }
                Ok(())
            }
            Step::BindRoot { dst, size, .. } => write!(
                f,
                "rm what the copy leaves out; mount -o remount,size={size} /; mount --bind / {dst}"
            ),
            Step::ChooseRoot { dst, size, .. } => write!(
                f,
                "bind / onto {dst} if it is the kernel's tmpfs and fits {size}, else copy"
            ),
            Step::Coldplug { mode, timeout } => write!(
                f,
                "coldplug {mode}: load the drivers of the devices present (settle within {} ms)",
                timeout.as_millis()
            ),
            Step::LoadModules(reqs) if reqs.is_empty() => f.write_str("modprobe: no module asked"),
            Step::LoadModules(reqs) => {
                f.write_str("modprobe -a")?;
                for r in reqs {
                    write!(f, " {}", r.name)?;
                }
                Ok(())
            }
            Step::Start(task) => write!(f, "start on its own thread: {}", task.step()),
            Step::Join(stages) => {
                f.write_str("wait for the threads of")?;
                for s in stages {
                    write!(f, " {s}")?;
                }
                Ok(())
            }
            Step::DebugInject { image_says } => write!(
                f,
                "inject debug files if asked (/init-debug, debug_inject = {}, zos.debug=)",
                if *image_says { "yes" } else { "no" }
            ),
            Step::Umount(p) => write!(f, "umount {p}"),
            Step::SwitchRoot {
                new_root, target, argv, ..
            } => {
                write!(f, "switch_root {new_root} {target}")?;
                for a in argv.iter().skip(1) {
                    write!(f, " {a}")?;
                }
                Ok(())
            }
        }
    }
}

/// A step and the stage it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub stage: Stage,
    pub step: Step,
}

/// The rows every boot starts with, before the config is known: proc first, in the
/// shell /init's order (the cmdline and meminfo live there), then the inputs. The
/// runner builds the rest of the plan from what [`Step::ReadInputs`] read.
pub fn inputs() -> Vec<Planned> {
    [Step::Mount(table::proc_row()), Step::ReadInputs]
        .into_iter()
        .map(|step| Planned {
            stage: Stage::Mounts,
            step,
        })
        .collect()
}

/// The whole boot: the [`inputs`] rows, then the steps built from their result.
/// `breaks` are the stages to stop before (from the cmdline); a break before
/// `mounts` comes after the inputs, which say whether there is one.
pub fn build(cfg: &Config, breaks: &[Stage]) -> Vec<Planned> {
    let root = cfg.new_root.trim_end_matches('/');
    let root = if root.is_empty() { "/" } else { root };
    let spec = CopySpec {
        patterns: cfg.copy.clone(),
        exclude: exclude_list(cfg),
        free_source: cfg.free_source,
    };
    let mut argv = vec![cfg.handover.clone()];
    argv.extend(cfg.handover_args.iter().cloned());

    let mut out = inputs();
    for stage in Stage::ALL {
        if breaks.contains(&stage) {
            out.push(Planned {
                stage,
                step: Step::Break(stage),
            });
        }
        let steps: Vec<Step> = match stage {
            Stage::Mounts => {
                let mut v: Vec<Step> = table::initramfs_rows().into_iter().map(Step::Mount).collect();
                v.push(Step::Console);
                v
            }
            Stage::Copy => match cfg.root_mode {
                RootMode::Copy => copy_steps(cfg, root, &spec),
                RootMode::Bind => vec![Step::BindRoot {
                    dst: root.into(),
                    size: cfg.tmpfs_size.clone(),
                    spec: spec.clone(),
                }],
                RootMode::Auto => vec![Step::ChooseRoot {
                    dst: root.into(),
                    size: cfg.tmpfs_size.clone(),
                    spec: spec.clone(),
                }],
            },
            Stage::NewRoot => {
                let mut v: Vec<Step> = table::NEW_ROOT_DIRS
                    .iter()
                    .map(|d| Step::Mkdir(format!("{root}/{d}")))
                    .collect();
                v.extend(table::new_root_rows(root).into_iter().map(Step::Mount));
                v
            }
            Stage::Hardware => vec![Step::Coldplug {
                mode: cfg.coldplug,
                timeout: Duration::from_millis(cfg.coldplug_timeout_ms),
            }],
            Stage::Modules => vec![Step::LoadModules(module_requests(cfg))],
            Stage::Debug => vec![Step::DebugInject {
                image_says: cfg.debug_inject,
            }],
            Stage::Switch => {
                let mut v: Vec<Step> = table::INITRAMFS_UNMOUNTS
                    .iter()
                    .map(|p| Step::Umount(p.to_string()))
                    .collect();
                v.push(Step::SwitchRoot {
                    new_root: root.into(),
                    target: cfg.handover.clone(),
                    argv: argv.clone(),
                    env_path: HANDOVER_PATH.into(),
                });
                v
            }
        };
        out.extend(steps.into_iter().map(|step| Planned { stage, step }));
    }
    overlap::overlap(out)
}

/// Copy mode's new root: the shell's tmpfs, the fit check, the copy.
pub fn copy_steps(cfg: &Config, root: &str, spec: &CopySpec) -> Vec<Step> {
    vec![
        Step::Mount(table::tmpfs_row(root, &cfg.tmpfs_size)),
        Step::FitCheck {
            dst: root.into(),
            spec: spec.clone(),
        },
        Step::Copy {
            dst: root.into(),
            spec: spec.clone(),
        },
    ]
}

/// The essential tier, then the cmdline's `modules_load=`, each saying why.
fn module_requests(cfg: &Config) -> Vec<Request> {
    let essential = cfg.essential_modules.iter().map(|m| (m, "essential"));
    let cmdline = cfg.modules_load.iter().map(|m| (m, "cmdline modules_load"));
    essential
        .chain(cmdline)
        .map(|(name, via)| Request {
            name: name.clone(),
            via: via.into(),
        })
        .collect()
}

/// /init, /init-debug and the init's config are never copied (the shell's image had
/// none of them); the new root's mount point must not be copied into itself.
fn exclude_list(cfg: &Config) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "/init".into(),
        "/init-debug".into(),
        CONFIG_PATH.into(),
        cfg.new_root.clone(),
    ];
    v.extend(cfg.exclude.iter().cloned());
    v
}

/// Moving coldplug and module loading onto threads: its own file, pure as the rest.
#[path = "plan_overlap.rs"]
mod overlap;
pub use overlap::Task;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline;

    fn lines(plan: &[Planned]) -> Vec<String> {
        plan.iter().map(|p| format!("{}: {}", p.stage, p.step)).collect()
    }

    /// The shell /init's steps, in its order for the main thread; coldplug and the
    /// essential modules start on their own threads once proc, sys and dev are
    /// mounted, and the switch waits for them.
    #[test]
    fn copy_plan_is_the_shell_init_with_hardware_overlapping_the_copy() {
        let cfg = Config {
            root_mode: RootMode::Copy,
            ..Config::default()
        };
        let plan = build(&cfg, &[]);
        let want = [
            "mounts: mount -t proc proc /proc",
            "mounts: read /proc/cmdline and /etc/zos-init.conf",
            "mounts: mount -t sysfs sysfs /sys",
            "mounts: mount -t devtmpfs devtmpfs /dev",
            "mounts: reopen stdio on /dev/console",
            "hardware: start on its own thread: coldplug native: load the drivers of the devices present (settle within 10000 ms)",
            "modules: start on its own thread: modprobe -a btrfs fuse",
            "copy: mount -t tmpfs -o size=1536M tmpfs /mnt/root",
            "copy: check the rootfs fits /mnt/root",
            "copy: cp -a /bin /etc /lib* /usr /root /tmp /sbin /var /run /mnt/root (freeing each source)",
            "newroot: mkdir -p /mnt/root/dev",
            "newroot: mkdir -p /mnt/root/sys",
            "newroot: mkdir -p /mnt/root/proc",
            "newroot: mkdir -p /mnt/root/mnt",
            "newroot: mount -t proc proc /mnt/root/proc",
            "newroot: mount -t sysfs sysfs /mnt/root/sys",
            "newroot: mount -t devtmpfs devtmpfs /mnt/root/dev",
            "newroot: mount -t devpts devpts /mnt/root/dev/pts",
            "modules: wait for the threads of hardware modules",
            "debug: inject debug files if asked (/init-debug, debug_inject = no, zos.debug=)",
            "switch: umount /proc",
            "switch: umount /sys",
            "switch: switch_root /mnt/root /sbin/zinit init",
        ];
        assert_eq!(lines(&plan), want);
        let Step::SwitchRoot { argv, env_path, .. } = &plan.last().unwrap().step else {
            panic!()
        };
        assert_eq!(argv, &["/sbin/zinit", "init"]);
        assert_eq!(env_path, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    }

    #[test]
    fn auto_and_bind_are_one_step_each() {
        let copy_stage = |cmdline: &str| {
            let cfg = Config::default().with_flags(&cmdline::parse(cmdline));
            let plan = build(&cfg, &[]);
            lines(&plan)
                .into_iter()
                .filter(|l| l.starts_with("copy: "))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            copy_stage(""),
            ["copy: bind / onto /mnt/root if it is the kernel's tmpfs and fits 1536M, else copy"]
        );
        assert_eq!(
            copy_stage("zos.root=bind zos.tmpfs=2G"),
            ["copy: rm what the copy leaves out; mount -o remount,size=2G /; mount --bind / /mnt/root"]
        );
    }

    #[test]
    fn cmdline_changes_size_target_and_copy() {
        let flags = cmdline::parse(
            "zos.root=copy zos.tmpfs=64M init=/sbin/zinit-pid1 zos.free=0 zos.copy-=/tmp zos.break=copy,switch",
        );
        let cfg = Config::default().with_flags(&flags);
        let plan = build(&cfg, &flags.break_before);
        let l = lines(&plan);
        assert!(l.contains(&"copy: mount -t tmpfs -o size=64M tmpfs /mnt/root".to_string()));
        assert!(l.contains(&"switch: switch_root /mnt/root /sbin/zinit-pid1 init".to_string()));
        let brk = l.iter().position(|s| s == "copy: shell (break before copy)").unwrap();
        assert_eq!(l[brk + 2], "copy: check the rootfs fits /mnt/root");
        assert_eq!(l[l.len() - 4], "switch: shell (break before switch)");
        let Step::Copy { spec, .. } = &plan.iter().find(|p| matches!(p.step, Step::Copy { .. })).unwrap().step else {
            panic!()
        };
        assert!(!spec.free_source);
        assert_eq!(
            spec.exclude,
            vec!["/init", "/init-debug", "/etc/zos-init.conf", "/mnt/root", "/tmp"]
        );
    }

    #[test]
    fn every_stage_appears_and_the_threads_are_joined_before_the_debug_stage() {
        let plan = build(&Config::default(), &[]);
        let mut stages: Vec<Stage> = plan.iter().map(|p| p.stage).collect();
        stages.dedup();
        use Stage::*;
        assert_eq!(
            stages,
            [Mounts, Hardware, Modules, Copy, NewRoot, Modules, Debug, Switch]
        );
        let steps: Vec<&Step> = plan.iter().map(|p| &p.step).collect();
        assert!(matches!(steps[5], Step::Start(Task::Coldplug { .. })));
        assert!(matches!(steps[6], Step::Start(Task::LoadModules(_))));
        assert!(steps.iter().any(|s| **s == Step::Join(vec![Hardware, Modules])));
    }
}
