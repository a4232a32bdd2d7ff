//! Who is asking and over what: the peer address, or the client address a
//! trusted reverse proxy forwarded; https when the request came over TLS to
//! that proxy. Forwarded headers from anyone else are ignored (a client
//! could otherwise dodge the attempt limiter or unset Secure cookies).

use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: IpAddr,
    pub https: bool,
}

pub fn client_info(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> ClientInfo {
    let peer_ip = peer.ip();
    if !trusted.contains(&peer_ip) {
        return ClientInfo {
            ip: peer_ip,
            https: false,
        };
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let https = header("x-forwarded-proto")
        .map(|p| p.trim().eq_ignore_ascii_case("https"))
        .unwrap_or(false);
    // The proxy appends the address it saw last: the rightmost entry that
    // is not itself a trusted proxy is the client.
    let forwarded = header("x-forwarded-for").and_then(|list| {
        list.rsplit(',')
            .filter_map(|part| part.trim().parse::<IpAddr>().ok())
            .find(|ip| !trusted.contains(ip))
    });
    ClientInfo {
        ip: forwarded.unwrap_or(peer_ip),
        https,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "198.51.100.7, 203.0.113.9"),
        ]);
        let from_proxy = client_info(SocketAddr::new(proxy, 4000), &h, &[proxy]);
        assert_eq!(from_proxy.ip, "203.0.113.9".parse::<IpAddr>().unwrap());
        assert!(from_proxy.https);
        let stranger: IpAddr = "192.0.2.5".parse().unwrap();
        let direct = client_info(SocketAddr::new(stranger, 4000), &h, &[proxy]);
        assert_eq!(
            direct,
            ClientInfo {
                ip: stranger,
                https: false
            }
        );
        let bare = client_info(SocketAddr::new(proxy, 1), &HeaderMap::new(), &[proxy]);
        assert_eq!(
            bare,
            ClientInfo {
                ip: proxy,
                https: false
            }
        );
    }
}
