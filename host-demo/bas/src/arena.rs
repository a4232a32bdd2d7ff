//! Bytes of many small values packed back to back in chunks of [`CHUNK_BYTES`]: one allocation
//! per chunk rather than one per value. The catalog keeps every summary and every id this way,
//! so what it holds for a store of thousands of activities is a few dozen large blocks, not
//! thousands of small ones scattered among the importer's short-lived buffers (where each one
//! would pin memory the allocator could otherwise give back).

use std::io::Write;
use std::sync::Arc;

/// Bytes gathered in the open chunk before it is sealed.
pub(crate) const CHUNK_BYTES: usize = 64 << 10;

/// A value's place in an arena.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loc {
    chunk: u32,
    start: u32,
    len: u32,
}

/// Values appended in chunks; a full chunk is sealed, shareable without a copy (with the index
/// files being written). A value removed leaves its bytes behind: removal is rare (a replaced id,
/// a failed commit).
#[derive(Default)]
pub(crate) struct Arena {
    sealed: Vec<Arc<[u8]>>,
    open: Vec<u8>,
}

impl Arena {
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Loc {
        if !self.open.is_empty() && self.open.len() + bytes.len() > CHUNK_BYTES {
            self.sealed.push(Arc::from(std::mem::take(&mut self.open)));
        }
        if self.open.capacity() == 0 {
            self.open.reserve_exact(CHUNK_BYTES.max(bytes.len()));
        }
        let start = self.open.len();
        self.open.extend_from_slice(bytes);
        Loc {
            chunk: self.sealed.len() as u32,
            start: start as u32,
            len: bytes.len() as u32,
        }
    }

    pub(crate) fn bytes(&self, loc: Loc) -> &[u8] {
        let chunk = self
            .sealed
            .get(loc.chunk as usize)
            .map_or(&self.open[..], |c| &c[..]);
        &chunk[loc.start as usize..][..loc.len as usize]
    }

    /// The values at `pieces`, in that order, as a JSON array to write later: the sealed chunks
    /// shared, the open one (at most [`CHUNK_BYTES`]) copied, as it is still being filled.
    pub(crate) fn gather(&self, pieces: Vec<Loc>) -> Gathered {
        let mut chunks = self.sealed.clone();
        if pieces.iter().any(|loc| loc.chunk as usize == chunks.len()) {
            chunks.push(Arc::from(&self.open[..]));
        }
        Gathered { chunks, pieces }
    }

    #[cfg(test)]
    pub(crate) fn sealed_chunks(&self) -> usize {
        self.sealed.len()
    }
}

/// Text values (ids) packed in an [`Arena`], read back as `&str`.
#[derive(Default)]
pub(crate) struct TextArena {
    bytes: Arena,
}

impl TextArena {
    pub(crate) fn push(&mut self, text: &str) -> Loc {
        self.bytes.push(text.as_bytes())
    }

    /// The text at `loc`. Only whole `&str`s are pushed, so the bytes are UTF-8 (checked again
    /// here rather than assumed: ids are short, the check is cheap, and the crate has no
    /// `unsafe`).
    pub(crate) fn text(&self, loc: Loc) -> &str {
        std::str::from_utf8(self.bytes.bytes(loc)).expect("a pushed str reads back as UTF-8")
    }
}

/// A JSON array of values gathered from an arena's chunks: what an index file lists, without a
/// copy of most of its bytes.
pub(crate) struct Gathered {
    chunks: Vec<Arc<[u8]>>,
    pieces: Vec<Loc>,
}

impl Gathered {
    /// Writes `[value,value,...]`.
    pub(crate) fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(b"[")?;
        for (i, loc) in self.pieces.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            let chunk = &self.chunks[loc.chunk as usize];
            out.write_all(&chunk[loc.start as usize..][..loc.len as usize])?;
        }
        out.write_all(b"]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_across_sealed_and_open_chunks() {
        let mut bytes = Arena::default();
        let mut text = TextArena::default();
        let values: Vec<String> = (0..300)
            .map(|k| format!("é{}", "x".repeat(k * 3)))
            .collect();
        let locs: Vec<(Loc, Loc)> = values
            .iter()
            .map(|v| (bytes.push(v.as_bytes()), text.push(v)))
            .collect();
        assert!(bytes.sealed_chunks() >= 2, "spans chunks");
        for (v, (b, t)) in values.iter().zip(&locs) {
            assert_eq!(bytes.bytes(*b), v.as_bytes());
            assert_eq!(text.text(*t), v);
        }
        // A value larger than a chunk gets a chunk of its own.
        let big = "y".repeat(CHUNK_BYTES + 1);
        let loc = text.push(&big);
        assert_eq!(text.text(loc), big);
        assert_eq!(text.text(locs[299].1), values[299]);
    }

    #[test]
    fn gathering_copies_only_the_open_chunk_and_needs_it_only_when_listed() {
        let mut arena = Arena::default();
        // 65 values fill the first chunk; the 66th opens the next one.
        let sealed: Vec<Loc> = (0..66).map(|_| arena.push(&[b'a'; 1000])).collect();
        let open = arena.push(b"\"open\"");
        assert_eq!(arena.sealed_chunks(), 1);
        let g = arena.gather(vec![sealed[60], sealed[3]]);
        assert_eq!(g.chunks.len(), 1, "no open chunk copied when unlisted");
        assert!(
            Arc::ptr_eq(&g.chunks[0], &arena.sealed[0]),
            "shared, not copied"
        );
        let g = arena.gather(vec![open, sealed[64]]);
        assert_eq!(g.chunks.len(), 2);
        let mut out = Vec::new();
        g.write_to(&mut out).unwrap();
        assert_eq!(out, [&b"[\"open\","[..], &[b'a'; 1000], b"]"].concat());
        // Appending after gathering does not change what was gathered.
        arena.push(b"later");
        let mut again = Vec::new();
        g.write_to(&mut again).unwrap();
        assert_eq!(again, out);
    }
}
