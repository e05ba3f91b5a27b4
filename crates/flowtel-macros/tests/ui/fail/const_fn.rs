#[flowtel::step("cart.load")]
const fn load() -> u8 {
    1
}

fn main() {}
