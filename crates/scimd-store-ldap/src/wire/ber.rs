//! The subset of BER (X.690 §8) that LDAP uses (RFC 4511 §5.1): one-byte tags, definite
//! lengths, no constructed strings. [`Writer`] writes minimal lengths; [`Reader`] reads any
//! definite length and refuses the indefinite form, which LDAP forbids.

/// Universal tags.
pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const ENUMERATED: u8 = 0x0a;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;

/// Writes BER elements into a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(n: usize) -> Writer {
        Writer { buf: Vec::with_capacity(n) }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// A primitive element of `tag` holding `content`.
    pub(crate) fn bytes(&mut self, tag: u8, content: &[u8]) {
        self.buf.push(tag);
        self.length(content.len());
        self.buf.extend_from_slice(content);
    }

    /// An INTEGER (or ENUMERATED, by `tag`) in the fewest bytes two's complement allows.
    pub(crate) fn integer(&mut self, tag: u8, n: i64) {
        let bytes = n.to_be_bytes();
        let mut skip = 0;
        // A leading byte may go while it only repeats the sign of the next one.
        while skip < 7
            && ((bytes[skip] == 0 && bytes[skip + 1] & 0x80 == 0)
                || (bytes[skip] == 0xff && bytes[skip + 1] & 0x80 != 0))
        {
            skip += 1;
        }
        self.bytes(tag, &bytes[skip..]);
    }

    pub(crate) fn boolean(&mut self, tag: u8, b: bool) {
        self.bytes(tag, &[if b { 0xff } else { 0 }]);
    }

    /// An element of `tag` whose content `inner` writes: a constructed one, or an OCTET STRING
    /// that holds BER (a control value).
    pub(crate) fn nest(&mut self, tag: u8, inner: impl FnOnce(&mut Writer)) {
        self.buf.push(tag);
        let at = self.buf.len();
        self.buf.push(0);
        inner(self);
        let len = self.buf.len() - at - 1;
        if len < 0x80 {
            self.buf[at] = len as u8;
        } else {
            let mut head = [0u8; 9];
            let n = long_length(len, &mut head);
            self.buf.splice(at..=at, head[..n].iter().copied());
        }
    }

    fn length(&mut self, len: usize) {
        if len < 0x80 {
            self.buf.push(len as u8);
        } else {
            let mut head = [0u8; 9];
            let n = long_length(len, &mut head);
            self.buf.extend_from_slice(&head[..n]);
        }
    }
}

/// The long form of a length of 128 or more: `0x80 | n` and n big-endian bytes; returns
/// how many bytes of `out` it took.
fn long_length(len: usize, out: &mut [u8; 9]) -> usize {
    let bytes = (len as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let n = 8 - skip;
    out[0] = 0x80 | n as u8;
    out[1..=n].copy_from_slice(&bytes[skip..]);
    n + 1
}

/// Why BER did not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Reads BER elements from a slice, without copying.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, if any.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element: its tag and content.
    pub(crate) fn any(&mut self) -> Result<(u8, &'a [u8]), Malformed> {
        let (tag, start, len) = header(self.rest)?.ok_or(Malformed)?;
        let end = start.checked_add(len).ok_or(Malformed)?;
        let content = self.rest.get(start..end).ok_or(Malformed)?;
        self.rest = &self.rest[end..];
        Ok((tag, content))
    }

    /// The content of the next element, which must be of `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<&'a [u8], Malformed> {
        match self.any()? {
            (t, content) if t == tag => Ok(content),
            _ => Err(Malformed),
        }
    }

    /// The next element, which must be of `tag`, as a reader of its content.
    pub(crate) fn enter(&mut self, tag: u8) -> Result<Reader<'a>, Malformed> {
        self.expect(tag).map(Reader::new)
    }

    /// The next element as an integer of `tag` (INTEGER, ENUMERATED or a context tag).
    pub(crate) fn integer(&mut self, tag: u8) -> Result<i64, Malformed> {
        integer(self.expect(tag)?)
    }

    /// The content of the next element if it is of `tag`.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, Malformed> {
        if self.peek() == Some(tag) { self.expect(tag).map(Some) } else { Ok(None) }
    }
}

/// A two's complement integer of at most 8 bytes.
pub(crate) fn integer(content: &[u8]) -> Result<i64, Malformed> {
    let (&first, _) = content.split_first().ok_or(Malformed)?;
    if content.len() > 8 {
        return Err(Malformed);
    }
    let mut n: i64 = if first & 0x80 != 0 { -1 } else { 0 };
    for &b in content {
        n = (n << 8) | i64::from(b);
    }
    Ok(n)
}

