//! The one reply envelope every child of the driver prints (the trial child, the safety
//! child): one JSON line `{"reply": KIND, "v": VERSION, "body": ...}`. The parent reads the
//! last line tagged with the kind it expects and checks the version before it reads the body,
//! so a child speaking another version of a reply (an older binary left on the path, a
//! half-finished upgrade) is an error naming both versions, never a body misread field by
//! field.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A body a child replies with: its kind (the envelope's tag) and the version of its fields.
pub trait Reply: Serialize + DeserializeOwned {
    /// The envelope's `reply` tag (`trial`, `safety`).
    const KIND: &'static str;
    /// The version of the body's fields; bump it on any change a reader would misread.
    const VERSION: u32;
}

/// The line a child prints.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Which reply this is ([`Reply::KIND`]).
    pub reply: String,
    /// The body's version ([`Reply::VERSION`]).
    pub v: u32,
    /// The reply itself.
    pub body: T,
}

/// The envelope's tag and version alone, read before the body so a version mismatch is found
/// whatever the body looks like.
#[derive(Deserialize)]
struct Header {
    reply: String,
    v: u32,
}

/// The line to print for `body` (no newline).
pub fn encode<T: Reply>(body: &T) -> serde_json::Result<String> {
    serde_json::to_string(&Envelope {
        reply: T::KIND.to_string(),
        v: T::VERSION,
        body,
    })
}

/// The reply in a child's stdout: the last line that is an envelope of `T`'s kind. `Ok(None)`
/// when there is none (silence, or only lines that are not replies: the caller reports what
/// was printed); `Err` when that line is of another version (the message names both) — the
/// body is then not read at all.
pub fn decode<T: Reply>(stdout: &str) -> Result<Option<T>, String> {
    for line in stdout.lines().rev() {
        let line = line.trim();
        let Ok(header) = serde_json::from_str::<Header>(line) else {
            continue;
        };
        if header.reply != T::KIND {
            continue;
        }
        if header.v != T::VERSION {
            return Err(format!(
                "the child replied with a `{}` reply of version {}, but this driver reads version {}",
                T::KIND,
                header.v,
                T::VERSION
            ));
        }
        // A line of the right kind and version whose body does not parse is not a reply
        // (the same as any other unreadable line): keep looking.
        if let Ok(e) = serde_json::from_str::<Envelope<T>>(line) {
            return Ok(Some(e.body));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Probe {
        n: u32,
    }

    impl Reply for Probe {
        const KIND: &'static str = "probe";
        const VERSION: u32 = 3;
    }

    #[test]
    fn a_reply_reads_back_after_noise() {
        let line = encode(&Probe { n: 7 }).unwrap();
        assert_eq!(line, r#"{"reply":"probe","v":3,"body":{"n":7}}"#);
        let out =
            format!("noise\n{{\"reply\":\"other\",\"v\":1,\"body\":1}}\n{line}\nmore noise\n");
        assert_eq!(decode::<Probe>(&out), Ok(Some(Probe { n: 7 })));
        assert_eq!(decode::<Probe>("not a reply\n"), Ok(None));
        assert_eq!(decode::<Probe>(""), Ok(None));
    }

    #[test]
    fn another_version_is_an_error_naming_both() {
        // Version 2 with a body this version would read without complaint: still refused.
        let err = decode::<Probe>(r#"{"reply":"probe","v":2,"body":{"n":7}}"#).unwrap_err();
        assert!(err.contains("version 2"), "{err}");
        assert!(err.contains("reads version 3"), "{err}");
        assert!(err.contains("`probe`"), "{err}");
    }
}
