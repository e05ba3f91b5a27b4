#[flowtel::step("payment.authorise")]
fn authorize() {}

fn main() {}
