//! Money: ringgit as `rust_decimal`, Decimal(10,2), never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

/// The largest payout API.md allows: Decimal(10,2), i.e. 99,999,999.99 = 9,999,999,999 × 10⁻²,
/// whose 96-bit mantissa is lo = 1,410,065,407 and mid = 2 (checked by a test).
const MAX_AMOUNT: Decimal = Decimal::from_parts(1_410_065_407, 2, 0, false, 2);
/// Eight integer digits is everything Decimal(10,2) can hold; checking length first keeps
/// absurd inputs ("1" followed by 10,000 zeros) from reaching the decimal parser.
const MAX_INTEGER_DIGITS: usize = 8;

/// Why a text is not an amount. Messages are shown to API clients as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be a decimal number such as 13.00")]
    NotANumber,
    #[error("amount must be written without an exponent")]
    Exponent,
    #[error("amount must have at most 2 decimal places")]
    TooManyDecimals,
    #[error("amount must be greater than 0")]
    NotPositive,
    #[error("amount must be at most 99999999.99")]
    TooLarge,
}

/// A positive amount of ringgit with at most two decimals, at most 99,999,999.99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Decimal);

impl Amount {
    /// Parses the plain decimal text a client or LeanX sent: digits, an optional `.` and one or
    /// two decimals, an optional leading `-` (only so that it can be refused as not positive).
    /// Anything else (exponents, `NaN`, `Infinity`, `+1`, `.5`, `1.`, spaces) is refused.
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if unsigned.contains(['e', 'E']) && unsigned.chars().any(|c| c.is_ascii_digit()) {
            return Err(AmountError::Exponent);
        }
        let (integer, fraction) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(integer) || fraction.is_some_and(|f| !all_digits(f)) {
            return Err(AmountError::NotANumber);
        }
        if fraction.is_some_and(|f| f.len() > 2) {
            return Err(AmountError::TooManyDecimals);
        }
        let significant = integer.trim_start_matches('0');
        if significant.len() > MAX_INTEGER_DIGITS {
            return Err(if negative {
                AmountError::NotPositive
            } else {
                AmountError::TooLarge
            });
        }
        let value = Decimal::from_str(unsigned).map_err(|_| AmountError::NotANumber)?;
        if negative || value.is_zero() {
            return Err(AmountError::NotPositive);
        }
        Amount::from_decimal(value)
    }

    /// Accepts a decimal already in hand (e.g. read back from storage), with the same rules.
    pub fn from_decimal(value: Decimal) -> Result<Amount, AmountError> {
        if value.scale() > 2 && value.normalize().scale() > 2 {
            return Err(AmountError::TooManyDecimals);
        }
        if value <= Decimal::ZERO {
            return Err(AmountError::NotPositive);
        }
        if value > MAX_AMOUNT {
            return Err(AmountError::TooLarge);
        }
        let mut value = value;
        value.rescale(2);
        Ok(Amount(value))
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    /// The two-decimal text clients see, e.g. `"13.00"`.
    pub fn to_client_string(&self) -> String {
        self.0.to_string()
    }

    /// The exact JSON number LeanX receives, e.g. `13.00`: a `RawValue` keeps the digits as
    /// written, so no float conversion can ever round them.
    pub fn to_json_number(&self) -> Box<serde_json::value::RawValue> {
        serde_json::value::RawValue::from_string(self.to_client_string())
            .expect("a decimal's text is a valid JSON number")
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

/// Clients and storage see the two-decimal string.
impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_client_string())
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Amount::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_amounts_and_keeps_two_decimals() {
        for (input, shown) in [
            ("13", "13.00"),
            ("13.0", "13.00"),
            ("13.05", "13.05"),
            ("0.01", "0.01"),
            ("99999999.99", "99999999.99"),
            ("000013.50", "13.50"),
            ("1.10", "1.10"),
        ] {
            let amount = Amount::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(amount.to_client_string(), shown, "{input}");
        }
    }

    #[test]
    fn refuses_every_bad_amount_with_its_reason() {
        use AmountError::*;
        let huge = "1".repeat(10_000);
        let cases: &[(&str, AmountError)] = &[
            ("", NotANumber),
            (" ", NotANumber),
            ("13.005", TooManyDecimals),
            ("0.001", TooManyDecimals),
            ("13.000", TooManyDecimals),
            ("0", NotPositive),
            ("0.00", NotPositive),
            ("-1", NotPositive),
            ("-0.01", NotPositive),
            ("100000000", TooLarge),
            ("100000000.00", TooLarge),
            ("99999999.991", TooManyDecimals),
            ("1e3", Exponent),
            ("1E3", Exponent),
            ("1.5e2", Exponent),
            ("NaN", NotANumber),
            ("nan", NotANumber),
            ("Infinity", NotANumber),
            ("-Infinity", NotANumber),
            ("inf", NotANumber),
            ("+13", NotANumber),
            (".5", NotANumber),
            ("13.", NotANumber),
            ("13 ", NotANumber),
            (" 13", NotANumber),
            ("1,000.00", NotANumber),
            ("13.0a", NotANumber),
            ("0x10", NotANumber),
            ("١٣", NotANumber), // Arabic-Indic digits look like digits but are not ASCII
            (huge.as_str(), TooLarge),
            ("79228162514264337593543950336", TooLarge), // beyond Decimal's range
            ("--1", NotANumber),
        ];
        assert!(cases.len() >= 25);
        for (input, expected) in cases {
            assert_eq!(Amount::parse(input).as_ref(), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn the_ceiling_is_99_999_999_99() {
        assert_eq!(MAX_AMOUNT.to_string(), "99999999.99");
    }

    #[test]
    fn json_number_for_leanx_is_exact() {
        let amount = Amount::parse("99999999.99").unwrap();
        assert_eq!(amount.to_json_number().get(), "99999999.99");
        assert_eq!(Amount::parse("0.1").unwrap().to_json_number().get(), "0.10");
    }

    #[test]
    fn serialises_as_two_decimal_string_and_reads_back() {
        let amount = Amount::parse("7.5").unwrap();
        let json = serde_json::to_string(&amount).unwrap();
        assert_eq!(json, "\"7.50\"");
        let back: Amount = serde_json::from_str(&json).unwrap();
        assert_eq!(back, amount);
    }

    #[test]
    fn from_decimal_applies_the_same_rules() {
        assert_eq!(
            Amount::from_decimal(Decimal::new(13005, 3)),
            Err(AmountError::TooManyDecimals)
        );
        assert_eq!(
            Amount::from_decimal(Decimal::new(13500, 3))
                .unwrap()
                .to_client_string(),
            "13.50"
        );
        assert_eq!(
            Amount::from_decimal(Decimal::ZERO),
            Err(AmountError::NotPositive)
        );
    }
}
