#[flowtel::step("credentials.verify", fields(user.id = uid))]
fn verify(uid: &str) {}

fn main() {}
