// A declared saturation signal's name compiles to the name itself.
fn main() {
    let name: &'static str = flowtel::saturation!("orders.queue.depth");
    assert_eq!(name, "orders.queue.depth");
}
