//! Queued faults on LeanX endpoints, consumed by matching calls in the order injected.

use crate::control::{FaultKind, FaultSpec, Times};

#[derive(Default)]
pub(crate) struct FaultQueue {
    queue: Vec<FaultSpec>,
}

impl FaultQueue {
    pub fn add(&mut self, spec: FaultSpec) {
        if spec.times != Times::Count(0) {
            self.queue.push(spec);
        }
    }

    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// Pending faults, with the calls each has left.
    pub fn pending(&self) -> Vec<FaultSpec> {
        self.queue.clone()
    }

    /// The fault for this call, if any, using up one of its times.
    pub fn take(&mut self, endpoint: &str) -> Option<FaultKind> {
        let i = self
            .queue
            .iter()
            .position(|f| f.endpoint == endpoint || f.endpoint == "*")?;
        let kind = self.queue[i].kind.clone();
        if let Times::Count(n) = &mut self.queue[i].times {
            *n -= 1;
            if *n == 0 {
                self.queue.remove(i);
            }
        }
        Some(kind)
    }
}

/// How the call log names a fault.
pub(crate) fn label(kind: &FaultKind) -> String {
    match kind {
        FaultKind::Latency { ms } => format!("latency {ms}ms"),
        FaultKind::Http500Before => "http_500_before".into(),
        FaultKind::Http500After => "http_500_after".into(),
        FaultKind::Hang => "hang".into(),
        FaultKind::DropBefore => "drop_before".into(),
        FaultKind::DropAfter => "drop_after".into(),
        FaultKind::MalformedJson => "malformed_json".into(),
        FaultKind::UnknownCode => "unknown_code".into(),
        FaultKind::Refuse { response_code, .. } => format!("refuse {response_code}"),
    }
}
