//! Phone number formats a CCAI Platform tenant can choose for CRM requests,
//! on the `phonenumber` crate (a maintained port of libphonenumber, with
//! its metadata bundled).
//!
//! | format | example |
//! |---|---|
//! | [`PhoneFormat::AutomaticCreate`] | `+1 222 333 4444` |
//! | [`PhoneFormat::AutomaticSearch`] | `*222*333*4444` |
//! | [`PhoneFormat::E164`] | `+12223334444` |
//! | [`PhoneFormat::UsLocal`] | `2223334444` |
//! | [`PhoneFormat::UsLocalStandard`] | `(222) 333-4444` |
//! | [`PhoneFormat::International`] | `+1 222 333 4444` |
//!
//! An invalid number is an error, never a guess.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::phone::{format_phone, PhoneFormat};
//!
//! assert_eq!(format_phone("(415) 555-2671", PhoneFormat::E164, "US")?, "+14155552671");
//! assert_eq!(format_phone("+14155552671", PhoneFormat::AutomaticSearch, "US")?, "*415*555*2671");
//! assert!(format_phone("123", PhoneFormat::E164, "US").is_err());
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use phonenumber::Mode;

use crate::types::truncate;
use crate::{Error, ErrorKind};

/// A phone number format of CCAI's generic CRM API settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PhoneFormat {
    /// E.164: `+12223334444`.
    E164,
    /// US local: the ten national digits, `2223334444` (+1 numbers only).
    UsLocal,
    /// US local standard: `(222) 333-4444` (+1 numbers only).
    UsLocalStandard,
    /// International with spaces: `+1 222 333 4444`.
    International,
    /// Automatic, when creating records: `+1 222 333 4444`.
    AutomaticCreate,
    /// Automatic, when searching: the national digit groups each led by a
    /// wildcard, `*222*333*4444`.
    AutomaticSearch,
}

impl PhoneFormat {
    /// Every format.
    pub const ALL: &'static [PhoneFormat] = &[
        Self::E164,
        Self::UsLocal,
        Self::UsLocalStandard,
        Self::International,
        Self::AutomaticCreate,
        Self::AutomaticSearch,
    ];

    /// The command-line name (`e164`, `us-local`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::E164 => "e164",
            Self::UsLocal => "us-local",
            Self::UsLocalStandard => "us-local-standard",
            Self::International => "international",
            Self::AutomaticCreate => "automatic-create",
            Self::AutomaticSearch => "automatic-search",
        }
    }
}

impl fmt::Display for PhoneFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PhoneFormat {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Phone,
                    format!("unknown phone format `{}`", truncate(s, 40)),
                )
            })
    }
}

/// Parses `number` (in international form, or national form of
/// `default_region`, an ISO 3166 code such as `US`) and writes it in
/// `format`.
///
/// # Errors
///
/// [`ErrorKind::Phone`] when the region is unknown, the number does not
/// parse or is not a valid number, or a US format is asked of a number
/// outside the +1 plan.
pub fn format_phone(
    number: &str,
    format: PhoneFormat,
    default_region: &str,
) -> crate::Result<String> {
    let err = |why: &str| {
        Error::new(
            ErrorKind::Phone,
            format!("`{}` {why}", truncate(number, 40)),
        )
    };
    let region: phonenumber::country::Id = default_region
        .trim()
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| {
            Error::new(
                ErrorKind::Phone,
                format!("unknown region `{}`", truncate(default_region, 8)),
            )
        })?;
    if number.len() > 64 {
        return Err(err("is too long to be a phone number"));
    }
    let parsed = phonenumber::parse(Some(region), number)
        .map_err(|e| err(&format!("is not a phone number: {e}")))?;
    if !phonenumber::is_valid(&parsed) {
        return Err(err("is not a valid phone number"));
    }
    let national = parsed.format().mode(Mode::National).to_string();
    let international = parsed.format().mode(Mode::International).to_string();
    let nanp = parsed.code().value() == 1;
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    Ok(match format {
        PhoneFormat::E164 => parsed.format().mode(Mode::E164).to_string(),
        PhoneFormat::International | PhoneFormat::AutomaticCreate => {
            international.replace('-', " ")
        }
        PhoneFormat::UsLocal | PhoneFormat::UsLocalStandard if !nanp => {
            return Err(err("is not a +1 number, so it has no US local form"));
        }
        PhoneFormat::UsLocal => digits(&national),
        PhoneFormat::UsLocalStandard => {
            let d = digits(&national);
            if d.len() != 10 {
                return Err(err("does not have ten national digits"));
            }
            format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
        }
        PhoneFormat::AutomaticSearch => {
            let groups: Vec<&str> = national
                .split(|c: char| !c.is_ascii_digit())
                .filter(|g| !g.is_empty())
                .collect();
            groups.iter().map(|g| format!("*{g}")).collect()
        }
    })
}

