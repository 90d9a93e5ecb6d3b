//! URL building: expanding a CCAI lookup template and building a Streem
//! embed URL, against building the same URLs with
//! `url::Url::parse_with_params` in the same run. Goal: ≥ 2×.
//!
//! Run `cargo bench -p cti-protocol --bench urls`, then
//! `python3 scripts/bench_ratio.py urls ours url_parse_with_params`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use cti_protocol::ccai::template::{UrlTemplate, Values, Variable};
use cti_protocol::streem::{EmbedUrl, Redirect};

fn bench(c: &mut Criterion) {
    let template = UrlTemplate::parse(
        "https://crm.example.com/lookup?phone={ANI}&email={EMAIL}&menu={MENU_PATH}&channel={CHANNEL}&type={TYPE}",
    )
    .unwrap();
    let values = Values::new()
        .with(Variable::Ani, "+14155552671")
        .with(Variable::Email, "ada.lovelace@example.org")
        .with(Variable::MenuPath, "Orders/Order confirmation/Order info")
        .with(Variable::Channel, "voice_call")
        .with(Variable::Type, "IncomingCall(app)");
    let redirect = "https://acme.streempro.app/streems?refId=CASE-42";
    // Configuration, parsed once as an application would: the template and
    // the company site.
    let company = cti_protocol::origin::Origin::parse("https://acme.streempro.app").unwrap();

    // Both sides produce equivalent URLs; check once before measuring.
    let ours = template.expand(&values).unwrap();
    let theirs = url::Url::parse_with_params(
        "https://crm.example.com/lookup",
        [
            ("phone", "+14155552671"),
            ("email", "ada.lovelace@example.org"),
            ("menu", "Orders/Order confirmation/Order info"),
            ("channel", "voice_call"),
            ("type", "IncomingCall(app)"),
        ],
    )
    .unwrap();
    let pairs = |u: &str| {
        url::Url::parse(u)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect::<Vec<_>>()
    };
    assert_eq!(pairs(&ours), pairs(theirs.as_str()));

    let mut group = c.benchmark_group("urls");
    group.bench_function("ours", |b| {
        b.iter(|| {
            let lookup = template.expand(black_box(&values)).unwrap();
            let embed = EmbedUrl::on(company.clone())
                .name(black_box("Ada Lovelace"))
                .phone(black_box("4155552671"))
                .ref_id(black_box("CASE-42"))
                .source("salesforce")
                .redirect(Redirect::Url(redirect.to_owned()))
                .to_url();
            black_box((lookup, embed));
        });
    });
    group.bench_function("url_parse_with_params", |b| {
        b.iter(|| {
            let lookup = url::Url::parse_with_params(
                "https://crm.example.com/lookup",
                [
                    ("phone", black_box("+14155552671")),
                    ("email", "ada.lovelace@example.org"),
                    ("menu", "Orders/Order confirmation/Order info"),
                    ("channel", "voice_call"),
                    ("type", "IncomingCall(app)"),
                ],
            )
            .unwrap();
            let embed = url::Url::parse_with_params(
                "https://acme.streempro.app/embed",
                [
                    ("name", black_box("Ada Lovelace")),
                    ("phone", black_box("4155552671")),
                    ("refId", black_box("CASE-42")),
                    ("source", "salesforce"),
                    ("callingCode", "+1"),
                    ("redirect", redirect),
                ],
            )
            .unwrap();
            black_box((String::from(lookup), String::from(embed)));
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