/// The tag, where the content starts and its length, of the element at the head of `bytes`;
/// `None` while `bytes` holds less than the header. Multi-byte tags and the indefinite length
/// are refused (RFC 4511 §5.1).
pub(crate) fn header(bytes: &[u8]) -> Result<Option<(u8, usize, usize)>, Malformed> {
    let (Some(&tag), Some(&first)) = (bytes.first(), bytes.get(1)) else { return Ok(None) };
    if tag & 0x1f == 0x1f {
        return Err(Malformed);
    }
    if first < 0x80 {
        return Ok(Some((tag, 2, usize::from(first))));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 8 {
        return Err(Malformed);
    }
    let Some(digits) = bytes.get(2..2 + n) else { return Ok(None) };
    let len = digits.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let len = usize::try_from(len).map_err(|_| Malformed)?;
    Ok(Some((tag, 2 + n, len)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// X.690 §8.3: two's complement in the fewest octets.
    #[test]
    fn integers_take_the_fewest_bytes_and_read_back() {
        for (n, bytes) in [
            (0i64, &[0x02, 1, 0][..]),
            (127, &[0x02, 1, 0x7f]),
            (128, &[0x02, 2, 0, 0x80]),
            (256, &[0x02, 2, 1, 0]),
            (-1, &[0x02, 1, 0xff]),
            (-128, &[0x02, 1, 0x80]),
            (-129, &[0x02, 2, 0xff, 0x7f]),
            (i64::from(i32::MAX), &[0x02, 4, 0x7f, 0xff, 0xff, 0xff]),
        ] {
            let mut w = Writer::default();
            w.integer(INTEGER, n);
            assert_eq!(w.into_bytes(), bytes, "{n}");
            assert_eq!(Reader::new(bytes).integer(INTEGER), Ok(n));
        }
        for n in [i64::MIN, i64::MAX, -65_536, 65_535, 1 << 40] {
            let mut w = Writer::default();
            w.integer(INTEGER, n);
            assert_eq!(Reader::new(&w.into_bytes()).integer(INTEGER), Ok(n));
        }
    }

    /// X.690 §8.1.3: the short form below 128, else the long form in the fewest octets.
    #[test]
    fn lengths_take_the_short_form_below_128_and_the_fewest_bytes_above() {
        for (len, head) in [
            (0usize, &[0x04, 0][..]),
            (127, &[0x04, 0x7f]),
            (128, &[0x04, 0x81, 0x80]),
            (300, &[0x04, 0x82, 0x01, 0x2c]),
        ] {
            let content = vec![7u8; len];
            let mut w = Writer::default();
            w.bytes(OCTET_STRING, &content);
            let plain = w.into_bytes();
            assert_eq!(&plain[..head.len()], head);
            let mut w = Writer::default();
            w.nest(SEQUENCE, |w| w.buf.extend_from_slice(&content));
            let built = w.into_bytes();
            assert_eq!(built[1..], plain[1..], "{len}");
            assert_eq!(Reader::new(&plain).expect(OCTET_STRING), Ok(&content[..]));
        }
    }

    #[test]
    fn a_cut_or_indefinite_element_is_malformed() {
        assert_eq!(header(&[0x30]), Ok(None));
        assert_eq!(header(&[0x30, 0x82, 1]), Ok(None));
        assert_eq!(header(&[0x30, 0x80]), Err(Malformed));
        assert_eq!(header(&[0x1f, 1]), Err(Malformed));
        assert_eq!(Reader::new(&[0x04, 3, 1, 2]).any(), Err(Malformed));
        assert_eq!(Reader::new(&[0x04, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1]).any(), Err(Malformed));
        assert_eq!(Reader::new(&[0x02, 0]).integer(INTEGER), Err(Malformed));
        assert_eq!(Reader::new(&[0x04, 1, 1]).expect(SEQUENCE), Err(Malformed));
    }

    #[test]
    fn nested_elements_read_back_in_order() {
        let mut w = Writer::default();
        w.nest(SEQUENCE, |w| {
            w.integer(INTEGER, 5);
            w.nest(SET, |w| {
                w.bytes(OCTET_STRING, b"a");
                w.bytes(OCTET_STRING, &[b'b'; 200]);
            });
            w.boolean(BOOLEAN, true);
        });
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        let mut seq = r.enter(SEQUENCE).unwrap();
        assert!(r.is_empty());
        assert_eq!(seq.integer(INTEGER), Ok(5));
        let mut set = seq.enter(SET).unwrap();
        assert_eq!(set.expect(OCTET_STRING), Ok(&b"a"[..]));
        assert_eq!(set.expect(OCTET_STRING).map(<[u8]>::len), Ok(200));
        assert!(set.is_empty());
        assert_eq!(seq.optional(OCTET_STRING), Ok(None));
        assert_eq!(seq.expect(BOOLEAN), Ok(&[0xff][..]));
        assert!(seq.is_empty());
    }
}
