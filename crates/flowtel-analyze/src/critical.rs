//! The critical path of a trace, with the semantics of Jaeger's critical-path view, and its
//! aggregation per flow.
//!
//! The walk starts at the end of the trace's root span and goes back through the last-finishing
//! child: a span is on the path from the end of its last-finishing child to its own end (or to
//! the start of the child the walk came back from), and the walk continues in that child; when a
//! span has no child that finished before the current point, the span is on the path down to
//! its start and the walk returns to its parent. Before walking, children that start at or after
//! their parent's end or end at or before its start are dropped with their subtrees, and
//! children that overrun their parent on either side are clipped to it. Asynchronous work is off
//! the path: a CONSUMER child of a PRODUCER span, and a child linked to its parent
//! (follows-from). Of children that end at the same time, the one that started first is taken.
//!
//! A span may appear in several segments (before and after a child). The walk is iterative and
//! linear in the trace's spans (each parent's children are scanned once, by a cursor, since the
//! walk's time only goes back), so a trace of a million spans or a deep one costs no stack.

use crate::strings::Sym;
use crate::trace::{Kind, NO_PARENT, Span, Trace, TraceSet};

/// One stretch of the critical path spent in one span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Index of the span in [`TraceSet::spans`].
    pub span: u32,
    /// Start of the stretch, Unix nanoseconds.
    pub start: u64,
    /// End of the stretch, Unix nanoseconds.
    pub end: u64,
}

impl Segment {
    /// Length in nanoseconds.
    pub fn duration(&self) -> u64 {
        self.end - self.start
    }
}

/// Reusable buffers for [`Walker::walk`]: one walker computes the paths of many traces without
/// allocating per trace.
#[derive(Debug, Default)]
pub struct Walker {
    start: Vec<u64>,
    end: Vec<u64>,
    kept: Vec<bool>,
    child_start: Vec<u32>,
    children: Vec<u32>,
    cursor: Vec<u32>,
    kept_end: Vec<u32>,
    queue: Vec<u32>,
}

/// Whether `child` is asynchronous work of `parent` (off the critical path).
fn is_async(parent: &Span, child: &Span) -> bool {
    (child.kind == Kind::Consumer && parent.kind == Kind::Producer) || child.is_linked_to_parent()
}

impl Walker {
    /// The critical path of `trace` from its main root, in chronological order, into `out`
    /// (cleared first).
    pub fn walk(&mut self, set: &TraceSet, trace: &Trace, out: &mut Vec<Segment>) {
        out.clear();
        let base = trace.spans.start;
        let spans = set.spans_of(trace);
        let n = spans.len();
        if n == 0 {
            return;
        }
        let root = (trace.root - base) as usize;
        self.build_children(spans, base);
        self.sanitize(spans, root);

        // Children of each span, kept ones first, latest (clipped) end first; of equal ends,
        // the earliest start. `kept_end[p]` ends the kept ones.
        self.kept_end.clear();
        for p in 0..n {
            let (a, b) = (
                self.child_start[p] as usize,
                self.child_start[p + 1] as usize,
            );
            let (start, end, kept) = (&self.start, &self.end, &self.kept);
            let list = &mut self.children[a..b];
            list.sort_unstable_by(|&x, &y| {
                let (x, y) = (x as usize, y as usize);
                kept[y]
                    .cmp(&kept[x])
                    .then(end[y].cmp(&end[x]))
                    .then(start[x].cmp(&start[y]))
                    .then(x.cmp(&y))
            });
            let keep = list.iter().filter(|&&c| kept[c as usize]).count();
            self.cursor[p] = a as u32;
            self.kept_end.push((a + keep) as u32);
        }

        let mut cur = root;
        let mut returning: Option<u64> = None;
        loop {
            let limit = returning.unwrap_or(self.end[cur]);
            let (a, b) = (self.cursor[cur] as usize, self.kept_end[cur] as usize);
            let child = match returning {
                None => (a < b).then(|| self.children[a] as usize),
                Some(t) => {
                    let mut i = a;
                    while i < b && self.end[self.children[i] as usize] >= t {
                        i += 1;
                    }
                    self.cursor[cur] = i as u32;
                    (i < b).then(|| self.children[i] as usize)
                }
            };
            match child {
                Some(c) => {
                    push(out, base + cur as u32, self.end[c], limit);
                    cur = c;
                    returning = None;
                }
                None => {
                    push(out, base + cur as u32, self.start[cur], limit);
                    if cur == root {
                        break;
                    }
                    let p = spans[cur].parent;
                    returning = Some(self.start[cur]);
                    cur = (p - base) as usize;
                }
            }
        }
        out.reverse();
    }

