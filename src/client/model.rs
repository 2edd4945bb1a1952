//! The app's model of one job: which results it has, in what order they came, and when it
//! first had everything.

/// What the app knows of one job: which books have their result, and whether it heard the
/// completion. Only new results enter it; what arrived twice or late is counted.
pub(super) struct AppModel {
    have: Vec<bool>,
    pub(super) results: u32,
    max_seq: u32,
    complete: bool,
    pub(super) duplicates: u32,
    pub(super) reordered: u32,
    /// When the app first had everything, in ms after the POST.
    pub(super) complete_ms: Option<u64>,
}

impl AppModel {
    pub(super) fn new(books: u32) -> Self {
        AppModel {
            have: vec![false; books as usize + 1],
            results: 0,
            max_seq: 0,
            complete: false,
            duplicates: 0,
            reordered: 0,
            complete_ms: None,
        }
    }

    fn books(&self) -> u32 {
        self.have.len() as u32 - 1
    }

    /// A progress message from the socket.
    pub(super) fn on_socket(&mut self, seq: u32, at_ms: u64) {
        if seq == 0 || seq > self.books() {
            return;
        }
        if self.have[seq as usize] {
            self.duplicates += 1;
            return;
        }
        if seq < self.max_seq {
            self.reordered += 1;
        }
        self.learn(seq, at_ms);
    }

    /// A status poll: books `1..=books_done` are done.
    pub(super) fn on_status(&mut self, books_done: u32, done: bool, at_ms: u64) {
        for seq in 1..=books_done.min(self.books()) {
            if !self.have[seq as usize] {
                self.learn(seq, at_ms);
            }
        }
        if done {
            self.on_complete(at_ms);
        }
    }

    pub(super) fn on_complete(&mut self, at_ms: u64) {
        self.complete = true;
        self.check_done(at_ms);
    }

    fn learn(&mut self, seq: u32, at_ms: u64) {
        self.have[seq as usize] = true;
        self.results += 1;
        self.max_seq = self.max_seq.max(seq);
        self.check_done(at_ms);
    }

    fn check_done(&mut self, at_ms: u64) {
        if self.done() && self.complete_ms.is_none() {
            self.complete_ms = Some(at_ms);
        }
    }

    /// Every result and the completion.
    pub(super) fn done(&self) -> bool {
        self.complete && self.results == self.books()
    }

    /// A result below the highest one the app has is missing, or the completion came while
    /// results are missing.
    pub(super) fn has_gap(&self) -> bool {
        self.results < self.max_seq || (self.complete && self.results < self.books())
    }

    /// Whether the app heard the completion.
    pub(super) fn complete(&self) -> bool {
        self.complete
    }

    /// The highest sequence number up to which the app has every result.
    pub(super) fn contiguous(&self) -> u32 {
        (1..=self.books())
            .take_while(|&s| self.have[s as usize])
            .last()
            .unwrap_or(0)
    }
}
