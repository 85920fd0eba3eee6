//! Who answers the kernel's own module requests (`request_module`: `crypto-*`, `fs-*`,
//! `net-pf-*`...) during the boot: `kernel_requests =` in the config, `zos.modprobe=`
//! on the cmdline (docs/MODULES.md, kernel module requests).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelRequests {
    /// The init names itself in /proc/sys/kernel/modprobe until switch_root (default):
    /// the copy frees the initramfs's /sbin/modprobe before the hardware stage.
    Init,
    /// The kernel's path is left alone (requests fail once /sbin/modprobe is freed).
    Kernel,
}

impl FromStr for KernelRequests {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "init" => Ok(Self::Init),
            "kernel" => Ok(Self::Kernel),
            _ => Err("expected init or kernel".into()),
        }
    }
}

impl fmt::Display for KernelRequests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Init => "init",
            Self::Kernel => "kernel",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_words() {
        for k in [KernelRequests::Init, KernelRequests::Kernel] {
            assert_eq!(k.to_string().parse::<KernelRequests>(), Ok(k));
        }
        assert!("udev".parse::<KernelRequests>().is_err());
    }
}
