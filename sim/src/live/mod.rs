//! zerortt-core over real TCP sockets: `zerortt serve`, `zerortt connect` and `zerortt probe`.
//!
//! This is the only part of the workspace that reads the wall clock and the OS random
//! generator: the core stays sans-I/O and deterministic, and everything here passes it the
//! time ([`now`]) and a ChaCha20 stream seeded from the OS ([`os_seed`]). Sockets are
//! std's, blocking, with a read timeout on every read, and every loop is bounded.
//!
//! Exit statuses shared by the three commands (see [`Failure`]): 0 success, 1 a probe
//! check failed, 2 bad usage or local files, 3 cannot connect, 4 the TLS handshake failed,
//! 5 the peer went silent or closed mid-flight.

pub mod connect;
pub mod driver;
pub mod keylog;
pub mod probe;
pub mod serve;
pub mod session_file;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;
use zerortt_core::identity::CertifiedKey;
use zerortt_core::time::Timestamp;
use zerortt_core::verify::{verify_server_cert, CertError, ServerTrust};

/// Why a live command stopped; each kind has its own exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Bad arguments, unreadable or malformed local files, a port that cannot be bound.
    Usage,
    /// The host name does not resolve, or no TCP connection could be made (refused,
    /// unreachable, connect timeout).
    Connect,
    /// The peer answered but the TLS 1.3 handshake failed: not TLS, no TLS 1.3, an alert,
    /// a certificate that is not trusted.
    Handshake,
    /// The peer closed the connection mid-flight or sent nothing within the timeout.
    Silent,
}

impl Failure {
    /// The process exit status for this failure.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Usage => 2,
            Self::Connect => 3,
            Self::Handshake => 4,
            Self::Silent => 5,
        }
    }
}

/// A failure with a message for people: what happened, where, and what to try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveError {
    /// The kind, which decides the exit status.
    pub kind: Failure,
    /// The message printed after `error: `.
    pub message: String,
}

impl LiveError {
    /// A failure of `kind` with `message`.
    pub fn new(kind: Failure, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Failure::Usage, message)
    }
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LiveError {}

/// The wall clock as the core's [`Timestamp`].
// Real sockets talk to peers that live in real time (ticket ages, certificate validity):
// this module is the one place allowed to read the clock (DESIGN.md, STYLE.md).
#[allow(clippy::disallowed_methods)]
pub fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanos(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

/// A monotonic instant, for deadlines and the timings `connect` prints.
// Same reason as `now`: deadlines on real sockets are wall-clock deadlines.
#[allow(clippy::disallowed_methods)]
pub fn instant() -> std::time::Instant {
    std::time::Instant::now()
}

/// 32 bytes from the OS random generator, to seed a connection's ChaCha20 stream. The
/// probe keeps the seed of the flight it replays: the same seed, session and time make the
/// core produce the same ClientHello byte for byte.
pub fn os_seed() -> Result<[u8; 32], LiveError> {
    use ring::rand::SecureRandom;
    let mut seed = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut seed)
        .map_err(|_| LiveError::usage("the OS random generator failed"))?;
    Ok(seed)
}

/// The core's random source for a seed.
pub fn rng_from_seed(seed: [u8; 32]) -> Box<dyn zerortt_core::rand::Random> {
    use rand_core::SeedableRng;
    Box::new(rand_chacha::ChaCha20Rng::from_seed(seed))
}

