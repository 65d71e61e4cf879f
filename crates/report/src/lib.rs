//! The quality report (kvalitetsrapporten) of a cycle: gathered from the store
//! ([`model::build`]) and written out from templates the municipality can change
//! ([`render::Templates`]), as Markdown, HTML or PDF.

pub mod model;
pub mod pdf;
pub mod render;

pub use model::{Report, Request, Scope, build};
pub use render::{Format, Templates};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cycle {0} has not been started, so there is nothing to report on")]
    NoCycle(i32),
    #[error("there is no unit {0}")]
    UnknownUnit(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] hjul_store::StoreError),
    #[error(transparent)]
    Cycle(#[from] hjul_wheel::calendar::NoCycle),
    #[error("the report template {name}: {message}")]
    Template { name: String, message: String },
}
