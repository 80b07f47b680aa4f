//! Protocol code points (RFC 9846 appendix B), each an enum with an `Unknown` variant so
//! that any value on the wire decodes and re-encodes to the same bytes.

/// A code point with its wire representation. `codec` encodes every `WireEnum` as its
/// `Repr`; this module depends on nothing else in the crate.
pub trait WireEnum: Copy {
    /// The integer type on the wire (`u8` or `u16`).
    type Repr;
    /// The wire value.
    fn get(self) -> Self::Repr;
    /// The variant for a wire value (`Unknown` for values this crate does not name).
    fn from_repr(v: Self::Repr) -> Self;
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident: $repr:ty { $($(#[$vmeta:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A code point this crate does not name; kept so it re-encodes unchanged.
            Unknown($repr),
        }

        impl $name {
            /// The wire value.
            pub fn get(self) -> $repr {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unknown(v) => v,
                }
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                match v {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl WireEnum for $name {
            type Repr = $repr;
            fn get(self) -> $repr {
                $name::get(self)
            }
            fn from_repr(v: $repr) -> Self {
                Self::from(v)
            }
        }
    };
}

wire_enum! {
    /// `ContentType` (RFC 9846 section 5.1).
    ContentType: u8 {
        /// change_cipher_spec(20), only for middlebox compatibility (appendix E.4).
        ChangeCipherSpec = 20,
        /// alert(21)
        Alert = 21,
        /// handshake(22)
        Handshake = 22,
        /// application_data(23)
        ApplicationData = 23,
    }
}

wire_enum! {
    /// `ProtocolVersion`.
    ProtocolVersion: u16 {
        /// TLS 1.0, the legacy_record_version of a first ClientHello.
        Tls10 = 0x0301,
        /// TLS 1.2, the legacy_version of TLS 1.3 hellos and records.
        Tls12 = 0x0303,
        /// TLS 1.3
        Tls13 = 0x0304,
    }
}

wire_enum! {
    /// `HandshakeType` (RFC 9846 section 4).
    HandshakeType: u8 {
        /// client_hello(1)
        ClientHello = 1,
        /// server_hello(2); a HelloRetryRequest uses this type with a special random.
        ServerHello = 2,
        /// new_session_ticket(4)
        NewSessionTicket = 4,
        /// end_of_early_data(5)
        EndOfEarlyData = 5,
        /// encrypted_extensions(8)
        EncryptedExtensions = 8,
        /// certificate(11)
        Certificate = 11,
        /// certificate_request(13)
        CertificateRequest = 13,
        /// certificate_verify(15)
        CertificateVerify = 15,
        /// finished(20)
        Finished = 20,
        /// key_update(24)
        KeyUpdate = 24,
        /// message_hash(254), the synthetic message replacing ClientHello1 after HRR.
        MessageHash = 254,
    }
}

wire_enum! {
    /// `AlertLevel`.
    AlertLevel: u8 {
        /// warning(1)
        Warning = 1,
        /// fatal(2)
        Fatal = 2,
    }
}

wire_enum! {
    /// `AlertDescription` (RFC 9846 section 6).
    AlertDescription: u8 {
        /// close_notify(0)
        CloseNotify = 0,
        /// unexpected_message(10)
        UnexpectedMessage = 10,
        /// bad_record_mac(20)
        BadRecordMac = 20,
        /// record_overflow(22)
        RecordOverflow = 22,
        /// handshake_failure(40)
        HandshakeFailure = 40,
        /// bad_certificate(42)
        BadCertificate = 42,
        /// unsupported_certificate(43)
        UnsupportedCertificate = 43,
        /// certificate_expired(45)
        CertificateExpired = 45,
        /// certificate_unknown(46)
        CertificateUnknown = 46,
        /// illegal_parameter(47)
        IllegalParameter = 47,
        /// unknown_ca(48)
        UnknownCa = 48,
        /// decode_error(50)
        DecodeError = 50,
        /// decrypt_error(51)
        DecryptError = 51,
        /// protocol_version(70)
        ProtocolVersion = 70,
        /// insufficient_security(71)
        InsufficientSecurity = 71,
        /// internal_error(80)
        InternalError = 80,
        /// user_canceled(90)
        UserCanceled = 90,
        /// missing_extension(109)
        MissingExtension = 109,
        /// unsupported_extension(110)
        UnsupportedExtension = 110,
        /// unrecognized_name(112)
        UnrecognizedName = 112,
        /// no_application_protocol(120)
        NoApplicationProtocol = 120,
    }
}

wire_enum! {
    /// `ExtensionType` (RFC 9846 section 4.3).
    ExtensionType: u16 {
        /// server_name(0)
        ServerName = 0,
        /// supported_groups(10)
        SupportedGroups = 10,
        /// signature_algorithms(13)
        SignatureAlgorithms = 13,
        /// application_layer_protocol_negotiation(16)
        Alpn = 16,
        /// pre_shared_key(41)
        PreSharedKey = 41,
        /// early_data(42)
        EarlyData = 42,
        /// supported_versions(43)
        SupportedVersions = 43,
        /// cookie(44)
        Cookie = 44,
        /// psk_key_exchange_modes(45)
        PskKeyExchangeModes = 45,
        /// key_share(51)
        KeyShare = 51,
    }
}

wire_enum! {
    /// `CipherSuite` (RFC 9846 appendix B.4), named as IANA registers them.
    #[allow(non_camel_case_types)]
    CipherSuite: u16 {
        /// TLS_AES_128_GCM_SHA256
        TLS13_AES_128_GCM_SHA256 = 0x1301,
        /// TLS_AES_256_GCM_SHA384
        TLS13_AES_256_GCM_SHA384 = 0x1302,
        /// TLS_CHACHA20_POLY1305_SHA256
        TLS13_CHACHA20_POLY1305_SHA256 = 0x1303,
    }
}

wire_enum! {
    /// `NamedGroup` (RFC 9846 section 4.3.7).
    NamedGroup: u16 {
        /// secp256r1
        Secp256r1 = 0x0017,
        /// secp384r1
        Secp384r1 = 0x0018,
        /// secp521r1
        Secp521r1 = 0x0019,
        /// x25519
        X25519 = 0x001d,
        /// x448
        X448 = 0x001e,
        /// ffdhe2048
        Ffdhe2048 = 0x0100,
    }
}

wire_enum! {
    /// `SignatureScheme` (RFC 9846 section 4.3.3).
    SignatureScheme: u16 {
        /// rsa_pkcs1_sha256
        RsaPkcs1Sha256 = 0x0401,
        /// rsa_pkcs1_sha384
        RsaPkcs1Sha384 = 0x0501,
        /// rsa_pkcs1_sha512
        RsaPkcs1Sha512 = 0x0601,
        /// ecdsa_secp256r1_sha256
        EcdsaSecp256r1Sha256 = 0x0403,
        /// ecdsa_secp384r1_sha384
        EcdsaSecp384r1Sha384 = 0x0503,
        /// ecdsa_secp521r1_sha512
        EcdsaSecp521r1Sha512 = 0x0603,
        /// rsa_pss_rsae_sha256
        RsaPssRsaeSha256 = 0x0804,
        /// rsa_pss_rsae_sha384
        RsaPssRsaeSha384 = 0x0805,
        /// rsa_pss_rsae_sha512
        RsaPssRsaeSha512 = 0x0806,
        /// ed25519
        Ed25519 = 0x0807,
        /// ed448
        Ed448 = 0x0808,
        /// rsa_pss_pss_sha256
        RsaPssPssSha256 = 0x0809,
        /// rsa_pkcs1_sha1
        RsaPkcs1Sha1 = 0x0201,
        /// ecdsa_sha1
        EcdsaSha1 = 0x0203,
    }
}

wire_enum! {
    /// `PskKeyExchangeMode` (RFC 9846 section 4.3.9).
    PskKeyExchangeMode: u8 {
        /// psk_ke: PSK-only key establishment.
        PskKe = 0,
        /// psk_dhe_ke: PSK with (EC)DHE key establishment.
        PskDheKe = 1,
    }
}

wire_enum! {
    /// `KeyUpdateRequest` (RFC 9846 section 4.7.3).
    KeyUpdateRequest: u8 {
        /// update_not_requested(0)
        UpdateNotRequested = 0,
        /// update_requested(1)
        UpdateRequested = 1,
    }
}

wire_enum! {
    /// `CertificateType` inside a Certificate entry list is always X.509 in TLS 1.3 without
    /// RFC 7250; the server_name `NameType` lives here too.
    ServerNameType: u8 {
        /// host_name(0)
        HostName = 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Codec;

    #[test]
    fn unknown_code_points_re_encode_unchanged() {
        let v = ExtensionType::read_bytes(&[0xfa, 0xfa]).unwrap();
        assert_eq!(v, ExtensionType::Unknown(0xfafa));
        assert_eq!(v.get_encoding(), vec![0xfa, 0xfa]);
        assert_eq!(
            ExtensionType::read_bytes(&[0, 42]).unwrap(),
            ExtensionType::EarlyData
        );
    }
}
