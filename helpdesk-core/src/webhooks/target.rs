//! Which hosts webhooks may reach: not the helpdesk's own network, unless the operator says so.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// How long a host name may take to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a webhook URL may not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Plain `http` while private targets are not allowed, or another scheme.
    #[error("use an https:// URL (plain http is allowed only where private targets are)")]
    Scheme,
    /// The URL names no host.
    #[error("the URL names no host")]
    NoHost,
    /// The host did not resolve.
    #[error("the host does not resolve: {0}")]
    Resolve(String),
    /// The host is, or resolves to, an address of a private network.
    #[error(
        "the host resolves to {0}, a loopback, private, link-local, multicast or unspecified \
         address; webhooks may reach only public addresses"
    )]
    Private(IpAddr),
}

/// The guard against server-side request forgery: by default webhooks reach only public
/// addresses over `https`, checked when a subscription is created and again at every delivery
/// (against a host that resolves elsewhere later). Tests and intranet installs allow private
/// addresses and plain `http` with [`TargetPolicy::allow_private`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    allow_private: bool,
}

impl TargetPolicy {
    /// Public addresses over `https` only (the default).
    pub const fn public_only() -> Self {
        Self {
            allow_private: false,
        }
    }

    /// Any address, `http` too.
    pub const fn allow_private() -> Self {
        Self {
            allow_private: true,
        }
    }

    /// Whether private targets are allowed.
    pub const fn allows_private(self) -> bool {
        self.allow_private
    }

    /// Whether the policy lets a webhook connect to `ip`.
    ///
    /// ```
    /// # use helpdesk_core::webhooks::TargetPolicy;
    /// let p = TargetPolicy::public_only();
    /// assert!(p.allows("93.184.216.34".parse().unwrap()));
    /// for private in ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "::ffff:192.168.0.1", "fd00::1"] {
    ///     assert!(!p.allows(private.parse().unwrap()), "{private}");
    /// }
    /// assert!(TargetPolicy::allow_private().allows("127.0.0.1".parse().unwrap()));
    /// ```
    pub fn allows(self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }

    /// Checks a URL's scheme and, if its host is an address, that address.
    pub fn check_url(self, url: &url::Url) -> Result<(), TargetError> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(TargetError::Scheme),
        }
        let ip = match url.host() {
            None => return Err(TargetError::NoHost),
            Some(url::Host::Domain(_)) => return Ok(()),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        };
        if self.allows(ip) {
            Ok(())
        } else {
            Err(TargetError::Private(ip))
        }
    }

    /// Resolves a URL's host and checks every address it has: one private address refuses
    /// the host, so a name cannot mix a public address with an internal one.
    pub async fn resolve(self, url: &url::Url) -> Result<Vec<SocketAddr>, TargetError> {
        self.check_url(url)?;
        let host = url.host_str().ok_or(TargetError::NoHost)?;
        let port = url.port_or_known_default().unwrap_or(443);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let lookup = tokio::net::lookup_host((host, port));
        let addrs: Vec<SocketAddr> = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
            .await
            .map_err(|_| TargetError::Resolve(format!("no answer within {RESOLVE_TIMEOUT:?}")))?
            .map_err(|e| TargetError::Resolve(e.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(TargetError::Resolve("no addresses".into()));
        }
        match addrs.iter().find(|a| !self.allows(a.ip())) {
            Some(bad) => Err(TargetError::Private(bad.ip())),
            None => Ok(addrs),
        }
    }
}

/// Whether `ip` is reachable on the public internet: not loopback, private, shared (CGNAT),
/// link-local, multicast, broadcast, unspecified, documentation or reserved; IPv6 addresses
/// that embed an IPv4 address (mapped, NAT64, 6to4) are judged by it.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return Some(tail()); // IPv4-compatible (deprecated)
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail()); // NAT64 well-known prefix
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        )); // 6to4
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        let p = TargetPolicy::public_only();
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "127.255.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "::127.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or_else(|_| panic!("{ip}"));
            assert!(!p.allows(ip), "{ip} should be refused");
            assert!(TargetPolicy::allow_private().allows(ip));
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or_else(|_| panic!("{ip}"));
            assert!(p.allows(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn scheme_and_literal_hosts_are_checked_before_any_lookup() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        let p = TargetPolicy::public_only();
        assert_eq!(
            p.check_url(&url("http://example.com/")),
            Err(TargetError::Scheme)
        );
        assert!(p.check_url(&url("https://example.com/")).is_ok());
        assert!(matches!(
            p.check_url(&url("https://[::1]:8443/")),
            Err(TargetError::Private(_))
        ));
        assert!(matches!(
            p.check_url(&url("https://2130706433/")),
            Err(TargetError::Private(_))
        ));
        let open = TargetPolicy::allow_private();
        assert!(open.check_url(&url("http://127.0.0.1:9/")).is_ok());
    }

    #[tokio::test]
    async fn names_are_resolved_and_judged_by_every_address() {
        let url = url::Url::parse("https://localhost:9/").unwrap();
        assert!(matches!(
            TargetPolicy::public_only().resolve(&url).await,
            Err(TargetError::Private(_))
        ));
        assert!(TargetPolicy::allow_private().resolve(&url).await.is_ok());
    }
}
