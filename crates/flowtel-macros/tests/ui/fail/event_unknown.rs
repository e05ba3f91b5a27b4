fn main() {
    flowtel::event!("payment.decline", payment.decline_reason = "card_expired");
}