    /// Children lists (CSR) of the synchronous children.
    fn build_children(&mut self, spans: &[Span], base: u32) {
        let n = spans.len();
        self.child_start.clear();
        self.child_start.resize(n + 1, 0);
        for s in spans {
            if s.parent != NO_PARENT && !is_async(&spans[(s.parent - base) as usize], s) {
                self.child_start[(s.parent - base) as usize + 1] += 1;
            }
        }
        for i in 0..n {
            self.child_start[i + 1] += self.child_start[i];
        }
        self.children.clear();
        self.children.resize(self.child_start[n] as usize, 0);
        self.cursor.clear();
        self.cursor.extend_from_slice(&self.child_start[..n]);
        for (i, s) in spans.iter().enumerate() {
            if s.parent != NO_PARENT {
                let p = (s.parent - base) as usize;
                if !is_async(&spans[p], s) {
                    self.children[self.cursor[p] as usize] = i as u32;
                    self.cursor[p] += 1;
                }
            }
        }
    }

    /// Clipped times of the spans reachable from `root`; `kept` false for the others.
    fn sanitize(&mut self, spans: &[Span], root: usize) {
        let n = spans.len();
        self.start.clear();
        self.start.extend(spans.iter().map(|s| s.start));
        self.end.clear();
        self.end.extend(spans.iter().map(|s| s.end));
        self.kept.clear();
        self.kept.resize(n, false);
        self.kept[root] = true;
        let mut queue = std::mem::take(&mut self.queue);
        queue.clear();
        queue.push(root as u32);
        let mut head = 0;
        while head < queue.len() {
            let p = queue[head] as usize;
            head += 1;
            let (ps, pe) = (self.start[p], self.end[p]);
            for k in self.child_start[p]..self.child_start[p + 1] {
                let c = self.children[k as usize] as usize;
                let (cs, ce) = (self.start[c], self.end[c]);
                // Jaeger's cases: starting at or after the parent's end, or (starting before
                // the parent) ending at or before its start: dropped with the subtree.
                let outside = if cs >= ps { cs >= pe } else { ce <= ps };
                if outside {
                    continue;
                }
                self.start[c] = cs.max(ps);
                self.end[c] = ce.min(pe);
                self.kept[c] = true;
                queue.push(c as u32);
            }
        }
        queue.clear();
        self.queue = queue;
    }
}

/// Adds a segment (the walk goes back in time), merged with the previous one when it is the
/// same span and they touch.
fn push(out: &mut Vec<Segment>, span: u32, start: u64, end: u64) {
    if start >= end {
        return;
    }
    match out.last_mut() {
        Some(last) if last.span == span && last.start == end => last.start = start,
        _ => out.push(Segment { span, start, end }),
    }
}

/// The critical path of one trace, with what the aggregation needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracePath {
    /// Index of the trace in [`TraceSet::traces`].
    pub trace: u32,
    /// Duration of the trace's root span, nanoseconds.
    pub duration: u64,
    /// Segments in chronological order.
    pub segments: Vec<Segment>,
}

impl TracePath {
    /// Critical-path time per (service, step) of this path, merged, in first-seen order.
    pub fn time_by_step(&self, set: &TraceSet) -> Vec<((Sym, Sym), u64)> {
        let mut out: Vec<((Sym, Sym), u64)> = Vec::new();
        for seg in &self.segments {
            let s = &set.spans[seg.span as usize];
            let key = (s.service, s.step_or_name());
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, t)) => *t += seg.duration(),
                None => out.push((key, seg.duration())),
            }
        }
        out
    }
}

