#[flowtel::step("cart.load", fields(order.id = redact(id)))]
fn load(id: &str) {}

fn main() {}
