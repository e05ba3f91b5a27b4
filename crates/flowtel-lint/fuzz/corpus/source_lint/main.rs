use opentelemetry::KeyValue;

#[tracing::instrument(name = "Load Cart ", fields(cart.size = items.len(), cart_items = 3))]
fn load(items: &[u32]) {}

fn record(meter: &opentelemetry::metrics::Meter, uid: &str) {
    let requests = meter.u64_counter("flow.request").build();
    let duration = meter.u64_counter("flow.step.duration").build();
    let hist = meter.f64_histogram("flow.step.duration").with_unit("ms").build();
    requests.add(1, &[KeyValue::new("flow.name", "checkout"), KeyValue::new("user.id", uid.to_string())]);
    let span = tracing::info_span!("checkout", customer.tier = "pro", http.method = "GET");
    metrics::counter!("flow.requests", "flow.name" => "checkout", "customer.tier" => "pro").increment(1);
}

fn clean(meter: &opentelemetry::metrics::Meter) {
    let ok = meter.f64_histogram("flow.step.duration").with_unit("s").build();
    tracing::info!(outcome = "ok", "done in {} ms", 3);
}
