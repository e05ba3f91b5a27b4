// Methods: `&self`, `&mut self`, `self`, associated functions, trait methods (required and
// default), and a native `async fn` in a trait.

struct Cart {
    items: Vec<u32>,
}

impl Cart {
    #[flowtel::step("cart.load", fields(cart.size = self.items.len()))]
    fn len(&self) -> usize {
        self.items.len()
    }

    #[flowtel::step("cart.load")]
    fn add(&mut self, item: u32) {
        self.items.push(item);
    }

    #[flowtel::step("order.confirm")]
    fn into_items(self) -> Vec<u32> {
        self.items
    }

    #[flowtel::flow("checkout")]
    pub fn new() -> Self {
        Cart { items: Vec::new() }
    }

    #[flowtel::step("payment.authorize")]
    async fn pay(&self) -> u32 {
        self.items.iter().sum()
    }
}

trait Session {
    #[flowtel::step("session.create")]
    fn open(&self) -> u8 {
        1
    }

    fn close(&self) -> u8;

    async fn verify(&self) -> bool;
}

impl Session for Cart {
    #[flowtel::step(flow = "login", name = "session.create")]
    fn close(&self) -> u8 {
        0
    }

    #[flowtel::step(flow = "login", name = "credentials.verify")]
    async fn verify(&self) -> bool {
        true
    }
}

fn main() {
    let mut cart = Cart::new();
    cart.add(3);
    assert_eq!(cart.len(), 1);
    assert_eq!(futures::executor::block_on(cart.pay()), 3);
    assert_eq!(cart.open() + cart.close(), 1);
    assert!(futures::executor::block_on(cart.verify()));
    assert_eq!(cart.into_items(), vec![3]);
}
