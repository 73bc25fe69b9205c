//! BerkeleyDB hash databases (`var/lib/rpm/Packages`, rpm up to 4.16): the values of every
//! key/data pair on the hash pages, following `H_OFFPAGE` items through their chains of
//! overflow pages. Each value is one rpm header blob.
//!
//! Layout (Berkeley DB's `dbmeta.h`/`db_page.h`): page 0 is the hash metadata page (magic
//! `0x061561` at byte 12, in the byte order of the machine that wrote it; page size at 20;
//! last page number at 32). Every page starts with a 26-byte header: next page number at 16,
//! item count at 20, "high free offset" at 22 (for overflow pages: the bytes used), type at
//! 25. Hash pages list `u16` item offsets right after the header; items alternate key, data.

use crate::ExtractError;

const FORMAT: &str = "rpm BerkeleyDB";

const HASH_MAGIC: u32 = 0x061561;
const PAGE_HEADER: usize = 26;

const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;

const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

/// Byte order of the file, decided by the metadata page's magic.
#[derive(Clone, Copy)]
struct Db<'a> {
    data: &'a [u8],
    little: bool,
    page_size: usize,
    pages: usize,
}

impl Db<'_> {
    fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn page(&self, pgno: usize) -> Option<&[u8]> {
        if pgno >= self.pages {
            return None;
        }
        self.data
            .get(pgno * self.page_size..(pgno + 1) * self.page_size)
    }

    /// Reads a value stored on overflow pages, starting at `pgno`, `total` bytes long.
    fn overflow(
        &self,
        mut pgno: usize,
        total: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ExtractError> {
        out.clear();
        // A value cannot be longer than the file; refuse before reserving memory.
        if total > self.data.len() {
            return Err(malformed(format!(
                "overflow item of {total} bytes in a smaller file"
            )));
        }
        out.reserve(total);
        // Each page is visited at most once on a sound chain.
        for _ in 0..self.pages {
            let page = self
                .page(pgno)
                .ok_or_else(|| malformed(format!("overflow page {pgno} outside the file")))?;
            if page[25] != P_OVERFLOW {
                return Err(malformed(format!("page {pgno} is not an overflow page")));
            }
            let base = pgno * self.page_size;
            let used = self.u16_at(base + 22).unwrap_or(0) as usize;
            let chunk = page
                .get(PAGE_HEADER..PAGE_HEADER + used)
                .ok_or_else(|| malformed(format!("overflow page {pgno} claims {used} bytes")))?;
            let take = chunk.len().min(total - out.len());
            out.extend_from_slice(&chunk[..take]);
            if out.len() == total {
                return Ok(());
            }
            let next = self.u32_at(base + 16).unwrap_or(0) as usize;
            if next == 0 {
                return Err(malformed("overflow chain ends before the item does"));
            }
            pgno = next;
        }
        Err(malformed("overflow chain loops"))
    }
}

/// Calls `f` with the value (an rpm header blob) of every key/data pair in the database,
/// except rpm's record 0 (a counter, not a package).
pub fn for_each_value(
    data: &[u8],
    f: &mut dyn FnMut(&[u8]) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    if data.len() < 512 {
        return Err(malformed("file shorter than a metadata page"));
    }
    let little = match (
        u32::from_le_bytes([data[12], data[13], data[14], data[15]]),
        u32::from_be_bytes([data[12], data[13], data[14], data[15]]),
    ) {
        (HASH_MAGIC, _) => true,
        (_, HASH_MAGIC) => false,
        _ => return Err(malformed("not a BerkeleyDB hash database (bad magic)")),
    };
    let mut db = Db {
        data,
        little,
        page_size: 0,
        pages: 0,
    };
    if data[25] != P_HASHMETA {
        return Err(malformed("page 0 is not a hash metadata page"));
    }
    if data[24] != 0 {
        return Err(malformed("encrypted database"));
    }
    let page_size = db.u32_at(20).unwrap_or(0) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(malformed(format!("page size {page_size}")));
    }
    let last_pgno = db.u32_at(32).unwrap_or(0) as usize;
    let pages = last_pgno.saturating_add(1);
    if pages.saturating_mul(page_size) > data.len() {
        return Err(malformed(format!(
            "last page {last_pgno} lies beyond the end of the file ({} bytes)",
            data.len()
        )));
    }
    db.page_size = page_size;
    db.pages = pages;

    let mut value = Vec::new();
    for pgno in 1..pages {
        let Some(page) = db.page(pgno) else {
            break; // unreachable: every page up to `pages` lies within the file
        };
        if page[25] != P_HASH && page[25] != P_HASH_UNSORTED {
            continue;
        }
        let base = pgno * page_size;
        let entries = db.u16_at(base + 20).unwrap_or(0) as usize;
        if PAGE_HEADER + entries * 2 > page_size {
            return Err(malformed(format!("hash page {pgno} lists {entries} items")));
        }
        // Byte range of item `i`: items are packed from the end of the page downwards.
        let item = |i: usize| -> Result<(usize, usize), ExtractError> {
            let start = db.u16_at(base + PAGE_HEADER + 2 * i).unwrap_or(0) as usize;
            let end = if i == 0 {
                page_size
            } else {
                db.u16_at(base + PAGE_HEADER + 2 * (i - 1)).unwrap_or(0) as usize
            };
            if start < PAGE_HEADER + entries * 2 || start >= end || end > page_size {
                return Err(malformed(format!(
                    "item {i} of hash page {pgno} out of bounds"
                )));
            }
            Ok((start, end))
        };
        for pair in 0..entries / 2 {
            let (ks, ke) = item(2 * pair)?;
            let (vs, ve) = item(2 * pair + 1)?;
            let (key, val) = (&page[ks..ke], &page[vs..ve]);
            // rpm keeps a counter under header number 0; it is not a package.
            if key[0] == H_KEYDATA && key[1..].iter().all(|&b| b == 0) {
                continue;
            }
            match val[0] {
                H_OFFPAGE => {
                    if val.len() < 12 {
                        return Err(malformed(format!(
                            "short overflow item on hash page {pgno}"
                        )));
                    }
                    let start = db.u32_at(base + vs + 4).unwrap_or(0) as usize;
                    let total = db.u32_at(base + vs + 8).unwrap_or(0) as usize;
                    db.overflow(start, total, &mut value)?;
                    f(&value)?;
                }
                H_KEYDATA => f(&val[1..])?,
                // Duplicates are not used by rpm's Packages database.
                _ => {}
            }
        }
    }
    Ok(())
}

