//! Webhooks as rules: which URLs depot may POST to, the signature it sends,
//! and when a failed delivery is tried again.
//!
//! # Where depot may send
//!
//! A merchant's webhook must not turn depot into a way into the network it
//! runs in (server-side request forgery). So:
//!
//! - `https://` to a public host, named or as an IP literal;
//! - `http://` only to the loopback interface (`127.0.0.0/8`, `[::1]`,
//!   `localhost`): a receiver on the same machine, for tests and tours;
//! - never a private, shared (CGNAT), link-local, unspecified, multicast,
//!   documentation or otherwise special-purpose address (RFC 6890's
//!   registries, RFC 1918, RFC 6598, RFC 3927, RFC 4193, RFC 4291).
//!
//! IP literals are checked when the webhook is registered. A host name is
//! checked where it matters, at send time ([`check_resolved`]): the
//! addresses it resolves to are the ones depot connects to, so a name that
//! later resolves to a private address (DNS rebinding) is refused then. A
//! public name that resolves to loopback is refused too: loopback is only
//! for a URL that says so.
//!
//! # The signature
//!
//! `Depot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//! — HMAC as RFC 2104 defines it, over SHA-256 (FIPS 180-4), with the
//! webhook's secret as the key. The time is signed with the body so that a
//! receiver can refuse old deliveries replayed to it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The events depot sends, by name.
pub const EVENTS: &[&str] = &[
    "order.packed",
    "parcel.packed",
    "order.dispatched",
    "order.delivered",
    "parcel.handed_over",
    "parcel.in_transit",
    "parcel.delivered",
    "parcel.failed_delivery",
    "parcel.returned_to_sender",
    "return.received",
    "return.inspected",
];

/// Secrets are this many characters long at least, and at most [`MAX_SECRET`].
pub const MIN_SECRET: usize = 16;
pub const MAX_SECRET: usize = 256;
/// The longest URL depot takes.
pub const MAX_URL: usize = 2048;
/// The longest wait between two attempts, however many failed.
pub const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Https,
    Http,
}

/// How the URL names its host, which decides what it may resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// `localhost` or a loopback literal: must reach loopback.
    Loopback,
    /// A public IP literal.
    PublicIp,
    /// A host name: must resolve to public addresses only.
    Name,
}

/// A webhook URL that passed [`WebhookUrl::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// The URL as given (trimmed), which is what is stored and requested.
    pub url: String,
    pub scheme: Scheme,
    /// The host without IPv6 brackets or a trailing dot, in lower case.
    pub host: String,
    pub port: u16,
    pub host_kind: HostKind,
}

/// What an IP address is, for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpClass {
    Public,
    Loopback,
    /// Never sent to; the reason names the range.
    Refused(&'static str),
}

impl WebhookUrl {
    /// Parses and checks a webhook URL. The parser is the `http` crate's,
    /// the one the HTTP client uses, so that what is checked is what is
    /// connected to.
    pub fn parse(raw: &str) -> Result<WebhookUrl, String> {
        let url = raw.trim();
        if url.is_empty() {
            return Err("must not be empty".into());
        }
        if url.len() > MAX_URL {
            return Err(format!("must be at most {MAX_URL} bytes"));
        }
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("must not contain spaces or control characters".into());
        }
        if !url.is_ascii() {
            return Err(
                "must be ASCII: percent-encode other characters and write the host in punycode"
                    .into(),
            );
        }
        if url.contains('#') {
            return Err("must not have a fragment (#…)".into());
        }
        let uri: http::Uri = url
            .parse()
            .map_err(|_| "is not a URL (expected https://host/path)".to_string())?;
        let scheme = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("https") => Scheme::Https,
            Some("http") => Scheme::Http,
            _ => return Err("must start with https:// (or http:// to a loopback address)".into()),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| "must name a host".to_string())?;
        // user:password@host: kept out (credentials in a URL are logged
        // and shown; some parsers read the host differently).
        if authority.as_str().contains('@') {
            return Err("must not carry a user name or password".into());
        }
        let raw_host = authority.host();
        let host = raw_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if host.is_empty() {
            return Err("must name a host".into());
        }
        let port = authority.port_u16().unwrap_or(match scheme {
            Scheme::Https => 443,
            Scheme::Http => 80,
        });
        if port == 0 {
            return Err("must not use port 0".into());
        }
        let host_kind = match host.parse::<IpAddr>() {
            Ok(ip) => match classify_ip(ip) {
                IpClass::Public => HostKind::PublicIp,
                IpClass::Loopback => HostKind::Loopback,
                IpClass::Refused(range) => {
                    return Err(format!("must not point at {range} address {ip}"))
                }
            },
            Err(_) if host == "localhost" || host.ends_with(".localhost") => HostKind::Loopback,
            Err(_) => {
                // 2130706433, 0x7f.1, 127.1: IPv4 in forms resolvers accept
                // but a reader would not take for an address (a host whose
                // last label is a number is an IPv4 address, as the WHATWG
                // URL standard's "ends in a number" check has it).
                let last = host.rsplit('.').next().unwrap_or_default();
                let numeric = !last.is_empty() && last.chars().all(|c| c.is_ascii_digit())
                    || last
                        .strip_prefix("0x")
                        .is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
                if numeric {
                    return Err("must write an IPv4 address as four decimal numbers".into());
                }
                if !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
                {
                    return Err("must name its host in ASCII (punycode for other scripts)".into());
                }
                HostKind::Name
            }
        };
        if scheme == Scheme::Http && host_kind != HostKind::Loopback {
            return Err(
                "must use https://; http:// is only for loopback (127.0.0.1, [::1], localhost)"
                    .into(),
            );
        }
        Ok(WebhookUrl {
            url: url.to_string(),
            scheme,
            host,
            port,
            host_kind,
        })
    }
}

