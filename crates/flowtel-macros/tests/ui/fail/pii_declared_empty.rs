#[flowtel::step("credentials.verify", fields(user.email))]
fn verify() {}

fn main() {}
