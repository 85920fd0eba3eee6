//! The last two stages: pack (rootfs + stage trees + /init -> the cpio image) and efi
//! (a unified kernel image from the EFI stub, the kernel, the image and the cmdline).

use std::path::{Path, PathBuf};

use super::stages::rootfs_dir;
use super::stamp::{Fingerprint, Stage};
use super::{tree, BoxError, Outcome, PipelineError, Run};
use crate::components::fetch::sha256_file;
use crate::{build_image, Compression, ImageRequest};

fn compression(r: &Run) -> Result<Compression, PipelineError> {
    r.cfg.s.pack.compression.parse().map_err(|e| PipelineError::Config {
        path: r.cfg.path.clone(),
        reason: format!("[pack] compression: {e}"),
    })
}

pub(crate) fn image_path(r: &Run) -> Result<PathBuf, PipelineError> {
    Ok(r.out().join(format!("initramfs.cpio{}", compression(r)?.extension())))
}

pub(crate) fn pack(r: &mut Run) -> Result<PathBuf, PipelineError> {
    let comp = compression(r)?;
    let output = image_path(r)?;
    let p = r.cfg.s.pack.clone();
    let mut f = Fingerprint::new(Stage::Pack);
    for s in [
        Stage::Rootfs,
        Stage::Components,
        Stage::Modules,
        Stage::Configs,
        Stage::Init,
    ] {
        f.text(s.as_str(), r.key(s));
    }
    f.text("compression", &comp.to_string())
        .text("level", &format!("{:?}", p.level))
        .text("root_owned", &p.root_owned.to_string())
        .text("sde", &format!("{:?}", r.sde));
    let rootfs = rootfs_dir(r)?;
    let ok = output.is_file();
    let out2 = output.clone();
    r.stage(Stage::Pack, f.finish(), ok, move |r| {
        // Later trees replace earlier paths: the configs stage's zos-init.conf wins.
        let mut extras = tree::collect_leaves(&r.stage_dir(Stage::Components))?;
        extras.extend(crate::modules::to_extras(&r.stage_dir(Stage::Modules)));
        extras.extend(tree::collect_leaves(&r.stage_dir(Stage::Configs))?);
        let req = ImageRequest {
            rootfs,
            init: Some(r.stage_dir(Stage::Init).join("init")),
            extras,
            compression: comp,
            level: p.level,
            root_owned: p.root_owned,
            source_date_epoch: r.sde,
            output: out2.clone(),
        };
        let s = build_image(&req)?;
        let sum = sha256_file(&s.path).map_err(|e| format!("{}: {e}", s.path.display()))?;
        Ok(Outcome::Done(format!(
            "{}: {} entries, {} bytes cpio, {} bytes {comp}, sha256 {sum}",
            s.path.display(),
            s.entries,
            s.uncompressed_bytes,
            s.compressed_bytes
        )))
    })?;
    Ok(output)
}

/// The UKI writer (src/efi, the signature agreed with its author).
type UkiWriter = fn(&Path, &Path, &Path, &str, &str, &Path) -> Result<(), BoxError>;

fn uki_writer() -> Option<UkiWriter> {
    Some(|stub, kernel, initrd, cmdline, osrel, out| {
        crate::efi::build_uki(stub, kernel, initrd, cmdline, osrel, out).map_err(Into::into)
    })
}

/// The kernel image: `[efi] kernel`, else the vmlinuz of `[kernel] source` (the
/// kernel module finds it in a tree or an unpacked package).
fn kernel_image(r: &Run) -> Result<Option<PathBuf>, PipelineError> {
    if let Some(k) = &r.cfg.s.efi.kernel {
        return Ok(Some(r.cfg.rel(k)));
    }
    let Some(src) = r.cfg.s.kernel.source.as_ref().map(|s| r.cfg.rel(s)) else {
        return Ok(None);
    };
    let k = crate::kernel::open(
        &src,
        r.knobs.kernel_version.as_deref(),
        &super::stages::kernel_unpack_dir(r),
    )
    .map_err(|e| PipelineError::Stage {
        stage: "efi",
        cause: e.into(),
    })?;
    Ok(Some(k.vmlinuz))
}

/// os-release for the UKI's .osrel section: deterministic, BUILD_ID from the image's
/// content (never from stage keys, which see paths and mtimes).
fn os_release(r: &Run, image_sha: &str) -> String {
    format!(
        "NAME=\"Zero-OS\"\nID=zos\nPRETTY_NAME=\"Zero-OS initramfs ({} {})\"\nVERSION_ID={}\nBUILD_ID={}\n",
        r.knobs.arch.as_str(),
        if r.knobs.mode == crate::mode::BuildMode::Release {
            "release"
        } else {
            "debug"
        },
        env!("CARGO_PKG_VERSION"),
        &image_sha[..12.min(image_sha.len())]
    )
}

pub(crate) fn efi(r: &mut Run) -> Result<Option<PathBuf>, PipelineError> {
    let e = r.cfg.s.efi.clone();
    let out = r.out().join("vmlinuz.efi");
    let kernel = if r.cfg.s.efi.enabled { kernel_image(r)? } else { None };
    let initrd = image_path(r)?;
    let mut f = Fingerprint::new(Stage::Efi);
    f.text("pack", r.key(Stage::Pack))
        .text("enabled", &e.enabled.to_string())
        .text("cmdline", &e.cmdline)
        .text("writer", &uki_writer().is_some().to_string())
        .path("stub", &e.stub);
    if let Some(k) = &kernel {
        f.path("kernel", k);
    }
    let ok = out.is_file();
    let out2 = out.clone();
    r.stage(Stage::Efi, f.finish(), ok, move |r| {
        let _ = std::fs::remove_file(&out2);
        if !e.enabled {
            return Ok(Outcome::NotRun("[efi] enabled = false".into()));
        }
        let Some(write) = uki_writer() else {
            return Ok(Outcome::NotRun("efi: no EFI stub writer in this build".into()));
        };
        let Some(kernel) = kernel else {
            return Ok(Outcome::NotRun(
                "no kernel image ([efi] kernel, or vmlinuz in [kernel] source)".into(),
            ));
        };
        if !e.stub.is_file() {
            return Ok(Outcome::NotRun(format!(
                "no EFI stub at {} (Debian: apt install systemd-boot-efi)",
                e.stub.display()
            )));
        }
        let sha = sha256_file(&initrd).map_err(|err| format!("{}: {err}", initrd.display()))?;
        write(&e.stub, &kernel, &initrd, &e.cmdline, &os_release(r, &sha), &out2)?;
        Ok(Outcome::Done(format!("{} from {}", out2.display(), kernel.display())))
    })?;
    Ok(out.is_file().then_some(out))
}
