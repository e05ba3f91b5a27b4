#[flowtel::flow("chekout")]
fn checkout() {}

fn main() {}
