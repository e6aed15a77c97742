//! The byte streams a connection can serve: plain TCP today; TLS (a `tokio-rustls` stream
//! split with `tokio::io::split`) implements the same trait next.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A client's byte stream, split into the halves the connection's reader and writer tasks own.
pub trait Transport: Send + 'static {
    type Read: AsyncRead + Unpin + Send + 'static;
    type Write: AsyncWrite + Unpin + Send + 'static;
    fn into_halves(self) -> (Self::Read, Self::Write);
}

impl Transport for TcpStream {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;

    /// Owned halves: no lock between reader and writer (a generic split would take one).
    fn into_halves(self) -> (Self::Read, Self::Write) {
        // Responses are written whole: Nagle would only delay them.
        let _ = self.set_nodelay(true);
        self.into_split()
    }
}

impl Transport for tokio_rustls::server::TlsStream<TcpStream> {
    type Read = tokio::io::ReadHalf<Self>;
    type Write = tokio::io::WriteHalf<Self>;

    /// TLS state is shared by both directions: a split with a lock between them.
    fn into_halves(self) -> (Self::Read, Self::Write) {
        let _ = self.get_ref().0.set_nodelay(true);
        tokio::io::split(self)
    }
}
