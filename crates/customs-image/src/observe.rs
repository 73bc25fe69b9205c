//! One walk of a layer, several readers. The walk's owner (the inventory scan) pulls each
//! entry's bytes through [`observe_entry`]; every byte it reads, and every byte it leaves
//! unread, goes by an [`EntryObserver`] exactly once, so a second consumer (audit's
//! collector) gets the whole entry without a second read of the blob. Hand-written: it is a
//! tee of a borrowed `Read` into a visitor, a dozen lines no crate offers in this shape.

use std::io::{self, Read};

use crate::fs::EntryMeta;
use crate::image::{Image, ImageError};
use crate::summary::{stream_layer, LayerSummary};

/// Sees every entry of every layer of a walk that someone else drives.
pub trait EntryObserver {
    /// Whether the observer wants the bytes of `entry` (layer `layer`, 0 = base). Called for
    /// every entry in tar order; when `true`, [`data`](Self::data) follows with all its
    /// bytes, then [`entry_done`](Self::entry_done).
    fn wants(&mut self, layer: usize, entry: &EntryMeta) -> bool;
    /// The next bytes of the entry last wanted.
    fn data(&mut self, chunk: &[u8]);
    /// The entry last wanted has ended; all its bytes went by.
    fn entry_done(&mut self, layer: usize, entry: &EntryMeta) -> io::Result<()>;
    /// Every entry of layer `layer` went by (its digests checked); `summary` lists them.
    fn layer_done(&mut self, layer: usize, summary: &LayerSummary);
}

/// Two observers of one walk, each seeing exactly the entries it wants (the audit's
/// collector and `diff`'s file hasher ride along with the inventory scan together).
pub struct Both<'a, 'b> {
    first: &'a mut dyn EntryObserver,
    second: &'b mut dyn EntryObserver,
    wanted: (bool, bool),
}

impl<'a, 'b> Both<'a, 'b> {
    /// Joins `first` and `second`; they are told of each entry in that order.
    pub fn new(first: &'a mut dyn EntryObserver, second: &'b mut dyn EntryObserver) -> Self {
        Both {
            first,
            second,
            wanted: (false, false),
        }
    }
}

impl EntryObserver for Both<'_, '_> {
    fn wants(&mut self, layer: usize, entry: &EntryMeta) -> bool {
        self.wanted = (
            self.first.wants(layer, entry),
            self.second.wants(layer, entry),
        );
        self.wanted.0 || self.wanted.1
    }
    fn data(&mut self, chunk: &[u8]) {
        if self.wanted.0 {
            self.first.data(chunk);
        }
        if self.wanted.1 {
            self.second.data(chunk);
        }
    }
    fn entry_done(&mut self, layer: usize, entry: &EntryMeta) -> io::Result<()> {
        if self.wanted.0 {
            self.first.entry_done(layer, entry)?;
        }
        if self.wanted.1 {
            self.second.entry_done(layer, entry)?;
        }
        Ok(())
    }
    fn layer_done(&mut self, layer: usize, summary: &LayerSummary) {
        self.first.layer_done(layer, summary);
        self.second.layer_done(layer, summary);
    }
}

struct Tee<'r, 'o> {
    inner: &'r mut dyn Read,
    observer: &'o mut dyn EntryObserver,
}

impl Read for Tee<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observer.data(&buf[..n]);
        Ok(n)
    }
}

/// Hands `data` (the bytes of `entry`) to `consume` and, when `observer` wants the entry,
/// also every byte of it to `observer`: what `consume` reads goes by as it reads, the rest is
/// drained after it returns.
pub fn observe_entry<T>(
    observer: Option<&mut (dyn EntryObserver + '_)>,
    layer: usize,
    entry: &EntryMeta,
    data: &mut dyn Read,
    consume: impl FnOnce(&mut dyn Read) -> io::Result<T>,
) -> io::Result<T> {
    let Some(observer) = observer else {
        return consume(data);
    };
    if !observer.wants(layer, entry) {
        return consume(data);
    }
    let mut tee = Tee {
        inner: data,
        observer: &mut *observer,
    };
    let out = consume(&mut tee)?;
    let mut buf = vec![0u8; 64 << 10];
    while tee.read(&mut buf)? != 0 {}
    observer.entry_done(layer, entry)?;
    Ok(out)
}

/// Streams layer `index` for `observer` alone and returns its summary (after
/// [`EntryObserver::layer_done`]).
pub fn walk_layer_observed(
    image: &Image,
    index: usize,
    observer: &mut (dyn EntryObserver + '_),
) -> Result<LayerSummary, ImageError> {
    let s = stream_layer(image, index, |e, r| {
        observe_entry(Some(&mut *observer), index, e, r, |_| Ok(()))
    })?;
    observer.layer_done(index, &s);
    Ok(s)
}
