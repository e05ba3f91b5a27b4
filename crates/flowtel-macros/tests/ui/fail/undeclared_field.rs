#[flowtel::step("cart.load", fields(cart.sise = items.len()))]
fn load(items: &[u32]) {}

fn main() {}
