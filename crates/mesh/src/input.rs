//! The byte source every reader parses from. It tracks the byte offset and line number for
//! error messages, knows how many bytes remain when the total length is known, and bounds how
//! much a header's claims may make a reader allocate.

use std::io::{self, BufRead};

use crate::error::ErrorKind;

/// The longest text line a reader accepts. No real OBJ/PLY/STL line comes near it.
pub(crate) const MAX_LINE: usize = 1 << 16;

/// The most vertices one polygon may list. Real exports stay in single digits; a larger list is
/// taken as a hostile or corrupt length.
pub(crate) const MAX_POLYGON: u64 = 1024;

/// When the total length is unknown, vectors start at most this big and grow with real data.
const UNKNOWN_LEN_CAP: u64 = 1 << 16;

pub(crate) struct Source<R> {
    inner: R,
    offset: u64,
    line: u64,
    len: Option<u64>,
}

impl<R: BufRead> Source<R> {
    pub(crate) fn new(inner: R, len: Option<u64>) -> Self {
        Source { inner, offset: 0, line: 0, len }
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The 1-based number of the line most recently returned by [`Source::read_line`].
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// Bytes left, when the total length is known.
    pub(crate) fn remaining(&self) -> Option<u64> {
        self.len.map(|l| l.saturating_sub(self.offset))
    }

    pub(crate) fn fill_buf(&mut self) -> Result<&[u8], ErrorKind> {
        loop {
            match self.inner.fill_buf() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ErrorKind::Io { message: e.to_string() }),
            }
        }
        self.inner.fill_buf().map_err(|e| ErrorKind::Io { message: e.to_string() })
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.offset += n as u64;
    }

    /// Fill `buf` completely, or fail with [`ErrorKind::Truncated`] naming what was being read.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8], reading: &str) -> Result<(), ErrorKind> {
        let mut done = 0;
        while done < buf.len() {
            let avail = self.fill_buf()?;
            if avail.is_empty() {
                return Err(ErrorKind::Truncated { reading: reading.to_string() });
            }
            let n = avail.len().min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&avail[..n]);
            self.consume(n);
            done += n;
        }
        Ok(())
    }

    /// Read one line into `buf` without its `\n` or `\r\n`. Returns `false` at end of input.
    /// Lines longer than [`MAX_LINE`] fail rather than grow without bound.
    pub(crate) fn read_line(&mut self, buf: &mut Vec<u8>) -> Result<bool, ErrorKind> {
        buf.clear();
        let mut any = false;
        loop {
            let avail = self.fill_buf()?;
            if avail.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            };
            if buf.len() + take > MAX_LINE + 2 {
                return Err(ErrorKind::LineTooLong { max: MAX_LINE as u64 });
            }
            buf.extend_from_slice(&avail[..take]);
            self.consume(take);
            if done {
                break;
            }
        }
        if !any {
            return Ok(false);
        }
        self.line += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(true)
    }

    /// Check a declared element count against the bytes left (when known): `count` records of at
    /// least `min_record` bytes each must fit. Returns a safe initial capacity for a vector of
    /// those records, which is never more than the data present could fill.
    pub(crate) fn check_count(&self, what: &str, count: u64, min_record: u64) -> Result<usize, ErrorKind> {
        capacity_for(what, count, min_record, self.remaining())
    }
}

/// See [`Source::check_count`].
pub(crate) fn capacity_for(
    what: &str,
    count: u64,
    min_record: u64,
    remaining: Option<u64>,
) -> Result<usize, ErrorKind> {
    match remaining {
        Some(available) => {
            let max = available / min_record.max(1);
            if count > max {
                return Err(ErrorKind::CountTooLarge { what: what.to_string(), count, available, max });
            }
            Ok(usize::try_from(count).unwrap_or(usize::MAX))
        }
        None => Ok(usize::try_from(count.min(UNKNOWN_LEN_CAP)).unwrap_or(0)),
    }
}

/// Parse an ASCII number token, naming it in the error.
pub(crate) fn parse_f32(token: &[u8]) -> Result<f32, ErrorKind> {
    std::str::from_utf8(token)
        .ok()
        .and_then(|s| s.parse::<f32>().ok())
        .ok_or_else(|| bad_number(token, "a number"))
}

pub(crate) fn bad_number(token: &[u8], expected: &'static str) -> ErrorKind {
    let shown: String = String::from_utf8_lossy(token).chars().take(40).collect();
    ErrorKind::BadNumber { token: shown, expected }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_strip_endings_and_count() {
        let mut s = Source::new(&b"a\r\nbb\n\nlast"[..], Some(11));
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while s.read_line(&mut buf).unwrap() {
            got.push((s.line(), String::from_utf8(buf.clone()).unwrap()));
        }
        assert_eq!(got, vec![(1, "a".into()), (2, "bb".into()), (3, "".into()), (4, "last".into())]);
        assert_eq!(s.offset(), 11);
    }

    #[test]
    fn counts_are_bounded_by_bytes_present() {
        let err = capacity_for("vertex", 1 << 31, 12, Some(200)).unwrap_err();
        assert_eq!(err.code(), "count-too-large");
        assert_eq!(capacity_for("vertex", 1 << 31, 12, None).unwrap(), 1 << 16);
        assert_eq!(capacity_for("vertex", 10, 12, Some(120)).unwrap(), 10);
    }
}
