#[flowtel::step(flow = "checkout", name = "cart.lod")]
fn load() {}

fn main() {}
