#[flowtel::step("cart.load", fields(cart.size = "three"))]
fn load() {}

fn main() {}
