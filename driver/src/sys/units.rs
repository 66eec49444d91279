//! Byte sizes, parsed and shown one way across the driver: `64M`, `2GiB`, `128k` in (every
//! unit a power of 1024, as fio and dd read them), `128KiB`, `1.5GiB` out.
//!
//! The one copy in the driver, in its lowest layer so every layer can use it. The criterion
//! benches (`benches/src/config.rs`) keep their own copy until `workloads` offers one.

/// Parse a byte size: digits with an optional binary suffix (k, M, G, T; `KiB`, `MB`... all
/// mean powers of 1024). The error says what is wrong, without the flag (the caller knows it).
pub fn parse_size(s: &str) -> Result<u64, &'static str> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err("expected a number with an optional unit, e.g. 64M");
    }
    let n: u64 = num.parse().map_err(|_| "number too large")?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err("unknown unit (use k, M, G or T)"),
    };
    n.checked_mul(mult).ok_or("size too large")
}

/// `1.5GiB`-style rendering of a byte count.
pub fn human_size(n: u64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("128k"), Ok(128 << 10));
        assert!(parse_size("abc").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("99999999999999999999T").is_err());
        assert_eq!(parse_size("99999999999T"), Err("size too large"));
    }

    #[test]
    fn human() {
        assert_eq!(human_size(128 << 10), "128KiB");
        assert_eq!(human_size(1 << 20), "1MiB");
        assert_eq!(human_size(4096), "4KiB");
        assert_eq!(human_size(1000), "1000B");
        assert_eq!(human_size(3 << 29), "1.5GiB");
    }
}
