// `async fn`: the span covers every poll; `?` and `return` work as without the attribute.

#[derive(Debug)]
struct Declined;

#[flowtel::flow("checkout")]
async fn checkout(amount: u32) -> Result<u32, Declined> {
    let authorized = authorize(amount).await?;
    if authorized == 0 {
        return Ok(0);
    }
    Ok(authorized)
}

#[flowtel::step("payment.authorize", fields(cart.size = amount))]
async fn authorize(amount: u32) -> Result<u32, Declined> {
    if amount > 100 { Err(Declined) } else { Ok(amount) }
}

#[flowtel::step("cart.load")]
async fn load() {}

#[flowtel::step("order.confirm")]
async fn borrowed(items: &[u8]) -> &u8 {
    &items[0]
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(checkout(5).await.unwrap(), 5);
        assert!(checkout(500).await.is_err());
        load().await;
        assert_eq!(*borrowed(&[7, 8]).await, 7);
    });
}