/// The class of an address by the IANA special-purpose registries (RFC 6890
/// and their later entries).
pub fn classify_ip(ip: IpAddr) -> IpClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> IpClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        (127, _, _) => IpClass::Loopback,
        (0, _, _) => IpClass::Refused("an unspecified (0.0.0.0/8, RFC 1122)"),
        (10, _, _) => IpClass::Refused("a private (10.0.0.0/8, RFC 1918)"),
        (172, 16..=31, _) => IpClass::Refused("a private (172.16.0.0/12, RFC 1918)"),
        (192, 168, _) => IpClass::Refused("a private (192.168.0.0/16, RFC 1918)"),
        (100, 64..=127, _) => IpClass::Refused("a shared CGNAT (100.64.0.0/10, RFC 6598)"),
        (169, 254, _) => IpClass::Refused("a link-local (169.254.0.0/16, RFC 3927)"),
        (192, 0, 0) => IpClass::Refused("an IETF protocol (192.0.0.0/24, RFC 6890)"),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => {
            IpClass::Refused("a documentation (RFC 5737)")
        }
        (198, 18..=19, _) => IpClass::Refused("a benchmarking (198.18.0.0/15, RFC 2544)"),
        (224..=239, _, _) => IpClass::Refused("a multicast (224.0.0.0/4, RFC 5771)"),
        (240..=255, _, _) => IpClass::Refused("a reserved or broadcast (240.0.0.0/4, RFC 1112)"),
        _ => IpClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> IpClass {
    if ip.is_loopback() {
        return IpClass::Loopback;
    }
    if ip.is_unspecified() {
        return IpClass::Refused("the unspecified (::, RFC 4291)");
    }
    // IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) and NAT64
    // (64:ff9b::/96, RFC 6052) addresses reach the IPv4 address inside.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return classify_v4(v4);
    }
    match s[0] {
        0xfe80..=0xfebf => IpClass::Refused("a link-local (fe80::/10, RFC 4291)"),
        0xfec0..=0xfeff => IpClass::Refused("a site-local (fec0::/10, RFC 3879)"),
        0xfc00..=0xfdff => IpClass::Refused("a unique local (fc00::/7, RFC 4193)"),
        0xff00..=0xffff => IpClass::Refused("a multicast (ff00::/8, RFC 4291)"),
        0x2001 if s[1] == 0x0db8 => IpClass::Refused("a documentation (2001:db8::/32, RFC 3849)"),
        // ::/8 holds the deprecated IPv4-compatible addresses and other
        // reserved ones; 100::/64 discards (RFC 6666).
        0x0000 => IpClass::Refused("a reserved (::/8, RFC 4291)"),
        0x0100 if s[1..4] == [0, 0, 0] => IpClass::Refused("a discard (100::/64, RFC 6666)"),
        _ => IpClass::Public,
    }
}

