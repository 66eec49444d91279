//! The safety child, `ringbench __safety ENGINE SCENARIO`: runs one scenario in this process
//! and prints one reply line ([`ChildReply`], in the `proc::reply` envelope). The parent
//! (`commands::safety`) turns how the child ended and what it printed into a cell.

use serde::{Deserialize, Serialize};
use workloads::safety::{Observation, Params};

use crate::plan::engines;
use crate::plan::safety_plan::known_scenario;

/// The one JSON line a `__safety` child prints (in a `proc::reply::Envelope`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ChildReply {
    /// The scenario ran; what it saw.
    Observed(Box<Observation>),
    /// The scenario could not be set up here (engine unavailable, setup failed).
    Skipped {
        /// Why.
        reason: String,
    },
    /// The scenario panicked (a runtime panicking on drop, for instance).
    Panicked {
        /// The panic message.
        message: String,
    },
}

impl crate::proc::reply::Reply for ChildReply {
    const KIND: &'static str = "safety";
    const VERSION: u32 = 1;
}

/// The hidden child: run one scenario in this process and print its [`ChildReply`].
pub fn child_main(engine: &str, scenario: &str, params: &Params) -> i32 {
    if !known_scenario(scenario) {
        eprintln!("ringbench __safety: unknown scenario `{scenario}`");
        return 2;
    }
    let r = std::panic::catch_unwind(|| engines::run_scenario(engine, scenario, params));
    let reply = match r {
        Ok(None) => {
            eprintln!("ringbench __safety: unknown engine `{engine}`");
            return 2;
        }
        Ok(Some(Ok(obs))) => ChildReply::Observed(Box::new(obs)),
        Ok(Some(Err(reason))) => ChildReply::Skipped { reason },
        Err(p) => ChildReply::Panicked {
            message: p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".into()),
        },
    };
    match crate::proc::reply::encode(&reply) {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("ringbench __safety: cannot encode the reply: {e}");
            2
        }
    }
}