/// `HOST:PORT` (`[V6]:PORT` for an IPv6 literal) as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Host name or address literal, without brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Target {
    /// Parses `HOST:PORT`; the message names the argument and the expected form.
    pub fn parse(text: &str) -> Result<Self, LiveError> {
        let bad = |why: &str| {
            LiveError::usage(format!(
                "target '{text}': {why}; expected HOST:PORT, e.g. localhost:4433 or [::1]:4433"
            ))
        };
        let (host, port) = text.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| bad("the port is not a number from 0 to 65535"))?;
        if port == 0 {
            return Err(bad("port 0 cannot be connected to"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    /// Resolves and connects, trying each address until one accepts within `timeout`.
    pub fn dial(&self, timeout: Duration, nodelay: bool) -> Result<TcpStream, LiveError> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| {
                LiveError::new(
                    Failure::Connect,
                    format!("cannot resolve '{}': {e}", self.host),
                )
            })?
            .collect();
        let mut last = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, timeout) {
                Ok(s) => {
                    // Nagle off sends each flight at once (the `--nodelay` of s_client).
                    s.set_nodelay(nodelay).map_err(|e| {
                        LiveError::new(Failure::Connect, format!("{addr}: TCP_NODELAY: {e}"))
                    })?;
                    return Ok(s);
                }
                Err(e) => last = Some((addr, e)),
            }
        }
        Err(match last {
            Some((addr, e)) => {
                let what = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => {
                        "connection refused (nothing listens on that port)".to_owned()
                    }
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => format!(
                        "no answer to the TCP connect within {} ms",
                        timeout.as_millis()
                    ),
                    _ => format!("{e}"),
                };
                LiveError::new(
                    Failure::Connect,
                    format!("cannot connect to {addr}: {what}"),
                )
            }
            None => LiveError::new(
                Failure::Connect,
                format!("'{}' resolved to no address", self.host),
            ),
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Certificates from a PEM file (every `CERTIFICATE` block) or a DER file.
pub fn load_certs(path: &Path) -> Result<Vec<Vec<u8>>, LiveError> {
    let bytes = std::fs::read(path)
        .map_err(|e| LiveError::usage(format!("{}: cannot read: {e}", path.display())))?;
    if !bytes.starts_with(b"-----") && !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Ok(vec![bytes]);
    }
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert =
            cert.map_err(|e| LiveError::usage(format!("{}: bad PEM: {e:?}", path.display())))?;
        out.push(cert.as_ref().to_vec());
    }
    if out.is_empty() {
        return Err(LiveError::usage(format!(
            "{}: no CERTIFICATE block in this PEM file",
            path.display()
        )));
    }
    Ok(out)
}

/// A server identity from a certificate chain file and a key file (PEM or DER); the key
/// must be PKCS#8 (Ed25519 or ECDSA P-256, the schemes the core signs with).
pub fn load_identity(cert: &Path, key: &Path) -> Result<CertifiedKey, LiveError> {
    let chain = load_certs(cert)?;
    let bytes = std::fs::read(key)
        .map_err(|e| LiveError::usage(format!("{}: cannot read: {e}", key.display())))?;
    let pkcs8 = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        match PrivateKeyDer::from_pem_slice(&bytes) {
            Ok(PrivateKeyDer::Pkcs8(k)) => k.secret_pkcs8_der().to_vec(),
            Ok(_) => {
                return Err(LiveError::usage(format!(
                    "{}: the key is not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt`",
                    key.display()
                )))
            }
            Err(e) => {
                return Err(LiveError::usage(format!(
                    "{}: no private key found: {e:?}",
                    key.display()
                )))
            }
        }
    } else {
        bytes
    };
    CertifiedKey::from_der(chain, &pkcs8).map_err(|e| {
        LiveError::usage(format!(
            "{} with {}: {e} (keys: Ed25519 or ECDSA P-256, PKCS#8)",
            cert.display(),
            key.display()
        ))
    })
}

/// Where Linux distributions and macOS keep their CA bundle.
const SYSTEM_CA_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// How a client trusts the server: `--ca FILE`, `--insecure`, or else the system bundle.
pub fn trust(ca: Option<&Path>, insecure: bool) -> Result<ServerTrust, LiveError> {
    if insecure {
        return Ok(ServerTrust::InsecureAcceptAny);
    }
    if let Some(path) = ca {
        return Ok(ServerTrust::Anchors(usable_anchors(load_certs(path)?)));
    }
    for bundle in SYSTEM_CA_BUNDLES {
        let path = Path::new(bundle);
        if path.exists() {
            let roots = usable_anchors(load_certs(path)?);
            if !roots.is_empty() {
                return Ok(ServerTrust::Anchors(roots));
            }
        }
    }
    Err(LiveError::usage(
        "no CA bundle found in the usual places; pass --ca FILE (PEM or DER) or --insecure",
    ))
}

