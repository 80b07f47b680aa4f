//! Reads `tests/data/tls13-vectors-draft07.txt` (the last draft of RFC 8448, vendored
//! unchanged from ../shared/vectors) into steps, so every value a known-answer test
//! asserts comes from the document itself rather than from hex copied by hand.
#![allow(dead_code)]

use std::sync::OnceLock;

/// One `{client}` / `{server}` step of a section, with its labelled values.
#[derive(Debug)]
pub struct Step {
    /// Section number: 3 = simple 1-RTT, 4 = resumed 0-RTT, 5 = HRR, ...
    pub section: u32,
    /// `client` or `server`.
    pub who: String,
    /// The action text, e.g. `derive secret "tls13 c e traffic"` (trailing ':' removed).
    pub action: String,
    /// `(label, bytes)` in document order, e.g. `("expanded", [..])`.
    pub values: Vec<(String, Vec<u8>)>,
}

impl Step {
    /// The value with this label; panics (in a test) with a useful message if absent.
    pub fn get(&self, label: &str) -> &[u8] {
        self.values
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_else(|| {
                panic!(
                    "step {:?} has no value {label:?}: {:?}",
                    self.action,
                    self.labels()
                )
            })
    }

    fn labels(&self) -> Vec<&str> {
        self.values.iter().map(|(l, _)| l.as_str()).collect()
    }
}

/// Every step of the document, parsed once.
pub fn steps() -> &'static [Step] {
    static STEPS: OnceLock<Vec<Step>> = OnceLock::new();
    STEPS.get_or_init(|| parse(include_str!("../data/tls13-vectors-draft07.txt")))
}

/// The `n`th (0-based) step of `section` by `who` whose action starts with `action`.
pub fn step(section: u32, who: &str, action: &str, n: usize) -> &'static Step {
    steps()
        .iter()
        .filter(|s| s.section == section && s.who == who && s.action.starts_with(action))
        .nth(n)
        .unwrap_or_else(|| panic!("no step #{n} {{{who}}} {action:?} in section {section}"))
}

/// Shorthand for the single step's value.
pub fn value(section: u32, who: &str, action: &str, label: &str) -> &'static [u8] {
    step(section, who, action, 0).get(label)
}

fn is_page_furniture(line: &str) -> bool {
    line.starts_with("Thomson ") || line.starts_with("Internet-Draft ") || line.contains('\u{c}')
}

fn parse(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut section = 0u32;
    // (label, declared length, hex so far) of the value being read.
    let mut pending: Option<(String, usize, Vec<u8>)> = None;
    let mut action_open = false;

    let flush = |steps: &mut Vec<Step>, pending: &mut Option<(String, usize, Vec<u8>)>| {
        if let Some((label, len, bytes)) = pending.take() {
            assert_eq!(bytes.len(), len, "value {label:?} declared {len} octets");
            steps
                .last_mut()
                .expect("value before any step")
                .values
                .push((label, bytes));
        }
    };

    for line in text.lines() {
        if is_page_furniture(line) {
            continue;
        }
        if let Some(head) = line
            .split_once(".  ")
            .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        {
            flush(&mut steps, &mut pending);
            section = head.0.parse().unwrap();
            action_open = false;
            continue;
        }
        let trimmed = line.trim();
        if let Some(rest) = line.strip_prefix("   {") {
            flush(&mut steps, &mut pending);
            let (who, action) = rest.split_once('}').expect("step header");
            let action = action.trim().to_string();
            action_open = !action.ends_with(':') && action.contains('(') && !action.contains(')');
            steps.push(Step {
                section,
                who: who.to_string(),
                action: action.trim_end_matches(':').to_string(),
                values: Vec::new(),
            });
            continue;
        }
        if action_open && line.starts_with("      ") && !trimmed.contains("octets)") {
            // A wrapped action such as "(same as server handshake\n secret)".
            let s = steps.last_mut().unwrap();
            s.action.push(' ');
            s.action.push_str(trimmed.trim_end_matches(':'));
            action_open = !trimmed.contains(')');
            continue;
        }
        if line.starts_with("      ")
            && !line.starts_with("         ")
            && trimmed.contains(" octets):")
        {
            flush(&mut steps, &mut pending);
            let (label_len, hex) = trimmed.split_once("):").unwrap();
            let (label, len) = label_len.rsplit_once(" (").unwrap();
            let len: usize = len.trim_end_matches(" octets").parse().unwrap();
            pending = Some((label.to_string(), len, hex_bytes(hex)));
            continue;
        }
        if line.starts_with("         ") {
            if let Some((_, _, bytes)) = pending.as_mut() {
                bytes.extend(hex_bytes(trimmed));
            }
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        // Prose or an unsized value ("salt:  0 (all zero octets)") ends the current value.
        flush(&mut steps, &mut pending);
    }
    flush(&mut steps, &mut pending);
    steps
}

fn hex_bytes(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .filter(|h| *h != "(empty)")
        .map(|h| u8::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad hex {h:?}")))
        .collect()
}

/// Decodes a contiguous hex string (for values written in tests).
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn the_vector_file_parses_into_steps_with_sized_values() {
    let ch = value(3, "client", "construct a ClientHello", "ClientHello");
    assert_eq!(ch.len(), 196);
    assert_eq!(&ch[..4], &[0x01, 0x00, 0x00, 0xc0]);
    let early = step(
        4,
        "client",
        "derive write traffic keys for early application data",
        0,
    );
    assert_eq!(early.get("iv expanded"), hex("8d52156fb7db01cb290bdef1"));
    let rec = step(4, "client", "send application_data record", 0);
    assert_eq!(rec.get("complete record").len(), 28);
    assert!(steps().iter().filter(|s| s.section == 4).count() > 40);
}
