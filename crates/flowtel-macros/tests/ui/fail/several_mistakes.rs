// Every mistake of one attribute is reported at once.
#[flowtel::step("cart.lod", fields(cart.sise = 1, customer.tier = "gold"))]
fn load() {}

fn main() {}
