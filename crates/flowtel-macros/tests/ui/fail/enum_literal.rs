#[flowtel::flow("checkout", fields(customer.tier = "entreprise"))]
fn checkout() {}

fn main() {}
