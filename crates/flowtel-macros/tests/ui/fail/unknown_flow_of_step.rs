#[flowtel::step(flow = "logn", name = "session.create")]
fn create() {}

fn main() {}
