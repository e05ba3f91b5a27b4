fn main() {
    let order = "o-1";
    flowtel::event!("payment.declined", order.id = order, "payment declined");
}
