//! What of an account number may be shown: logs, events and lists show only its last four
//! digits (API.md).

/// `8011408168` → `******8168`.
pub fn mask_account(account: &str) -> String {
    let keep = account.len().saturating_sub(4);
    format!("{}{}", "*".repeat(keep), &account[keep..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_are_masked_to_last_four() {
        assert_eq!(mask_account("8011408168"), "******8168");
        assert_eq!(mask_account("123"), "123");
    }
}
