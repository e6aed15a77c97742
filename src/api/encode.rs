//! Response encoding into a [`Frame`]: a list of byte chunks the connection's writer sends in
//! order (small ones gathered in its buffer, large ones written straight from theirs).
//! Record payloads a handler names (fetched log bytes) are spliced in by reference instead of
//! being copied into the response buffer, so fetched data is copied once, from the page cache.

use bytes::buf::UninitSlice;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::Encodable;

use super::DispatchError;

/// An encoded response: `4-byte length | header | body`, in chunks.
#[derive(Debug, Clone, Default)]
pub struct Frame(pub Vec<Bytes>);

impl Frame {
    pub fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// All chunks as one contiguous buffer (tests and tools).
    pub fn to_bytes(&self) -> Bytes {
        match self.0.as_slice() {
            [one] => one.clone(),
            chunks => chunks.iter().flat_map(|c| c.iter().copied()).collect::<Vec<u8>>().into(),
        }
    }
}

/// Payloads at least this large are spliced in rather than copied.
const SPLICE_MIN: usize = 4096;

/// A `ByteBufMut` that copies small writes into a buffer but, when asked to write a slice that
/// *is* one of the registered payloads (same address and length), keeps a reference to it.
struct SplicingBuf<'a> {
    chunks: Vec<Bytes>,
    cur: BytesMut,
    payloads: &'a [Bytes],
    written: usize,
}

impl SplicingBuf<'_> {
    fn finish(mut self) -> Frame {
        if !self.cur.is_empty() {
            self.chunks.push(self.cur.freeze());
        }
        Frame(self.chunks)
    }
}

// SAFETY: chunk_mut/advance_mut delegate to the inner BytesMut, which upholds BufMut's rules.
unsafe impl BufMut for SplicingBuf<'_> {
    fn remaining_mut(&self) -> usize {
        self.cur.remaining_mut()
    }
    unsafe fn advance_mut(&mut self, cnt: usize) {
        self.cur.advance_mut(cnt);
        self.written += cnt;
    }
    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.cur.chunk_mut()
    }
    fn put_slice(&mut self, src: &[u8]) {
        if src.len() >= SPLICE_MIN {
            if let Some(p) = self.payloads.iter().find(|p| p.as_ptr() == src.as_ptr() && p.len() == src.len()) {
                if !self.cur.is_empty() {
                    let head = self.cur.split().freeze();
                    self.chunks.push(head);
                }
                self.chunks.push(p.clone());
                self.written += src.len();
                return;
            }
        }
        self.cur.extend_from_slice(src);
        self.written += src.len();
    }
}

impl ByteBufMut for SplicingBuf<'_> {
    fn offset(&self) -> usize {
        self.written
    }
    fn seek(&mut self, offset: usize) {
        // Message encoders only ever move forward (gaps); pad with zeros.
        if offset > self.written {
            let pad = offset - self.written;
            self.cur.put_bytes(0, pad);
            self.written = offset;
        }
    }
    fn range(&mut self, r: std::ops::Range<usize>) -> &mut [u8] {
        // Only ranges inside the current (unspliced) buffer can be rewritten.
        let base = self.written - self.cur.len();
        let start = r.start.saturating_sub(base).min(self.cur.len());
        let end = r.end.saturating_sub(base).min(self.cur.len());
        &mut self.cur[start..end]
    }
}

/// Encodes one response frame; `payloads` are spliced in by reference when the encoder
/// writes them.
pub fn encode_frame<R: Encodable>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    resp: &R,
    payloads: &[Bytes],
) -> Result<Frame, DispatchError> {
    let header_version = api.response_header_version(version);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let err = |source| DispatchError::Encode { api, version, source };
    let size = header.compute_size(header_version).map_err(err)? + resp.compute_size(version).map_err(err)?;
    let spliced: usize = payloads.iter().filter(|p| p.len() >= SPLICE_MIN).map(Bytes::len).sum();
    let mut buf = SplicingBuf {
        chunks: Vec::new(),
        cur: BytesMut::with_capacity(4 + size - spliced.min(size)),
        payloads,
        written: 0,
    };
    buf.put_i32(size as i32);
    header.encode(&mut buf, header_version).map_err(err)?;
    resp.encode(&mut buf, version).map_err(err)?;
    Ok(buf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
    use kafka_protocol::messages::FetchResponse;

    #[test]
    fn spliced_frame_equals_copied_frame() {
        let records = Bytes::from(vec![7u8; 10_000]);
        let resp = FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
            .with_partitions(vec![PartitionData::default().with_records(Some(records.clone()))])]);
        let spliced = encode_frame(ApiKey::Fetch, 12, 5, &resp, std::slice::from_ref(&records)).unwrap();
        let copied = encode_frame(ApiKey::Fetch, 12, 5, &resp, &[]).unwrap();
        assert_eq!(copied.0.len(), 1);
        assert!(spliced.0.len() >= 2, "records went in by reference");
        assert!(spliced.0.iter().any(|c| c.as_ptr() == records.as_ptr()));
        assert_eq!(spliced.to_bytes(), copied.to_bytes());
        assert_eq!(i32::from_be_bytes(copied.to_bytes()[..4].try_into().unwrap()) as usize, copied.len() - 4);
    }
}
