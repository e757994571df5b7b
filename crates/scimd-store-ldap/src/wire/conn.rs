//! One LDAP connection of the read path: connected (TCP, `ldaps://` or StartTLS), bound with
//! the domain's credential, then carrying one search at a time, its replies read by the task
//! that sent it (no driver task, no channel between them).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ldap3::LdapResult;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::ber::{self, Malformed};
use super::filter::BadFilter;
use super::message::{self, Response, Search};

/// The most one message may take: past it the connection is dropped (a search's replies are
/// one message per entry, and entries are small).
const MAX_MESSAGE: usize = 64 << 20;

/// Why an operation on a connection failed.
#[derive(Debug)]
pub(crate) enum Error {
    /// The connection failed or closed: it is dropped, and an operation may be tried again on
    /// a new one.
    Io(io::Error),
    /// No reply within the operation timeout (the connection is dropped).
    Timeout,
    /// The directory sent what is not LDAP (the connection is dropped).
    Malformed,
    /// The directory refused the bind or StartTLS (what was refused, and the result).
    Refused(String, Box<LdapResult>),
    /// The URL or TLS setup is wrong.
    Setup(String),
    /// The filter is not RFC 4515 (nothing was sent).
    Filter(BadFilter),
}

impl Error {
    /// Whether the connection is gone (or hung), so that another may succeed.
    pub(crate) fn is_connection(&self) -> bool {
        matches!(self, Error::Io(_) | Error::Timeout | Error::Malformed)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<Malformed> for Error {
    fn from(_: Malformed) -> Error {
        Error::Malformed
    }
}

/// Where to connect: `ldap://host[:port]` (389) or `ldaps://host[:port]` (636), with an
/// optional trailing `/` (an LDAP URL's DN and other parts are not used here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: bool,
}

impl Address {
    pub(crate) fn parse(url: &str) -> Result<Address, Error> {
        let bad = |why: &str| Error::Setup(format!("the directory URL {url} {why}"));
        let (tls, rest) = if let Some(r) = strip_prefix_ignore_case(url, "ldaps://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ignore_case(url, "ldap://") {
            (false, r)
        } else {
            return Err(bad("is neither ldap:// nor ldaps://"));
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("has an unclosed IPv6 address"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("names no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("has a port that is not a number below 65536"))?,
            None if tls => 636,
            None => 389,
        };
        Ok(Address { host: host.to_owned(), port, tls })
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// How to open a connection.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) address: Address,
    pub(crate) start_tls: bool,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) bind_dn: String,
    pub(crate) bind_secret: String,
    pub(crate) timeout: Duration,
}

enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }
}

/// A bound connection.
pub(crate) struct Conn {
    stream: Stream,
    /// Bytes read and not yet taken: `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    last_id: i32,
    timeout: Duration,
}

/// One page of a search: the entries (each a `SearchResultEntry`'s content, in order), the
/// result, and the paging cookie if the directory sent the control.
pub(crate) struct Page<T> {
    pub(crate) entries: Vec<T>,
    pub(crate) result: LdapResult,
    pub(crate) cookie: Option<Vec<u8>>,
}

/// The entries of a search past a bound: the search was abandoned.
pub(crate) struct Cut;

impl Conn {
    fn new(stream: Stream, timeout: Duration) -> Conn {
        Conn { stream, buf: vec![0; 16 << 10], start: 0, end: 0, last_id: 0, timeout }
    }

    /// Connects, upgrades with StartTLS where asked, and binds.
    pub(crate) async fn open(s: &Settings) -> Result<Conn, Error> {
        let connect = TcpStream::connect((s.address.host.as_str(), s.address.port));
        let tcp = match tokio::time::timeout(s.timeout, connect).await {
            Ok(r) => r?,
            Err(_) => return Err(Error::Timeout),
        };
        tcp.set_nodelay(true)?;
        let stream = if s.address.tls {
            Stream::Tls(Box::new(tls(s, tcp).await?))
        } else if s.start_tls {
            let mut plain = Conn::new(Stream::Tcp(tcp), s.timeout);
            let id = plain.next_id();
            plain.send(&message::start_tls(id)).await?;
            let res = plain.reply(id, message::EXTENDED_RESPONSE).await?;
            if res.rc != 0 {
                return Err(Error::Refused("StartTLS".to_owned(), Box::new(res)));
            }
            // Nothing may come between the response and the TLS handshake.
            match plain.stream {
                Stream::Tcp(tcp) if plain.start == plain.end => Stream::Tls(Box::new(tls(s, tcp).await?)),
                _ => return Err(Error::Malformed),
            }
        } else {
            Stream::Tcp(tcp)
        };
        let mut conn = Conn::new(stream, s.timeout);
        let id = conn.next_id();
        conn.send(&message::bind(id, &s.bind_dn, &s.bind_secret)).await?;
        let res = conn.reply(id, message::BIND_RESPONSE).await?;
        if res.rc != 0 {
            return Err(Error::Refused(format!("binding as {}", s.bind_dn), Box::new(res)));
        }
        Ok(conn)
    }

