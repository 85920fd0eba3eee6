//! Just enough PE/COFF to add sections to an EFI stub: the DOS header's pointer to
//! the PE header, the COFF file header, the optional header's alignments and sizes,
//! the data directories and the section table (Microsoft PE format, "Optional Header
//! Windows-Specific Fields": their offsets are the same in PE32 and PE32+ from
//! SectionAlignment to CheckSum, which is all we touch).

use std::ops::Range;

pub const SECTION_HEADER_LEN: usize = 40;
const COFF_LEN: usize = 20;
pub const PE32: u16 = 0x10b;
pub const PE32_PLUS: u16 = 0x20b;

/// Offsets inside the optional header.
mod opt {
    pub const SIZE_OF_CODE: usize = 4;
    pub const SIZE_OF_INITIALIZED_DATA: usize = 8;
    pub const SECTION_ALIGNMENT: usize = 32;
    pub const FILE_ALIGNMENT: usize = 36;
    pub const SIZE_OF_IMAGE: usize = 56;
    pub const SIZE_OF_HEADERS: usize = 60;
    pub const CHECKSUM: usize = 64;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub virtual_size: u32,
    pub virtual_address: u32,
    pub size_of_raw_data: u32,
    pub pointer_to_raw_data: u32,
    pub characteristics: u32,
}

impl Section {
    pub fn parse(b: &[u8]) -> Section {
        let name_end = b[..8].iter().position(|&c| c == 0).unwrap_or(8);
        Section {
            name: String::from_utf8_lossy(&b[..name_end]).into_owned(),
            virtual_size: u32_at(b, 8),
            virtual_address: u32_at(b, 12),
            size_of_raw_data: u32_at(b, 16),
            pointer_to_raw_data: u32_at(b, 20),
            characteristics: u32_at(b, 36),
        }
    }

    /// The 40-byte header (no relocations or line numbers: images have none).
    pub fn to_bytes(&self) -> [u8; SECTION_HEADER_LEN] {
        let mut b = [0u8; SECTION_HEADER_LEN];
        let n = self.name.as_bytes();
        b[..n.len().min(8)].copy_from_slice(&n[..n.len().min(8)]);
        b[8..12].copy_from_slice(&self.virtual_size.to_le_bytes());
        b[12..16].copy_from_slice(&self.virtual_address.to_le_bytes());
        b[16..20].copy_from_slice(&self.size_of_raw_data.to_le_bytes());
        b[20..24].copy_from_slice(&self.pointer_to_raw_data.to_le_bytes());
        b[36..40].copy_from_slice(&self.characteristics.to_le_bytes());
        b
    }

    /// First byte past the section in memory.
    pub fn virtual_end(&self) -> u64 {
        self.virtual_address as u64 + self.virtual_size.max(self.size_of_raw_data) as u64
    }
}

/// A parsed PE image; offsets are into the file bytes it was parsed from.
#[derive(Debug, Clone)]
pub struct Pe {
    pub magic: u16,
    pub machine: u16,
    /// Offset of the COFF file header (after `PE\0\0`).
    pub coff: usize,
    /// Offset and length of the optional header.
    pub opt: usize,
    pub opt_len: usize,
    pub section_alignment: u32,
    pub file_alignment: u32,
    pub size_of_image: u32,
    pub size_of_headers: u32,
    /// The certificate table (data directory 4): file offset and size.
    pub security: Option<(u32, u32)>,
    /// Where the section table sits.
    pub table: Range<usize>,
    pub sections: Vec<Section>,
}

pub fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

