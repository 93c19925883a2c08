//! The shipped `config/restance.toml` has a valid `[dunning]` section for its catalog, read the
//! same way by `toml` and by the `config` crate the runtime loads settings with.

use restance_dunning::domain::{Policies, TransferAuthority};
use restance_kernel::{BusinessDate, Catalog};
use serde::Deserialize;

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/restance.toml");

#[derive(Deserialize)]
struct ConfigFile {
    catalog: Catalog,
    dunning: Policies,
}

fn shipped() -> ConfigFile {
    let text = std::fs::read_to_string(SHIPPED).expect("config/restance.toml is readable");
    toml::from_str(&text).expect("config/restance.toml has [catalog] and a well-formed [dunning]")
}

fn d(s: &str) -> BusinessDate {
    s.parse().expect("test date")
}

#[test]
fn the_shipped_dunning_policies_are_valid_for_the_shipped_catalog() {
    let file = shipped();
    assert_eq!(file.catalog.validate(), Vec::<String>::new());
    assert_eq!(file.dunning.validate(Some(&file.catalog)), Ok(()));
}

#[test]
fn the_config_crate_reads_the_same_policies_as_toml() {
    let via_config: Policies = config::Config::builder()
        .add_source(config::File::with_name(SHIPPED))
        .build()
        .expect("config crate reads the file")
        .get("dunning")
        .expect("[dunning] deserialises through the config crate");
    assert_eq!(via_config, shipped().dunning);
}

#[test]
fn every_category_of_every_municipality_has_a_policy_in_force() {
    let file = shipped();
    for (code, municipality) in &file.catalog.municipalities {
        for category in &municipality.categories {
            let resolved = file
                .dunning
                .resolve(code, category, d("2026-12-16"))
                .unwrap_or_else(|e| panic!("{code}/{category}: {e}"));
            assert_eq!(
                resolved.jurisdiction.country, municipality.country,
                "{code}/{category}"
            );
        }
    }
}

#[test]
fn the_authorities_are_those_of_each_country() {
    let file = shipped();
    let authority = |code: &str, category: &str| {
        file.dunning
            .resolve(code, category, d("2026-12-16"))
            .map(|r| r.jurisdiction.transfer_authority)
            .expect("resolves")
    };
    assert_eq!(
        authority("0746", "other"),
        TransferAuthority::Gaeldsstyrelsen
    );
    assert_eq!(
        authority("0957", "other"),
        TransferAuthority::Skattestyrelsen
    );
    assert_eq!(authority("4204", "other"), TransferAuthority::Namsmannen);
    assert_eq!(authority("4204", "rent"), TransferAuthority::Inkasso);
}

#[test]
fn a_broken_shipped_config_is_refused_with_paths() {
    let mut file = shipped();
    file.dunning.municipalities.remove("0957");
    if let Some(j) = file.dunning.jurisdictions.get_mut("dk_municipal") {
        j.tables[0].fee = "300.00".parse().expect("money");
    }
    let problems = file
        .dunning
        .validate(Some(&file.catalog))
        .expect_err("two problems");
    assert!(
        problems.iter().any(|p| p.starts_with(
            "dunning.jurisdictions.dk_municipal.tables[0].fee: 300.00 is above the cap 250.00"
        )),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("dunning.municipalities.\"0957\": missing")),
        "{problems:#?}"
    );
}
