//! Schema versions: one per file ringbench writes, each checked when the file is read, so a
//! file of another layout is named as such ("schema version 3, this ringbench reads [1, 2]")
//! rather than as corrupt or, worse, half-read. Bump a file's `current` on any incompatible
//! change to it, and say in its `readable` which older layouts still load.

/// The versions of one file.
#[derive(Clone, Copy, Debug)]
pub struct Schema {
    /// The file's name in a run folder.
    pub file: &'static str,
    /// The version written.
    pub current: u32,
    /// The versions read.
    pub readable: &'static [u32],
}

/// meta.json. 2: summaries' `cpu_s_per_gb` is CPU over the timed section (`outcome.cpu`);
/// a version-1 folder lacks `outcome.cpu` and its summary is recomputed with that figure
/// absent ("–") and the whole-child figure kept.
pub const META: Schema = Schema {
    file: "meta.json",
    current: 2,
    readable: &[1, 2],
};

/// Each line of trials.jsonl (versioned with meta.json: the two are written together).
pub const TRIALS: Schema = Schema {
    file: "trials.jsonl",
    current: 2,
    readable: &[1, 2],
};

/// summary.json (never read back: `report` recomputes it from trials.jsonl).
pub const SUMMARY: Schema = Schema {
    file: "summary.json",
    current: 2,
    readable: &[2],
};

/// safety.json.
pub const SAFETY: Schema = Schema {
    file: "safety.json",
    current: 2,
    readable: &[1, 2],
};

/// audit.json.
pub const AUDIT: Schema = Schema {
    file: "audit.json",
    current: 1,
    readable: &[1],
};

/// calibrate.json.
pub const CALIBRATE: Schema = Schema {
    file: "calibrate.json",
    current: 1,
    readable: &[1],
};

impl Schema {
    /// `Err` with the reason when `v`'s `schema` field names a version this build does not
    /// read. A value without the field passes (the type it is read into then decides).
    pub fn check(&self, v: &serde_json::Value) -> Result<(), String> {
        match v.get("schema").and_then(|s| s.as_u64()) {
            Some(n) if !self.readable.iter().any(|r| u64::from(*r) == n) => Err(format!(
                "schema version {n} (this ringbench reads {:?})",
                self.readable
            )),
            _ => Ok(()),
        }
    }

    /// Parse `bytes` as this file: the schema checked first, then the layout.
    pub fn parse<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, String> {
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        self.check(&v)?;
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_reads_what_it_writes_and_refuses_other_versions() {
        for s in [META, TRIALS, SUMMARY, SAFETY, AUDIT, CALIBRATE] {
            assert!(s.readable.contains(&s.current), "{}", s.file);
            assert!(s.check(&serde_json::json!({"schema": s.current})).is_ok());
            let e = s
                .check(&serde_json::json!({"schema": s.current + 1}))
                .unwrap_err();
            assert!(
                e.starts_with(&format!("schema version {}", s.current + 1)),
                "{e}"
            );
        }
        assert!(AUDIT.check(&serde_json::json!({"other": 1})).is_ok());
        #[derive(Debug, serde::Deserialize)]
        struct T {
            #[allow(dead_code)]
            schema: u32,
        }
        assert!(AUDIT.parse::<T>(br#"{"schema": 1}"#).is_ok());
        assert!(
            AUDIT
                .parse::<T>(br#"{"schema": 7}"#)
                .unwrap_err()
                .contains("version 7")
        );
        assert!(AUDIT.parse::<T>(b"{").is_err());
    }
}
