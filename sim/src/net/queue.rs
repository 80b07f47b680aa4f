//! The event queue: a bounded priority queue ordered by (time, insertion sequence).
//!
//! Two events at the same virtual time come out in the order they were pushed, so a
//! run never depends on heap internals. The queue refuses to grow past its capacity
//! and reports [`QueueFull`] instead of panicking or allocating without bound.

use core::cmp::Ordering;
use core::fmt;
use std::collections::BinaryHeap;

use super::time::SimTime;

/// A push was refused because the queue already held `capacity_max` events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueFull {
    /// The bound that was hit.
    pub capacity_max: usize,
    /// The time of the refused event.
    pub time: SimTime,
}

impl fmt::Display for QueueFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "event queue full ({} pending) when scheduling an event at {}",
            self.capacity_max, self.time
        )
    }
}

impl std::error::Error for QueueFull {}

struct Entry<E> {
    time: SimTime,
    sequence: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.sequence == other.sequence
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.sequence).cmp(&(self.time, self.sequence))
    }
}

/// A bounded queue of events of type `E`, earliest first, ties in insertion order.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_sequence: u64,
    capacity_max: usize,
}

impl<E> EventQueue<E> {
    /// An empty queue that holds at most `capacity_max` pending events.
    pub fn new(capacity_max: usize) -> EventQueue<E> {
        EventQueue {
            heap: BinaryHeap::new(),
            next_sequence: 0,
            capacity_max,
        }
    }

    /// Schedules `event` at `time`. Refused, and the event dropped, when the queue is
    /// full.
    pub fn push(&mut self, time: SimTime, event: E) -> Result<(), QueueFull> {
        if self.heap.len() >= self.capacity_max {
            return Err(QueueFull {
                capacity_max: self.capacity_max,
                time,
            });
        }
        let sequence = self.next_sequence;
        // 2^64 pushes cannot happen in a bounded run; wrapping keeps this panic-free.
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.heap.push(Entry {
            time,
            sequence,
            event,
        });
        Ok(())
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|entry| (entry.time, entry.event))
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|entry| entry.time)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The bound given at construction.
    pub fn capacity_max(&self) -> usize {
        self.capacity_max
    }
}

impl<E> fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.heap.len())
            .field("capacity_max", &self.capacity_max)
            .field("next_time", &self.peek_time())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_in_time_order() {
        let mut queue = EventQueue::new(8);
        queue.push(SimTime::from_millis(30), "c").unwrap();
        queue.push(SimTime::from_millis(10), "a").unwrap();
        queue.push(SimTime::from_millis(20), "b").unwrap();
        let order: Vec<_> = core::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(
            order,
            vec![
                (SimTime::from_millis(10), "a"),
                (SimTime::from_millis(20), "b"),
                (SimTime::from_millis(30), "c"),
            ]
        );
    }

    #[test]
    fn ties_break_by_insertion_order() {
        let mut queue = EventQueue::new(64);
        for index in 0..50 {
            queue.push(SimTime::from_millis(5), index).unwrap();
        }
        queue.push(SimTime::from_millis(1), 1000).unwrap();
        assert_eq!(queue.pop(), Some((SimTime::from_millis(1), 1000)));
        for index in 0..50 {
            assert_eq!(queue.pop(), Some((SimTime::from_millis(5), index)));
        }
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn a_full_queue_refuses_and_reports_instead_of_panicking() {
        let mut queue = EventQueue::new(2);
        queue.push(SimTime::ZERO, 1).unwrap();
        queue.push(SimTime::ZERO, 2).unwrap();
        let refused = queue.push(SimTime::from_millis(3), 3);
        assert_eq!(
            refused,
            Err(QueueFull {
                capacity_max: 2,
                time: SimTime::from_millis(3)
            })
        );
        assert_eq!(queue.len(), 2);
        queue.pop();
        assert!(queue.push(SimTime::ZERO, 4).is_ok());
    }

    #[test]
    fn a_zero_capacity_queue_accepts_nothing() {
        let mut queue = EventQueue::new(0);
        assert!(queue.push(SimTime::ZERO, ()).is_err());
        assert!(queue.is_empty());
        assert_eq!(queue.peek_time(), None);
    }
}
