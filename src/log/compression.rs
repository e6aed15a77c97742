//! Streaming decompression of a record batch's payload (gzip, snappy, lz4, zstd), so records
//! can be walked without inflating the whole batch: the caller reads through a small buffer
//! and stops at its own output bound, and each codec's working memory is capped here (zstd
//! window, snappy block), whatever the compressed bytes claim.

use std::io::{self, Read};

/// Batch attribute values of the compression codecs.
pub const NONE: i16 = 0;
pub const GZIP: i16 = 1;
pub const SNAPPY: i16 = 2;
pub const LZ4: i16 = 3;
pub const ZSTD: i16 = 4;

/// Largest zstd window accepted (2^24 = 16 MiB). A frame may ask its decoder for a window of
/// up to 2 GiB; producers' streaming encoders use 2^21..2^23 (levels 1 to 19), so only the
/// "ultra" levels 20-22 on large batches are refused.
const ZSTD_WINDOW_LOG_MAX: u32 = 24;
/// Snappy's best case inflates 3 bytes into 64 (a 64-byte copy), so a raw block that claims
/// more than this many times its compressed length is lying.
const SNAPPY_MAX_RATIO: usize = 22;
/// The xerial framing Java producers wrap snappy blocks in.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

/// A reader of the decompressed bytes of `data` (compressed with `codec`). `block_limit` caps
/// the single block a snappy stream may ask to be inflated at once (snappy cannot stream
/// within a block); other codecs stream with fixed-size state.
pub fn reader<'a>(codec: i16, data: &'a [u8], block_limit: usize) -> io::Result<Box<dyn Read + 'a>> {
    match codec {
        NONE => Ok(Box::new(data)),
        GZIP => Ok(Box::new(flate2::read::MultiGzDecoder::new(data))),
        SNAPPY => Ok(Box::new(SnappyReader::new(data, block_limit))),
        LZ4 => Ok(Box::new(lz4::Decoder::new(data)?)),
        ZSTD => {
            let mut d = zstd::stream::read::Decoder::with_buffer(data)?;
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Ok(Box::new(d))
        }
        other => Err(io::Error::new(io::ErrorKind::InvalidData, format!("unknown compression codec {other}"))),
    }
}

/// Compresses `data` with `codec` in the framing Kafka's clients read: gzip, zstd (one frame),
/// lz4 (an LZ4 frame with independent 64 KiB blocks and no checksums, as Kafka writes it),
/// snappy (xerial framing, 32 KiB blocks). What the cleaner writes for a batch it rewrites.
pub fn compress(codec: i16, data: &[u8]) -> io::Result<Vec<u8>> {
    use std::io::Write;
    match codec {
        NONE => Ok(data.to_vec()),
        GZIP => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data)?;
            e.finish()
        }
        SNAPPY => {
            let mut out = Vec::with_capacity(XERIAL_HEADER_LEN + data.len() / 2);
            out.extend_from_slice(XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes()); // version
            out.extend_from_slice(&1i32.to_be_bytes()); // compatible version
            let mut enc = snap::raw::Encoder::new();
            for block in data.chunks(32 * 1024) {
                let c = enc.compress_vec(block).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                out.extend_from_slice(&(c.len() as u32).to_be_bytes());
                out.extend_from_slice(&c);
            }
            Ok(out)
        }
        LZ4 => {
            let mut e = lz4::EncoderBuilder::new()
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .build(Vec::new())?;
            e.write_all(data)?;
            let (out, done) = e.finish();
            done.map(|()| out)
        }
        ZSTD => zstd::encode_all(data, 3),
        other => Err(io::Error::new(io::ErrorKind::InvalidData, format!("unknown compression codec {other}"))),
    }
}

/// Kafka's snappy: xerial framing (a 16-byte header, then blocks of `[u32 length][raw
/// snappy]`), or one raw snappy block when the header is absent (librdkafka writes those).
/// Inflates one block at a time into a buffer capped by `block_limit`.
struct SnappyReader<'a> {
    rest: &'a [u8],
    framed: bool,
    block: Vec<u8>,
    pos: usize,
    block_limit: usize,
    started: bool,
}

impl<'a> SnappyReader<'a> {
    fn new(data: &'a [u8], block_limit: usize) -> Self {
        Self { rest: data, framed: false, block: Vec::new(), pos: 0, block_limit, started: false }
    }

