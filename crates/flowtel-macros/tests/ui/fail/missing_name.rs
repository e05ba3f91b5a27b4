#[flowtel::step(fields(cart.size = 1))]
fn load() {}

fn main() {}