impl Pe {
    /// Parse the headers of `b`; the error is the reason, for the caller to prefix
    /// with the file name.
    pub fn parse(b: &[u8]) -> Result<Pe, String> {
        let need = |end: usize, what: &str| match end <= b.len() {
            true => Ok(()),
            false => Err(format!(
                "truncated: the {what} ends at byte {end}, the file has {}",
                b.len()
            )),
        };
        need(0x40, "DOS header")?;
        if &b[..2] != b"MZ" {
            return Err("not a PE image (no MZ signature)".into());
        }
        let pe = u32_at(b, 0x3c) as usize;
        need(pe + 4 + COFF_LEN, "COFF header")?;
        if &b[pe..pe + 4] != b"PE\0\0" {
            return Err(format!("no PE signature at byte {pe:#x} (e_lfanew)"));
        }
        let coff = pe + 4;
        let machine = u16_at(b, coff);
        let nsections = u16_at(b, coff + 2) as usize;
        let opt_len = u16_at(b, coff + 16) as usize;
        let opt = coff + COFF_LEN;
        need(opt + opt_len, "optional header")?;
        if opt_len < opt::CHECKSUM + 4 {
            return Err(format!("optional header of {opt_len} bytes is too short for an image"));
        }
        let magic = u16_at(b, opt);
        // Data directories start at 96 (PE32) or 112 (PE32+), 8 bytes each.
        let dirs = match magic {
            PE32 => 96,
            PE32_PLUS => 112,
            m => return Err(format!("unknown optional header magic {m:#x}")),
        };
        let ndirs = if opt_len >= dirs {
            u32_at(b, opt + dirs - 4) as usize
        } else {
            0
        };
        let security = (ndirs > 4 && opt_len >= dirs + 5 * 8)
            .then(|| (u32_at(b, opt + dirs + 32), u32_at(b, opt + dirs + 36)))
            .filter(|&(_, size)| size != 0);
        let table = opt + opt_len..opt + opt_len + nsections * SECTION_HEADER_LEN;
        need(table.end, "section table")?;
        let sections = b[table.clone()]
            .chunks(SECTION_HEADER_LEN)
            .map(Section::parse)
            .collect();
        let p = Pe {
            magic,
            machine,
            coff,
            opt,
            opt_len,
            section_alignment: u32_at(b, opt + opt::SECTION_ALIGNMENT),
            file_alignment: u32_at(b, opt + opt::FILE_ALIGNMENT),
            size_of_image: u32_at(b, opt + opt::SIZE_OF_IMAGE),
            size_of_headers: u32_at(b, opt + opt::SIZE_OF_HEADERS),
            security,
            table,
            sections,
        };
        for (what, a) in [
            ("SectionAlignment", p.section_alignment),
            ("FileAlignment", p.file_alignment),
        ] {
            if !a.is_power_of_two() {
                return Err(format!("{what} {a:#x} is not a power of two"));
            }
        }
        Ok(p)
    }

    /// Bytes free for more section headers: up to SizeOfHeaders and up to the first
    /// section's raw data, whichever comes first.
    pub fn header_room(&self) -> usize {
        let first_raw = self
            .sections
            .iter()
            .filter(|s| s.size_of_raw_data > 0)
            .map(|s| s.pointer_to_raw_data as usize)
            .min()
            .unwrap_or(usize::MAX);
        (self.size_of_headers as usize)
            .min(first_raw)
            .saturating_sub(self.table.end)
    }

    pub fn set_number_of_sections(&self, b: &mut [u8], n: u16) {
        put_u16(b, self.coff + 2, n);
    }

    pub fn set_size_of_image(&self, b: &mut [u8], v: u32) {
        put_u32(b, self.opt + opt::SIZE_OF_IMAGE, v);
    }

    pub fn size_of_initialized_data(&self, b: &[u8]) -> u32 {
        u32_at(b, self.opt + opt::SIZE_OF_INITIALIZED_DATA)
    }

    pub fn set_size_of_initialized_data(&self, b: &mut [u8], v: u32) {
        put_u32(b, self.opt + opt::SIZE_OF_INITIALIZED_DATA, v);
    }

    pub fn size_of_code(&self, b: &[u8]) -> u32 {
        u32_at(b, self.opt + opt::SIZE_OF_CODE)
    }

    /// 0: firmware does not check it for EFI applications, and an old value would be
    /// wrong once sections are added.
    pub fn clear_checksum(&self, b: &mut [u8]) {
        put_u32(b, self.opt + opt::CHECKSUM, 0);
    }

    /// Drop the certificate table entry (a signature over the stub alone is invalid
    /// for the whole image anyway; sign the UKI afterwards).
    pub fn clear_security(&self, b: &mut [u8]) {
        let dirs = if self.magic == PE32 { 96 } else { 112 };
        put_u32(b, self.opt + dirs + 32, 0);
        put_u32(b, self.opt + dirs + 36, 0);
    }
}

pub fn align_up(v: u64, a: u32) -> u64 {
    let a = a as u64;
    v.div_ceil(a) * a
}