/// Drops roots the verifier cannot use as trust anchors: the core refuses a whole anchor
/// list if one member does not parse (`CertError::InvalidTrustAnchor`), and system bundles
/// may hold certificates webpki does not accept.
fn usable_anchors(roots: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    roots
        .into_iter()
        .filter(|root| {
            // An empty leaf fails after the anchors are parsed, so the error says which.
            let probe = verify_server_cert(
                &ServerTrust::Anchors(vec![root.clone()]),
                &[Vec::new()],
                "localhost",
                Timestamp::from_secs(0),
            );
            !matches!(probe, Err(CertError::InvalidTrustAnchor(_)))
        })
        .collect()
}

/// Reads the bytes to send from `path`, bounded so a wrong path (a device, a huge file)
/// cannot make the tool allocate without limit.
pub fn read_payload(path: &Path, what: &str, max_bytes: usize) -> Result<Vec<u8>, LiveError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| LiveError::usage(format!("{what} {}: cannot open: {e}", path.display())))?;
    let mut out = Vec::new();
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| LiveError::usage(format!("{what} {}: cannot read: {e}", path.display())))?;
    if out.len() > max_bytes {
        return Err(LiveError::usage(format!(
            "{what} {}: larger than {max_bytes} bytes",
            path.display()
        )));
    }
    Ok(out)
}

/// Most delay `parse_delay` accepts: the probe waits this long at most.
pub const DELAY_MAX: Duration = Duration::from_secs(600);

/// Parses a delay with its unit (`500ms`, `11s`, `2m`), at most [`DELAY_MAX`]; `flag` names
/// the option in messages.
pub fn parse_delay(text: &str, flag: &str) -> Result<Duration, LiveError> {
    let bad = || {
        LiveError::usage(format!(
            "{flag} '{text}': expected a number with a unit (ms, s or m), e.g. 500ms or 11s, \
             at most 10m"
        ))
    };
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let value: u64 = digits.parse().map_err(|_| bad())?;
    let d = match &text[digits.len()..] {
        "ms" => Duration::from_millis(value),
        "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        _ => return Err(bad()),
    };
    if d > DELAY_MAX {
        return Err(bad());
    }
    Ok(d)
}

/// Parses a comma-separated ALPN list (`h2,http/1.1`).
pub fn parse_alpn(list: Option<&str>) -> Result<Vec<Vec<u8>>, LiveError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for p in list.split(',') {
        if p.is_empty() || p.len() > 255 {
            return Err(LiveError::usage(format!(
                "--alpn '{list}': each protocol must be 1 to 255 bytes, comma-separated (h2,http/1.1)"
            )));
        }
        out.push(p.as_bytes().to_vec());
    }
    Ok(out)
}

/// Bytes as text for a terminal: printable ASCII as is, the rest escaped.
pub fn printable(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_host_colon_port_and_bad_forms_name_the_expected_one() {
        assert_eq!(
            Target::parse("localhost:4433").unwrap(),
            Target {
                host: "localhost".into(),
                port: 4433
            }
        );
        assert_eq!(Target::parse("[::1]:443").unwrap().host, "::1");
        for bad in ["localhost", "localhost:http", ":443", "h:0", "h:70000"] {
            let e = Target::parse(bad).unwrap_err();
            assert_eq!(e.kind, Failure::Usage);
            assert!(e.message.contains("expected HOST:PORT"), "{}", e.message);
        }
    }

    #[test]
    fn exit_statuses_are_distinct_per_failure_kind() {
        let codes = [
            Failure::Usage,
            Failure::Connect,
            Failure::Handshake,
            Failure::Silent,
        ]
        .map(Failure::exit_code);
        assert_eq!(codes, [2, 3, 4, 5]);
    }

    #[test]
    fn a_delay_needs_a_unit_and_stays_under_ten_minutes() {
        assert_eq!(
            parse_delay("500ms", "--d").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_delay("11s", "--d").unwrap(), Duration::from_secs(11));
        assert_eq!(parse_delay("2m", "--d").unwrap(), Duration::from_secs(120));
        for bad in ["11", "s", "1h", "11m", "-1s", "1.5s"] {
            let e = parse_delay(bad, "--d").unwrap_err();
            assert!(
                e.message.starts_with(&format!("--d '{bad}'")),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn an_alpn_list_splits_on_commas_and_refuses_empty_names() {
        assert_eq!(
            parse_alpn(Some("h2,http/1.1")).unwrap(),
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(parse_alpn(Some("h2,,x")).is_err());
    }
}
