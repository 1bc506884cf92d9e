//! The batch item queue in memory.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::usecases::{ItemQueue, QueueError, QueuedItemMessage, QueuedItems};

/// The batch queue in memory: every message enqueued, in order.
#[derive(Default)]
pub struct InMemoryQueue {
    messages: Mutex<Vec<QueuedItems>>,
    down: Mutex<bool>,
}

impl InMemoryQueue {
    pub fn new() -> InMemoryQueue {
        InMemoryQueue::default()
    }

    /// Every item enqueued, in order, whatever message carried it.
    pub fn messages(&self) -> Vec<QueuedItemMessage> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .flat_map(|m| m.items().collect::<Vec<_>>())
            .collect()
    }

    /// The queue messages themselves.
    pub fn queue_messages(&self) -> Vec<QueuedItems> {
        self.messages.lock().unwrap().clone()
    }

    /// Every later enqueue fails as SQS unreachable.
    pub fn go_down(&self) {
        *self.down.lock().unwrap() = true;
    }
}

#[async_trait]
impl ItemQueue for InMemoryQueue {
    async fn enqueue(&self, messages: &[QueuedItems]) -> Result<(), QueueError> {
        if *self.down.lock().unwrap() {
            return Err(QueueError::Unavailable("scripted outage".into()));
        }
        self.messages.lock().unwrap().extend_from_slice(messages);
        Ok(())
    }
}
