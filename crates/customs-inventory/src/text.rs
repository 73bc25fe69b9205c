//! Byte-line splitting shared by the text database readers (dpkg, apk).

/// The lines of `data` (without `\n`; a final empty line when the data ends with one).
pub(crate) fn lines(data: &[u8]) -> Lines<'_> {
    Lines(Some(data))
}

pub(crate) struct Lines<'a>(Option<&'a [u8]>);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.0?;
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                self.0 = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.0 = None;
                Some(rest)
            }
        }
    }
}
