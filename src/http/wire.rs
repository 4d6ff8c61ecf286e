//! The HTTP/1.1 server on a bound listener, with one repair on the wire:
//! bytes at or above 0x80 in a request line are percent-encoded before
//! actix-http parses it.
//!
//! Why: some clients (scripts, handhelds, a hand-typed curl) send the UTF-8
//! of `?live_session=蜂蜜专场-1202` unencoded. RFC 3986 does not allow those
//! bytes in a URI, and actix-http's parser (through the `http` crate's
//! `Uri`) refuses them with a bare 400 and an empty body, written before any
//! middleware could turn it into a problem. Percent-encoding them is what a
//! browser does with the same text, so the request then means exactly what
//! its sender meant: the query decoder (`http::query`) reads the UTF-8 back,
//! and bytes that are not UTF-8 become a 400 problem naming the parameter.
//!
//! Only request lines are touched. Header lines and bodies pass unchanged:
//! the wrapper follows each message's framing (`Content-Length`), and after
//! a message with any other framing (`Transfer-Encoding`) it stops rewriting
//! for the rest of that connection rather than guess where the next request
//! line starts.

use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::{HttpService, KeepAlive};
use actix_server::ServerBuilder;
use actix_service::{fn_service, map_config, ServiceFactoryExt};
use actix_web::dev::{AppConfig, Server};
use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::AppState;

/// Serves depot on `listener` with `workers` workers, every connection
/// through [`Utf8RequestLine`]. SIGINT and SIGTERM stop it gracefully
/// (actix-server's own signal handling, as under `HttpServer`).
/// `stop` chooses how the server stops: on OS signals, or only through its handle.
pub fn serve(
    listener: TcpListener,
    workers: usize,
    state: AppState,
    stop: impl FnOnce(ServerBuilder) -> ServerBuilder,
) -> io::Result<Server> {
    let builder = stop(Server::build());
    // Keep-alive connections close when a graceful shutdown starts, rather
    // than hold it up until the shutdown timeout (as HttpServer wires it).
    let shutdown = builder.graceful_shutdown_signal();
    Ok(builder
        .workers(workers)
        .listen("depot", listener, move || {
            let app = super::app(state.clone());
            let shutdown = shutdown.clone();
            fn_service(|io: TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok::<_, DispatchError>((Utf8RequestLine::new(io), peer))
            })
            // actix-web's HttpServer defaults: a second to finish writing
            // an answer before the connection is dropped (so a 413 sent
            // before the whole body was read still reaches the client),
            // half-closed connections allowed.
            .and_then(
                HttpService::build()
                    .graceful_shutdown_signal(move || {
                        let signal = shutdown.clone();
                        async move { signal.notified().await }
                    })
                    .keep_alive(KeepAlive::default())
                    .client_request_timeout(Duration::from_secs(5))
                    .client_disconnect_timeout(Duration::from_secs(1))
                    .h1_allow_half_closed(true)
                    .h1(map_config(app, |_| AppConfig::default())),
            )
        })?
        .run())
}

/// Where in the byte stream of a connection the wrapper is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// In a request line: bytes ≥ 0x80 are percent-encoded.
    RequestLine,
    /// In the header lines of the message; what framing they declare.
    Headers {
        content_length: Option<u64>,
        other_framing: bool,
    },
    /// In a body of this many more bytes.
    Body(u64),
    /// Framing this wrapper does not follow: everything passes unchanged.
    Through,
}

/// The longest header line examined for framing; longer ones pass unread
/// (actix-http refuses oversized heads anyway).
const MAX_LINE: usize = 8 * 1024;

/// A connection whose request lines are made valid URIs (see the module).
pub struct Utf8RequestLine<IO> {
    io: IO,
    position: Position,
    /// The header line being read, for its name and value.
    line: Vec<u8>,
    /// Rewritten bytes not yet handed to the reader.
    pending: Vec<u8>,
    /// How much of `pending` was handed out.
    handed: usize,
}

impl<IO> Utf8RequestLine<IO> {
    pub fn new(io: IO) -> Self {
        Utf8RequestLine {
            io,
            position: Position::RequestLine,
            line: Vec::new(),
            pending: Vec::new(),
            handed: 0,
        }
    }

