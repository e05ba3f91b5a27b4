#[flowtel::step("cart.load", fields(flow.name = "checkout"))]
fn load() {}

fn main() {}
