use std::sync::Arc;

use rust_decimal::Decimal;

use super::*;
use crate::testing::ScriptedProvider;

#[tokio::test]
async fn the_balance_is_leanxs_exactly() {
    let leanx = Arc::new(ScriptedProvider::new());
    let balance = Balance {
        transaction_balance: Decimal::new(2605, 2),
        prefund_balance: Decimal::new(39363, 2),
        total_transaction_as_of_today: 0,
    };
    leanx.answer_balance(Ok(balance.clone()));
    let uc = GetBalance { provider: leanx };
    assert_eq!(uc.run().await.unwrap(), balance);
}

#[tokio::test]
async fn leanx_down_is_unavailable() {
    let leanx = Arc::new(ScriptedProvider::new());
    leanx.answer_balance(Err(LeanxError::NotSent("refused".into())));
    let uc = GetBalance { provider: leanx };
    assert!(matches!(uc.run().await, Err(BalanceError::Unavailable(_))));
}
