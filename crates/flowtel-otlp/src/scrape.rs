//! Scraping a Prometheus endpoint: a blocking HTTP/1.1 GET of `http://host:port/path`, its
//! body parsed by [`crate::prometheus`].

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::io::{LineRead, read_line_bounded};
use crate::prometheus::{Exposition, parse_with};

/// Scrapes `url` (`http://host:port/path`) with a blocking HTTP/1.1 GET and parses the
/// exposition; the body may be at most `limit` bytes. HTTPS is not supported.
pub fn scrape(url: &str, timeout: Duration, limit: usize) -> Result<Exposition> {
    let file: Arc<str> = Arc::from(url);
    let http_err = |m: String| Error::new(ErrorKind::Http, &file, m);
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        http_err("only http:// URLs can be scraped: for HTTPS, fetch the page with curl and read the file".into())
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/metrics"),
    };
    let hostport = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addrs: Vec<_> = hostport
        .to_socket_addrs()
        .map_err(|e| http_err(format!("cannot resolve {authority}: {e}; check the URL")))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut stream = stream.ok_or_else(|| {
        http_err(format!(
            "cannot connect to {authority}: {}; check that the service is running and listening there",
            last.map(|e| e.to_string()).unwrap_or_else(|| "no address".into())
        ))
    })?;
    let io = |e: std::io::Error| http_err(format!("scrape failed: {e}; check the endpoint"));
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: flowtel\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut reader = std::io::BufReader::new(stream);
    let mut buf = Vec::new();
    let mut headers = Vec::new();
    let mut header_bytes = 0;
    loop {
        match read_line_bounded(&mut reader, &mut buf, 16 * 1024).map_err(io)? {
            LineRead::Line(n) => header_bytes += n,
            _ => {
                return Err(http_err(
                    "malformed HTTP response header: is this an HTTP endpoint?".into(),
                ));
            }
        }
        if header_bytes > 64 * 1024 {
            return Err(http_err("HTTP response headers over 64 KiB".into()));
        }
        let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let status = headers.first().cloned().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or("");
    if code != "200" {
        return Err(http_err(format!(
            "scrape returned {status:?}: check the path (usually /metrics)"
        )));
    }
    let header = |name: &str| {
        headers.iter().skip(1).find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_ascii_lowercase())
        })
    };
    let open_metrics =
        header("content-type").map(|c| c.starts_with("application/openmetrics-text"));
    let gzip = header("content-encoding").is_some_and(|c| c.contains("gzip"));
    let chunked = header("transfer-encoding").is_some_and(|c| c.contains("chunked"));
    let length = header("content-length").and_then(|v| v.parse::<u64>().ok());
    let mut body = Vec::new();
    if chunked {
        loop {
            match read_line_bounded(&mut reader, &mut buf, 1024).map_err(io)? {
                LineRead::Line(_) => {}
                _ => return Err(http_err("malformed chunked encoding".into())),
            }
            let size_str = String::from_utf8_lossy(&buf);
            let size_str = size_str.trim().split(';').next().unwrap_or("");
            let size = u64::from_str_radix(size_str, 16)
                .map_err(|_| http_err("malformed chunk size in the HTTP response".into()))?;
            if size == 0 {
                break;
            }
            if body.len() as u64 + size > limit as u64 {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    &file,
                    format!("scrape body over the batch limit of {limit} bytes"),
                ));
            }
            (&mut reader)
                .take(size)
                .read_to_end(&mut body)
                .map_err(io)?;
            read_line_bounded(&mut reader, &mut buf, 16).map_err(io)?;
        }
    } else {
        let cap = length.unwrap_or(limit as u64 + 1).min(limit as u64 + 1);
        (&mut reader).take(cap).read_to_end(&mut body).map_err(io)?;
        if body.len() > limit {
            return Err(Error::new(
                ErrorKind::TooLarge,
                &file,
                format!("scrape body over the batch limit of {limit} bytes"),
            ));
        }
    }
    if gzip {
        let mut out = Vec::new();
        let n = flate2::read::MultiGzDecoder::new(&body[..])
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(io)?;
        if n > limit {
            return Err(Error::new(
                ErrorKind::TooLarge,
                &file,
                format!("scrape body over the batch limit of {limit} bytes"),
            ));
        }
        body = out;
    }
    parse_with(&mut &body[..], file, limit, open_metrics)
}
