//! What each row of a run is — a runtime, the floor, a safety control, a synthetic engine or a
//! reference row — decided once, from the run's meta.json, so that ranking (and anything else
//! that treats rows differently) asks the kind, never an engine's name.

use crate::analysis::reference;
use crate::results::{EngineClass, EngineMeta, Meta, TrialRecord};

/// The kind of a row of results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// A runtime that moves real data: a choice, ranked.
    Engine,
    /// The floor (model `floor`: the io-uring crate with no runtime): a reference for the
    /// runtimes' cost, shown, never ranked.
    Floor,
    /// A safety control (registry class `Control`): unsafe on purpose, never ranked.
    Control,
    /// Test support or an engine that moves no data (the null engines): ranked only in a run
    /// made of nothing else (the harness's A/A checks).
    Synthetic,
    /// A reference row the driver runs itself (kernel-copy, fio): gives ratios, never ranked.
    Reference,
}

impl RowKind {
    /// The kind of row `name` in a run described by `meta`. A name meta.json does not list
    /// (and that is not a reference row) is synthetic: nothing says it moves data.
    pub fn of(meta: &Meta, name: &str) -> RowKind {
        if reference::is_reference(name) {
            return RowKind::Reference;
        }
        meta.engines
            .iter()
            .find(|m| m.name == name)
            .map_or(RowKind::Synthetic, RowKind::of_engine)
    }

    /// The kind of one engine entry of meta.json. Its recorded class decides first; a folder
    /// written before classes were recorded falls back to the capabilities alone.
    pub fn of_engine(m: &EngineMeta) -> RowKind {
        match m.class {
            Some(EngineClass::Control) => return RowKind::Control,
            Some(EngineClass::Test) => return RowKind::Synthetic,
            Some(EngineClass::Engine | EngineClass::Release) | None => {}
        }
        if m.info.model.as_deref() == Some("floor") {
            RowKind::Floor
        } else if m.info.caps.does_io {
            RowKind::Engine
        } else {
            RowKind::Synthetic
        }
    }

    /// Whether a row of this kind is ranked, given whether the run is made of synthetic
    /// engines only (then they rank among themselves).
    pub fn ranked(self, only_synthetic: bool) -> bool {
        match self {
            RowKind::Engine => true,
            RowKind::Synthetic => only_synthetic,
            RowKind::Floor | RowKind::Control | RowKind::Reference => false,
        }
    }
}

/// Whether an engine of this run takes part in rankings: a runtime that moves real data, not a
/// safety control, not the floor and not a reference row (see [`RowKind`]). A run whose
/// available engines are all synthetic (the null engine's A/A checks) ranks them among
/// themselves.
pub fn ranked_rule(meta: &Meta) -> impl Fn(&str) -> bool + '_ {
    let only_synthetic = meta
        .engines
        .iter()
        .filter(|m| m.available)
        .all(|m| RowKind::of_engine(m) == RowKind::Synthetic);
    move |e: &str| RowKind::of(meta, e).ranked(only_synthetic)
}

/// Display order: the run's engines, then reference rows, then anything else the records
/// name (in order of first appearance).
pub fn engine_order(meta: &Meta, records: &[TrialRecord]) -> Vec<String> {
    let mut v: Vec<String> = meta.engines.iter().map(|e| e.name.clone()).collect();
    for r in [reference::KERNEL_COPY, reference::FIO, reference::FIO_PSYNC] {
        if records.iter().any(|t| t.engine == r) {
            v.push(r.to_string());
        }
    }
    for t in records {
        if !v.contains(&t.engine) {
            v.push(t.engine.clone());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(name: &str, class: Option<EngineClass>, model: &str, does_io: bool) -> EngineMeta {
        EngineMeta {
            name: name.into(),
            runtime: name.into(),
            summary: String::new(),
            available: true,
            reason: None,
            info: serde_json::from_value(
                serde_json::json!({"caps": {"does_io": does_io}, "model": model}),
            )
            .unwrap(),
            class,
        }
    }

    #[test]
    fn the_class_decides_and_older_folders_fall_back_to_capabilities() {
        let c = Some(EngineClass::Control);
        assert_eq!(
            RowKind::of_engine(&engine("x", c, "blocking", true)),
            RowKind::Control
        );
        let t = Some(EngineClass::Test);
        assert_eq!(
            RowKind::of_engine(&engine("x", t, "null", false)),
            RowKind::Synthetic
        );
        let e = Some(EngineClass::Engine);
        assert_eq!(
            RowKind::of_engine(&engine("x", e, "floor", true)),
            RowKind::Floor
        );
        assert_eq!(
            RowKind::of_engine(&engine("x", e, "blocking", true)),
            RowKind::Engine
        );
        // No class recorded: capabilities only (a control is not recognised by its name).
        assert_eq!(
            RowKind::of_engine(&engine("naive", None, "blocking", true)),
            RowKind::Engine
        );
        assert_eq!(
            RowKind::of_engine(&engine("x", None, "floor", true)),
            RowKind::Floor
        );
        assert_eq!(
            RowKind::of_engine(&engine("x", None, "null", false)),
            RowKind::Synthetic
        );
    }

    #[test]
    fn ranking_asks_the_kind() {
        let mut meta = Meta {
            schema: crate::results::schema::META.current,
            started: String::new(),
            finished: None,
            interrupted: false,
            command: vec![],
            options: serde_json::Value::Null,
            environment: crate::sys::env::capture(std::path::Path::new("/")),
            engines: vec![],
            notes: vec![],
        };
        meta.engines = vec![
            engine("rt", Some(EngineClass::Engine), "blocking", true),
            engine("ctl", Some(EngineClass::Control), "blocking", true),
            engine("raw", Some(EngineClass::Engine), "floor", true),
            engine("nul", Some(EngineClass::Test), "null", false),
        ];
        {
            let ranked = ranked_rule(&meta);
            assert!(ranked("rt"));
            assert!(!ranked("ctl") && !ranked("raw") && !ranked("nul"));
            assert!(!ranked(reference::KERNEL_COPY) && !ranked(reference::FIO));
        }
        // Only synthetic engines available: they rank among themselves.
        meta.engines.retain(|m| m.name == "nul");
        assert!(ranked_rule(&meta)("nul"));
    }
}
