//! Sizes and durations as people write and read them: the one parser of byte sizes (`64M`,
//! `2GiB`) that the driver's flags and the benches' environment variables share, and the
//! formatters of sizes and durations the tables, labels and messages print.
//!
//! Every unit is binary: `k`, `M`, `G`, `T` and their `KiB`/`MB`/`Ki` spellings are all powers
//! of 1024, because block sizes and `O_DIRECT` alignment are.

use std::time::Duration;

/// Parse a byte size: an integer with an optional unit, `k`, `M`, `G` or `T` (any case,
/// optionally followed by `i`, `B` or `iB`; `B` alone is bytes), spaces around allowed:
/// `4096`, `64M`, `64 MiB`, `1g`. The error says what is wrong, without the input (the caller
/// names the flag or variable and the value).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err("expected a number with an optional unit, e.g. 64M".into());
    }
    let n: u64 = num.parse().map_err(|_| "number too large".to_string())?;
    let unit = unit.trim().to_ascii_lowercase();
    let shift = match unit.as_str() {
        "" | "b" => 0,
        "k" | "ki" | "kb" | "kib" => 10,
        "m" | "mi" | "mb" | "mib" => 20,
        "g" | "gi" | "gb" | "gib" => 30,
        "t" | "ti" | "tb" | "tib" => 40,
        _ => return Err("unknown unit (use k, M, G or T)".into()),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| "size too large".to_string())
}

/// A byte count for tables and messages: the largest binary unit it reaches, one decimal when
/// not whole, no space: `128KiB`, `1.5GiB`, `1000B`.
pub fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v.fract() == 0.0 {
        format!("{}{}", v as u64, UNITS[u])
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

/// A byte count exactly, for identifiers (two different counts never print the same): the
/// largest binary unit that divides it, else bytes: `4MiB`, `128KiB`, `4097B`.
pub fn exact_size(n: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n}B")
}

/// A duration to the second, for progress lines: `42s`, `3m05s`, `1h02m`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        for (s, n) in [
            ("4096", 4096),
            ("64M", 64 << 20),
            ("64MiB", 64 << 20),
            ("64mb", 64 << 20),
            ("64 M", 64 << 20),
            (" 128k ", 128 << 10),
            ("8Ki", 8 << 10),
            ("2GiB", 2 << 30),
            ("1g", 1 << 30),
            ("2T", 2 << 40),
            ("10B", 10),
        ] {
            assert_eq!(parse_size(s), Ok(n), "{s:?}");
        }
        for bad in [
            "",
            "M",
            "abc",
            "64iB",
            "64kbb",
            "1.5G",
            "12Q",
            "-1",
            "99999999999999999999",
            "20000000T",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_size("12Q").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn sizes_print() {
        assert_eq!(size(128 << 10), "128KiB");
        assert_eq!(size(1 << 20), "1MiB");
        assert_eq!(size(3 << 29), "1.5GiB");
        assert_eq!(size(1000), "1000B");
        assert_eq!(exact_size(4 << 20), "4MiB");
        assert_eq!(exact_size(4097), "4097B");
        assert_eq!(exact_size(1536), "1536B");
        // What `size` rounds, `exact_size` keeps apart.
        assert_eq!(size(1536), size(1537));
        assert_ne!(exact_size(1536), exact_size(1537));
        for n in [0, 1, 4096, 300 << 10, 3 << 29, 5 << 40] {
            assert_eq!(parse_size(&exact_size(n)), Ok(n), "{n}");
        }
    }

    #[test]
    fn durations_print() {
        assert_eq!(duration(Duration::from_secs(59)), "59s");
        assert_eq!(duration(Duration::from_millis(61_900)), "1m01s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
    }
}
