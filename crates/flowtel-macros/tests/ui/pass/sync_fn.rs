// Synchronous functions: unit and value returns, early `return`, every way of writing a field.

#[derive(Clone, Copy, Debug)]
enum Tier {
    Pro,
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("pro")
    }
}

#[flowtel::flow("checkout")]
fn checkout() {}

#[flowtel::step("cart.load", fields(customer.tier = %tier, cart.size = items.len(), order.id))]
fn load_cart(tier: Tier, items: &[u32]) -> usize {
    if items.is_empty() {
        return 0;
    }
    items.len()
}

#[flowtel::step(
    flow = "checkout",
    name = "payment.authorize",
    fields(customer.tier = "pro", retry.count = 3, user.id = redact(uid), user.email = redact(email), order.id = ?tier)
)]
fn authorize(uid: &str, email: String, tier: Tier) -> bool {
    let _ = (uid, email, tier);
    true
}

#[flowtel::step("order.confirm", fields("order.id" = "o-1"))]
fn r#confirm() -> u8 {
    1
}

fn main() {
    checkout();
    assert_eq!(load_cart(Tier::Pro, &[1, 2]), 2);
    assert_eq!(load_cart(Tier::Pro, &[]), 0);
    assert!(authorize("u-1", "a@example.com".into(), Tier::Pro));
    assert_eq!(r#confirm(), 1);
}
