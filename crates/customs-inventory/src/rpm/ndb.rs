//! rpm's NDB backend (`Packages.db`, SUSE and rpm built with `--enable-ndb`): a slot table
//! naming, for each package index, the 16-byte blocks that hold its blob.
//!
//! Layout (rpm's `lib/backend/ndb/rpmpkg.c`, little-endian): the file starts with a 32-byte
//! header (`RpmP`, version 0, generation, number of 4096-byte slot pages, next package
//! index). 16-byte slots (`Slot`, package index, block offset, block count) fill the rest of
//! the slot pages; index 0 marks a free slot. A blob starts at `block offset * 16` with a
//! 16-byte header (`BlbS`, package index, generation, length) followed by the rpm header.

use crate::ExtractError;

const FORMAT: &str = "rpm NDB";

const HEADER_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_MAGIC: &[u8; 4] = b"BlbS";
const SLOT_PAGE_SIZE: usize = 4096;
const SLOT_SIZE: usize = 16;
const BLOCK_SIZE: usize = 16;
/// The first two slot positions are taken by the file header.
const FIRST_SLOT: usize = 2;

/// Calls `f` with every package blob (an rpm header) in the database, in slot order.
pub fn for_each_blob(
    data: &[u8],
    f: &mut dyn FnMut(&[u8]) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    if data.len() < 32 || &data[..4] != HEADER_MAGIC {
        return Err(malformed("no RpmP header"));
    }
    let version = le_u32(data, 4);
    if version != 0 {
        return Err(malformed(format!("unsupported version {version}")));
    }
    let slot_pages = le_u32(data, 12) as usize;
    let slots_end = slot_pages
        .checked_mul(SLOT_PAGE_SIZE)
        .filter(|&end| end > 0 && end <= data.len())
        .ok_or_else(|| malformed(format!("{slot_pages} slot pages do not fit the file")))?;

    for slot in data[..slots_end].chunks_exact(SLOT_SIZE).skip(FIRST_SLOT) {
        if &slot[..4] != SLOT_MAGIC {
            return Err(malformed("bad slot magic"));
        }
        let pkg_idx = le_u32(slot, 4);
        if pkg_idx == 0 {
            continue;
        }
        let blk_off = le_u32(slot, 8) as usize;
        let blk_cnt = le_u32(slot, 12) as usize;
        let start = blk_off.saturating_mul(BLOCK_SIZE);
        let end = start.saturating_add(blk_cnt.saturating_mul(BLOCK_SIZE));
        let area = data
            .get(start..end)
            .filter(|a| a.len() >= 16)
            .ok_or_else(|| malformed(format!("package {pkg_idx} lies outside the file")))?;
        if &area[..4] != BLOB_MAGIC || le_u32(area, 4) != pkg_idx {
            return Err(malformed(format!("bad blob header for package {pkg_idx}")));
        }
        let len = le_u32(area, 12) as usize;
        let blob = area
            .get(16..16usize.saturating_add(len))
            .ok_or_else(|| malformed(format!("blob of package {pkg_idx} overruns its blocks")))?;
        f(blob)?;
    }
    Ok(())
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn malformed(reason: impl Into<String>) -> ExtractError {
    ExtractError::malformed(FORMAT, reason)
}
