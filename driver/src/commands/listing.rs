//! Commands layer: what `ringbench list` shows (engines with availability and routes,
//! workloads, safety scenarios), collected once as data and rendered either as the text table
//! or, with `--json`, as [`Listing`] (field names documented in results/README.md).

use serde::Serialize;
use workloads::{Model, Routes};

use crate::plan::engines;
use crate::plan::safety_plan;
use crate::sys::env;

/// `ringbench list --json`.
#[derive(Debug, Serialize)]
pub struct Listing {
    /// Engines in display order (test-support engines only with `--all`).
    pub engines: Vec<EngineEntry>,
    /// Workloads.
    pub workloads: Vec<NamedEntry>,
    /// Safety scenarios (`ringbench safety --scenarios`).
    pub safety_scenarios: Vec<NamedEntry>,
}

/// One engine.
#[derive(Debug, Serialize)]
pub struct EngineEntry {
    /// Name on the command line and in results.
    pub name: String,
    /// The runtime crate it adapts.
    pub runtime: String,
    /// That crate's locked version ("" when not recorded).
    pub version: String,
    /// Whether it can run here.
    pub available: bool,
    /// Why not, when it cannot.
    pub unavailable_reason: Option<String>,
    /// One line.
    pub summary: String,
    /// Scheduling model.
    pub model: Model,
    /// The route of each op.
    pub routes: Routes,
}

/// A workload or a scenario: its id and one line.
#[derive(Debug, Serialize)]
pub struct NamedEntry {
    /// Id on the command line.
    pub name: String,
    /// One line.
    pub summary: String,
}

/// Collect what `list` shows; `all` includes test-support engines.
pub fn collect(all: bool) -> Listing {
    let versions = env::runtime_versions();
    let engines = engines::ALL
        .iter()
        .filter(|n| all || engines::visible(n))
        .filter_map(|name| {
            let info = engines::info(name)?;
            let probe = engines::probe(name)?;
            Some(EngineEntry {
                name: name.to_string(),
                runtime: info.runtime.to_string(),
                version: versions.get(info.runtime).cloned().unwrap_or_default(),
                available: probe.is_ok(),
                unavailable_reason: probe.err(),
                summary: info.summary.to_string(),
                model: info.model,
                routes: info.routes,
            })
        })
        .collect();
    Listing {
        engines,
        workloads: workloads::Workload::ALL
            .iter()
            .map(|w| NamedEntry {
                name: w.name().to_string(),
                summary: w.summary().to_string(),
            })
            .collect(),
        safety_scenarios: safety_plan::SCENARIOS
            .iter()
            .map(|id| NamedEntry {
                name: id.to_string(),
                summary: workloads::safety::describe(id).unwrap_or("").to_string(),
            })
            .collect(),
    }
}

/// The text `list` prints without `--json`.
pub fn render(l: &Listing) -> String {
    let mut text = String::new();
    macro_rules! say {
        ($($t:tt)*) => {{
            text.push_str(&format!($($t)*));
            text.push('\n');
        }};
    }
    say!("engines:");
    for e in &l.engines {
        let status = match &e.unavailable_reason {
            None => "available".to_string(),
            Some(r) => format!("UNAVAILABLE: {r}"),
        };
        say!(
            "  {:<18} {:<12} {status}",
            e.name,
            format!("{} {}", e.runtime, e.version).trim()
        );
        say!("  {:<18} {}", "", e.summary);
        let r = e.routes;
        say!(
            "  {:<18} ops: open {:?}, read {:?}, write {:?}, fsync {:?}, close {:?}, mkdir {:?}, stat {:?}, chmod {:?}, readdir {:?}",
            "",
            r.open,
            r.read,
            r.write,
            r.sync,
            r.close,
            r.mkdir,
            r.metadata,
            r.set_mode,
            r.read_dir
        );
    }
    say!("workloads:");
    for w in &l.workloads {
        say!("  {:<18} {}", w.name, w.summary);
    }
    say!("safety scenarios (ringbench safety):");
    for s in &l.safety_scenarios {
        say!("  {:<18} {}", s.name, s.summary);
    }
    text
}
