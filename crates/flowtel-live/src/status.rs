//! Response bodies of the OTLP/HTTP protocol: the empty `Export*ServiceResponse` of a success,
//! and the `google.rpc.Status` of a failure, in protobuf or JSON as the request was.

/// Encodings a request (and so its response) may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// The encoding named by a `Content-Type`, `None` for anything OTLP/HTTP does not define.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let mime = ct.split(';').next().unwrap_or("").trim();
        if mime.eq_ignore_ascii_case("application/x-protobuf")
            || mime.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Encoding::Protobuf)
        } else if mime.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }

    /// An empty `Export*ServiceResponse`: no `partial_success`, as nothing was rejected.
    pub fn success(self) -> Vec<u8> {
        match self {
            Encoding::Protobuf => Vec::new(),
            Encoding::Json => b"{}".to_vec(),
        }
    }

    /// A `google.rpc.Status` with a gRPC `code` (3 invalid argument, 8 resource exhausted, ...).
    pub fn status(self, code: i32, message: &str) -> Vec<u8> {
        match self {
            Encoding::Json => serde_json::json!({"code": code, "message": message})
                .to_string()
                .into_bytes(),
            Encoding::Protobuf => {
                let mut out = Vec::with_capacity(message.len() + 8);
                if code != 0 {
                    out.push(0x08);
                    varint(&mut out, code as u64);
                }
                if !message.is_empty() {
                    out.push(0x12);
                    varint(&mut out, message.len() as u64);
                    out.extend_from_slice(message.as_bytes());
                }
                out
            }
        }
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_a_google_rpc_status() {
        // code 3, message "bad": field 1 varint, field 2 bytes.
        assert_eq!(
            Encoding::Protobuf.status(3, "bad"),
            [0x08, 3, 0x12, 3, b'b', b'a', b'd']
        );
        let long = "x".repeat(200);
        let enc = Encoding::Protobuf.status(8, &long);
        assert_eq!(&enc[..5], [0x08, 8, 0x12, 0xc8, 0x01]);
        assert_eq!(
            String::from_utf8(Encoding::Json.status(3, "bad \"x\"")).unwrap(),
            r#"{"code":3,"message":"bad \"x\""}"#
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Encoding::from_content_type("application/json; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::from_content_type("application/x-protobuf"),
            Some(Encoding::Protobuf)
        );
        assert_eq!(Encoding::from_content_type("text/plain"), None);
        assert!(Encoding::Protobuf.success().is_empty());
    }
}
