pub mod batch_stack;
pub mod dynamodb;
pub mod reliability;
pub mod stack;
pub mod tcp_proxy;