fn malformed(reason: impl Into<String>) -> ExtractError {
    ExtractError::malformed(FORMAT, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/rpm/Packages"
        );
        std::fs::read(path).unwrap()
    }

    fn swap32(d: &mut [u8], at: usize) {
        d[at..at + 4].reverse();
    }

    fn swap16(d: &mut [u8], at: usize) {
        d[at..at + 2].reverse();
    }

    /// Rewrites the little-endian fixture in big-endian order, as an s390x or ppc64 host
    /// would have written it: every field this reader looks at is swapped.
    fn to_big_endian(mut d: Vec<u8>) -> Vec<u8> {
        let page_size = 4096;
        for at in [12, 20, 32] {
            swap32(&mut d, at);
        }
        for pgno in 1..d.len() / page_size {
            let base = pgno * page_size;
            let ty = d[base + 25];
            let entries = u16::from_le_bytes([d[base + 20], d[base + 21]]) as usize;
            if ty == P_HASH {
                for i in 0..entries {
                    let at = base + PAGE_HEADER + 2 * i;
                    let off = u16::from_le_bytes([d[at], d[at + 1]]) as usize;
                    if d[base + off] == H_OFFPAGE {
                        swap32(&mut d, base + off + 4);
                        swap32(&mut d, base + off + 8);
                    }
                    swap16(&mut d, at);
                }
            }
            for at in [8, 12, 16] {
                swap32(&mut d, base + at);
            }
            for at in [20, 22] {
                swap16(&mut d, base + at);
            }
        }
        d
    }

    fn count(data: &[u8]) -> Result<usize, ExtractError> {
        let mut n = 0;
        for_each_value(data, &mut |blob| {
            crate::rpm::header::parse(blob)?;
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    #[test]
    fn big_endian_database_reads_like_little_endian() {
        let le = fixture();
        assert_eq!(count(&le).unwrap(), 1);
        let be = to_big_endian(le);
        assert_eq!(&be[12..16], &[0x00, 0x06, 0x15, 0x61]);
        assert_eq!(count(&be).unwrap(), 1);
    }

    #[test]
    fn overflow_chain_pointing_at_itself_is_an_error() {
        let mut d = fixture();
        // Page 3 is the header's only overflow page; make it claim a successor: itself.
        let base = 3 * 4096;
        assert_eq!(d[base + 25], P_OVERFLOW);
        d[base + 16..base + 20].copy_from_slice(&3u32.to_le_bytes());
        // And make the item longer than what the page holds, so the chain must be followed.
        let hash = 2 * 4096;
        let off = u16::from_le_bytes([d[hash + 28], d[hash + 29]]) as usize;
        assert_eq!(d[hash + off], H_OFFPAGE);
        d[hash + off + 8..hash + off + 12].copy_from_slice(&10_000u32.to_le_bytes());
        assert!(count(&d).is_err());
    }

    #[test]
    fn encrypted_database_is_refused() {
        let mut d = fixture();
        d[24] = 1;
        assert!(count(&d).is_err());
    }
}
