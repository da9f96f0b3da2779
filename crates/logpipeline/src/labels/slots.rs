//! The builder's storage for a line's metadata, parsed and deleted names ([`Slots`]), and the
//! signature that answers "is this a stream label?" without a search ([`NameSignature`]).

/// A name/value slot reused from line to line; `live` is false once deleted.
#[derive(Debug, Default)]
pub(super) struct Slot {
    pub(super) name: String,
    pub(super) value: String,
    pub(super) live: bool,
}

/// Slots whose strings survive `clear`, so steady-state lines allocate nothing.
#[derive(Debug, Default)]
pub(super) struct Slots {
    pub(super) slots: Vec<Slot>,
    pub(super) len: usize,
}

impl Slots {
    pub(super) fn used(&self) -> &[Slot] {
        &self.slots[..self.len]
    }

    pub(super) fn position(&self, name: &str) -> Option<usize> {
        self.used().iter().position(|s| s.name == name)
    }

    pub(super) fn live(&self, name: &str) -> Option<&str> {
        self.used()
            .iter()
            .find(|s| s.live && s.name == name)
            .map(|s| s.value.as_str())
    }

    pub(super) fn has_live(&self, name: &str) -> bool {
        self.live(name).is_some()
    }

    pub(super) fn any_live(&self) -> bool {
        self.used().iter().any(|s| s.live)
    }

    pub(super) fn set(&mut self, name: &str, value: &str) {
        let i = match self.position(name) {
            Some(i) => i,
            None => {
                if self.len == self.slots.len() {
                    self.slots.push(Slot::default());
                }
                let slot = &mut self.slots[self.len];
                slot.name.clear();
                slot.name.push_str(name);
                self.len += 1;
                self.len - 1
            }
        };
        let slot = &mut self.slots[i];
        slot.value.clear();
        slot.value.push_str(value);
        slot.live = true;
    }

    pub(super) fn kill(&mut self, name: &str) {
        if let Some(i) = self.position(name) {
            self.slots[i].live = false;
        }
    }

    /// Makes the first `len` slots used and live again, as they were filled before.
    pub(super) fn revive(&mut self, len: usize) {
        self.len = len;
        for s in &mut self.slots[..len] {
            s.live = true;
        }
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
    }
}

/// A one-word Bloom filter of a set of names, keyed by a name's length and its first, middle
/// and last bytes, two bits per name.
///
/// Parsers ask whether each key they extract is a stream label, on every line; the answer is
/// nearly always no, and this says so without searching the stream's labels. (One bit per
/// name made common pairs collide, such as `path` with a stream's `app`.)
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct NameSignature(u64);

impl NameSignature {
    pub(super) fn of<'a>(names: impl Iterator<Item = &'a str>) -> NameSignature {
        NameSignature(names.fold(0, |bits, n| bits | Self::bits(n)))
    }

    pub(super) fn bits(name: &str) -> u64 {
        let b = name.as_bytes();
        let at = |i: usize| b.get(i).map_or(0, |&c| u64::from(c));
        let key =
            b.len() as u64 | at(0) << 8 | at(b.len() / 2) << 16 | at(b.len().wrapping_sub(1)) << 24;
        let h = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        1 << (h >> 58) | 1 << ((h >> 52) & 63)
    }

    /// False only if no name of the set is `name`.
    pub(super) fn may_contain(self, name: &str) -> bool {
        let bits = Self::bits(name);
        self.0 & bits == bits
    }
}
