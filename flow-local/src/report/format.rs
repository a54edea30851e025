//! How values are written for people in a report: escaped text, durations, sizes, numbers,
//! times.

/// Escapes text for HTML and SVG, in content and in quoted attributes alike: every string
/// from a run (step names, messages, logs, artifact previews) goes through here.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration, to about three significant digits: `850 ms`, `3.42 s`, `2 min 05 s`,
/// `1 h 02 min`.
pub fn duration(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 10_000 {
        format!("{:.2} s", ms as f64 / 1_000.0)
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1_000.0)
    } else if ms < 3_600_000 {
        format!("{} min {:02} s", ms / 60_000, ms / 1_000 % 60)
    } else {
        format!("{} h {:02} min", ms / 3_600_000, ms / 60_000 % 60)
    }
}

/// A short duration for axis ticks: `0`, `250ms`, `1.5s`, `2m`, `1h30m`.
pub fn tick(ms: u64) -> String {
    if ms == 0 {
        "0".to_string()
    } else if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = ms as f64 / 1_000.0;
        if ms % 1_000 == 0 {
            format!("{s:.0}s")
        } else {
            format!("{s}s")
        }
    } else if ms < 3_600_000 {
        let (m, s) = (ms / 60_000, ms / 1_000 % 60);
        if s == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{s:02}s")
        }
    } else {
        let (h, m) = (ms / 3_600_000, ms / 60_000 % 60);
        if m == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{m:02}m")
        }
    }
}

/// A byte count: `12 B`, `3.4 KiB`, `1.2 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// A count with thousands separators: `10,000`.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n thing` or `n things`.
pub fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{} {thing}s", count(n))
    }
}

/// A value as a person reads it: up to four significant decimals, no trailing zeros.
pub fn number(value: f64) -> String {
    let text = if value.abs() >= 1e6 || (value != 0.0 && value.abs() < 1e-4) {
        format!("{value:.3e}")
    } else {
        format!("{value:.4}")
    };
    if text.contains('.') && !text.contains('e') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A time as UTC: `2026-11-23 10:10:10 UTC`.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0), "0 ms");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(3_420), "3.42 s");
        assert_eq!(duration(42_000), "42.0 s");
        assert_eq!(duration(125_000), "2 min 05 s");
        assert_eq!(duration(3_720_000), "1 h 02 min");
        assert_eq!(tick(1_500), "1.5s");
        assert_eq!(tick(120_000), "2m");
        assert_eq!(tick(5_400_000), "1h30m");
    }

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1.0 / 3.0), "0.3333");
        assert_eq!(number(-0.5), "-0.5");
        assert_eq!(number(2.5e7), "2.500e7");
    }

    #[test]
    fn sizes_counts_and_times() {
        assert_eq!(bytes(12), "12 B");
        assert_eq!(bytes(3_500), "3.4 KiB");
        assert_eq!(bytes(50 << 20), "50 MiB");
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(999), "999");
        assert_eq!(plural(1, "task"), "1 task");
        assert_eq!(plural(1_000_000, "task"), "1,000,000 tasks");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_428_610_000), "2026-11-23 10:10:10 UTC");
    }
}
