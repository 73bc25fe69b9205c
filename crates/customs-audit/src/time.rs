//! Calendar arithmetic the freshness checks need: RFC 3339 timestamps and `YYYY-MM-DD` dates
//! to Unix seconds, without a date library.

/// Days from 1970-01-01 to the given proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn num(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses `YYYY-MM-DD` to Unix seconds at midnight UTC.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.splitn(3, '-');
    let y = num(parts.next()?)? as i64;
    let m = num(parts.next()?)?;
    let d = num(parts.next()?)?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400)
}

/// Parses an RFC 3339 timestamp (`2020-01-23T16:53:06.686519038Z`, `…+02:00`) to Unix
/// seconds. Fractions are dropped.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 19 || !s.is_char_boundary(10) || !s.is_char_boundary(19) {
        return None;
    }
    let date = parse_date(&s[..10])?;
    let sep = s.as_bytes()[10];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return None;
    }
    let time = &s[11..19];
    let mut hms = time.split(':');
    let h = num(hms.next()?)?;
    let mi = num(hms.next()?)?;
    let se = num(hms.next()?)?;
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let oh = num(&rest[1..3])? as i64;
            let om = num(&rest[4..6])? as i64;
            if &rest[3..4] != ":" {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if rest.starts_with('+') {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    Some(date + (h as i64) * 3600 + (mi as i64) * 60 + se as i64 - offset)
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
    }
}
