//! The call log: every LeanX request received and every callback attempt, with counters per
//! endpoint and per `external_invoice_ref`.

use std::collections::{BTreeMap, VecDeque};

use crate::control::CallRecord;

/// Oldest entries are dropped past this, so a long-running dev sim stays small.
const CAPACITY: usize = 20_000;

pub(crate) struct CallLog {
    records: VecDeque<CallRecord>,
    next_seq: u64,
    /// Requests received per LeanX endpoint name.
    pub per_endpoint: BTreeMap<String, u64>,
    /// `create-payout-invoice` requests received per external_invoice_ref.
    pub creates_per_ref: BTreeMap<String, u64>,
}

impl Default for CallLog {
    fn default() -> Self {
        CallLog {
            records: VecDeque::new(),
            next_seq: 1,
            per_endpoint: BTreeMap::new(),
            creates_per_ref: BTreeMap::new(),
        }
    }
}

impl CallLog {
    pub fn records(&self) -> Vec<CallRecord> {
        self.records.iter().cloned().collect()
    }

    /// Appends `record` under the next sequence number, which it returns.
    pub fn push(&mut self, mut record: CallRecord) -> u64 {
        record.seq = self.next_seq;
        self.next_seq += 1;
        if self.records.len() >= CAPACITY {
            self.records.pop_front();
        }
        let seq = record.seq;
        self.records.push_back(record);
        seq
    }

    pub fn get_mut(&mut self, seq: u64) -> Option<&mut CallRecord> {
        self.records.iter_mut().rev().find(|c| c.seq == seq)
    }
}
