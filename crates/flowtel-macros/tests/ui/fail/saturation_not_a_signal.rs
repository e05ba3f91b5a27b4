// A declared metric without a `saturation` limit is not a saturation signal.
fn main() {
    let _ = flowtel::saturation!("flow.requests");
}
