#[flowtel::flow(flow = "checkout")]
fn checkout() {}

fn main() {}
