//! `zos-builder netboot`: a directory that iPXE boots over TFTP or HTTP, the way a
//! Zero-OS node boots (docs/NETBOOT.md). Layout:
//!
//! - `boot.ipxe`: the entry script; chains `bios.ipxe` or `uefi.ipxe` by `${platform}`;
//! - `bios.ipxe`: `kernel vmlinuz <cmdline>`, `initrd initramfs`, `boot`;
//! - `uefi.ipxe`: `kernel vmlinuz.efi <cmdline>`, `boot` (the unified kernel image
//!   carries its initramfs; systemd's stub takes the cmdline iPXE passes, since
//!   without Secure Boot it replaces the image's own `.cmdline`);
//! - `vmlinuz`, `initramfs`, `vmlinuz.efi`: the artefacts (a firmware whose artefacts
//!   are absent gets no script);
//! - `cmdline`: the composed kernel command line, for a bootstrap service to reuse.
//!
//! Paths in the scripts are relative, so iPXE resolves them against the URL it fetched
//! the script from: the same directory works from QEMU's TFTP, a PXE server or HTTP.

use std::fs;
use std::path::{Path, PathBuf};

pub mod boot;
pub mod cli;
mod cmdline;
pub use cmdline::{compose, Params, MAX_CMDLINE};

/// Names inside a netboot directory.
pub const ENTRY: &str = "boot.ipxe";
pub const BIOS_SCRIPT: &str = "bios.ipxe";
pub const UEFI_SCRIPT: &str = "uefi.ipxe";
pub const KERNEL: &str = "vmlinuz";
pub const INITRAMFS: &str = "initramfs";
pub const UKI: &str = "vmlinuz.efi";
pub const CMDLINE: &str = "cmdline";

/// The marker each script echoes first (the tests read which path ran).
pub const MARKER: &str = "zos-netboot:";

#[derive(Debug, thiserror::Error)]
pub enum NetbootError {
    #[error("{op} {}: {cause}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("nothing to netboot: no kernel with an initramfs (BIOS) and no vmlinuz.efi (UEFI)")]
    NoArtefacts,
    #[error(
        "kernel command line for {firmware} is {len} bytes, the x86 limit is {max} (2048 with the NUL): {head}..."
    )]
    CmdlineTooLong {
        firmware: &'static str,
        len: usize,
        max: usize,
        head: String,
    },
    #[error("cmdline word `{word}`: {why}")]
    BadWord { word: String, why: &'static str },
    #[error("{key}= is given twice on the cmdline ({first:?} and {second:?})")]
    Duplicate { key: String, first: String, second: String },
    #[error("no {what} in {}: {hint}", dir.display())]
    NotFound {
        what: &'static str,
        dir: PathBuf,
        hint: &'static str,
    },
}

/// What goes into the directory.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub out: PathBuf,
    /// The BIOS kernel (a bzImage); with `initramfs`, gives `bios.ipxe`.
    pub kernel: Option<PathBuf>,
    pub initramfs: Option<PathBuf>,
    /// The unified kernel image; gives `uefi.ipxe`.
    pub efi: Option<PathBuf>,
    /// The whole kernel command line, from [`compose`].
    pub cmdline: String,
}

/// What was written.
#[derive(Debug)]
pub struct Layout {
    pub dir: PathBuf,
    /// Names written, in order.
    pub files: Vec<&'static str>,
    pub bios: bool,
    pub uefi: bool,
}

