//! Span shape against the conventions: an entry route's span is a SERVER span (`FT0124`), a
//! step's span comes from the service the step is declared on (`FT0125`), and a flow or step
//! span that failed has an ERROR status (`FT0126`). Per span this reads what the attribute walk
//! already gathered ([`FlowAttrs`]); only spans that are not SERVER or CLIENT are looked up
//! among the entry routes, and only declared steps read the resource's `service.name`.

use flowtel_conventions::rules::telemetry as rules;
use flowtel_conventions::{Finding, Location};
use flowtel_otlp::{AnyValue, Located, Span, SpanKind, StatusCode};

use super::TelemetryLinter;
use super::otlp::FlowAttrs;

impl<'r> TelemetryLinter<'r> {
    /// The shape checks of one span; `loc(Some(i))` is the span's attribute `i`.
    pub(super) fn span_shape(
        &mut self,
        s: &Located<'_, Span>,
        fa: FlowAttrs<'_>,
        loc: &dyn Fn(Option<usize>) -> Location,
    ) {
        let span = s.item;
        if !matches!(span.kind, SpanKind::Server | SpanKind::Client) && !self.ix.entries.is_empty()
        {
            self.entry_kind(span, loc);
        }
        let flow = fa.flow.and_then(|(v, _)| v.as_str());
        let step = fa.step.and_then(|(v, i)| Some((v.as_str()?, i)));
        if let (Some(flow), Some((step, si))) = (flow, step) {
            self.step_service(s, flow, step, &|| loc(Some(si)));
        }
        let flow_work = matches!(fa.kind, Some("flow" | "step")) || fa.step.is_some();
        if flow_work && fa.failed && span.status.code != StatusCode::Error {
            let (flow, step) = (flow.unwrap_or(""), step.map_or("", |(s, _)| s));
            let name = span.name.as_str();
            let status = span.status.code;
            self.found.report(
                (rules::FLOW_ERROR_WITHOUT_STATUS.id, flow, step, name),
                || {
                    let what = if step.is_empty() {
                        format!("flow `{flow}`")
                    } else {
                        format!("step `{step}` of flow `{flow}`")
                    };
                    let mut f = Finding::new(
                        &rules::FLOW_ERROR_WITHOUT_STATUS,
                        format!(
                            "span `{name}` ({what}) failed (`outcome=error` or `error.type`) but its status is {status}, not ERROR"
                        ),
                    )
                    .at(loc(None))
                    .subject("span", name)
                    .subject("flow", flow)
                    .subject("status", status.to_string())
                    .help("set the span status to ERROR when the work fails (the flowtel macros do it for an `Err`; by hand: `span.set_status(Status::error(..))`)");
                    if !step.is_empty() {
                        f = f.subject("step", step);
                    }
                    f
                },
            );
        }
    }

    fn entry_kind(&mut self, span: &Span, loc: &dyn Fn(Option<usize>) -> Location) {
        let ix = &self.ix;
        let by_name = ix
            .entries
            .get_key_value(span.name.as_str())
            .map(|(e, f)| (*e, *f));
        let entry = by_name.or_else(|| {
            let text = |k| flowtel_otlp::attribute(&span.attributes, k).and_then(AnyValue::as_str);
            let (method, route) = (text("http.request.method")?, text("http.route")?);
            ix.entries.iter().find_map(|(e, f)| {
                let (m, r) = e.split_once(' ')?;
                (m == method && r == route).then_some((*e, *f))
            })
        });
        let Some((entry, flow)) = entry else { return };
        let kind = span.kind;
        self.found
            .report((rules::ENTRY_SPAN_KIND.id, entry, kind.to_i32()), || {
                Finding::new(
                    &rules::ENTRY_SPAN_KIND,
                    format!(
                        "span `{}` is the entry `{entry}` of flow `{flow}`, but its kind is {kind}, not SERVER",
                        span.name
                    ),
                )
                .at(loc(None))
                .subject("span", span.name.as_str())
                .subject("flow", flow)
                .subject("entry", entry)
                .subject("expected", "SERVER")
                .subject("found", kind.to_string())
                .help("start the route's span as a SERVER span (`SpanKind::Server`; flowtel-tower's server layer does)")
            });
    }

    fn step_service(
        &mut self,
        s: &Located<'_, Span>,
        flow: &str,
        step: &str,
        loc: &dyn Fn() -> Location,
    ) {
        let Some(declared) = self
            .ix
            .flow(flow)
            .and_then(|f| f.steps.get(step))
            .and_then(|st| st.service.as_deref())
        else {
            return;
        };
        let service = flowtel_otlp::attribute(&s.resource.attributes, "service.name")
            .and_then(AnyValue::as_str)
            .unwrap_or("");
        if service == declared {
            return;
        }
        let name = s.item.name.as_str();
        self.found.report(
            (rules::STEP_WRONG_SERVICE.id, flow, step, service),
            || {
                let from = if service.is_empty() {
                    "a resource without `service.name`".to_string()
                } else {
                    format!("service `{service}`")
                };
                Finding::new(
                    &rules::STEP_WRONG_SERVICE,
                    format!(
                        "span `{name}` of step `{step}` (flow `{flow}`) comes from {from}, but the step is declared on service `{declared}`"
                    ),
                )
                .at(loc())
                .subject("span", name)
                .subject("flow", flow)
                .subject("step", step)
                .subject("expected", declared)
                .subject("found", service)
                .help(format!(
                    "run the step in `{declared}`, or declare the service that does it under `flows.{flow}.steps.{step}.service`"
                ))
            },
        );
    }
}
