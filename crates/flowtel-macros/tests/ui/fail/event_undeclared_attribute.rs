fn main() {
    let order = "o-1";
    flowtel::event!(
        "payment.declined",
        payment.decline_reason = "card_expired",
        order.idd = order,
        customer.tier = "pro",
    );
}
