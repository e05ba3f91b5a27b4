// An undeclared saturation signal does not compile; the closest signal is suggested.
fn main() {
    let _ = flowtel::saturation!("orders.queue.dept");
}