/// Splits a number in international form (`+44 20 7183 8750`) into its
/// country calling code (`+44`) and its national significant number
/// (`2071838750`: no trunk prefix, no spaces), for APIs that take the two
/// apart (Streem's `callingCode` and `phone`).
///
/// ```
/// use cti_protocol::phone::split_international;
///
/// assert_eq!(split_international("+44 20 7183 8750")?, ("+44".to_owned(), "2071838750".to_owned()));
/// assert_eq!(split_international("+1 (415) 555-2671")?, ("+1".to_owned(), "4155552671".to_owned()));
/// assert!(split_international("4155552671").is_err());
/// # Ok::<(), cti_protocol::Error>(())
/// ```
///
/// # Errors
///
/// [`ErrorKind::Phone`] when `number` does not start with `+` or is not a
/// valid number.
pub fn split_international(number: &str) -> crate::Result<(String, String)> {
    let err = |why: &str| {
        Error::new(
            ErrorKind::Phone,
            format!("`{}` {why}", truncate(number, 40)),
        )
    };
    let trimmed = number.trim();
    if !trimmed.starts_with('+') {
        return Err(err(
            "is not in international form (`+` and the country code)",
        ));
    }
    if trimmed.len() > 64 {
        return Err(err("is too long to be a phone number"));
    }
    let parsed = phonenumber::parse(None, trimmed)
        .map_err(|e| err(&format!("is not a phone number: {e}")))?;
    if !phonenumber::is_valid(&parsed) {
        return Err(err("is not a valid phone number"));
    }
    let national = parsed.national();
    let digits = format!(
        "{}{}",
        "0".repeat(usize::from(national.zeros())),
        national.value()
    );
    Ok((format!("+{}", parsed.code().value()), digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_examples() {
        let n = "+1 222 333 4444";
        // 222 is not an assigned area code; use a real one for validity.
        let real = "+1 415 555 2671";
        assert_eq!(
            format_phone(real, PhoneFormat::AutomaticCreate, "US").unwrap(),
            "+1 415 555 2671"
        );
        assert_eq!(
            format_phone(real, PhoneFormat::AutomaticSearch, "US").unwrap(),
            "*415*555*2671"
        );
        assert_eq!(
            format_phone(real, PhoneFormat::E164, "US").unwrap(),
            "+14155552671"
        );
        assert_eq!(
            format_phone(real, PhoneFormat::UsLocal, "US").unwrap(),
            "4155552671"
        );
        assert_eq!(
            format_phone(real, PhoneFormat::UsLocalStandard, "US").unwrap(),
            "(415) 555-2671"
        );
        assert_eq!(
            format_phone(real, PhoneFormat::International, "US").unwrap(),
            "+1 415 555 2671"
        );
        assert_eq!(
            format_phone("4155552671", PhoneFormat::E164, "US").unwrap(),
            "+14155552671"
        );
        assert_eq!(
            format_phone(n, PhoneFormat::E164, "US").unwrap_err().kind(),
            ErrorKind::Phone
        );
    }

    #[test]
    fn other_countries_and_errors() {
        assert_eq!(
            format_phone("020 7946 0958", PhoneFormat::E164, "GB").unwrap(),
            "+442079460958"
        );
        assert_eq!(
            format_phone("+44 20 7946 0958", PhoneFormat::International, "US").unwrap(),
            "+44 20 7946 0958"
        );
        assert_eq!(
            format_phone("+44 20 7946 0958", PhoneFormat::UsLocal, "US")
                .unwrap_err()
                .kind(),
            ErrorKind::Phone
        );
        for bad in ["", "abc", "123", "+999 1234", "+1 415 555 26719999999"] {
            assert_eq!(
                format_phone(bad, PhoneFormat::E164, "US")
                    .unwrap_err()
                    .kind(),
                ErrorKind::Phone,
                "{bad}"
            );
        }
        assert_eq!(
            format_phone("+14155552671", PhoneFormat::E164, "ZZ")
                .unwrap_err()
                .kind(),
            ErrorKind::Phone
        );
        assert_eq!(
            "us-local-standard".parse::<PhoneFormat>().unwrap(),
            PhoneFormat::UsLocalStandard
        );
    }
}
