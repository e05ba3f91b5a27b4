// `#[async_trait]` methods: the attribute instruments the future `async_trait` builds.

use async_trait::async_trait;

#[async_trait]
trait Payments {
    async fn authorize(&self, amount: u32) -> Result<u32, String>;
    async fn refund(&self);
}

struct Gateway;

#[async_trait]
impl Payments for Gateway {
    #[flowtel::step(flow = "checkout", name = "payment.authorize", fields(cart.size = amount))]
    async fn authorize(&self, amount: u32) -> Result<u32, String> {
        if amount > 100 {
            return Err("declined".into());
        }
        Ok(amount)
    }

    #[flowtel::step("order.confirm")]
    async fn refund(&self) {}
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(Gateway.authorize(5).await, Ok(5));
        assert!(Gateway.authorize(500).await.is_err());
        Gateway.refund().await;
    });
}
