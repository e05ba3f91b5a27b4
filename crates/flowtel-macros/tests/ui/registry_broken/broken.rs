// An invalid registry is reported once, at the first macro, with its findings.
#[flowtel::flow("checkout")]
fn checkout() {}

#[flowtel::step("cart.load")]
fn load() {}

fn main() {}
