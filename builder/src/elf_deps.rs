//! What the kernel and the dynamic loader need to run an ELF program: its interpreter
//! (PT_INTERP) and its DT_NEEDED libraries. Little-endian ELF32 and ELF64 only (x86_64,
//! aarch64, i386, arm); anything else reads as "not ELF we know", never as a panic.

/// Interpreter and needed libraries of an ELF file; None when `data` is not ELF.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ElfDeps {
    pub interp: Option<String>,
    pub needed: Vec<String>,
}

pub fn read(data: &[u8]) -> Option<ElfDeps> {
    if data.len() < 52 || &data[..4] != b"\x7fELF" || data[5] != 1 {
        return None;
    }
    let wide = match data[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let u16_at = |o: usize| {
        data.get(o..o.checked_add(2)?)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as u64)
    };
    let u32_at = |o: usize| {
        let b: [u8; 4] = data.get(o..o.checked_add(4)?)?.try_into().ok()?;
        Some(u32::from_le_bytes(b) as u64)
    };
    let u64_at = |o: usize| {
        let b: [u8; 8] = data.get(o..o.checked_add(8)?)?.try_into().ok()?;
        Some(u64::from_le_bytes(b))
    };
    let word = |o: usize| if wide { u64_at(o) } else { u32_at(o) };
    let (phoff, phentsize, phnum) = if wide {
        (u64_at(32)?, u16_at(54)?, u16_at(56)?)
    } else {
        (u32_at(28)?, u16_at(42)?, u16_at(44)?)
    };
    // (type, offset, vaddr, filesz) of each program header.
    let mut phs = Vec::new();
    for i in 0..phnum {
        let o = usize::try_from(phoff.checked_add(i * phentsize)?).ok()?;
        let ph = if wide {
            (u32_at(o)?, u64_at(o + 8)?, u64_at(o + 16)?, u64_at(o + 32)?)
        } else {
            (u32_at(o)?, u32_at(o + 4)?, u32_at(o + 8)?, u32_at(o + 16)?)
        };
        phs.push(ph);
    }
    let cstr = |o: u64| -> Option<String> {
        let rest = data.get(usize::try_from(o).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    let mut deps = ElfDeps::default();
    if let Some(&(_, off, _, _)) = phs.iter().find(|p| p.0 == 3) {
        deps.interp = cstr(off);
    }
    let Some(&(_, dyn_off, _, dyn_size)) = phs.iter().find(|p| p.0 == 2) else {
        return Some(deps);
    };
    let ent = if wide { 16 } else { 8 };
    let (mut strtab, mut needed) = (None, Vec::new());
    // Bounded by the file: a garbage size stops at the first read past the end.
    for i in 0..dyn_size / ent {
        let o = usize::try_from(dyn_off.checked_add(i * ent)?).ok()?;
        let (tag, val) = (word(o)?, word(o + ent as usize / 2)?);
        match tag {
            0 => break,
            1 => needed.push(val),
            5 => strtab = Some(val),
            _ => {}
        }
    }
    // DT_STRTAB is an address: the PT_LOAD segment holding it gives its file offset.
    let strtab = strtab?;
    let (_, off, vaddr, _) = *phs
        .iter()
        .find(|p| p.0 == 1 && p.2 <= strtab && p.2.checked_add(p.3).is_some_and(|end| strtab < end))?;
    for n in needed {
        deps.needed
            .push(cstr((strtab - vaddr).checked_add(off)?.checked_add(n)?)?);
    }
    Some(deps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_host_program_like_ldd() {
        // /bin/sh of the host (dash or bash): dynamically linked against libc.
        let data = std::fs::read(std::fs::canonicalize("/bin/sh").unwrap()).unwrap();
        let deps = read(&data).expect("/bin/sh is ELF");
        assert!(
            deps.interp.as_deref().is_some_and(|i| i.starts_with("/lib")),
            "{deps:?}"
        );
        assert!(deps.needed.iter().any(|n| n.starts_with("libc.so")), "{deps:?}");
    }

    #[test]
    fn not_elf_or_truncated_is_none_or_partial_never_a_panic() {
        assert_eq!(read(b"#!/bin/sh\n"), None);
        let data = std::fs::read(std::fs::canonicalize("/bin/sh").unwrap()).unwrap();
        for cut in [0, 4, 52, 64, 200, 1000, 4096] {
            let _ = read(&data[..cut.min(data.len())]);
        }
    }
}
