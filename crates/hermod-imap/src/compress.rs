//! COMPRESS=DEFLATE (RFC 4978): raw deflate both ways, with a sync flush after each burst
//! of responses so the client can decode everything it was sent.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct Deflate<S> {
    inner: S,
    dec: Decompress,
    enc: Compress,
    rbuf: Box<[u8]>,
    rpos: usize,
    rlen: usize,
    eof: bool,
    /// Compressed bytes not yet written to `inner`.
    wbuf: Vec<u8>,
    /// Data was compressed since the last sync flush.
    dirty: bool,
}

impl<S> Deflate<S> {
    pub fn new(inner: S) -> Deflate<S> {
        Deflate {
            inner,
            dec: Decompress::new(false),
            enc: Compress::new(Compression::default(), false),
            rbuf: vec![0; 16 * 1024].into_boxed_slice(),
            rpos: 0,
            rlen: 0,
            eof: false,
            wbuf: Vec::with_capacity(16 * 1024),
            dirty: false,
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("COMPRESS: {e}"))
}

impl<S: AsyncRead + Unpin> AsyncRead for Deflate<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            let (in_before, out_before) = (this.dec.total_in(), this.dec.total_out());
            let status = this
                .dec
                .decompress(
                    &this.rbuf[this.rpos..this.rlen],
                    buf.initialize_unfilled(),
                    FlushDecompress::None,
                )
                .map_err(invalid)?;
            let consumed = (this.dec.total_in() - in_before) as usize;
            let produced = (this.dec.total_out() - out_before) as usize;
            this.rpos += consumed;
            buf.advance(produced);
            if produced > 0 || status == Status::StreamEnd {
                return Poll::Ready(Ok(()));
            }
            if this.rpos < this.rlen && consumed > 0 {
                continue;
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            if this.rpos < this.rlen {
                // Input left that the decoder will not take without more: keep it.
                this.rbuf.copy_within(this.rpos..this.rlen, 0);
                this.rlen -= this.rpos;
            } else {
                this.rlen = 0;
            }
            this.rpos = 0;
            if this.rlen == this.rbuf.len() {
                return Poll::Ready(Err(invalid("undecodable input")));
            }
            let mut rb = ReadBuf::new(&mut this.rbuf[this.rlen..]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            if n == 0 {
                this.eof = true;
            }
            this.rlen += n;
        }
    }
}

impl<S: AsyncWrite + Unpin> Deflate<S> {
    fn compress(&mut self, mut data: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            if self.wbuf.capacity() - self.wbuf.len() < 8 * 1024 {
                self.wbuf.reserve(32 * 1024);
            }
            let before = self.enc.total_in();
            self.enc
                .compress_vec(data, &mut self.wbuf, flush)
                .map_err(invalid)?;
            data = &data[(self.enc.total_in() - before) as usize..];
            // Done when all input is taken and the output did not fill the space given.
            if data.is_empty() && self.wbuf.len() < self.wbuf.capacity() {
                return Ok(());
            }
        }
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.wbuf.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.wbuf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.wbuf.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deflate<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.wbuf.len() > 256 * 1024 {
            ready!(this.poll_drain(cx))?;
        }
        this.compress(data, FlushCompress::None)?;
        this.dirty = true;
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.dirty {
            this.compress(&[], FlushCompress::Sync)?;
            this.dirty = false;
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn round_trip_with_flushes() {
        let (a, b) = tokio::io::duplex(1024);
        let mut a = Deflate::new(a);
        let mut b = Deflate::new(b);
        let text: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let sent = text.clone();
        let writer = tokio::spawn(async move {
            a.write_all(b"* OK first\r\n").await.unwrap();
            a.flush().await.unwrap();
            a.write_all(&sent).await.unwrap();
            a.flush().await.unwrap();
            a.shutdown().await.unwrap();
        });
        let mut first = [0u8; 12];
        b.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"* OK first\r\n");
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, text);
        writer.await.unwrap();
    }
}
