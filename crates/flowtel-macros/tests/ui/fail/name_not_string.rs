#[flowtel::flow(name = checkout)]
fn checkout() {}

fn main() {}
