//! Personal data by shape: attribute keys whose names say personal data, and values that look
//! like it (e-mail addresses, phone numbers, card numbers passing the Luhn check, IP
//! addresses).
//!
//! The registry's `pii: true` marks what is declared personal; these detectors catch what is
//! not declared at all (`user_email` on a counter, a card number in a free-text attribute). The
//! registry's `pii` section configures them (key words, built-in value shapes, value patterns);
//! a [`Detector`] is that section compiled. The source and telemetry linters use it for
//! undeclared keys and for values of attributes not declared `pii`, and the SDK to drop metric
//! labels whose values look personal. Detection is token based and allocation free, so it can
//! run on every attribute of every item; rendering findings is left to the linters.

use regex::Regex;

use crate::model::{Attribute, PiiDetection, ValueShape};

/// Tokens that, directly before `name`, make it a person's name (`user_name`, `first.name`).
const NAME_OWNERS: &[&str] = &[
    "user", "first", "last", "full", "customer", "person", "given", "family", "display", "real",
];

/// Longest value checked for a shape: no address or number is longer.
pub const MAX_CHECKED_LEN: usize = 254;

/// The registry's `pii` detection, compiled: key words lower-cased, value patterns built.
/// Cheap to query from many threads; build it once per registry.
#[derive(Debug, Clone)]
pub struct Detector {
    words: Vec<String>,
    person_name: bool,
    shapes: [bool; 4],
    patterns: Vec<(String, Regex)>,
}

impl Default for Detector {
    fn default() -> Self {
        Detector::new(&PiiDetection::default())
    }
}

impl Detector {
    /// The detector for a `pii` section. A value pattern that does not compile is left out
    /// (`flowtel check` reports it).
    pub fn new(config: &PiiDetection) -> Self {
        let mut words: Vec<String> = config
            .key_words
            .iter()
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        let person_name = words.iter().any(|w| w == "name");
        words.retain(|w| w != "name");
        let mut shapes = [false; 4];
        for s in &config.value_shapes {
            shapes[*s as usize] = true;
        }
        let patterns = config
            .value_patterns
            .iter()
            .filter_map(|(n, p)| Some((n.clone(), Regex::new(p).ok()?)))
            .collect();
        Detector {
            words,
            person_name,
            shapes,
            patterns,
        }
    }

    /// The detector of a registry's `pii` section.
    pub fn for_registry(reg: &crate::Registry) -> Self {
        Detector::new(&reg.pii)
    }

    /// The word in `key` that says personal data, if any (`user_email` -> `email`,
    /// `customer.firstName` -> `name`).
    pub fn key_word(&self, key: &str) -> Option<&str> {
        let mut prev: Option<&str> = None;
        for token in tokens(key) {
            if let Some(w) = self.words.iter().find(|w| w.eq_ignore_ascii_case(token)) {
                return Some(w);
            }
            if self.person_name
                && token.eq_ignore_ascii_case("name")
                && prev.is_some_and(|p| NAME_OWNERS.iter().any(|o| o.eq_ignore_ascii_case(p)))
            {
                return Some("name");
            }
            prev = Some(token);
        }
        None
    }

    /// The personal-data shape of a string value, if it has one. Values longer than
    /// [`MAX_CHECKED_LEN`] bytes are not checked. Allocation free.
    pub fn value_shape(&self, value: &str) -> Option<Shape> {
        let v = value.trim();
        if v.len() > MAX_CHECKED_LEN {
            return None;
        }
        if v.len() >= 7 {
            let on = |s: ValueShape| self.shapes[s as usize];
            if on(ValueShape::Email) && is_email(v) {
                return Some(Shape::Email);
            }
            if on(ValueShape::Card) && is_card(v) {
                return Some(Shape::Card);
            }
            if on(ValueShape::Phone) && is_phone(v) {
                return Some(Shape::Phone);
            }
            if on(ValueShape::Ip) && is_ip(v) {
                return Some(Shape::Ip);
            }
        }
        self.patterns
            .iter()
            .position(|(_, re)| re.is_match(v))
            .map(|i| Shape::Pattern(u16::try_from(i).unwrap_or(u16::MAX)))
    }

    /// The personal-data shape of an integer value: a card number written as a number.
    pub fn int_shape(&self, value: i64) -> Option<Shape> {
        if !self.shapes[ValueShape::Card as usize] || !(1_000_000_000_000..).contains(&value) {
            return None;
        }
        let mut digits = [0u8; 20];
        let mut n = value;
        let mut len = 0;
        while n > 0 {
            digits[len] = (n % 10) as u8;
            n /= 10;
            len += 1;
        }
        luhn(digits[..len].iter().rev().copied()).then_some(Shape::Card)
    }

