fn main() {
    let _ = flowtel::step_span!("cart.loads", { 1 });
}
