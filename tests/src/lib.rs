pub mod dynamodb;
pub mod lambda_emulator;
pub mod reliability;
pub mod stack;
pub mod tcp_proxy;