    /// The shape of `value` on an attribute that is declared (`Some`) or not (`None`), as the
    /// rules see it: a declared `pii` attribute is the `pii` rules' business, never this one's,
    /// and an IP address on a declared attribute that is a network address
    /// ([`declares_network_address`]) is what it says it is.
    pub fn attribute_value_shape(
        &self,
        key: &str,
        declared: Option<&Attribute>,
        value: &str,
    ) -> Option<Shape> {
        if declared.is_some_and(|a| a.pii) {
            return None;
        }
        let shape = self.value_shape(value)?;
        if shape == Shape::Ip && declared.is_some_and(|a| declares_network_address(key, a)) {
            return None;
        }
        Some(shape)
    }

    /// The name of a shape in findings: `email`, `phone`, `card`, `ip`, or a pattern's name.
    pub fn shape_name(&self, shape: Shape) -> &str {
        match shape {
            Shape::Email => "email",
            Shape::Phone => "phone",
            Shape::Card => "card",
            Shape::Ip => "ip",
            Shape::Pattern(i) => self
                .patterns
                .get(usize::from(i))
                .map_or("pattern", |(n, _)| n.as_str()),
        }
    }
}

/// Whether a declared attribute is a network address, so an IP address is its expected value
/// rather than personal data by accident: not `pii`, and its key ends in `address`, `addr` or
/// `ip`, or its brief or examples speak of IP addresses (OpenTelemetry's `server.address`,
/// `client.address`, `network.peer.address`). Declare it `pii: true` where the addresses are
/// people's.
pub fn declares_network_address(key: &str, attr: &Attribute) -> bool {
    if attr.pii {
        return false;
    }
    let last = tokens(key).last().unwrap_or("");
    ["address", "addr", "ip"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(last))
        || attr
            .brief
            .as_deref()
            .is_some_and(|b| b.to_ascii_lowercase().contains("ip address"))
        || attr.examples.iter().any(|e| is_ip(e.trim()))
}

/// The word in `key` that says personal data by flowtel's default list (see
/// [`Detector::key_word`] for a registry's own list).
pub fn key_says_pii(key: &str) -> Option<&'static str> {
    static DEFAULT: std::sync::OnceLock<Detector> = std::sync::OnceLock::new();
    let word = DEFAULT.get_or_init(Detector::default).key_word(key)?;
    PiiDetection::DEFAULT_KEY_WORDS
        .iter()
        .copied()
        .find(|w| *w == word)
}

/// Tokens of a key: split at `.`, `_`, `-`, `/`, spaces and lower-to-upper case changes.
fn tokens(key: &str) -> impl Iterator<Item = &str> {
    let bytes = key.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let b = bytes[i];
            if matches!(b, b'.' | b'_' | b'-' | b'/' | b' ') {
                let tok = (i > start).then(|| &key[start..i]);
                i += 1;
                start = i;
                if tok.is_some() {
                    return tok;
                }
            } else if i > start && b.is_ascii_uppercase() && bytes[i - 1].is_ascii_lowercase() {
                let tok = &key[start..i];
                start = i;
                i += 1;
                return Some(tok);
            } else {
                i += 1;
            }
        }
        if start < bytes.len() {
            let tok = &key[start..];
            start = bytes.len();
            return Some(tok);
        }
        None
    })
}

/// What a value looks like, when it looks like personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// An e-mail address.
    Email,
    /// A phone number (`+` and 8 to 15 digits, separators allowed).
    Phone,
    /// A payment card number (13 to 19 digits passing the Luhn check).
    Card,
    /// An IPv4 or IPv6 address.
    Ip,
    /// One of the registry's `pii.value_patterns`, by position.
    Pattern(u16),
}

impl Shape {
    /// The name used in findings for a built-in shape (`email`, `phone`, `card`, `ip`);
    /// `pattern` for a registry pattern ([`Detector::shape_name`] names it).
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Email => "email",
            Shape::Phone => "phone",
            Shape::Card => "card",
            Shape::Ip => "ip",
            Shape::Pattern(_) => "pattern",
        }
    }
}

