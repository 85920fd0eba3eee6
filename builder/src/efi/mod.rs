//! `vmlinuz.efi`: a unified kernel image (UKI) written by the builder itself. The EFI
//! stub (systemd-boot-efi's `linuxx64.efi.stub`) finds its payload in PE sections of
//! its own image: `.osrel` (os-release), `.cmdline`, `.initrd` and `.linux` (the
//! kernel). We append those sections to a copy of the stub, as `ukify` or `objcopy
//! --add-section` would, without either tool.
//!
//! Layout rules (PE format): each new section's VirtualAddress follows the previous
//! image end rounded up to SectionAlignment; its raw data starts at the file's end
//! rounded up to FileAlignment and SizeOfRawData is rounded to FileAlignment too;
//! VirtualSize is the exact payload length (the stub reads the cmdline and the
//! kernel by it). The section headers must fit between the existing table and the
//! first section's data (SizeOfHeaders): a stub without room is refused.
//!
//! `.linux` goes last and SizeOfImage covers the kernel's own SizeOfImage beyond its
//! file size: a kernel started through the EFI handover protocol may decompress in
//! place, past the end of its section, and must not overwrite `.initrd` (ukify orders
//! the sections the same way for this reason).

pub mod pe;

#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};

use pe::{align_up, Pe, Section, SECTION_HEADER_LEN};

/// IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ.
pub const DATA_READ: u32 = 0x4000_0040;

#[derive(Debug, thiserror::Error)]
pub enum EfiError {
    #[error("vmlinuz.efi: {op} {}: {cause}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("EFI stub {}: {reason}", path.display())]
    BadStub { path: PathBuf, reason: String },
    #[error(
        "EFI stub {}: no room for {need} more section headers ({} bytes needed, {have} free \
         before the first section's data); use a stub linked with more header space",
        path.display(), need * SECTION_HEADER_LEN
    )]
    NoRoom { path: PathBuf, need: usize, have: usize },
    #[error("vmlinuz.efi {}: {what} is empty", path.display())]
    Empty { path: PathBuf, what: String },
    #[error("vmlinuz.efi {}: the image would be {size} bytes, over the PE limit of 4 GiB", path.display())]
    TooLarge { path: PathBuf, size: u64 },
}

fn read(path: &Path) -> Result<Vec<u8>, EfiError> {
    fs::read(path).map_err(io("read", path))
}

/// Write `stub` + sections `.osrel` (`osrel`), `.cmdline` (`cmdline`), `.initrd`
/// (the file `initrd`) and `.linux` (the file `kernel`) to `out`. Empty `osrel` or
/// `cmdline` leave their section out (the stub then uses its defaults).
pub fn build_uki(
    stub: &Path,
    kernel: &Path,
    initrd: &Path,
    cmdline: &str,
    osrel: &str,
    out: &Path,
) -> Result<(), EfiError> {
    let stub_bytes = read(stub)?;
    let kernel_bytes = read(kernel)?;
    let initrd_bytes = read(initrd)?;
    for (what, path, b) in [("kernel", kernel, &kernel_bytes), ("initrd", initrd, &initrd_bytes)] {
        if b.is_empty() {
            return Err(EfiError::Empty {
                path: path.into(),
                what: what.into(),
            });
        }
    }
    // The kernel's in-memory size, when it is a PE image itself (x86 bzImage and arm64
    // Image with the EFI stub are): room to keep free after `.linux`.
    let kernel_image_size = Pe::parse(&kernel_bytes).map(|k| k.size_of_image as u64).unwrap_or(0);
    let mut payload: Vec<(&str, &[u8], u64)> = Vec::new();
    if !osrel.is_empty() {
        payload.push((".osrel", osrel.as_bytes(), 0));
    }
    if !cmdline.is_empty() {
        payload.push((".cmdline", cmdline.as_bytes(), 0));
    }
    payload.push((".initrd", &initrd_bytes, 0));
    payload.push((".linux", &kernel_bytes, kernel_image_size));
    let image = add_sections(stub_bytes, &payload).map_err(|e| e.at(stub, out))?;
    let tmp = out.with_extension("efi.tmp");
    fs::write(&tmp, &image).map_err(io("write", &tmp))?;
    fs::rename(&tmp, out).map_err(io("rename to", out))
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> EfiError + 'a {
    move |cause| EfiError::Io {
        op,
        path: path.into(),
        cause,
    }
}

