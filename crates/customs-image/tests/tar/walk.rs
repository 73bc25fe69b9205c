//! customs' walk of a tar archive in the shape `tar/reference.py` prints (shared by the tar
//! tests).

use customs_image::tar::EntryKind;
use customs_image::walk_layer;

/// Path, kind letter, size, link target and (for files) the sha256 of the data.
pub type Entry = (String, String, u64, Option<String>, Option<String>);

fn kind(k: EntryKind) -> &'static str {
    match k {
        EntryKind::File => "f",
        EntryKind::Dir => "d",
        EntryKind::Symlink => "l",
        EntryKind::Hardlink => "h",
        EntryKind::CharDevice => "c",
        EntryKind::BlockDevice => "b",
        EntryKind::Fifo => "p",
        EntryKind::Other(_) => "o",
    }
}

/// customs' walk of an archive in the reference's shape, with each file's sha256.
pub fn customs(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut digests = Vec::new();
    let entries = walk_layer(bytes, |meta, r| {
        let mut data = Vec::new();
        r.read_to_end(&mut data)?;
        digests.push((meta.kind == EntryKind::File).then(|| sha256_hex(&data)));
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(entries
        .into_iter()
        .zip(digests)
        .map(|(e, d)| {
            let link = match e.kind {
                EntryKind::Symlink | EntryKind::Hardlink => e.link.clone(),
                _ => None,
            };
            (e.path, kind(e.kind).into(), e.size, link, d)
        })
        .collect())
}

pub fn sha256_hex(b: &[u8]) -> String {
    customs_testkit::oci::sha256_hex(b)
}