/// Write the directory (replacing the files of ours already there).
pub fn write(req: &Request) -> Result<Layout, NetbootError> {
    let bios = match (&req.kernel, &req.initramfs) {
        (Some(k), Some(i)) => Some((k, i)),
        _ => None,
    };
    if bios.is_none() && req.efi.is_none() {
        return Err(NetbootError::NoArtefacts);
    }
    cmdline::check(&req.cmdline, bios.is_some(), req.efi.is_some())?;
    let dir = &req.out;
    fs::create_dir_all(dir).map_err(|cause| io("mkdir -p", dir, cause))?;
    let mut files = Vec::new();
    let mut put = |name: &'static str, text: String| -> Result<(), NetbootError> {
        let p = dir.join(name);
        fs::write(&p, text).map_err(|cause| io("write", &p, cause))?;
        files.push(name);
        Ok(())
    };
    put(ENTRY, entry_script())?;
    put(CMDLINE, format!("{}\n", req.cmdline))?;
    if bios.is_some() {
        put(BIOS_SCRIPT, bios_script(&req.cmdline))?;
    }
    if req.efi.is_some() {
        put(UEFI_SCRIPT, uefi_script(&req.cmdline))?;
    }
    let mut copy = |name: &'static str, src: &Path| -> Result<(), NetbootError> {
        let dst = dir.join(name);
        fs::copy(src, &dst).map_err(|cause| io("copy to", &dst, cause))?;
        files.push(name);
        Ok(())
    };
    if let Some((k, i)) = bios {
        copy(KERNEL, k)?;
        copy(INITRAMFS, i)?;
    }
    if let Some(efi) = &req.efi {
        copy(UKI, efi)?;
    }
    Ok(Layout {
        dir: dir.clone(),
        files,
        bios: bios.is_some(),
        uefi: req.efi.is_some(),
    })
}

/// The artefacts of `zos-builder build` in `build_dir`: its image, its vmlinuz.efi
/// and the kernel the pipeline unpacked (`stages/kernel`), each when present.
pub fn from_build(build_dir: &Path) -> Result<Request, NetbootError> {
    let read = |d: &Path| fs::read_dir(d).map_err(|cause| io("read dir", d, cause));
    let initramfs = read(build_dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("initramfs.cpio"))
        })
        .min();
    let Some(initramfs) = initramfs else {
        return Err(NetbootError::NotFound {
            what: "initramfs.cpio*",
            dir: build_dir.into(),
            hint: "run `zos-builder build` first",
        });
    };
    let efi = Some(build_dir.join(UKI)).filter(|p| p.is_file());
    Ok(Request {
        kernel: find_vmlinuz(&build_dir.join("stages/kernel")),
        initramfs: Some(initramfs),
        efi,
        ..Default::default()
    })
}

/// `boot/vmlinuz-*` somewhere under the pipeline's kernel unpack directory.
fn find_vmlinuz(dir: &Path) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) && !e.file_type().is_ok_and(|t| t.is_symlink()) {
                stack.push(p);
            } else if name.starts_with("vmlinuz") && d.ends_with("boot") {
                return Some(p);
            }
        }
    }
    None
}

fn io(op: &'static str, path: &Path, cause: std::io::Error) -> NetbootError {
    NetbootError::Io {
        op,
        path: path.into(),
        cause,
    }
}

/// Chains the script of the running firmware; a failed chain leaves iPXE's own error
/// line (naming the file) on the console, then ours.
fn entry_script() -> String {
    format!(
        "#!ipxe\n\
         # zos-builder netboot (docs/NETBOOT.md): chain the script of this firmware.\n\
         iseq ${{platform}} efi && goto uefi || goto bios\n\
         :uefi\n\
         chain {UEFI_SCRIPT} || goto failed\n\
         :bios\n\
         chain {BIOS_SCRIPT} || goto failed\n\
         :failed\n\
         echo {MARKER} boot failed\n"
    )
}

fn bios_script(cmdline: &str) -> String {
    script(
        "bios",
        &[format!("kernel {KERNEL} {cmdline}"), format!("initrd {INITRAMFS}")],
    )
}

fn uefi_script(cmdline: &str) -> String {
    script("uefi", &[format!("kernel {UKI} {cmdline}")])
}

/// A firmware's script: its marker, the `steps`, `boot`, each step ending the script
/// with our failure marker after iPXE's own error line.
fn script(firmware: &str, steps: &[String]) -> String {
    let mut s = format!("#!ipxe\necho {MARKER} {firmware}\n");
    for step in steps.iter().map(String::as_str).chain(["boot"]) {
        s.push_str(&format!("{step} || goto failed\n"));
    }
    s.push_str(&format!(":failed\necho {MARKER} boot failed\n"));
    s
}

#[cfg(test)]
mod tests;