    fn next_id(&mut self) -> i32 {
        self.last_id = if self.last_id >= i32::MAX - 1 { 1 } else { self.last_id + 1 };
        self.last_id
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match tokio::time::timeout(self.timeout, self.stream.write_all(bytes)).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(Error::Timeout),
        }
    }

    /// The next whole message: the range of `buf` it takes.
    async fn message(&mut self) -> Result<std::ops::Range<usize>, Error> {
        loop {
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            }
            // What the head of the buffer needs: the whole message, or its header (a tag and
            // at most 9 bytes of length).
            let need = match ber::header(&self.buf[self.start..self.end])? {
                Some((_, head, len)) => {
                    let total =
                        head.checked_add(len).filter(|t| *t <= MAX_MESSAGE).ok_or(Error::Malformed)?;
                    if self.end - self.start >= total {
                        let range = self.start..self.start + total;
                        self.start += total;
                        return Ok(range);
                    }
                    total
                }
                None => 10,
            };
            if self.start + need > self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if need > self.buf.len() {
                    self.buf.resize(need, 0);
                }
            }
            let read =
                match tokio::time::timeout(self.timeout, self.stream.read(&mut self.buf[self.end..])).await {
                    Ok(r) => r?,
                    Err(_) => return Err(Error::Timeout),
                };
            if read == 0 {
                return Err(Error::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            self.end += read;
        }
    }

    /// The next message of operation `id`; a Notice of Disconnection (RFC 4511 §4.4.1) or the
    /// end of the stream is a connection error. Replies to other (abandoned) operations are
    /// skipped.
    async fn next(&mut self, id: i32) -> Result<std::ops::Range<usize>, Error> {
        loop {
            let range = self.message().await?;
            let r = message::response(&self.buf[range.clone()])?;
            if r.id == id {
                return Ok(range);
            }
            if r.id == 0 {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the directory closed the connection (notice of disconnection)",
                )));
            }
        }
    }

    /// The result of the reply `op` to operation `id`.
    async fn reply(&mut self, id: i32, op: u8) -> Result<LdapResult, Error> {
        let range = self.next(id).await?;
        let r = message::response(&self.buf[range])?;
        if r.op != op {
            return Err(Error::Malformed);
        }
        Ok(message::result(r.content)?)
    }

    /// Runs one search (one page of it, with the paging control), turning each entry into a
    /// `T` with `entry`; past `cap` entries the search is abandoned and `Err(Ok(Cut))` returned
    /// (this connection must then be dropped: replies already sent may follow).
    pub(crate) async fn search<T>(
        &mut self,
        s: &Search<'_>,
        cap: Option<usize>,
        mut entry: impl FnMut(&[u8]) -> Result<T, Malformed>,
    ) -> Result<Result<Page<T>, Cut>, Error> {
        let id = self.next_id();
        let request = message::search(id, s).map_err(Error::Filter)?;
        self.send(&request).await?;
        let mut entries = Vec::new();
        loop {
            let range = self.next(id).await?;
            let r: Response<'_> = message::response(&self.buf[range])?;
            match r.op {
                message::SEARCH_RESULT_ENTRY => {
                    if cap.is_some_and(|c| entries.len() >= c) {
                        let abandon = message::abandon(self.next_id(), id);
                        let _ = self.send(&abandon).await;
                        return Ok(Err(Cut));
                    }
                    entries.push(entry(r.content)?);
                }
                message::SEARCH_RESULT_DONE => {
                    let result = message::result(r.content)?;
                    let cookie = match r.controls {
                        Some(c) => message::paged_cookie(c)?.map(<[u8]>::to_vec),
                        None => None,
                    };
                    // A reply of megabytes (a group's members) leaves no buffer that size behind.
                    if self.start == self.end && self.buf.len() > 1 << 20 {
                        self.buf = vec![0; 16 << 10];
                        self.start = 0;
                        self.end = 0;
                    }
                    return Ok(Ok(Page { entries, result, cookie }));
                }
                message::SEARCH_RESULT_REFERENCE | message::INTERMEDIATE_RESPONSE => {}
                _ => return Err(Error::Malformed),
            }
        }
    }
}

