fn main() {
    let _ = flowtel::step_span!("cart.load", fields(cart.size = 1));
}