/// One step of a trace's critical path, as `--format json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PathStep {
    /// The span's id (hex).
    pub span_id: String,
    /// Its service.
    pub service: String,
    /// Its name.
    pub name: String,
    /// Start of the segment, Unix nanoseconds.
    pub start_unix_nano: u64,
    /// End of the segment, Unix nanoseconds.
    pub end_unix_nano: u64,
}

/// A trace's critical path, as `--format json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TraceReport {
    /// The trace id (hex).
    pub trace_id: String,
    /// Its flow, `null` when none.
    pub flow: Option<String>,
    /// Duration of its root span, nanoseconds.
    pub duration_ns: u64,
    /// Chronological segments; a span may appear in several.
    pub path: Vec<PathStep>,
}

impl TracePath {
    /// The plain-data form of this path.
    pub fn report(&self, set: &TraceSet) -> TraceReport {
        let trace = &set.traces[self.trace as usize];
        TraceReport {
            trace_id: trace.trace_id.to_string(),
            flow: set.flow_of(trace).map(str::to_string),
            duration_ns: self.duration,
            path: self
                .segments
                .iter()
                .map(|g| {
                    let s = &set.spans[g.span as usize];
                    PathStep {
                        span_id: s.span_id.to_string(),
                        service: set.str(s.service).to_string(),
                        name: set.str(s.name).to_string(),
                        start_unix_nano: g.start,
                        end_unix_nano: g.end,
                    }
                })
                .collect(),
        }
    }
}

