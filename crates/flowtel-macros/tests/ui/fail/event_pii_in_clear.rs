fn main() {
    let uid = "alice";
    flowtel::event!(
        "payment.declined",
        payment.decline_reason = "card_expird",
        user.id = uid,
    );
}
