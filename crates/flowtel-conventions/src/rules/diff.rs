//! Rules of `flowtel diff`, which compares two versions of a registry: `FT03xx`.

use super::rule::Rule;

declare_rule!(BREAKING_CHANGE, "FT0301", "breaking-change", Warning,
    summary: "A change that breaks emitters or consumers of the old conventions.",
    what: "Reports a removed or renamed metric or attribute, a changed instrument, unit or attribute type, a removed label or enum value, and a removed flow or step.",
    why: "Dashboards, alerts and services built on the old name stop working; a breaking change needs a major version and a migration.",
    bad: "# 2.3.0 -> 2.4.0\n- http.route: {type: string}",
    good: "# 2.3.0 -> 3.0.0\n- http.route: {type: string}",
);

declare_rule!(COMPATIBLE_CHANGE, "FT0302", "compatible-change", Note,
    summary: "A change that keeps everything built on the old conventions working.",
    what: "Reports additions, deprecations and documentation changes.",
    why: "Listed so reviewers see the whole update; additions need a minor version bump.",
    bad: "# 2.3.0 -> 2.3.1\n+ flows: {refund: ...}",
    good: "# 2.3.0 -> 2.4.0\n+ flows: {refund: ...}",
);

declare_rule!(VERSION_BUMP_TOO_SMALL, "FT0303", "version-bump-too-small", Error,
    summary: "The version bump is smaller than the changes require.",
    what: "Compares the semver bump between the old and new `version` with the largest change: a breaking change needs a major bump (or a minor one before 1.0.0), an addition a minor bump.",
    why: "Consumers pin conventions by version range; an under-bumped breaking change reaches them unannounced.",
    bad: "version: 2.3.0 -> 2.4.0 with a metric removed",
    good: "version: 2.3.0 -> 3.0.0 with a metric removed",
);

/// Every diff rule, in id order.
pub static RULES: &[&Rule] = &[
    &BREAKING_CHANGE,
    &COMPATIBLE_CHANGE,
    &VERSION_BUMP_TOO_SMALL,
];