/// The critical paths of every trace of `set`.
pub fn paths(set: &TraceSet) -> Vec<TracePath> {
    let mut walker = Walker::default();
    let mut buf = Vec::new();
    set.traces
        .iter()
        .enumerate()
        .map(|(i, t)| {
            walker.walk(set, t, &mut buf);
            TracePath {
                trace: i as u32,
                duration: set.root_of(t).duration(),
                segments: buf.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{follows_from_parent, span};
    use crate::testing::assemble;
    use flowtel_otlp::SpanKind as K;

    /// The path of the single trace built from `(id, parent, kind, start, end)` as
    /// `(id, start, end)` segments.
    fn path(spans: &[(u64, u64, K, u64, u64)]) -> Vec<(u64, u64, u64)> {
        path_with(spans, |_| false)
    }

    fn path_with(
        spans: &[(u64, u64, K, u64, u64)],
        linked: impl Fn(u64) -> bool,
    ) -> Vec<(u64, u64, u64)> {
        let set = assemble(
            spans
                .iter()
                .map(|&(id, parent, kind, s, e)| {
                    let sp = span(1, id, parent, &format!("s{id}"), kind, s, e);
                    (
                        "svc",
                        if linked(id) {
                            follows_from_parent(sp)
                        } else {
                            sp
                        },
                    )
                })
                .collect(),
        );
        let mut out = Vec::new();
        Walker::default().walk(&set, &set.traces[0], &mut out);
        out.iter()
            .map(|g| {
                let id = u64::from_be_bytes(set.spans[g.span as usize].span_id.0);
                (id, g.start, g.end)
            })
            .collect()
    }

    const I: K = K::Internal;

    #[test]
    fn a_lone_span_is_its_own_path() {
        assert_eq!(path(&[(1, 0, I, 10, 20)]), [(1, 10, 20)]);
    }

    #[test]
    fn sequential_children_split_the_parent() {
        // 1: 0-100; 2: 10-40; 3: 50-90.
        assert_eq!(
            path(&[
                (1, 0, I, 100, 200),
                (2, 1, I, 110, 140),
                (3, 1, I, 150, 190)
            ]),
            [
                (1, 100, 110),
                (2, 110, 140),
                (1, 140, 150),
                (3, 150, 190),
                (1, 190, 200)
            ]
        );
    }

    #[test]
    fn nested_children_are_walked_to_the_leaves() {
        // 1 -> 2 -> 3.
        assert_eq!(
            path(&[
                (1, 0, I, 100, 200),
                (2, 1, I, 110, 190),
                (3, 2, I, 120, 180)
            ]),
            [
                (1, 100, 110),
                (2, 110, 120),
                (3, 120, 180),
                (2, 180, 190),
                (1, 190, 200)
            ]
        );
    }

    #[test]
    fn of_overlapping_children_the_last_finishing_one_is_on_the_path() {
        // 2: 110-160 and 3: 120-180 overlap; 3 finishes last, then 2 is not before 3's start
        // (it ends at 160 > 120), so the walk goes from 3 straight back to 1.
        assert_eq!(
            path(&[
                (1, 0, I, 100, 200),
                (2, 1, I, 110, 160),
                (3, 1, I, 120, 180)
            ]),
            [(1, 100, 120), (3, 120, 180), (1, 180, 200)]
        );
        // A child that finished before the other started is on the path too.
        assert_eq!(
            path(&[
                (1, 0, I, 100, 200),
                (2, 1, I, 105, 115),
                (3, 1, I, 110, 160),
                (4, 1, I, 120, 180)
            ]),
            [
                (1, 100, 105),
                (2, 105, 115),
                (1, 115, 120),
                (4, 120, 180),
                (1, 180, 200)
            ]
        );
    }

    #[test]
    fn a_child_overrunning_its_parent_end_is_clipped_to_it() {
        // 2 runs 150-260 under a parent ending at 200: clipped to 150-200; its child 3
        // (220-250) then starts after its clipped end and is dropped.
        assert_eq!(
            path(&[
                (1, 0, I, 100, 200),
                (2, 1, I, 150, 260),
                (3, 2, I, 220, 250)
            ]),
            [(1, 100, 150), (2, 150, 200)]
        );
    }

    #[test]
    fn a_child_starting_before_its_parent_is_clipped_to_the_parent_start() {
        assert_eq!(
            path(&[(1, 0, I, 100, 200), (2, 1, I, 50, 150)]),
            [(2, 100, 150), (1, 150, 200)]
        );
        // Overrunning on both sides: the child covers the whole parent.
        assert_eq!(
            path(&[(1, 0, I, 100, 200), (2, 1, I, 50, 250)]),
            [(2, 100, 200)]
        );
    }

    #[test]
    fn children_outside_their_parent_are_dropped_with_their_subtrees() {
        // 2 starts when 1 ends; 3 ends when 1 starts; 4 and 5 are their children.
        assert_eq!(
            path(&[
                (1, 0, I, 100, 200),
                (2, 1, I, 200, 300),
                (4, 2, I, 210, 290),
                (3, 1, I, 50, 100),
                (5, 3, I, 60, 90),
            ]),
            [(1, 100, 200)]
        );
    }

    #[test]
    fn asynchronous_children_are_off_the_path() {
        // A producer 2 whose consumer 3 runs long; and a follows-from child 4 of 1.
        assert_eq!(
            path_with(
                &[
                    (1, 0, K::Server, 100, 200),
                    (2, 1, K::Producer, 110, 120),
                    (3, 2, K::Consumer, 115, 195),
                    (4, 1, I, 130, 190),
                ],
                |id| id == 4
            ),
            [(1, 100, 110), (2, 110, 120), (1, 120, 200)]
        );
        // A consumer under a non-producer is an ordinary child.
        assert_eq!(
            path(&[(1, 0, K::Server, 100, 200), (2, 1, K::Consumer, 110, 190)]),
            [(1, 100, 110), (2, 110, 190), (1, 190, 200)]
        );
    }

    #[test]
    fn zero_length_spans_add_no_segment() {
        assert_eq!(
            path(&[
                (1, 0, I, 100, 200),
                (2, 1, I, 150, 150),
                (3, 1, I, 120, 130)
            ]),
            [(1, 100, 120), (3, 120, 130), (1, 130, 200)]
        );
        // At the parent's start it is kept (Jaeger's rule) but adds nothing.
        assert_eq!(
            path(&[(1, 0, I, 100, 200), (2, 1, I, 100, 100)]),
            [(1, 100, 200)]
        );
        // A zero-length root.
        assert_eq!(path(&[(1, 0, I, 100, 100)]), []);
    }

    #[test]
    fn of_children_ending_together_the_one_that_started_first_is_taken() {
        assert_eq!(
            path(&[
                (1, 0, I, 100, 200),
                (2, 1, I, 150, 180),
                (3, 1, I, 120, 180)
            ]),
            [(1, 100, 120), (3, 120, 180), (1, 180, 200)]
        );
    }

    #[test]
    fn a_child_ending_with_its_parent_takes_the_path_to_the_end() {
        assert_eq!(
            path(&[(1, 0, I, 100, 200), (2, 1, I, 150, 200)]),
            [(1, 100, 150), (2, 150, 200)]
        );
    }

    #[test]
    fn the_path_starts_at_the_true_root_and_orphans_are_off_it() {
        // 9's parent (8) never arrived: it is an orphan root, not on the path of root 1.
        assert_eq!(
            path(&[(1, 0, I, 100, 200), (2, 1, I, 120, 140), (9, 8, I, 90, 300)]),
            [(1, 100, 120), (2, 120, 140), (1, 140, 200)]
        );
        // Without a true root, the earliest orphan is the root.
        assert_eq!(
            path(&[(3, 8, I, 100, 200), (4, 3, I, 150, 160)]),
            [(3, 100, 150), (4, 150, 160), (3, 160, 200)]
        );
    }

    #[test]
    fn segments_tile_the_root_span_exactly() {
        let mut spans = vec![(1, 0, I, 1_000, 9_000)];
        let mut rng = crate::synth::Rng::new(7);
        for id in 2..200u64 {
            let parent = 1 + rng.below(id - 1);
            let s = 500 + rng.below(9_000);
            spans.push((id, parent, I, s, s + rng.below(3_000)));
        }
        let p = path(&spans);
        assert_eq!(p.first().map(|s| s.1), Some(1_000));
        assert_eq!(p.last().map(|s| s.2), Some(9_000));
        for w in p.windows(2) {
            assert_eq!(w[0].2, w[1].1, "gap or overlap in {p:?}");
        }
    }

    #[test]
    fn a_deep_trace_costs_no_stack() {
        let n = 100_000u64;
        let spans: Vec<_> = (1..=n)
            .map(|id| (id, id - 1, I, 1_000 + id, 10_000_000 - id))
            .collect();
        let p = path(&spans);
        assert_eq!(p.len() as u64, 2 * n - 1);
    }
}

#[cfg(test)]
mod scale_tests {
    use super::*;
    use crate::synth::{Shape, generate};
    use crate::testing::registry;
    use crate::trace::{AssemblyOptions, TraceSetBuilder};

    #[test]
    fn generated_traces_assemble_compactly_and_every_path_tiles_its_root() {
        let reg = registry();
        let mut b = TraceSetBuilder::new(&reg, AssemblyOptions::default());
        generate(2_000, Shape::default(), 11, |svc, s| b.add_span(svc, &s));
        let set = b.finish();
        assert_eq!(set.traces.len(), 2_000);
        assert!(set.spans.len() > 50_000, "{}", set.spans.len());
        assert_eq!(set.stats.orphans + set.stats.duplicate_span_ids, 0);
        // Held memory per span: spans, traces and strings.
        let per_span = set.bytes_per_span();
        assert!(per_span < 200.0, "{per_span} bytes per span");
        for p in paths(&set) {
            let root = set.root_of(&set.traces[p.trace as usize]);
            assert_eq!(p.segments.first().map(|s| s.start), Some(root.start));
            assert_eq!(p.segments.last().map(|s| s.end), Some(root.end));
            assert_eq!(
                p.segments.iter().map(Segment::duration).sum::<u64>(),
                p.duration
            );
        }
        let map = crate::map::ServiceMap::build(&set, None);
        assert!(
            map.edges.iter().any(|e| e.retries > 0),
            "generated retries are seen"
        );
    }
}
