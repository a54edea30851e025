//! Durations written in step options: `500ms`, `2s`, `10m`, `1h`, `1d`.

use std::fmt;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    /// The text that was given.
    pub input: String,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a duration: write a whole number followed by ms, s, m, h or d, e.g. \"30s\" or \"10m\"",
            self.input
        )
    }
}

impl std::error::Error for DurationError {}

/// Parses `<number><unit>` with unit `ms`, `s`, `m`, `h` or `d` into milliseconds.
pub fn parse_duration(input: &str) -> Result<u64, DurationError> {
    let err = || DurationError {
        input: input.to_string(),
    };
    let text = input.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| err())?;
    let factor = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(err()),
    };
    number.checked_mul(factor).ok_or_else(err)
}

/// Formats milliseconds in the largest unit that divides them exactly.
pub fn format_duration(ms: u64) -> String {
    for (unit, factor) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms != 0 && ms % factor == 0 {
            return format!("{}{unit}", ms / factor);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("2s"), Ok(2_000));
        assert_eq!(parse_duration("10m"), Ok(600_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000));
        assert_eq!(parse_duration("1d"), Ok(86_400_000));
    }

    #[test]
    fn rejects_missing_or_unknown_units() {
        for bad in ["", "10", "s", "1.5s", "3 weeks", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
        assert!(parse_duration("10")
            .unwrap_err()
            .to_string()
            .contains("\"30s\""));
    }

    #[test]
    fn formats_round_trip() {
        for ms in [500, 2_000, 600_000, 3_600_000, 86_400_000, 1_500] {
            assert_eq!(parse_duration(&format_duration(ms)), Ok(ms));
        }
    }
}
