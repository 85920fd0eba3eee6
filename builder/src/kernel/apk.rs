//! Alpine kernel packages (`linux-lts-*.apk`): the apk installer's reader splits the
//! gzip members and unpacks the data tar (its PAX SHA-1 of every file is checked).
//! The package signature is not: a kernel package given by path is trusted like a
//! kernel directory; packages fetched from a repository go through the installer.

use std::fs;
use std::path::Path;

use super::{io, KernelError};
use crate::apk::{extract, gzip, owners::Owners};

pub fn unpack(path: &Path, dest: &Path) -> Result<(), KernelError> {
    let bytes = fs::read(path).map_err(io("read", path))?;
    let what = path.display().to_string();
    let apk_err = |cause| KernelError::Apk {
        path: path.into(),
        cause: Box::new(cause),
    };
    let members = gzip::split_members(&bytes, &what).map_err(apk_err)?;
    // Signed packages have three members (signature, control, data), unsigned ones
    // two; the data tar is always the last, and it never starts with `.PKGINFO`.
    let data = match members.as_slice() {
        [.., control, data] if tar_starts_with(&control.data, ".PKGINFO") => data,
        _ => {
            return Err(KernelError::Format {
                path: path.into(),
                reason: format!(
                    "{} gzip member(s), expected control (.PKGINFO) then data",
                    members.len()
                ),
            })
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Owners are what the installer records for the rootfs; a kernel tree only feeds
    // vmlinuz and the module files, which the modules stage packs as root-owned.
    extract::extract(&data.data, dest, &name, &mut Owners::default(), true, false).map_err(apk_err)?;
    Ok(())
}

/// Does the tar in `data` start with an entry named `name`?
fn tar_starts_with(data: &[u8], name: &str) -> bool {
    let mut ar = tar::Archive::new(data);
    let first = ar.entries().ok().and_then(|mut e| e.next()).and_then(Result::ok);
    first.is_some_and(|e| e.path_bytes().as_ref() == name.as_bytes())
}
