//! The sampling probability a span carries, per OpenTelemetry's probability sampling: the
//! `th` (rejection threshold) sub-key of the `ot` entry of the W3C `tracestate`
//! (`ot=th:e666`, a 10% sample). Analyses divide by it to weigh a sampled trace back to the
//! traces it stands for (its adjusted count).

/// Randomness bits the threshold is compared with (56, per the specification).
const MAX_THRESHOLD: u64 = 1 << 56;

/// The keep probability of a `th` value (1 to 14 hex digits, trailing zeros omitted), `None`
/// when it is not a valid threshold. `th:0` is 1 (everything kept), `th:8` is 0.5.
pub fn ratio_of_threshold(th: &str) -> Option<f64> {
    if th.is_empty() || th.len() > 14 || !th.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut t = 0u64;
    for (i, b) in th.bytes().enumerate() {
        let d = u64::from((b as char).to_digit(16)?);
        t |= d << (4 * (13 - i));
    }
    Some((MAX_THRESHOLD - t) as f64 / MAX_THRESHOLD as f64)
}

/// The keep probability recorded in a W3C `tracestate` value (`ot=th:...` among other
/// vendors' entries and other `ot` sub-keys), `None` when it records none or an invalid one.
pub fn sampling_ratio(trace_state: &str) -> Option<f64> {
    if trace_state.is_empty() {
        return None;
    }
    let ot = trace_state
        .split(',')
        .map(str::trim)
        .find_map(|member| member.strip_prefix("ot="))?;
    let th = ot.split(';').find_map(|kv| kv.strip_prefix("th:"))?;
    ratio_of_threshold(th).filter(|r| *r > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_decode_to_the_specification_s_probabilities() {
        assert_eq!(ratio_of_threshold("0"), Some(1.0));
        assert_eq!(ratio_of_threshold("8"), Some(0.5));
        assert_eq!(ratio_of_threshold("c"), Some(0.25));
        let tenth = ratio_of_threshold("e6666666666666").unwrap();
        assert!((tenth - 0.1).abs() < 1e-15, "{tenth}");
        let hundredth = ratio_of_threshold("fd70a3d70a3d71").unwrap();
        assert!((hundredth - 0.01).abs() < 1e-15, "{hundredth}");
        for bad in ["", "xyz", "123456789012345", "-1"] {
            assert_eq!(ratio_of_threshold(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_ot_entry_is_found_among_other_vendors_and_sub_keys() {
        assert_eq!(sampling_ratio(""), None);
        assert_eq!(sampling_ratio("vendor=abc"), None);
        assert_eq!(sampling_ratio("ot=th:8"), Some(0.5));
        assert_eq!(
            sampling_ratio("congo=t61rcWkgMzE, ot=rv:12345678901234;th:c"),
            Some(0.25)
        );
        assert_eq!(sampling_ratio("ot=rv:12345678901234"), None);
        assert_eq!(sampling_ratio("ot=th:zz"), None);
    }
}
