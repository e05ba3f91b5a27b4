// A registry that cannot be found is reported once, at the first macro, not at each.
#[flowtel::flow("checkout")]
fn checkout() {}

#[flowtel::step("cart.load")]
fn load() {}

fn main() {}
