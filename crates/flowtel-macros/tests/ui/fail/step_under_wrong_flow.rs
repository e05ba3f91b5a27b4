#[flowtel::step(flow = "login", name = "payment.authorize")]
fn authorize() {}

fn main() {}
