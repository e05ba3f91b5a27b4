//! Personal data by shape: attribute keys whose names say personal data, and values that look
//! like it (e-mail addresses, phone numbers, card numbers passing the Luhn check, IP
//! addresses).
//!
//! The registry's `pii: true` marks what is declared personal; these detectors catch what is
//! not declared at all (`user_email` on a counter, a card number in a free-text attribute). The
//! source and telemetry linters use them for undeclared keys and for values of attributes not
//! declared `pii`. Detection is token based and allocation free on the common path, so it can
//! run on every attribute of every item.

/// Words that, as a whole token of an attribute key (split at `.`, `_`, `-` and camel case),
/// say the key holds personal data.
pub const NAME_WORDS: &[&str] = &[
    "email",
    "mail",
    "phone",
    "mobile",
    "msisdn",
    "ssn",
    "passport",
    "iban",
    "card",
    "pan",
    "cvv",
    "ip",
    "address",
    "firstname",
    "lastname",
    "fullname",
    "surname",
    "birthdate",
    "dob",
];

/// Tokens that, directly before `name`, make it a person's name (`user_name`, `first.name`).
const NAME_OWNERS: &[&str] = &[
    "user", "first", "last", "full", "customer", "person", "given", "family", "display", "real",
];

/// The word in `key` that says personal data, if any (`user_email` -> `email`,
/// `customer.firstName` -> `name`).
pub fn key_says_pii(key: &str) -> Option<&'static str> {
    let mut prev: Option<String> = None;
    for token in tokens(key) {
        let t = token.to_ascii_lowercase();
        if let Some(w) = NAME_WORDS.iter().find(|w| **w == t) {
            return Some(w);
        }
        if t == "name" && prev.as_deref().is_some_and(|p| NAME_OWNERS.contains(&p)) {
            return Some("name");
        }
        prev = Some(t);
    }
    None
}

/// Tokens of a key: split at `.`, `_`, `-`, `/`, spaces and lower-to-upper case changes.
fn tokens(key: &str) -> impl Iterator<Item = &str> {
    let mut out = Vec::new();
    let bytes = key.as_bytes();
    let mut start = 0;
    for i in 0..bytes.len() {
        let b = bytes[i];
        if matches!(b, b'.' | b'_' | b'-' | b'/' | b' ') {
            if i > start {
                out.push(&key[start..i]);
            }
            start = i + 1;
        } else if i > start && b.is_ascii_uppercase() && bytes[i - 1].is_ascii_lowercase() {
            out.push(&key[start..i]);
            start = i;
        }
    }
    if start < key.len() {
        out.push(&key[start..]);
    }
    out.into_iter()
}

/// What a value looks like, when it looks like personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An e-mail address.
    Email,
    /// A phone number (`+` and 8 to 15 digits, separators allowed).
    Phone,
    /// A payment card number (13 to 19 digits passing the Luhn check).
    Card,
    /// An IPv4 or IPv6 address.
    Ip,
}

impl Shape {
    /// The name used in findings (`email`, `phone`, `card`, `ip`).
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Email => "email",
            Shape::Phone => "phone",
            Shape::Card => "card",
            Shape::Ip => "ip",
        }
    }
}

/// The personal-data shape of `value`, if it has one. Values over 254 bytes are not checked
/// (no address or number is that long).
pub fn value_shape(value: &str) -> Option<Shape> {
    let v = value.trim();
    if v.len() < 7 || v.len() > 254 {
        return None;
    }
    if is_email(v) {
        return Some(Shape::Email);
    }
    if is_card(v) {
        return Some(Shape::Card);
    }
    if is_phone(v) {
        return Some(Shape::Phone);
    }
    if v.parse::<std::net::IpAddr>().is_ok() {
        return Some(Shape::Ip);
    }
    None
}

/// A sample of a personal value that shows its shape, not the person: `a***@example.com`,
/// `**** **** **** 1111`, `+44 *** *** *89`, `192.0.2.*`.
pub fn redacted_sample(value: &str, shape: Shape) -> String {
    let v = value.trim();
    match shape {
        Shape::Email => match v.split_once('@') {
            Some((local, domain)) => {
                format!("{}***@{domain}", local.chars().next().unwrap_or('*'))
            }
            None => "***".into(),
        },
        Shape::Card | Shape::Phone => {
            let digits = v.bytes().filter(u8::is_ascii_digit).count();
            let mut seen = 0;
            v.chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        seen += 1;
                        if seen + 2 > digits { c } else { '*' }
                    } else {
                        c
                    }
                })
                .collect()
        }
        Shape::Ip => match v.rfind(['.', ':']) {
            Some(i) => format!("{}*", &v[..=i]),
            None => "*".into(),
        },
    }
}

fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

fn is_card(v: &str) -> bool {
    if !v
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
    {
        return false;
    }
    let digits: Vec<u32> = v
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
        .collect();
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if !i.is_multiple_of(2) {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_phone(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('+') else {
        return false;
    };
    if !rest
        .bytes()
        .all(|b| b.is_ascii_digit() || b" -().".contains(&b))
    {
        return false;
    }
    let digits = rest.bytes().filter(u8::is_ascii_digit).count();
    (8..=15).contains(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_say_personal_data() {
        assert_eq!(key_says_pii("user_email"), Some("email"));
        assert_eq!(key_says_pii("customer.phone"), Some("phone"));
        assert_eq!(key_says_pii("billingAddress"), Some("address"));
        assert_eq!(key_says_pii("client.ip"), Some("ip"));
        assert_eq!(key_says_pii("user.firstName"), Some("name"));
        assert_eq!(key_says_pii("user_name"), Some("name"));
        assert_eq!(key_says_pii("card_number"), Some("card"));
        assert_eq!(key_says_pii("ssn"), Some("ssn"));
        // Names of things, not people; words inside other words.
        for clean in [
            "flow.name",
            "service.name",
            "http.route",
            "flow.step",
            "queue.name",
            "zip.code",
            "shipping.method",
            "description",
            "recipient_count",
        ] {
            assert_eq!(key_says_pii(clean), None, "{clean}");
        }
    }

    #[test]
    fn values_that_look_like_personal_data() {
        assert_eq!(value_shape("ada@example.com"), Some(Shape::Email));
        assert_eq!(value_shape("4111 1111 1111 1111"), Some(Shape::Card));
        assert_eq!(value_shape("4111-1111-1111-1112"), None); // fails Luhn
        assert_eq!(value_shape("+44 20 7946 0958"), Some(Shape::Phone));
        assert_eq!(value_shape("192.0.2.17"), Some(Shape::Ip));
        assert_eq!(value_shape("2001:db8::1"), Some(Shape::Ip));
        for clean in [
            "checkout",
            "POST /checkout",
            "payment.authorize",
            "hash:0123456789abcdef",
            "1234567890",
            "0000000000000000",
            "card_declined",
            "/orders/{id}",
            "1.0.0",
            "2026-11-30T19:00:00Z",
            "a@b",
        ] {
            assert_eq!(value_shape(clean), None, "{clean}");
        }
    }

    #[test]
    fn samples_show_the_shape_not_the_person() {
        assert_eq!(
            redacted_sample("ada@example.com", Shape::Email),
            "a***@example.com"
        );
        assert_eq!(
            redacted_sample("4111 1111 1111 1111", Shape::Card),
            "**** **** **** **11"
        );
        assert_eq!(redacted_sample("192.0.2.17", Shape::Ip), "192.0.2.*");
    }
}
