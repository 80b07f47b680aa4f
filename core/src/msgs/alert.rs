//! The Alert message (RFC 9846 section 6).

use crate::codec::{Codec, Reader};
use crate::error::InvalidMessage;
use crate::msgs::enums::{AlertDescription, AlertLevel};

/// `struct { AlertLevel level; AlertDescription description; } Alert;`
///
/// An alert record holds exactly one alert (RFC 9846 section 5.1), so decode a record's
/// content with [`Codec::read_bytes`], which refuses trailing bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    /// warning or fatal; TLS 1.3 ignores the level except for close_notify and
    /// user_canceled (section 6).
    pub level: AlertLevel,
    /// What happened.
    pub description: AlertDescription,
}

impl Alert {
    /// A fatal alert: every TLS 1.3 error alert is fatal (section 6.2).
    pub fn fatal(description: AlertDescription) -> Self {
        Self {
            level: AlertLevel::Fatal,
            description,
        }
    }

    /// close_notify, sent at warning level (section 6.1).
    pub fn close_notify() -> Self {
        Self {
            level: AlertLevel::Warning,
            description: AlertDescription::CloseNotify,
        }
    }
}

impl Codec for Alert {
    fn encode(&self, out: &mut Vec<u8>) {
        self.level.encode(out);
        self.description.encode(out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            level: AlertLevel::read(r)?,
            description: AlertDescription::read(r)?,
        })
    }
}
