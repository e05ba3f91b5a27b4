//! The multi-window, multi-burn-rate alerting method of the Google SRE workbook ("Alerting on
//! SLOs", chapter 5): each alert pairs a long window with a short one (a twelfth of it) and
//! fires when both burn the error budget faster than a factor. The factor is the share of the
//! budget the alert may let burn within its long window: `share x slo_window / long_window`.
//! For a 30-day window that gives the workbook's 14.4, 6, 3 and 1; a 28-day window pages at
//! 13.44.

/// Whether an alert pages someone now or opens a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Wake someone up.
    Page,
    /// Look at it during working hours.
    Ticket,
}

impl Severity {
    /// The `severity` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// One pair of windows of a burn-rate alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    /// Long window, seconds.
    pub long: u64,
    /// Short window, seconds.
    pub short: u64,
    /// Share of the whole error budget the long window may consume before the alert fires.
    pub budget_share: f64,
    /// Page or ticket.
    pub severity: Severity,
}

/// The workbook's four window pairs: page on 2% of the budget in 1h or 5% in 6h, ticket on
/// 10% in 1d or 10% in 3d.
pub const WINDOWS: [BurnWindow; 4] = [
    BurnWindow {
        long: 3_600,
        short: 300,
        budget_share: 0.02,
        severity: Severity::Page,
    },
    BurnWindow {
        long: 6 * 3_600,
        short: 1_800,
        budget_share: 0.05,
        severity: Severity::Page,
    },
    BurnWindow {
        long: 86_400,
        short: 2 * 3_600,
        budget_share: 0.10,
        severity: Severity::Ticket,
    },
    BurnWindow {
        long: 3 * 86_400,
        short: 6 * 3_600,
        budget_share: 0.10,
        severity: Severity::Ticket,
    },
];

/// Every window the SLI is recorded over: the alert windows and the SLO window itself.
pub fn recorded_windows(slo_window: u64) -> Vec<u64> {
    let mut w: Vec<u64> = WINDOWS
        .iter()
        .flat_map(|b| [b.long, b.short])
        .filter(|s| *s <= slo_window)
        .chain([slo_window])
        .collect();
    w.sort_unstable();
    w.dedup();
    w
}

impl BurnWindow {
    /// The burn-rate factor for an SLO window of `slo_window` seconds, rounded to six decimals.
    pub fn factor(&self, slo_window: u64) -> f64 {
        crate::plan::round(self.budget_share * slo_window as f64 / self.long as f64, 6)
    }

    /// The pairs that fit an SLO window (a long window longer than the SLO window means nothing).
    pub fn applicable(slo_window: u64) -> impl Iterator<Item = &'static BurnWindow> {
        WINDOWS.iter().filter(move |w| w.long <= slo_window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_days_give_the_workbook_factors() {
        let f: Vec<f64> = WINDOWS.iter().map(|w| w.factor(30 * 86_400)).collect();
        assert_eq!(f, [14.4, 6.0, 3.0, 1.0]);
    }

    #[test]
    fn twenty_eight_days_page_at_13_44() {
        assert_eq!(WINDOWS[0].factor(28 * 86_400), 13.44);
        assert_eq!(WINDOWS[1].factor(28 * 86_400), 5.6);
    }

    #[test]
    fn recorded_windows_cover_the_alerts_and_the_slo_window() {
        let w = recorded_windows(30 * 86_400);
        assert_eq!(
            w,
            [300, 1_800, 3_600, 7_200, 21_600, 86_400, 259_200, 2_592_000]
        );
        assert_eq!(recorded_windows(86_400).last(), Some(&86_400));
    }
}
