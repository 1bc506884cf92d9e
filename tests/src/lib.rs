pub mod dynamodb;
pub mod lambda_emulator;
pub mod stack;