/// Whether depot may connect to `addr`, one of the addresses the webhook's
/// host resolved to: a loopback URL only to loopback, any other only to
/// public addresses.
pub fn check_resolved(url: &WebhookUrl, addr: IpAddr) -> Result<(), String> {
    match (url.host_kind, classify_ip(addr)) {
        (HostKind::Loopback, IpClass::Loopback) => Ok(()),
        (HostKind::Loopback, _) => Err(format!(
            "{} resolved to {addr}, which is not a loopback address",
            url.host
        )),
        (_, IpClass::Public) => Ok(()),
        (_, IpClass::Loopback) => Err(format!(
            "{} resolved to the loopback address {addr}; only a loopback URL may reach loopback",
            url.host
        )),
        (_, IpClass::Refused(range)) => Err(format!(
            "{} resolved to {range} address {addr}; depot does not send there",
            url.host
        )),
    }
}

/// A webhook secret: 16 to 256 characters, no control characters. Kept as
/// given (no trimming: the receiver holds the same bytes).
pub fn parse_secret(raw: &str) -> Result<String, String> {
    let n = raw.chars().count();
    if !(MIN_SECRET..=MAX_SECRET).contains(&n) {
        return Err(format!(
            "must be {MIN_SECRET} to {MAX_SECRET} characters (it has {n})"
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(raw.to_string())
}

/// HMAC-SHA256 of `message` under `key` (RFC 2104 §2, with SHA-256's block
/// size B = 64 bytes and output L = 32 bytes):
/// `H((K' ⊕ opad) ‖ H((K' ⊕ ipad) ‖ message))`, where K' is the key padded
/// with zeros to B bytes, or first hashed when longer than B.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut padded = [0u8; BLOCK];
    if key.len() > BLOCK {
        padded[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        padded[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = padded.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = padded.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// The `Depot-Signature` header value of `body` sent at Unix time `t`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mac = hmac_sha256(secret.as_bytes(), format!("{t}.{body}").as_bytes());
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// How long to wait after the `failures`-th failed attempt (1 for the
/// first): `base · 2^(failures−1)`, at most [`MAX_BACKOFF`], of which a
/// random half (`jitter` in 0..1) is taken off, so that the retries of many
/// deliveries that failed together ("equal jitter") spread out.
pub fn backoff(base: Duration, failures: u32, jitter: f64) -> Duration {
    let exponent = failures.saturating_sub(1).min(30);
    let full = base
        .saturating_mul(1u32 << exponent)
        .min(MAX_BACKOFF)
        .max(Duration::from_millis(1));
    let jitter = jitter.clamp(0.0, 1.0);
    full.mul_f64(1.0 - jitter / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_vectors() {
        // RFC 4231 §4.2, test case 1.
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // §4.3, test case 2: a key shorter than the block.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // §4.7, test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn the_signature_signs_time_and_body() {
        let body = r#"{"id":"whd_1","event":"parcel.packed"}"#;
        let sig = signature("s3cret-s3cret-16", 1_764_000_000, body);
        let expected = hex(&hmac_sha256(
            b"s3cret-s3cret-16",
            format!("1764000000.{body}").as_bytes(),
        ));
        assert_eq!(sig, format!("t=1764000000,v1={expected}"));
        assert_ne!(sig, signature("s3cret-s3cret-16", 1_764_000_001, body));
        assert_ne!(sig, signature("s3cret-s3cret-17", 1_764_000_000, body));
    }

    #[test]
    fn https_to_public_hosts_and_http_to_loopback_are_accepted() {
        let u = WebhookUrl::parse("https://hooks.example.com/depot?shop=蜂蜜").unwrap_err();
        assert!(u.contains("percent-encode"), "{u}");
        assert!(WebhookUrl::parse("https://cafe.be/%E8%9C%82").is_ok());
        let u = WebhookUrl::parse("https://hooks.example.com/depot?shop=1").unwrap();
        assert_eq!(
            (u.scheme, u.port, u.host_kind),
            (Scheme::Https, 443, HostKind::Name)
        );
        assert_eq!(u.host, "hooks.example.com");
        let u = WebhookUrl::parse("https://8.8.8.8:8443/x").unwrap();
        assert_eq!((u.port, u.host_kind), (8443, HostKind::PublicIp));
        for ok in [
            "http://127.0.0.1:9000/hook",
            "http://127.8.9.10/",
            "http://[::1]:8080/hook",
            "http://localhost:3000/",
            "HTTP://LOCALHOST./x",
            "https://127.0.0.1/",
        ] {
            let u = WebhookUrl::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(u.host_kind, HostKind::Loopback, "{ok}");
        }
        assert_eq!(
            WebhookUrl::parse("http://[::1]:8080/hook").unwrap().host,
            "::1"
        );
    }

    #[test]
    fn private_special_and_malformed_urls_are_refused() {
        for bad in [
            "http://hooks.example.com/",
            "http://8.8.8.8/",
            "https://10.0.0.5/",
            "https://172.16.0.1/",
            "https://172.31.255.255/",
            "https://192.168.1.10/",
            "https://100.64.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
            "https://192.0.2.1/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[ff02::1]/",
            "https://[::]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[64:ff9b::a00:1]/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://127.1/",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/#frag",
            "https://hooks.example.com/a b",
            "ftp://hooks.example.com/",
            "hooks.example.com/path",
            "https://",
            "",
            "https://hooks.example.com:0/",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad} was accepted");
        }
        assert!(WebhookUrl::parse(&format!("https://a.example/{}", "x".repeat(MAX_URL))).is_err());
    }

    #[test]
    fn addresses_are_classified_by_the_special_purpose_registries() {
        let class = |s: &str| classify_ip(s.parse().unwrap());
        assert_eq!(class("8.8.8.8"), IpClass::Public);
        assert_eq!(class("172.32.0.1"), IpClass::Public);
        assert_eq!(class("100.128.0.1"), IpClass::Public);
        assert_eq!(class("2606:4700::1111"), IpClass::Public);
        assert_eq!(class("127.0.0.1"), IpClass::Loopback);
        assert_eq!(class("::1"), IpClass::Loopback);
        assert_eq!(class("::ffff:127.0.0.1"), IpClass::Loopback);
        for refused in [
            "10.1.2.3",
            "100.127.255.255",
            "169.254.0.1",
            "192.168.0.1",
            "198.18.0.1",
            "239.255.255.250",
            "fe80::1",
            "fc00::1",
            "2001:db8::1",
            "::ffff:192.168.0.1",
            "::",
        ] {
            assert!(
                matches!(class(refused), IpClass::Refused(_)),
                "{refused} is not refused"
            );
        }
    }

    #[test]
    fn resolved_addresses_must_match_the_kind_of_url() {
        let named = WebhookUrl::parse("https://hooks.example.com/").unwrap();
        let local = WebhookUrl::parse("http://localhost:9000/").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(check_resolved(&named, ip("93.184.215.14")).is_ok());
        // DNS rebinding: the name now points inside.
        assert!(check_resolved(&named, ip("10.0.0.7")).is_err());
        assert!(check_resolved(&named, ip("169.254.169.254")).is_err());
        assert!(check_resolved(&named, ip("127.0.0.1")).is_err());
        assert!(check_resolved(&local, ip("127.0.0.1")).is_ok());
        assert!(check_resolved(&local, ip("::1")).is_ok());
        assert!(check_resolved(&local, ip("93.184.215.14")).is_err());
    }

    #[test]
    fn secrets_are_16_to_256_characters() {
        assert!(parse_secret("short").is_err());
        assert!(parse_secret(&"s".repeat(15)).is_err());
        assert!(parse_secret(&"s".repeat(16)).is_ok());
        assert!(parse_secret(&"密".repeat(256)).is_ok());
        assert!(parse_secret(&"s".repeat(257)).is_err());
        assert!(parse_secret("sixteen-chars-\n-x").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitter_takes_at_most_half() {
        let base = Duration::from_millis(1000);
        assert_eq!(backoff(base, 1, 0.0), Duration::from_millis(1000));
        assert_eq!(backoff(base, 2, 0.0), Duration::from_millis(2000));
        assert_eq!(backoff(base, 4, 0.0), Duration::from_millis(8000));
        assert_eq!(backoff(base, 3, 1.0), Duration::from_millis(2000));
        let jittered = backoff(base, 3, 0.5);
        assert!(jittered > Duration::from_millis(2000) && jittered < Duration::from_millis(4000));
        assert_eq!(backoff(base, 40, 0.0), MAX_BACKOFF);
        assert_eq!(backoff(base, u32::MAX, 0.0), MAX_BACKOFF);
    }
}