    /// Inflates the next block into `self.block`; `false` at the end of the stream.
    fn next_block(&mut self) -> io::Result<bool> {
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        if !self.started {
            self.started = true;
            if self.rest.len() >= XERIAL_HEADER_LEN && self.rest.starts_with(XERIAL_MAGIC) {
                self.framed = true;
                self.rest = &self.rest[XERIAL_HEADER_LEN..];
            } else {
                let raw = std::mem::take(&mut self.rest);
                return self.inflate(raw).map(|()| true);
            }
        }
        if !self.framed || self.rest.is_empty() {
            return Ok(false);
        }
        if self.rest.len() < 4 {
            return Err(invalid("snappy block length is truncated".into()));
        }
        let len = u32::from_be_bytes([self.rest[0], self.rest[1], self.rest[2], self.rest[3]]) as usize;
        if len > self.rest.len() - 4 {
            return Err(invalid(format!("snappy block of {len} bytes overruns the batch")));
        }
        let raw = &self.rest[4..4 + len];
        self.rest = &self.rest[4 + len..];
        self.inflate(raw)?;
        Ok(true)
    }

    fn inflate(&mut self, raw: &[u8]) -> io::Result<()> {
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        let n = snap::raw::decompress_len(raw).map_err(|e| invalid(format!("snappy: {e}")))?;
        if n > self.block_limit || n > raw.len().saturating_mul(SNAPPY_MAX_RATIO) + 64 {
            return Err(invalid(format!("snappy block claims {n} bytes from {} compressed", raw.len())));
        }
        self.block.clear();
        self.block.resize(n, 0);
        let got =
            snap::raw::Decoder::new().decompress(raw, &mut self.block).map_err(|e| invalid(format!("snappy: {e}")))?;
        self.block.truncate(got);
        self.pos = 0;
        Ok(())
    }
}

impl Read for SnappyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.block.len() - self.pos);
        out[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate(codec: i16, data: &[u8], limit: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        reader(codec, data, limit)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn every_codec_round_trips() {
        let plain: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut e, &plain).unwrap();
            e.finish().unwrap()
        };
        let raw_snappy = snap::raw::Encoder::new().compress_vec(&plain).unwrap();
        let mut xerial = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
        for chunk in plain.chunks(32 * 1024) {
            let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
            xerial.extend_from_slice(&(block.len() as u32).to_be_bytes());
            xerial.extend_from_slice(&block);
        }
        let lz4 = {
            let mut e = lz4::EncoderBuilder::new().build(Vec::new()).unwrap();
            std::io::Write::write_all(&mut e, &plain).unwrap();
            let (v, r) = e.finish();
            r.unwrap();
            v
        };
        let zstd = zstd::encode_all(&plain[..], 3).unwrap();
        for (codec, data) in
            [(NONE, &plain), (GZIP, &gz), (SNAPPY, &raw_snappy), (SNAPPY, &xerial), (LZ4, &lz4), (ZSTD, &zstd)]
        {
            assert_eq!(inflate(codec, data, 1 << 20).unwrap(), plain, "codec {codec}");
        }
    }

    #[test]
    fn compress_round_trips_through_every_reader() {
        let plain: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 13).to_le_bytes()).collect();
        for codec in [NONE, GZIP, SNAPPY, LZ4, ZSTD] {
            let packed = compress(codec, &plain).unwrap();
            assert!(codec == NONE || packed.len() < plain.len() / 4, "codec {codec} compresses");
            assert_eq!(inflate(codec, &packed, 1 << 20).unwrap(), plain, "codec {codec}");
        }
        assert!(compress(9, b"x").is_err());
    }

    #[test]
    fn snappy_blocks_past_the_limit_or_the_ratio_are_refused() {
        let zeros = vec![0u8; 1 << 20];
        let raw = snap::raw::Encoder::new().compress_vec(&zeros).unwrap();
        assert!(inflate(SNAPPY, &raw, 64 * 1024).is_err(), "over the block limit");
        // A header claiming 1 GiB from a handful of bytes.
        let mut lie = Vec::new();
        let mut n = 1u32 << 30;
        while n >= 0x80 {
            lie.push((n as u8) | 0x80);
            n >>= 7;
        }
        lie.push(n as u8);
        lie.extend_from_slice(&[0, 0, 0]);
        assert!(inflate(SNAPPY, &lie, usize::MAX).is_err(), "over the possible ratio");
    }

    #[test]
    fn zstd_frames_asking_for_huge_windows_are_refused() {
        let data = vec![7u8; 1 << 16];
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.window_log(27).unwrap();
        enc.long_distance_matching(true).unwrap();
        std::io::Write::write_all(&mut enc, &data).unwrap();
        let frame = enc.finish().unwrap();
        assert!(inflate(ZSTD, &frame, 1 << 20).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for codec in [GZIP, SNAPPY, LZ4, ZSTD, 5, 7] {
            let r = reader(codec, &[1, 2, 3, 4, 5, 6, 7, 8, 9], 1 << 20).and_then(|mut r| {
                let mut v = Vec::new();
                r.read_to_end(&mut v).map(|_| v)
            });
            assert!(r.is_err(), "codec {codec}");
        }
    }
}