    /// Rewrites `input` into `self.pending`.
    fn rewrite(&mut self, mut input: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        while !input.is_empty() {
            match self.position {
                Position::Through => {
                    self.pending.extend_from_slice(input);
                    return;
                }
                Position::Body(left) => {
                    let n = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.pending.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    let left = left - n as u64;
                    self.position = if left == 0 {
                        Position::RequestLine
                    } else {
                        Position::Body(left)
                    };
                }
                Position::RequestLine => {
                    let b = input[0];
                    input = &input[1..];
                    if b >= 0x80 {
                        self.pending.extend_from_slice(&[
                            b'%',
                            HEX[(b >> 4) as usize],
                            HEX[(b & 15) as usize],
                        ]);
                    } else {
                        self.pending.push(b);
                    }
                    match b {
                        // An empty line before a request line is allowed
                        // (RFC 9112 §2.2): still before the request line.
                        b'\n' if self.line.is_empty() => {}
                        b'\n' => {
                            self.line.clear();
                            self.position = Position::Headers {
                                content_length: None,
                                other_framing: false,
                            };
                        }
                        b'\r' => {}
                        _ if self.line.is_empty() => self.line.push(b),
                        _ => {}
                    }
                }
                Position::Headers { .. } => {
                    let b = input[0];
                    input = &input[1..];
                    self.pending.push(b);
                    if b != b'\n' {
                        if self.line.len() < MAX_LINE {
                            self.line.push(b);
                        }
                        continue;
                    }
                    self.end_header_line();
                }
            }
        }
    }

    /// A header line ended: note its framing, or end the head.
    fn end_header_line(&mut self) {
        let Position::Headers {
            mut content_length,
            mut other_framing,
        } = self.position
        else {
            return;
        };
        let line = std::mem::take(&mut self.line);
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.is_empty() {
            self.position = match (other_framing, content_length) {
                (true, _) => Position::Through,
                (false, Some(n)) if n > 0 => Position::Body(n),
                _ => Position::RequestLine,
            };
            return;
        }
        if let Some(colon) = line.iter().position(|b| *b == b':') {
            let name = &line[..colon];
            let value = std::str::from_utf8(&line[colon + 1..]).unwrap_or("").trim();
            if name.eq_ignore_ascii_case(b"content-length") {
                match value.parse::<u64>() {
                    Ok(n) => content_length = Some(n),
                    Err(_) => other_framing = true,
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding")
                || name.eq_ignore_ascii_case(b"upgrade")
            {
                other_framing = true;
            }
        }
        self.position = Position::Headers {
            content_length,
            other_framing,
        };
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Utf8RequestLine<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.handed == this.pending.len() {
            this.pending.clear();
            this.handed = 0;
            if this.position == Position::Through {
                return Pin::new(&mut this.io).poll_read(cx, buf);
            }
            let mut raw = [0u8; 8 * 1024];
            let mut read = ReadBuf::new(&mut raw);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                return Poll::Ready(Ok(())); // end of stream
            }
            this.rewrite(read.filled());
        }
        let n = (this.pending.len() - this.handed).min(buf.remaining());
        buf.put_slice(&this.pending[this.handed..this.handed + n]);
        this.handed += n;
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Utf8RequestLine<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(chunks: &[&[u8]]) -> Vec<u8> {
        let mut wire = Utf8RequestLine::new(());
        for chunk in chunks {
            wire.rewrite(chunk);
        }
        wire.pending
    }

    #[test]
    fn utf8_in_a_request_line_is_percent_encoded() {
        let out = rewritten(&["GET /o?s=蜂蜜 HTTP/1.1\r\nHost: x\r\n\r\n".as_bytes()]);
        assert_eq!(
            out,
            b"GET /o?s=%E8%9C%82%E8%9C%9C HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn headers_and_bodies_pass_unchanged_and_the_next_request_is_rewritten() {
        let body = "{\"name\":\"李雷\"}";
        let first = format!(
            "POST /o HTTP/1.1\r\nX-Note: 李\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let second = "GET /o?s=冷 HTTP/1.1\r\n\r\n";
        // Split mid-character and mid-body, as TCP may deliver it.
        let all = format!("{first}{second}");
        let bytes = all.as_bytes();
        let out = rewritten(&[&bytes[..20], &bytes[20..61], &bytes[61..]]);
        let expected = format!("{first}GET /o?s=%E5%86%B7 HTTP/1.1\r\n\r\n");
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn other_framing_stops_rewriting() {
        let input = "POST /o HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n冷\r\n0\r\n\r\nGET /冷 HTTP/1.1\r\n\r\n";
        assert_eq!(rewritten(&[input.as_bytes()]), input.as_bytes());
    }

    #[test]
    fn empty_lines_before_a_request_line_are_kept() {
        let out = rewritten(&[b"\r\nGET /\xff HTTP/1.1\r\nA: \xff\r\n\r\n"]);
        assert_eq!(out, b"\r\nGET /%FF HTTP/1.1\r\nA: \xff\r\n\r\n".to_vec());
    }
}
