//! Background work, safe to run in several instances at once.

pub mod delivery;
pub mod demurrage;
pub mod housekeeping;
pub mod lifecycle;
pub mod matcher;
pub mod stock;
