//! What `ringbench safety` runs: the scenarios, which engines run by default, and which cells
//! a control runs. Names only; the matrix itself is run by `commands::safety`.

use crate::plan::engines;

/// The scenario ids, in display order.
pub const SCENARIOS: &[&str] = workloads::safety::SCENARIOS;

/// Whether `id` is a scenario the child accepts (listed or hidden test support).
pub fn known_scenario(id: &str) -> bool {
    workloads::safety::known(id)
}

/// Whether `engine` is a positive control of some scenario (unsafe on purpose).
pub fn is_control(engine: &str) -> bool {
    workloads::safety::ALL
        .iter()
        .any(|s| s.controls.contains(&engine))
}

/// Whether `engine` runs `scenario`: every engine runs every scenario, except that a control
/// runs only the baseline and the scenarios it is the control of (elsewhere it proves nothing,
/// and the matrix stays quick).
pub fn runs(engine: &str, scenario: &str) -> bool {
    if !is_control(engine) {
        return true;
    }
    match workloads::safety::scenario(scenario) {
        Some(s) => s.id == workloads::safety::BASELINE || s.controls.contains(&engine),
        None => true, // hidden self-test scenarios
    }
}

/// The engines `ringbench safety` runs by default: every registered engine that does real I/O,
/// on its runtime's current release (other releases: [`all_version_engines`]).
pub fn default_engines() -> Vec<String> {
    all_version_engines()
        .into_iter()
        .filter(|n| !engines::other_release(n))
        .collect()
}

/// `ringbench safety -e all-versions`: the default engines and every other release of a
/// runtime (`compio@0.16`, ...).
pub fn all_version_engines() -> Vec<String> {
    engines::ALL
        .iter()
        .filter(|n| engines::info(n).is_some_and(|i| i.caps.does_io))
        .map(|n| n.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_selections_keep_one_release_per_runtime() {
        let d = default_engines();
        assert!(d.iter().any(|e| e == "compio"));
        assert!(!d.iter().any(|e| e.contains('@')), "{d:?}");
        let all = all_version_engines();
        assert!(all.iter().any(|e| e == "compio@0.16"), "{all:?}");
        assert!(all.iter().any(|e| e == "compio"));
        assert_eq!(engines::runtime_family("compio@0.16"), "compio");
    }

    #[test]
    fn defaults_include_hidden_engines_that_do_io_only() {
        let d = default_engines();
        assert!(d.iter().all(|e| engines::info(e).unwrap().caps.does_io));
        let hidden_io: Vec<_> = engines::ALL
            .iter()
            .filter(|e| !engines::visible(e) && engines::info(e).unwrap().caps.does_io)
            .collect();
        assert!(hidden_io.iter().all(|e| d.contains(&e.to_string())));
    }
}