async fn tls(s: &Settings, tcp: TcpStream) -> Result<TlsStream<TcpStream>, Error> {
    let config = s.tls.clone().ok_or_else(|| Error::Setup("TLS is asked for but not set up".to_owned()))?;
    let name = rustls::pki_types::ServerName::try_from(s.address.host.clone())
        .map_err(|e| Error::Setup(format!("{} is no TLS server name: {e}", s.address.host)))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    match tokio::time::timeout(s.timeout, connector.connect(name, tcp)).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(Error::Timeout),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Messages come out whole whatever the reads cut them into: byte by byte, several in
    /// one read, and one larger than the buffer (which grows for it).
    #[tokio::test]
    async fn messages_are_read_whole_however_the_stream_cuts_them() {
        use super::super::ber::{OCTET_STRING, SEQUENCE, Writer};
        let message = |id: i64, size: usize| {
            let mut w = Writer::default();
            w.nest(SEQUENCE, |w| {
                w.integer(super::super::ber::INTEGER, id);
                w.bytes(OCTET_STRING, &vec![b'x'; size]);
            });
            w.into_bytes()
        };
        let sent = [message(1, 3), message(2, 200), message(3, 40_000), message(4, 0), message(5, 20_000)];
        let want = sent.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        let all: Vec<u8> = sent.concat();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            // The first message a byte at a time, then the rest in uneven chunks.
            let first = sent[0].len();
            for b in &all[..first] {
                s.write_all(&[*b]).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            for chunk in all[first..].chunks(7_777) {
                s.write_all(chunk).await.unwrap();
            }
            s
        });
        let tcp = TcpStream::connect(at).await.unwrap();
        let mut conn = Conn::new(Stream::Tcp(tcp), Duration::from_secs(5));
        for m in &want {
            let range = conn.message().await.unwrap();
            assert_eq!(&conn.buf[range], &m[..]);
        }
        assert!(conn.buf.len() >= 40_000);
        drop(server.await.unwrap());
        assert!(matches!(conn.message().await, Err(Error::Io(_))));
    }

    /// RFC 4516 §2: the scheme, host and port of an LDAP URL; 389 and 636 by default.
    #[test]
    fn urls_give_the_host_port_and_tls() {
        let at = |host: &str, port, tls| Address { host: host.to_owned(), port, tls };
        for (url, want) in [
            ("ldap://127.0.0.1:3890", at("127.0.0.1", 3890, false)),
            ("ldap://dir.example.com", at("dir.example.com", 389, false)),
            ("ldaps://dir.example.com/", at("dir.example.com", 636, true)),
            ("LDAPS://dir.example.com:1636/dc=x??sub", at("dir.example.com", 1636, true)),
            ("ldap://[::1]:3890/", at("::1", 3890, false)),
            ("ldaps://[fe80::1]", at("fe80::1", 636, true)),
        ] {
            assert_eq!(Address::parse(url).ok(), Some(want), "{url}");
        }
        for (url, why) in [
            ("http://dir.example.com", "neither"),
            ("ldapi://%2Fvar%2Frun%2Fslapd", "neither"),
            ("ldap://", "no host"),
            ("ldap://:389", "no host"),
            ("ldap://dir:99999", "port"),
            ("ldap://dir:x", "port"),
            ("ldap://[::1", "IPv6"),
        ] {
            match Address::parse(url) {
                Err(Error::Setup(m)) => assert!(m.contains(why) && m.contains(url), "{url}: {m}"),
                other => panic!("{url}: {:?}", other.ok()),
            }
        }
    }
}