/// The personal-data shape of `value` by flowtel's default detection, if it has one. Values
/// over 254 bytes are not checked (no address or number is that long).
pub fn value_shape(value: &str) -> Option<Shape> {
    static DEFAULT: std::sync::OnceLock<Detector> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(Detector::default).value_shape(value)
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
        // Keep the punctuation and the last two characters: enough to recognise the kind of
        // value, too little to recover it.
        Shape::Pattern(_) => {
            let n = v.chars().count();
            v.chars()
                .enumerate()
                .map(|(i, c)| {
                    if i + 2 >= n || !c.is_alphanumeric() {
                        c
                    } else {
                        '*'
                    }
                })
                .collect()
        }
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
    let mut digits = v.bytes().filter(u8::is_ascii_digit);
    let Some(first) = digits.next() else {
        return false;
    };
    let count = 1 + digits.clone().count();
    if !(13..=19).contains(&count) || digits.all(|d| d == first) {
        return false;
    }
    luhn(v.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0'))
}

/// The Luhn check over digits (0-9) in writing order.
fn luhn(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// An IPv4 or IPv6 address, cheaply ruled out first: IPv4 needs three dots, IPv6 two colons.
fn is_ip(v: &str) -> bool {
    let Some(&first) = v.as_bytes().first() else {
        return false;
    };
    let plausible = (first.is_ascii_digit() && v.bytes().filter(|&b| b == b'.').count() == 3)
        || (v.bytes().filter(|&b| b == b':').count() >= 2
            && v.bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'));
    plausible && v.parse::<std::net::IpAddr>().is_ok()
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
    fn the_registry_configures_words_shapes_and_patterns() {
        let mut cfg = PiiDetection {
            key_words: vec!["Badge".into(), "email".into()],
            value_shapes: vec![ValueShape::Email],
            ..PiiDetection::default()
        };
        cfg.value_patterns
            .insert("employee_id".into(), "^E[0-9]{6}$".into());
        cfg.value_patterns.insert("broken".into(), "(".into());
        let d = Detector::new(&cfg);
        assert_eq!(d.key_word("visitor.badge"), Some("badge"));
        assert_eq!(d.key_word("user_email"), Some("email"));
        // Left out of this list: not reported.
        assert_eq!(d.key_word("customer.phone"), None);
        assert_eq!(d.key_word("user_name"), None);
        assert_eq!(d.value_shape("ada@example.com"), Some(Shape::Email));
        assert_eq!(d.value_shape("4111 1111 1111 1111"), None);
        assert_eq!(d.value_shape("192.0.2.17"), None);
        let s = d.value_shape("E123456").unwrap();
        assert_eq!(d.shape_name(s), "employee_id");
        assert_eq!(redacted_sample("E123456", s), "*****56");
        assert_eq!(d.value_shape("E12345"), None);
    }

    #[test]
    fn card_numbers_written_as_integers() {
        let d = Detector::default();
        assert_eq!(d.int_shape(4_111_111_111_111_111), Some(Shape::Card));
        assert_eq!(d.int_shape(4_111_111_111_111_112), None);
        assert_eq!(d.int_shape(200), None);
        assert_eq!(d.int_shape(-4_111_111_111_111_111), None);
    }

    #[test]
    fn declared_network_addresses_may_hold_ip_addresses() {
        let attr = |yaml: &str| -> Attribute { serde_json::from_str(yaml).unwrap() };
        let plain = attr(r#"{"type": "string"}"#);
        let d = Detector::default();
        for key in [
            "server.address",
            "client.address",
            "network.peer.address",
            "host.ip",
        ] {
            assert_eq!(
                d.attribute_value_shape(key, Some(&plain), "10.1.2.80"),
                None,
                "{key}"
            );
        }
        let by_brief = attr(
            r#"{"type": "string", "brief": "Peer of the connection: an IP address or socket."}"#,
        );
        assert_eq!(
            d.attribute_value_shape("peer", Some(&by_brief), "10.1.2.80"),
            None
        );
        // Undeclared, or declared as something else: reported.
        assert_eq!(
            d.attribute_value_shape("server.address", None, "10.1.2.80"),
            Some(Shape::Ip)
        );
        assert_eq!(
            d.attribute_value_shape("order.note", Some(&plain), "10.1.2.80"),
            Some(Shape::Ip)
        );
        // Only IP addresses: an e-mail address in `server.address` is still reported.
        assert_eq!(
            d.attribute_value_shape("server.address", Some(&plain), "ada@example.com"),
            Some(Shape::Email)
        );
        // Declared `pii`: the `pii` rules' business.
        let pii = attr(r#"{"type": "string", "pii": true}"#);
        assert_eq!(
            d.attribute_value_shape("user.email", Some(&pii), "ada@example.com"),
            None
        );
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
