//! What the handlers and the API share.

use restance_kernel::retention::RetentionPolicy;
use restance_kernel::{BusinessCalendar, Catalog, Country};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{CounsellingConfig, MunicipalityCounselling};
use crate::domain::{Assignment, Rules};

/// The counselling service's message handling and reads: the catalog, the `[counselling]`
/// section and each configured municipality's assignment rules.
#[derive(Debug)]
pub struct Shared {
    /// The catalog (configured municipalities, their countries and offices).
    pub(crate) catalog: Arc<Catalog>,
    /// The `[counselling]` section.
    pub(crate) config: CounsellingConfig,
    /// The assignment rules per municipality (checked at start).
    pub(crate) assignment: BTreeMap<String, Assignment>,
    /// `[retention]`: when a closed case's personal data goes.
    pub(crate) retention: RetentionPolicy,
}

impl Shared {
    /// Handling configured by the `[counselling]` section (checked by
    /// [`CounsellingConfig::load`]; a municipality whose rules do not hold is left out).
    pub fn new(catalog: Arc<Catalog>, config: CounsellingConfig) -> Self {
        let assignment = config
            .municipalities
            .iter()
            .filter_map(|(code, m)| m.assignment().ok().map(|a| (code.clone(), a)))
            .collect();
        Self {
            catalog,
            config,
            assignment,
            retention: RetentionPolicy::default(),
        }
    }

    /// The same handling with this retention policy.
    pub fn with_retention(mut self, retention: RetentionPolicy) -> Self {
        self.retention = retention;
        self
    }

    /// The municipality's counselling settings, if it has any.
    pub(crate) fn municipality(&self, code: &str) -> Option<&MunicipalityCounselling> {
        self.config.municipalities.get(code)
    }

    /// The calendar of the municipality's country (Norway when the catalog does not know it).
    pub(crate) fn calendar(&self, municipality: &str) -> BusinessCalendar {
        BusinessCalendar::new(self.country_of(municipality))
    }

    /// The municipality's country.
    pub(crate) fn country_of(&self, municipality: &str) -> Country {
        self.catalog
            .municipality(municipality)
            .map_or(Country::No, |m| m.country)
    }

    /// The rules the steps of a case in `cal` follow.
    pub(crate) fn rules<'a>(&'a self, cal: &'a BusinessCalendar) -> Rules<'a> {
        Rules {
            cal,
            timers: &self.config.timers,
            documents: &self.config.documents,
        }
    }

    /// The office whose letterhead the municipality's letters carry.
    pub(crate) fn office_of(&self, municipality: &str) -> Option<String> {
        self.municipality(municipality)
            .and_then(|m| m.office.clone())
            .or_else(|| {
                self.catalog
                    .municipality(municipality)
                    .and_then(|m| m.offices.keys().next().cloned())
            })
    }

    /// The municipality's currency code (`NOK` in Norway).
    pub(crate) fn currency_of(&self, municipality: &str) -> &'static str {
        match self.country_of(municipality) {
            Country::No => "NOK",
            _ => "DKK",
        }
    }
}
