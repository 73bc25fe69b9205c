//! The two time formats the freshness checks read, as Unix seconds, through jiff: RFC 3339
//! timestamps from image configs and history, and `YYYY-MM-DD` end-of-life dates.

/// Parses `YYYY-MM-DD` to Unix seconds at midnight UTC.
pub fn parse_date(s: &str) -> Option<i64> {
    let date: jiff::civil::Date = s.trim().parse().ok()?;
    Some(date.duration_since(jiff::civil::date(1970, 1, 1)).as_secs())
}

/// Parses an RFC 3339 timestamp (`2020-01-23T16:53:06.686519038Z`, `…+02:00`) to Unix
/// seconds. Fractions are dropped. A time without an offset is not a timestamp.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    Some(s.trim().parse::<jiff::Timestamp>().ok()?.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_and_offset_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2020-01-23T16:53:06.686519038Z"),
            Some(1_579_798_386)
        );
        assert_eq!(
            parse_rfc3339("2020-01-23T18:53:06+02:00"),
            Some(1_579_798_386)
        );
        assert_eq!(parse_rfc3339("2020-01-23"), None);
        assert_eq!(parse_rfc3339("2020-13-23T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2020-01-23T00:00:00"), None);
        assert_eq!(parse_rfc3339("ééééééééééééééééééééé"), None);
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_date("2001-02-29"), None);
    }
}
