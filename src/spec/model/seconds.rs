//! Durations in JSON as a number of seconds (`2`, `0.5`), for every `Duration` of the model
//! (`#[serde(with = "seconds")]`, or `seconds::option` for an `Option<Duration>`): what plans,
//! reports, `fleet config --format json` and saved plans carry (docs/plan-json.md).
//!
//! Reading also takes serde's own form, `{"secs": 2, "nanos": 0}`, which plans saved by earlier
//! versions hold. The spec label of containers keeps that old form (see
//! `contract::container_spec`) so that running replicas keep their spec hash.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A whole number of seconds as an integer, anything else as a float.
pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    if value.subsec_nanos() == 0 {
        serializer.serialize_u64(value.as_secs())
    } else {
        serializer.serialize_f64(value.as_secs_f64())
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Whole(u64),
        Fraction(f64),
        Serde { secs: u64, nanos: u32 },
    }
    match Form::deserialize(deserializer)? {
        Form::Whole(secs) => Ok(Duration::from_secs(secs)),
        Form::Fraction(secs) => Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom),
        Form::Serde { secs, nanos } => Ok(Duration::new(secs, nanos)),
    }
}

/// [`serialize`] and [`deserialize`] for an `Option<Duration>` (`null` when absent).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Seconds(#[serde(with = "super")] Duration);
        value.map(Seconds).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Seconds(#[serde(with = "super")] Duration);
        Ok(Option::<Seconds>::deserialize(deserializer)?.map(|s| s.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "super")]
        d: Duration,
        #[serde(default, with = "option")]
        o: Option<Duration>,
    }

    #[test]
    fn durations_are_seconds_in_json_and_old_saved_plans_still_read() {
        let sample = Sample {
            d: Duration::from_secs(2),
            o: Some(Duration::from_millis(500)),
        };
        let json = serde_json::to_string(&sample).unwrap();
        assert_eq!(json, r#"{"d":2,"o":0.5}"#);
        assert_eq!(serde_json::from_str::<Sample>(&json).unwrap(), sample);
        let old: Sample =
            serde_json::from_str(r#"{"d":{"secs":2,"nanos":0},"o":{"secs":0,"nanos":500000000}}"#)
                .unwrap();
        assert_eq!(old, sample);
        let none: Sample = serde_json::from_str(r#"{"d":1.25}"#).unwrap();
        assert_eq!(none.d, Duration::from_millis(1250));
        assert_eq!(none.o, None);
        assert_eq!(
            serde_json::to_string(&none).unwrap(),
            r#"{"d":1.25,"o":null}"#
        );
    }
}
