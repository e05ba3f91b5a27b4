#[flowtel::step("cart.load", level = "debug")]
fn load() {}

fn main() {}
