// `conventions!()` embeds the registry the crate was checked against.

fn main() {
    let conventions: flowtel::Conventions = flowtel::conventions!();
    assert!(conventions.flows.contains_key("checkout"));
    assert!(conventions.flows["login"].steps.contains_key("session.create"));
    assert!(conventions.attributes["user.id"].pii);
}
