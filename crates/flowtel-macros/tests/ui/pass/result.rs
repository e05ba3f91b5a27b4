// `Result` returns: `?` with `From` conversions, aliases such as `io::Result`, errors that name
// their kind with `flowtel::ErrorKind`, and `impl Trait` inside `Ok`.

#[derive(Debug)]
enum PaymentError {
    Declined,
    Io,
}

impl flowtel::ErrorKind for PaymentError {
    fn kind(&self) -> &'static str {
        match self {
            PaymentError::Declined => "card_declined",
            PaymentError::Io => "io",
        }
    }
}

impl From<std::io::Error> for PaymentError {
    fn from(_: std::io::Error) -> Self {
        PaymentError::Io
    }
}

#[flowtel::step("payment.authorize")]
fn authorize(amount: u32) -> Result<u32, PaymentError> {
    let parsed = read(amount)?;
    if parsed > 100 {
        return Err(PaymentError::Declined);
    }
    Ok(parsed)
}

#[flowtel::step("cart.load")]
fn read(amount: u32) -> std::io::Result<u32> {
    if amount == 0 {
        return Err(std::io::Error::other("empty"));
    }
    Ok(amount)
}

#[flowtel::step("cart.load")]
fn items(n: u32) -> Result<impl Iterator<Item = u32>, PaymentError> {
    Ok(0..n)
}

#[flowtel::flow("checkout")]
fn checkout() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = "3".parse()?;
    authorize(n)?;
    Ok(())
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
impl std::error::Error for PaymentError {}

fn main() {
    assert_eq!(authorize(5).unwrap(), 5);
    assert!(matches!(authorize(500), Err(PaymentError::Declined)));
    assert!(matches!(authorize(0), Err(PaymentError::Io)));
    assert_eq!(items(3).unwrap().count(), 3);
    checkout().unwrap();
}