/// Why [`add_sections`] failed, before the file names are known.
#[derive(Debug)]
pub enum AddError {
    BadStub(String),
    NoRoom { need: usize, have: usize },
    TooLarge(u64),
}

impl AddError {
    fn at(self, stub: &Path, out: &Path) -> EfiError {
        match self {
            AddError::BadStub(reason) => EfiError::BadStub {
                path: stub.into(),
                reason,
            },
            AddError::NoRoom { need, have } => EfiError::NoRoom {
                path: stub.into(),
                need,
                have,
            },
            AddError::TooLarge(size) => EfiError::TooLarge { path: out.into(), size },
        }
    }
}

/// Append `(name, data, min_virtual_size)` sections to the PE image `b`, in order.
/// `min_virtual_size` reserves memory after a section without changing its
/// VirtualSize (see the module doc).
pub fn add_sections(mut b: Vec<u8>, new: &[(&str, &[u8], u64)]) -> Result<Vec<u8>, AddError> {
    let pe = Pe::parse(&b).map_err(AddError::BadStub)?;
    let have = pe.header_room();
    if new.len() * SECTION_HEADER_LEN > have {
        return Err(AddError::NoRoom { need: new.len(), have });
    }
    if let Some((offset, size)) = pe.security {
        // An Authenticode signature sits at the end of the file, outside any section.
        if offset as u64 + size as u64 == b.len() as u64 {
            b.truncate(offset as usize);
        }
        pe.clear_security(&mut b);
    }
    let mut va = pe
        .sections
        .iter()
        .map(Section::virtual_end)
        .fold(pe.size_of_image as u64, u64::max);
    va = align_up(va, pe.section_alignment);
    let raw_end = pe
        .sections
        .iter()
        .map(|s| s.pointer_to_raw_data as u64 + s.size_of_raw_data as u64)
        .fold(b.len() as u64, u64::max);
    let mut headers = Vec::new();
    let mut pos = align_up(raw_end, pe.file_alignment);
    let mut added_raw = 0u64;
    let mut image_end = va;
    for (name, data, min_vsize) in new {
        let raw = align_up(data.len() as u64, pe.file_alignment);
        let end = va + (data.len() as u64).max(*min_vsize);
        if pos + raw > u32::MAX as u64 || end > u32::MAX as u64 {
            return Err(AddError::TooLarge((pos + raw).max(end)));
        }
        headers.push(Section {
            name: name.to_string(),
            virtual_size: data.len() as u32,
            virtual_address: va as u32,
            size_of_raw_data: raw as u32,
            pointer_to_raw_data: pos as u32,
            characteristics: DATA_READ,
        });
        b.resize(pos as usize, 0);
        b.extend_from_slice(data);
        b.resize((pos + raw) as usize, 0);
        pos += raw;
        added_raw += raw;
        image_end = end;
        va = align_up(end, pe.section_alignment);
    }
    for (i, s) in headers.iter().enumerate() {
        let at = pe.table.end + i * SECTION_HEADER_LEN;
        b[at..at + SECTION_HEADER_LEN].copy_from_slice(&s.to_bytes());
    }
    let count = pe.sections.len() + headers.len();
    pe.set_number_of_sections(&mut b, count as u16);
    pe.set_size_of_image(&mut b, align_up(image_end, pe.section_alignment) as u32);
    let init = pe.size_of_initialized_data(&b) as u64 + added_raw;
    pe.set_size_of_initialized_data(&mut b, init.min(u32::MAX as u64) as u32);
    pe.clear_checksum(&mut b);
    Ok(b)
}
