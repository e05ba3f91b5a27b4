//! `flowtel::event!` in the shapes users write it.

#[flowtel::step(flow = "checkout", name = "payment.authorize")]
fn authorize(order: &str, uid: &str, attempts: u32) -> Result<(), String> {
    flowtel::event!("payment.declined", payment.decline_reason = "card_expired");
    flowtel::event!(
        "payment.declined",
        level = tracing::Level::ERROR,
        payment.decline_reason = "insufficient_funds",
        order.id = %order,
        retry.count = ?attempts,
        user.id = redact(uid),
        "declined after {attempts} attempts",
    );
    Err("declined".into())
}

fn main() {
    let _ = authorize("o-7", "alice", 2);
    flowtel::event!("cart.saved", cart.size = 3);
}
