// Generics, lifetimes, where clauses and `impl Trait` in argument and return position.

use std::fmt::Display;

#[flowtel::step("cart.load", fields(order.id = %id))]
fn describe<T: Display, U>(id: T, _unused: U) -> String
where
    U: Clone,
{
    format!("order {id}")
}

#[flowtel::step("cart.load")]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() { a } else { b }
}

#[flowtel::step("cart.load")]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[flowtel::step("cart.load")]
fn total(items: impl IntoIterator<Item = u32>) -> u32 {
    items.into_iter().sum()
}

#[flowtel::step("payment.authorize")]
async fn boxed<F: std::future::Future<Output = u8>>(f: F) -> u8 {
    f.await + 1
}

#[flowtel::step("cart.load")]
fn parse<T: std::str::FromStr>(s: &str) -> Result<T, T::Err> {
    s.parse::<T>()
}

fn main() {
    assert_eq!(describe(7, ()), "order 7");
    assert_eq!(longest("ab", "c"), "ab");
    assert_eq!(evens(5).count(), 3);
    assert_eq!(total(vec![1, 2]), 3);
    assert_eq!(futures::executor::block_on(boxed(async { 1 })), 2);
    assert_eq!(parse::<u8>("4"), Ok(4));
}
