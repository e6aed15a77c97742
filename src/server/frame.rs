//! Kafka framing: a 4-byte big-endian length, then that many bytes. Frames up to
//! [`UPFRONT`] get their whole buffer at once (no regrowth copies for typical produce
//! requests); larger ones grow as bytes arrive instead of trusting the length prefix.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame size {size} is outside 1..={max} (socket.request.max.bytes)")]
    BadSize { size: i32, max: i32 },
    #[error("connection closed mid-frame")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

const CHUNK: usize = 64 * 1024;
/// Frames up to this size are allocated in full before their bytes arrive.
const UPFRONT: usize = 2 << 20;

/// Reads one frame; `Ok(None)` on a clean end of stream between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R, max: i32) -> Result<Option<Bytes>, FrameError> {
    let mut len_buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len_buf[got..]).await?;
        if n == 0 {
            return if got == 0 { Ok(None) } else { Err(FrameError::Truncated) };
        }
        got += n;
    }
    let size = i32::from_be_bytes(len_buf);
    if size <= 0 || size > max {
        return Err(FrameError::BadSize { size, max });
    }
    let size = size as usize;
    let mut buf = BytesMut::with_capacity(if size <= UPFRONT { size } else { CHUNK });
    while buf.len() < size {
        if buf.capacity() == buf.len() {
            buf.reserve((size - buf.len()).min(CHUNK.max(buf.len())));
        }
        let want = size - buf.len();
        let n = (&mut *r).take(want as u64).read_buf(&mut buf).await?;
        if n == 0 {
            return Err(FrameError::Truncated);
        }
    }
    Ok(Some(buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_frames_and_rejects_bad_sizes() {
        let mut data: &[u8] = &[0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 1, 9];
        assert_eq!(read_frame(&mut data, 100).await.unwrap().unwrap().as_ref(), &[1, 2, 3]);
        assert_eq!(read_frame(&mut data, 100).await.unwrap().unwrap().as_ref(), &[9]);
        assert!(read_frame(&mut data, 100).await.unwrap().is_none());
        let mut big: &[u8] = &[0, 0, 1, 0];
        assert!(matches!(read_frame(&mut big, 100).await, Err(FrameError::BadSize { .. })));
        let mut neg: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(read_frame(&mut neg, 100).await, Err(FrameError::BadSize { .. })));
        let mut short: &[u8] = &[0, 0, 0, 5, 1];
        assert!(matches!(read_frame(&mut short, 100).await, Err(FrameError::Truncated)));
    }
}
