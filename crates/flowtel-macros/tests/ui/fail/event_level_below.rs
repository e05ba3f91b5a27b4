fn main() {
    flowtel::event!("payment.declined", level = info, payment.decline_reason = "card_expired");
}
