// `flow_span!` and `step_span!` around blocks and `async` blocks.

fn checkout(items: &[u32]) -> Result<u32, std::num::ParseIntError> {
    flowtel::flow_span!("checkout", fields(cart.size = items.len()), {
        let total = flowtel::step_span!("cart.load", { items.iter().sum::<u32>() });
        let parsed: u32 = flowtel::step_span!(flow = "checkout", name = "payment.authorize", {
            "7".parse::<u32>()
        })?;
        Ok::<_, std::num::ParseIntError>(total + parsed)
    })
}

async fn login(user: &str) -> bool {
    let verified = flowtel::step_span!("credentials.verify", fields(user.id = redact(user)), async move {
        !user.is_empty()
    });
    flowtel::flow_span!("login", async { verified.await }).await
}

fn main() {
    assert_eq!(checkout(&[1, 2]).unwrap(), 10);
    assert!(futures::executor::block_on(login("u-1")));
}
